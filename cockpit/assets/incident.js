// The incident page: a click anywhere on the map (not only on a drawn point) places the site of
// a new incident; the district's tile-free map is painted as dark as the page.
(function () {
  "use strict";
  var DARK = "#0b1220";
  function hook() {
    var gd = document.querySelector("#incident-map .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    var map = sub && sub.map;
    if (!map) { return; }
    if (map.getLayer("white-bg") && map.getPaintProperty("white-bg", "background-color") !== DARK) {
      map.setPaintProperty("white-bg", "background-color", DARK);
    }
    if (!map.streetCockpitSite && window.dash_clientside && window.dash_clientside.set_props) {
      map.streetCockpitSite = true;
      map.on("click", function (e) {
        window.dash_clientside.set_props("incident-site", {data: [e.lngLat.lng, e.lngLat.lat]});
      });
    }
  }
  window.setInterval(hook, 500);
})();
