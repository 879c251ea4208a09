/* The report form's map (service/templates/tasks/report.html): the planned geometry, and Leaflet.draw's line
   (linear tasks) or polygon (areal tasks) tool to draw the part built so far.  What is drawn is written into
   the form's done_geom field as one GeoJSON MultiLineString or MultiPolygon; the server checks it. */
(function () {
  "use strict";

  function measure(layer) {
    var total = 0;
    if (layer instanceof L.Polygon) { return 0; }
    var pts = layer.getLatLngs();
    for (var i = 1; i < pts.length; i++) { total += pts[i - 1].distanceTo(pts[i]); }
    return total;
  }

  function start(el) {
    var field = document.getElementById("f-done_geom");
    var status = document.getElementById("drawn-status");
    var linear = el.dataset.kind === "linear", areal = el.dataset.kind === "areal";
    var drawn = new L.FeatureGroup();

    function write() {
      var parts = [], metres = 0;
      drawn.eachLayer(function (layer) {
        var g = layer.toGeoJSON().geometry;
        if (g.type === "LineString" || g.type === "Polygon") { parts.push(g.coordinates); }
        else if (g.type === "MultiLineString" || g.type === "MultiPolygon") { parts = parts.concat(g.coordinates); }
        metres += measure(layer);
      });
      if (!parts.length) {
        field.value = "";
        status.textContent = "尚未绘制";
        return;
      }
      field.value = JSON.stringify({type: linear ? "MultiLineString" : "MultiPolygon", coordinates: parts});
      status.textContent = "已绘制 " + parts.length + " 段" + (linear ? "，约 " + Math.round(metres) + " 米" : "") + "（保存时提交）";
    }

    XT.taskMap(el, function (map, layers) {
      layers.done.setStyle(XT.STYLE.earlier);  // the last report's part, beside (not under) what is drawn now
      drawn.addTo(map);
      if (field.value.trim()) {  // the form came back with an error: what was drawn is still there
        try {
          L.geoJSON(JSON.parse(field.value), {style: XT.STYLE.done}).eachLayer(function (l) {
            if (l.getLatLngs && l instanceof L.Polyline && !(l instanceof L.Polygon) && Array.isArray(l.getLatLngs()[0])) {
              l.getLatLngs().forEach(function (part) { drawn.addLayer(L.polyline(part, XT.STYLE.done)); });
            } else if (l instanceof L.Polygon && !(l.getLatLngs()[0][0] instanceof L.LatLng)) {
              l.getLatLngs().forEach(function (part) { drawn.addLayer(L.polygon(part, XT.STYLE.done)); });
            } else { drawn.addLayer(l); }
          });
          write();
        } catch (e) { field.value = ""; }
      }
      if (!linear && !areal) {
        status.textContent = el.dataset.kind === "point" ? "本任务是点位，无需绘制已建部分" : "本任务尚未定位，暂不能绘制已建部分";
        return;
      }
      L.drawLocal.draw.toolbar.buttons.polyline = "画线：已建路段、河段";
      L.drawLocal.draw.toolbar.buttons.polygon = "画面：已建片区";
      L.drawLocal.draw.toolbar.actions.text = "取消";
      L.drawLocal.draw.toolbar.finish.text = "完成";
      L.drawLocal.draw.toolbar.undo.text = "撤销上一点";
      L.drawLocal.draw.handlers.polyline.tooltip = {start: "点击开始画线", cont: "点击继续画线", end: "点击最后一点或“完成”结束"};
      L.drawLocal.draw.handlers.polygon.tooltip = {start: "点击开始画面", cont: "点击继续", end: "点击第一个点闭合"};
      var shape = {shapeOptions: XT.STYLE.done, showLength: true, metric: true};
      map.addControl(new L.Control.Draw({
        position: "topleft",
        draw: {polyline: linear ? shape : false, polygon: areal ? shape : false, rectangle: false, circle: false,
               marker: false, circlemarker: false},
        edit: {featureGroup: drawn, remove: true}
      }));
      map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); write(); });
      map.on(L.Draw.Event.EDITED, write);
      map.on(L.Draw.Event.DELETED, write);
      document.getElementById("clear-drawn").addEventListener("click", function () { drawn.clearLayers(); write(); });
      XT.state.drawReady = true;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("report-map");
    if (el) { start(el); }
  });
}());
