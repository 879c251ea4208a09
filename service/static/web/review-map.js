/* The review page's map (service/templates/review/task.html): the candidate features, numbered as in the list,
   from /review/{id}/candidates.geojson, over the roads and streams near them from this server's own
   collections (no tile from the internet, decision 0192).  Clicking a candidate ticks it in the accept form.
   Leaflet.draw's point, line and polygon tools draw one geometry, written into the draw form's hidden
   geometry field as GeoJSON; the server checks it. */
(function () {
  "use strict";

  var R = window.REVIEW = {loaded: false, candidates: 0, context: 0, errors: []};
  var HUNAN = L.latLngBounds([[24.6, 108.8], [30.2, 114.3]]);
  var CANDIDATE = {color: "#b3261e", weight: 4, opacity: 0.9, fillColor: "#f28b82", fillOpacity: 0.25};
  var CHOSEN = {color: "#0b5cad", weight: 6, opacity: 1, fillColor: "#0b5cad", fillOpacity: 0.3};
  var DRAWN = {color: "#2f9e44", weight: 5, opacity: 0.95, fillColor: "#2f9e44", fillOpacity: 0.35};
  var CONTEXT = {roads: {color: "#c9a227", weight: 2, opacity: 0.7}, streams: {color: "#4a90d9", weight: 2, opacity: 0.7}};

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/geo+json, application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(url + ": HTTP " + r.status); } return r.json(); });
  }

  function context(map, bounds) {
    var b = bounds.pad(0.6), bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    ["streams", "roads"].forEach(function (name) {
      getJSON("/collections/" + name + "/items?limit=200&bbox=" + bbox).then(function (fc) {
        L.geoJSON(fc, {style: CONTEXT[name], interactive: false}).addTo(map).bringToBack();
        R.context += (fc.features || []).length;
      }).catch(function (e) { R.errors.push(String(e)); });
    });
  }

  function radio(value) {
    var found = null;
    document.querySelectorAll('#accept-form input[name="candidate"]').forEach(function (el) { if (el.value === value) { found = el; } });
    return found;
  }

  function candidates(map) {
    var byValue = {};
    var group = L.geoJSON(null, {
      style: function () { return CANDIDATE; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 9, color: "#b3261e", weight: 3, fillOpacity: 0.35}); },
      onEachFeature: function (f, layer) {
        byValue[f.properties.value] = layer;
        layer.bindTooltip(f.properties.n + " " + f.properties.name + "（" + f.properties.layer + "）", {permanent: true, direction: "top", className: "cand-label"});
        layer.on("click", function () { var el = radio(f.properties.value); if (el) { el.checked = true; el.dispatchEvent(new Event("change", {bubbles: true})); } });
      }
    }).addTo(map);
    function highlight() {
      Object.keys(byValue).forEach(function (v) {
        var el = radio(v), layer = byValue[v];
        if (layer.setStyle) { layer.setStyle(el && el.checked ? CHOSEN : CANDIDATE); }
      });
    }
    var form = document.getElementById("accept-form");
    if (form) { form.addEventListener("change", highlight); }
    return getJSON(map.getContainer().dataset.candidates).then(function (fc) {
      group.addData(fc);
      R.candidates = fc.features.length;
      highlight();
      return group;
    });
  }

  function drawing(map) {
    var field = document.getElementById("f-geometry"), status = document.getElementById("draw-status");
    if (!field || !L.Control.Draw) { return; }
    var drawn = new L.FeatureGroup().addTo(map);
    function write() {
      var layers = drawn.getLayers();
      if (!layers.length) { field.value = ""; status.textContent = "尚未绘制"; return; }
      var g = layers[0].toGeoJSON().geometry;
      field.value = JSON.stringify(g);
      status.textContent = "已绘制一个" + ({Point: "点", LineString: "线", Polygon: "面"}[g.type] || "图形") + "（保存时提交）";
    }
    if (field.value.trim()) {  // the form came back with an error: what was drawn is still there
      try { L.geoJSON(JSON.parse(field.value), {style: DRAWN, pointToLayer: function (f, ll) { return L.circleMarker(ll, DRAWN); }})
        .eachLayer(function (l) { drawn.addLayer(l); }); write(); } catch (e) { field.value = ""; }
    }
    L.drawLocal.draw.toolbar.buttons.polyline = "画线";
    L.drawLocal.draw.toolbar.buttons.polygon = "画面";
    L.drawLocal.draw.toolbar.buttons.circlemarker = "画点";
    L.drawLocal.draw.toolbar.actions.text = "取消";
    L.drawLocal.draw.toolbar.finish.text = "完成";
    L.drawLocal.draw.toolbar.undo.text = "撤销上一点";
    L.drawLocal.draw.handlers.circlemarker.tooltip = {start: "点击地图放置点"};
    L.drawLocal.draw.handlers.polyline.tooltip = {start: "点击开始画线", cont: "点击继续画线", end: "点击最后一点或“完成”结束"};
    L.drawLocal.draw.handlers.polygon.tooltip = {start: "点击开始画面", cont: "点击继续", end: "点击第一个点闭合"};
    map.addControl(new L.Control.Draw({
      position: "topleft",
      draw: {circlemarker: DRAWN, polyline: {shapeOptions: DRAWN}, polygon: {shapeOptions: DRAWN}, rectangle: false,
             circle: false, marker: false},
      edit: {featureGroup: drawn, remove: true}
    }));
    map.on(L.Draw.Event.CREATED, function (e) { drawn.clearLayers(); e.layer.setStyle && e.layer.setStyle(DRAWN); drawn.addLayer(e.layer); write(); });
    map.on(L.Draw.Event.EDITED, write);
    map.on(L.Draw.Event.DELETED, write);
    document.getElementById("clear-drawn").addEventListener("click", function () { drawn.clearLayers(); write(); });
    R.drawReady = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("review-map");
    if (!el) { return; }
    var map = L.map(el, {zoomSnap: 0.5, attributionControl: false});
    R.map = map;  // for the browser tests
    map.fitBounds(HUNAN);
    drawing(map);
    candidates(map).then(function (group) {
      var bounds = group.getLayers().length ? group.getBounds() : HUNAN;
      map.fitBounds(bounds, {padding: [30, 30], maxZoom: 15, animate: false});
      context(map, bounds);
      R.loaded = true;
    }).catch(function (e) { R.errors.push(String(e)); R.loaded = true; });
  });
}());
