// Street Cockpit browser side: receives pushes over Socket.IO and applies them as partial updates.
(function () {
  "use strict";

  // true: live; false: no connection to the cockpit; "feed": connected, but the cockpit
  // cannot read the event bus (it says so, and again when the bus is back).
  function setLinkState(state) {
    var el = document.getElementById("link-state");
    if (!el) { return; }
    var shown = state === true ? "data-up" : (state === "feed" ? "data-feed-down" : "data-down");
    el.textContent = el.getAttribute(shown);
    el.className = "link " + (state === true ? "up" : "down");
  }

  function currentLang() {
    var params = new URLSearchParams(window.location.search);
    return params.get("lang") === "en" ? "en" : "zh";
  }

  function connect() {
    if (!window.io || !window.dash_clientside || !window.dash_clientside.set_props ||
        !document.getElementById("live-map")) {
      window.setTimeout(connect, 100);  // Dash renders the layout after assets load
      return;
    }
    tick();  // the clock is in the layout now: show the time at once, not a second later
    var socket = window.io({transports: ["websocket", "polling"]});
    socket.on("connect", function () {
      setLinkState(true);
      socket.emit("join", {lang: currentLang()});
    });
    socket.on("disconnect", function () { setLinkState(false); });
    socket.on("live", receive);
    socket.on("link", function (message) { setLinkState(message.feed ? true : "feed"); });
    window.streetCockpitSocket = socket;
  }

  // Pushes come from two server threads (the join answer and the pusher), so an older payload
  // can arrive after a newer one: show only news. A restarted server starts a new epoch.
  var shown = {epoch: null, version: -1};
  window.streetCockpitStale = 0;  // how many stale payloads were ignored (tests read it)

  function receive(payload) {
    if (payload.epoch === shown.epoch && payload.version < shown.version) {
      window.streetCockpitStale += 1;
      return;
    }
    shown = {epoch: payload.epoch, version: payload.version};
    window.streetCockpitLastPush = Date.now();
    window.dash_clientside.set_props("live-data", {data: payload});
    emergencyMode(payload.emergency || null);
  }

  // Emergency mode: a coordinator pinned an incident. Every wall stops rotating on the map,
  // shows the incident's banner and rings, centres on the site, and its camera wall keeps the
  // cameras that see the site. Unpinned: everything as before.
  var emergency = {key: null, layers: null};
  function emergencyMode(incident) {
    var key = incident ? incident.id + ":" + incident.title + ":" + incident.headline +
      ":" + incident.rings.join("|") : null;
    var root = document.querySelector(".cockpit");
    var banner = document.getElementById("emergency-banner");
    if (root) {
      if (incident) { root.setAttribute("data-emergency", "1"); }
      else { root.removeAttribute("data-emergency"); }
    }
    var tiles = document.querySelectorAll(".wall-cameras .cam-tile");
    for (var i = 0; i < tiles.length; i++) {
      var sees = incident && incident.cameras.indexOf(tiles[i].getAttribute("data-camera")) >= 0;
      tiles[i].hidden = Boolean(incident && incident.cameras.length && !sees);
    }
    if (key === emergency.key) { return; }
    emergency.key = key;
    if (banner) {
      banner.hidden = !incident;
      banner.textContent = "";
      if (incident) {
        [["emergency-headline", incident.headline], ["emergency-title", incident.title]]
          .concat(incident.rings.map(function (r) { return ["emergency-ring", r]; }))
          .concat(incident.shelters.map(function (s) { return ["emergency-shelter", s]; }))
          .forEach(function (line) {
            var div = document.createElement("div");
            div.className = line[0];
            div.textContent = line[1];
            banner.appendChild(div);
          });
      }
    }
  }

  // The pinned incident's rings join the map's own layers, and the map centres on the site;
  // through the same Patch as every push (a relayout would be undone by the next one).
  var ringsShown = {key: null, base: null};
  function emergencyLayers(patch, incident) {
    var key = incident ? incident.id + ":" + incident.rings.join("|") : null;
    var gd = document.querySelector("#live-map .js-plotly-plot");
    if (key === ringsShown.key || !gd || !gd.layout || !gd.layout.map) { return; }
    if (ringsShown.base === null) { ringsShown.base = (gd.layout.map.layers || []).slice(); }
    ringsShown.key = key;
    var layers = ringsShown.base.slice();
    (incident ? incident.layers : []).forEach(function (ring, n) {
      var slot = Math.min(layers.length, view.layer_slots - 1);  // under the live markers
      layers.push({sourcetype: "geojson", source: ring, type: "line",
                   below: "slot-" + String(slot).padStart(2, "0"),
                   color: ["#ff4d4f", "#ff9c3a", "#ffd666"][n % 3], line: {width: 3}});
    });
    patch.assign(["layout", "map", "layers"], layers);
    if (incident) { patch.assign(["layout", "map", "center"], {lon: incident.lon, lat: incident.lat}); }
  }
  window.streetCockpitEmergency = emergencyMode;
  window.streetCockpitReceive = receive;

  function tick() {
    var el = document.getElementById("clock");
    if (!el) { return; }
    var options = {hour12: false};
    var zone = el.getAttribute("data-tz");  // the district's time, wherever the screen is
    if (zone) { options.timeZone = zone; }
    el.textContent = new Date().toLocaleTimeString("zh-CN", options);
  }

  // What each trace was last given: a push that leaves a trace as it was does not touch it, so
  // Plotly redraws only the layers whose data changed (a busy 4K wall paints less).
  // An empty trace keeps one blank point: Plotly hides a trace with no points, and a hidden
  // trace makes it re-add the layers of the trace before it on every change (its place on the
  // map is lost, see figures.stack). The legend lists only the traces with something on the map.
  var lastGiven = {};
  var shownMap = null;
  function setTrace(patch, index, columns, colors) {
    var given = JSON.stringify(columns);
    if (lastGiven[index] === given) { return; }
    lastGiven[index] = given;
    var blank = function (values) { return values.length ? values : [null]; };
    patch.assign(["data", index, "lon"], blank(columns.lon));
    patch.assign(["data", index, "lat"], blank(columns.lat));
    patch.assign(["data", index, "text"], blank(columns.text));
    patch.assign(["data", index, "customdata"], blank(columns.ids));
    patch.assign(["data", index, "showlegend"], columns.lon.length > 0);
    if (colors && columns.color.length) {
      patch.assign(["data", index, "marker", "color"], columns.color);
    }
  }

  function feedRow(row) {
    var child = function (className, text) {
      return {type: "Span", namespace: "dash_html_components",
              props: {className: className, children: text}};
    };
    var children = [child("feed-time", row.time), child("feed-cat", row.category),
                    child("feed-status", row.status_label), child("feed-where", row.where),
                    child("feed-unit", row.unit)];
    if (row.snapshot) {  // the camera's evidence: a thumbnail that opens the full snapshot
      children.push({type: "A", namespace: "dash_html_components", props: {
        className: "feed-snap", href: row.snapshot, target: "_blank", children: {
          type: "Img", namespace: "dash_html_components",
          props: {src: row.snapshot, alt: row.snapshot_alt, title: row.snapshot_alt}}}});
    }
    return {type: "Div", namespace: "dash_html_components", props: {
      className: "feed-row status-" + row.status + (row.snapshot ? " has-snap" : ""),
      id: "ticket-" + row.id, children: children}};
  }

  function span(className, text) {
    return {type: "Span", namespace: "dash_html_components",
            props: {className: className, children: text}};
  }

  function alertRow(row) {
    return {type: "Div", namespace: "dash_html_components", props: {
      className: "alert-row level-" + row.level + (row.handled ? " handled" : ""),
      id: "warning-" + row.id, title: row.ticket,
      children: [span("alert-badge", row.badge), span("alert-text", row.text),
                 span("alert-late", row.late), span("alert-who", row.who)]}};
  }

  function alertList(alerts, labels) {
    if (!alerts.rows.length) {
      return {type: "Div", namespace: "dash_html_components",
              props: {className: "alerts-none", children: labels.alerts_none}};
    }
    var rows = alerts.rows.map(alertRow);
    if (alerts.count > alerts.rows.length) {
      rows.push(span("alerts-more", labels.alerts_more.replace("{n}", alerts.count - alerts.rows.length)));
    }
    return rows;
  }

  // Extend in place: dash-renderer adds set_props and Patch to this same object.
  var fitted = false;
  var view = null;

  // The base style is Plotly's tile-free "white-bg"; paint its background dark. The map may
  // load (or reload) its style after Plotly's afterplot, on a big wall slower still: every
  // style change of the map repaints it, not only the first.
  function paintBase(map) {
    if (view && map.getLayer(view.base_layer) &&
        map.getPaintProperty(view.base_layer, "background-color") !== view.background) {
      map.setPaintProperty(view.base_layer, "background-color", view.background);
    }
  }

  // Without graphics hardware (WebGL drawn in software) a map frame costs in proportion to its
  // pixels: at 4K most of a second. There the map is drawn with at most view.software_map_px
  // pixels and scaled up: a little softer, but live. With a GPU it keeps full resolution.
  function softwareGL(map) {
    var gl = map.painter && map.painter.context && map.painter.context.gl;
    var info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    var name = gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : "";
    return /swiftshader|llvmpipe|softpipe|software/i.test(name);
  }
  function capPixels(map) {
    var limit = view && view.software_map_px;
    if (!limit || !map.setPixelRatio) { return; }
    if (map.streetCockpitSoftware === undefined) { map.streetCockpitSoftware = softwareGL(map); }
    if (!map.streetCockpitSoftware) { return; }
    var box = map.getContainer();
    var area = Math.max(1, box.clientWidth * box.clientHeight);
    var ratio = Math.min(window.devicePixelRatio || 1, Math.sqrt(limit / area));
    if (Math.abs(map.getPixelRatio() - ratio) > 0.01) { map.setPixelRatio(ratio); }
  }

  // Plotly gives every map layer its own GeoJSON source and sets them all again on any change,
  // and MapLibre cuts each into tiles down to zoom 18: some 30 tiles a source on a wall, so one
  // new finding meant re-cutting hundreds of tiles. A district fits a few zoom-14 tiles (0.25 m
  // a tile unit, finer than any marker); deeper zooms scale those up.
  // Changed layers do not fade in (the style's transition is 0; each step was one more frame).
  var SOURCE_MAXZOOM = 14;
  function coarseTiles(map) {
    if (!map.streetCockpitNoFades) {
      map.streetCockpitNoFades = true;
      // Labels appear at once too: MapLibre fades them in, and the style cannot say otherwise.
      if (typeof map._fadeDuration === "number") { map._fadeDuration = 0; }
      // Plotly gives text layers an icon the style has no image for: an empty one.
      map.on("styleimagemissing", function (e) {
        if (!map.hasImage(e.id)) { map.addImage(e.id, {width: 1, height: 1, data: new Uint8Array(4)}); }
      });
    }
    var managers = (map.style && map.style.tileManagers) || {};
    Object.keys(managers).forEach(function (id) {
      var source = map.getSource(id);
      if (source && source.type === "geojson" && source.maxzoom > SOURCE_MAXZOOM) {
        source.maxzoom = SOURCE_MAXZOOM;
        managers[id].reload();
      }
    });
  }

  // Plotly also gives every trace's source its data again on each change; MapLibre then cuts
  // each one again and draws once more when the pieces are back. Data equal to what a source
  // has is not given again: a new finding re-cuts the findings' source and nothing else.
  function sameDataOnce(map) {
    var source = Object.keys(map.style.tileManagers || {})
      .map(function (id) { return map.getSource(id); })
      .find(function (s) { return s && s.type === "geojson"; });
    var proto = source && Object.getPrototypeOf(source);
    if (!proto || proto.streetCockpitSameData) { return; }
    proto.streetCockpitSameData = true;
    var setData = proto.setData;
    proto.setData = function (data) {
      var given = typeof data === "string" ? data : JSON.stringify(data);
      if (given === this.streetCockpitGiven) { return this; }
      this.streetCockpitGiven = given;
      return setData.apply(this, arguments);
    };
  }

  function darkenBase() {
    var gd = document.querySelector("#live-map .js-plotly-plot");
    var sub = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    var map = sub && sub.map;
    if (!map) { return false; }
    if (!map.streetCockpitDarkening) {
      map.streetCockpitDarkening = true;
      var paint = function () { paintBase(map); capPixels(map); coarseTiles(map); };
      map.on("styledata", paint);
      map.on("idle", paint);
    }
    paintBase(map);
    capPixels(map);
    coarseTiles(map);
    sameDataOnce(map);
    return true;
  }

  // Plotly creates the map asynchronously, possibly after the push that drew it: keep looking
  // until it is there (a wall may get no further push for a while), then follow its plots.
  function watchPlots(tries) {
    var gd = document.querySelector("#live-map .js-plotly-plot");
    if (gd && gd.on && !gd.streetCockpitWatched) {
      gd.streetCockpitWatched = true;
      gd.on("plotly_afterplot", function () { darkenBase(); labelsDrawn(); });
    }
    var left = tries === undefined ? 150 : tries;
    if (!darkenBase() && left > 0) {
      window.setTimeout(function () { watchPlots(left - 1); }, 200);
    }
  }

  // First push only: fit the configured zoom and the legend type to this screen's map size,
  // so a 4K wall shows the same district view as a 1080p one. Later pushes keep the
  // operator's own pan and zoom (uirevision).
  function fitToScreen(patch) {
    var map = document.getElementById("live-map");
    if (fitted || !map || !map.clientWidth) { return; }
    fitted = true;
    patch.assign(["layout", "map", "zoom"], view.zoom + Math.log2(map.clientWidth / view.reference_px));
    var scale = Math.max(1, window.innerWidth / 1920);
    patch.assign(["layout", "legend", "font", "size"], Math.round(18 * scale));
    patch.assign(["layout", "hoverlabel", "font", "size"], Math.round(18 * scale));
    Object.keys(view.marker_px).forEach(function (index) {
      patch.assign(["data", Number(index), "marker", "size"], Math.round(view.marker_px[index] * scale));
    });
    // The fixed overlays (places, shelters, fields of view) grow with the screen too.
    var gd = document.querySelector("#live-map .js-plotly-plot");
    (gd && gd.data ? gd.data : []).forEach(function (trace, i) {
      if (view.marker_px[i] !== undefined) { return; }
      if (trace.marker && typeof trace.marker.size === "number") {
        patch.assign(["data", i, "marker", "size"], Math.round(trace.marker.size * scale));
      }
      if (trace.line && typeof trace.line.width === "number") {
        patch.assign(["data", i, "line", "width"], Math.max(1, Math.round(trace.line.width * scale)));
      }
    });
  }

  // The street names grow with the screen too. Plotly may not have drawn the map when the first
  // push comes: then the names are fitted once it has (the last push is applied again).
  var labels = {fitted: false, payload: null};
  function fitLabels(patch) {
    var gd = document.querySelector("#live-map .js-plotly-plot");
    var layers = gd && gd.layout && gd.layout.map && gd.layout.map.layers;
    if (labels.fitted || !layers) { return; }
    labels.fitted = true;
    var scale = Math.max(1, window.innerWidth / 1920);
    layers.forEach(function (layer, i) {
      var font = layer.type === "symbol" && layer.symbol && layer.symbol.textfont;
      if (font && typeof font.size === "number" && scale > 1) {
        patch.assign(["layout", "map", "layers", i, "symbol", "textfont", "size"], Math.round(font.size * scale));
      }
    });
  }
  function labelsDrawn() {
    if (!labels.fitted && labels.payload && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("live-data", {data: labels.payload});
    }
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.cockpit = {
      // The live map's layer toggles: each option's value is its layer's place in the map.
      layers: function (shown, options) {
        var patch = new window.dash_clientside.Patch();
        (options || []).forEach(function (option) {
          patch.assign(["layout", "map", "layers", option.value, "visible"],
                       (shown || []).indexOf(option.value) >= 0);
        });
        return patch.build();
      },
      // A click on the map: what was picked, with a link to where it is worked on (a ticket
      // on the desk, a unit's tickets, a camera on the camera wall) when the person may go.
      details: function (click, closed, labels) {
        var ctx = window.dash_clientside.callback_context;
        var closing = ctx.triggered.some(function (t) { return t.prop_id.indexOf("close") >= 0; });
        var point = click && click.points && click.points[0];
        if (closing || !point) { return [[], true, true, null, ""]; }
        var gd = document.querySelector("#live-map .js-plotly-plot");
        var trace = gd && gd.data ? gd.data[point.curveNumber] || {} : {};
        var kind = String(trace.meta || "");
        var id = encodeURIComponent(String(point.customdata || ""));
        if (kind === "events") {  // a fresh finding over its ticket: the ticket is what to open
          var tickets = gd.data.find(function (t) { return t.meta === "tickets"; }) || {};
          var i = (tickets.lon || []).findIndex(function (lon, n) {
            return lon === point.lon && tickets.lat[n] === point.lat;
          });
          if (i >= 0) {
            kind = "tickets";
            id = encodeURIComponent(String(tickets.customdata[i]));
            point = {text: tickets.text[i]};
          }
        }
        var lang = "?lang=" + labels.lang;
        var link = null;
        if (kind === "tickets" && labels.desk) {
          link = [labels.ticket, "/desk" + lang + "&ticket=" + id];
        } else if (kind.indexOf("units:") === 0 && labels.desk) {
          link = [labels.unit, "/desk" + lang + "&unit=" + id];
        } else if (kind === "cameras" && labels.cameras) {
          link = [labels.camera, "/cameras" + lang + "#cam-" + id];
        }
        var text = String(point.text || point.hovertext || trace.name || "");
        var body = [{type: "Div", namespace: "dash_html_components",
                     props: {className: "map-detail-text", children: text}}];
        if (link) {
          body.push({type: "A", namespace: "dash_html_components",
                     props: {className: "map-detail-link", href: link[1], children: link[0]}});
        }
        // A unit long on one stage (amber or red): operators may say they have seen it.
        var colours = trace.marker && Array.isArray(trace.marker.color) ? trace.marker.color : [];
        var late = kind.indexOf("units:") === 0 && labels.ack &&
          labels.late.indexOf(colours[point.pointNumber]) >= 0;
        return [body, false, !late, late ? String(point.customdata) : null, ""];
      },
      apply: function (payload) {
        var nu = window.dash_clientside.no_update;
        if (!payload) { return [nu, nu, nu, nu, nu, nu, nu, nu, nu]; }
        var patch = new window.dash_clientside.Patch();
        var traces = payload.traces;
        var mapElement = document.getElementById("live-map");
        if (mapElement !== shownMap) {  // a new map (a page opened again): start it afresh
          shownMap = mapElement;
          lastGiven = {};
          fitted = false;
          labels.fitted = false;
          ringsShown = {key: null, base: null};
        }
        view = payload.view;
        fitToScreen(patch);
        labels.payload = payload;
        fitLabels(patch);
        emergencyLayers(patch, payload.emergency || null);
        window.setTimeout(function () { watchPlots(); }, 0);
        setTrace(patch, traces.tracks, payload.tracks, false);
        setTrace(patch, traces.cameras, payload.cameras, true);
        setTrace(patch, traces.tickets, payload.tickets, true);
        setTrace(patch, traces.events, payload.events, false);
        Object.keys(payload.units).forEach(function (name) {
          setTrace(patch, traces[name], payload.units[name], true);
        });
        var feed = payload.feed.length ? payload.feed.map(feedRow) :
          {type: "Div", namespace: "dash_html_components",
           props: {className: "feed-empty", children: payload.labels.empty}};
        var k = payload.kpis;
        var alerts = payload.alerts;
        var hot = alerts.rows.some(function (row) { return !row.handled; });
        return [patch.build(), String(k.open), String(k.events), k.units, k.cameras, feed,
                String(alerts.count), "alert-count" + (hot ? " hot" : ""),
                alertList(alerts, payload.labels)];
      }
  };

  // A kiosk wall: how long since the last push (red once stalled), and its views in turn.
  var rotation = {index: 0, since: Date.now()};
  function freshness() {
    var el = document.getElementById("last-update");
    if (!el || !window.streetCockpitLastPush) { return; }
    var seconds = Math.floor((Date.now() - window.streetCockpitLastPush) / 1000);
    el.textContent = el.getAttribute("data-template").replace("{s}", seconds);
    var stale = seconds > parseFloat(el.getAttribute("data-stale-s"));
    el.className = "last-update" + (stale ? " stale" : "");
  }
  function rotate() {
    var root = document.querySelector(".cockpit.kiosk");
    if (!root) { return; }
    if (root.getAttribute("data-emergency") === "1") {  // pinned: the map with the incident
      if (root.getAttribute("data-view") !== "map") {
        root.setAttribute("data-view", "map");
        window.dispatchEvent(new Event("resize"));
      }
      return;
    }
    var views = (root.getAttribute("data-views") || "map").split(",");
    if (!root.getAttribute("data-view")) { root.setAttribute("data-view", views[0]); }
    var period = parseFloat(root.getAttribute("data-rotate")) * 1000;
    if (views.length < 2 || Date.now() - rotation.since < period) { return; }
    rotation = {index: (rotation.index + 1) % views.length, since: Date.now()};
    root.setAttribute("data-view", views[rotation.index]);
    window.dispatchEvent(new Event("resize"));  // the map fits its box again when shown
  }
  // The camera wall: each visible tile asks for its camera's latest frame at most once a second,
  // never while the previous request is still on its way (bounded bandwidth).
  window.streetCockpitFrameBytes = 0;  // what the wall has fetched (the bandwidth bench reads it)
  function refreshFrame(tile) {
    if (tile.getAttribute("data-loading") === "1" || tile.offsetParent === null) { return; }
    var camera = tile.getAttribute("data-camera");
    var state = tile.querySelector(".cam-state");
    var grid = tile.closest(".camera-grid");
    tile.setAttribute("data-loading", "1");
    fetch("/frames/" + encodeURIComponent(camera) + ".jpg", {cache: "no-store"})
      .then(function (answer) {
        if (answer.status !== 200) { throw new Error("no frame"); }
        var at = parseFloat(answer.headers.get("X-Captured-At"));
        var found = answer.headers.get("X-Detections");
        var wrong = (answer.headers.get("X-Picture") || "").split(",").filter(Boolean);
        return answer.blob().then(function (blob) {
          return {blob: blob, at: at, found: found, wrong: wrong};
        });
      })
      .then(function (frame) {
        window.streetCockpitFrameBytes += frame.blob.size;
        var img = tile.querySelector(".cam-frame");
        var old = img.src;
        img.src = URL.createObjectURL(frame.blob);
        if (old && old.indexOf("blob:") === 0) { URL.revokeObjectURL(old); }
        var age = Math.max(0, Math.round(Date.now() / 1000 - frame.at));
        // What is wrong with the picture comes first: it is what an operator must act on.
        state.textContent = frame.wrong.map(function (p) {
          return state.getAttribute("data-" + p) + " · ";
        }).join("") + state.getAttribute("data-live").replace("{s}", age) + " · " +
          grid.getAttribute("data-detections").replace("{n}", frame.found);
        tile.className = "cam-tile live" + (frame.wrong.length ? " picture-problem" : "");
        tile.setAttribute("data-detections", frame.found);
        var zoom = document.getElementById("camera-zoom");
        if (zoom && !zoom.hidden && zoom.getAttribute("data-camera") === camera) {
          document.getElementById("camera-zoom-frame").src = img.src;
          document.getElementById("camera-zoom-caption").textContent = state.textContent;
        }
      })
      .catch(function () {
        state.textContent = state.getAttribute("data-offline");
        tile.className = "cam-tile offline";
      })
      .then(function () { tile.setAttribute("data-loading", "0"); });
  }
  function frames() {
    var tiles = document.querySelectorAll(".cam-tile");
    for (var i = 0; i < tiles.length; i++) { refreshFrame(tiles[i]); }
  }
  document.addEventListener("click", function (event) {
    var zoom = document.getElementById("camera-zoom");
    if (!zoom) { return; }
    var tile = event.target.closest && event.target.closest(".cam-tile");
    if (tile) {
      zoom.setAttribute("data-camera", tile.getAttribute("data-camera"));
      document.getElementById("camera-zoom-frame").src = tile.querySelector(".cam-frame").src;
      document.getElementById("camera-zoom-caption").textContent =
        tile.querySelector(".cam-name").textContent;
      zoom.hidden = false;
    } else if (event.target.closest && event.target.closest("#camera-zoom")) {
      zoom.hidden = true;
    }
  });
  window.setInterval(function () { tick(); freshness(); rotate(); frames(); }, 1000);
  // The wall clock, freshness and rotation only; live data is pushed, not polled.
  tick();
  connect();
})();
