/* The task page's map (service/templates/tasks/page.html): the planned geometry (dashed) and the latest built
   part (green), fetched from /tasks/{id}/map.geojson, over the roads and streams near it from this server's
   own collections.  No tile is fetched from the internet (decision 0192). */
(function () {
  "use strict";

  var XT = window.XT = window.XT || {};
  XT.STYLE = {
    planned: {color: "#4a5560", weight: 5, opacity: 0.85, dashArray: "8 6", fillColor: "#8795a1", fillOpacity: 0.2},
    done: {color: "#2f9e44", weight: 7, opacity: 0.95, fillColor: "#2f9e44", fillOpacity: 0.45},
    earlier: {color: "#8fd19e", weight: 6, opacity: 0.9, dashArray: "2 8", fillColor: "#8fd19e", fillOpacity: 0.3},
    roads: {color: "#c9a227", weight: 2, opacity: 0.7},
    streams: {color: "#4a90d9", weight: 2, opacity: 0.7}
  };
  XT.state = {loaded: false, planned: 0, done: 0, context: 0, errors: []};
  var CHINA = L.latLngBounds([[18, 73], [54, 135]]);

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/geo+json, application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(url + ": HTTP " + r.status); } return r.json(); });
  }

  function context(map, bounds) {
    if (!bounds.isValid()) { return; }
    var b = bounds.pad(0.6), bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    ["streams", "roads"].forEach(function (name) {
      getJSON("/collections/" + name + "/items?limit=200&bbox=" + bbox).then(function (fc) {
        var layer = L.geoJSON(fc, {style: XT.STYLE[name], interactive: false}).addTo(map);
        layer.bringToBack();
        XT.state.context += (fc.features || []).length;
      }).catch(function (e) { XT.state.errors.push(String(e)); });
    });
  }

  /* The map in ``el``: planned and built layers from el.dataset.features; calls ready(map, layers, bounds). */
  XT.taskMap = function (el, ready) {
    var map = L.map(el, {zoomSnap: 0.5, attributionControl: false});
    XT.lastMap = map;  // for the browser tests, which click on it
    map.fitBounds(CHINA);
    var planned = L.geoJSON(null, {style: XT.STYLE.planned, pointToLayer: function (f, ll) {
      return L.circleMarker(ll, {radius: 8, color: "#4a5560", weight: 3, fillOpacity: 0.3});
    }}).addTo(map);
    var done = L.geoJSON(null, {style: XT.STYLE.done}).addTo(map);
    getJSON(el.dataset.features).then(function (fc) {
      fc.features.forEach(function (f) {
        if (f.properties.role === "planned") { planned.addData(f); XT.state.planned += 1; }
        else { done.addData(f); XT.state.done += 1; }
      });
      var bounds = L.latLngBounds([]);
      [planned, done].forEach(function (g) { if (g.getLayers().length) { bounds.extend(g.getBounds()); } });
      if (bounds.isValid()) { map.fitBounds(bounds, {padding: [30, 30], maxZoom: 16, animate: false}); }
      context(map, bounds);
      XT.state.loaded = true;
      if (ready) { ready(map, {planned: planned, done: done}, bounds); }
    }).catch(function (e) { XT.state.errors.push(String(e)); XT.state.loaded = true; });
    return map;
  };

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("task-map");
    if (el) { XT.taskMap(el); }
  });
}());
