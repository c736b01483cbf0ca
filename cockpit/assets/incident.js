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
    if (!map.streetCockpitImages) {  // street names: Plotly names an icon the style lacks
      map.streetCockpitImages = true;
      map.on("styleimagemissing", function (e) {
        if (!map.hasImage(e.id)) { map.addImage(e.id, {width: 1, height: 1, data: new Uint8Array(4)}); }
      });
    }
    if (!map.streetCockpitSite && window.dash_clientside && window.dash_clientside.set_props) {
      map.streetCockpitSite = true;
      map.on("click", function (e) {
        window.dash_clientside.set_props("incident-site", {data: [e.lngLat.lng, e.lngLat.lat]});
      });
    }
  }
  window.setInterval(hook, 500);

  // Live for everyone watching: the server pushes the incidents' revision whenever an incident
  // or one of its tasks changes; the page then re-reads what it shows through its callbacks.
  function listen() {
    if (!window.io || !window.dash_clientside || !window.dash_clientside.set_props) {
      window.setTimeout(listen, 200);
      return;
    }
    if (!document.getElementById("incident-map")) {
      window.setTimeout(listen, 1000);  // another page of the cockpit: look again later
      return;
    }
    var socket = window.io({transports: ["websocket", "polling"]});
    socket.on("connect", function () { socket.emit("watch_incidents", {}); });
    socket.on("incidents", function (message) {
      window.streetCockpitIncidentRev = message.rev;
      if (document.getElementById("incident-map")) {
        window.dash_clientside.set_props("incident-rev", {data: message.rev});
      }
    });
  }
  listen();

  // The map zooms with the screen (a 4K wall shows the same streets twice as large): tell the
  // page when the window's width settles on a new value.
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      if (document.getElementById("incident-map") && window.dash_clientside &&
          window.dash_clientside.set_props) {
        window.dash_clientside.set_props("incident-screen", {data: window.innerWidth});
      }
    }, 300);
  });
})();
