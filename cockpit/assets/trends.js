// The trends page's hexagon map uses Plotly's tile-free "white-bg" style (no tile server in an
// offline centre); paint its background as dark as the page, whenever the map (re)loads.
(function () {
  "use strict";
  var DARK = "#0f1b2e";
  function paint() {
    var gd = document.querySelector("#trends-hexes .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    var map = sub && sub.map;
    if (map && map.getLayer("white-bg") &&
        map.getPaintProperty("white-bg", "background-color") !== DARK) {
      map.setPaintProperty("white-bg", "background-color", DARK);
    }
  }
  window.setInterval(paint, 500);
})();
