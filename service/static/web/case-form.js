/* The patrol form (service/templates/cases/new.html): the place from the phone (geolocation: WGS84, its
   accuracy shown), or a point or an area drawn on the map (Leaflet.draw), written into the hidden geom,
   position_source and accuracy_m fields; an uploaded file wins over both (the server reads it). */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function start(el) {
    var geom = $("f-geom"), source = $("f-position_source"), accuracy = $("f-accuracy_m");
    var status = $("drawn-status"), gps = $("gps-status");
    var map = XC.map(el);
    var drawn = new L.FeatureGroup().addTo(map);

    function show(geometry, how) {
      drawn.clearLayers();
      XC.place(geometry).eachLayer(function (l) { drawn.addLayer(l); });
      status.textContent = how;
    }

    function write(geometry, how, src, acc) {
      geom.value = JSON.stringify(geometry);
      source.value = src;
      accuracy.value = acc === null ? "" : String(acc);
      show(geometry, how);
      XC.state.placed = src;
    }

    if (geom.value.trim()) {  // the form came back with an error: the place is still there
      try {
        show(JSON.parse(geom.value), "已确定位置（登记时提交）");
        var b = drawn.getBounds();
        if (b.isValid()) { map.fitBounds(b.pad(0.8), {maxZoom: 15, animate: false}); }
      } catch (e) { geom.value = ""; }
    }

    $("use-location").addEventListener("click", function () {
      if (!navigator.geolocation) {
        gps.textContent = "此浏览器不能定位，请在地图上标点或上传文件";
        return;
      }
      gps.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (p) {
        var lon = Math.round(p.coords.longitude * 1e6) / 1e6, lat = Math.round(p.coords.latitude * 1e6) / 1e6;
        var acc = Math.round(p.coords.accuracy);
        write({type: "Point", coordinates: [lon, lat]}, "已取当前位置（登记时提交）", "gps", acc);
        L.circle([lat, lon], {radius: acc, interactive: false, color: XC.STYLE.accuracy.color, weight: 1,
          fillColor: XC.STYLE.accuracy.fillColor, fillOpacity: 0.12}).addTo(drawn);
        gps.textContent = "当前位置：东经 " + lon.toFixed(6) + "，北纬 " + lat.toFixed(6) + "（WGS84，精度约 " + acc + " 米）";
        map.setView([lat, lon], acc > 2000 ? 12 : 15, {animate: false});
      }, function (err) {
        gps.textContent = err.code === 1 ? "未获准定位：请在浏览器中允许使用位置，或在地图上标点" :
          "定位失败（" + err.message + "），请在地图上标点或上传文件";
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 0});
    });

    L.drawLocal.draw.toolbar.buttons.marker = "标点：问题所在位置";
    L.drawLocal.draw.toolbar.buttons.polygon = "画面：问题涉及范围";
    L.drawLocal.draw.toolbar.actions.text = "取消";
    L.drawLocal.draw.toolbar.finish.text = "完成";
    L.drawLocal.draw.toolbar.undo.text = "撤销上一点";
    L.drawLocal.draw.handlers.marker.tooltip = {start: "点击地图标出位置"};
    L.drawLocal.draw.handlers.polygon.tooltip = {start: "点击开始画范围", cont: "点击继续", end: "点击第一个点闭合"};
    map.addControl(new L.Control.Draw({
      position: "topleft",
      draw: {marker: true, polygon: {shapeOptions: XC.STYLE.place}, polyline: false, rectangle: false, circle: false,
             circlemarker: false},
      edit: false
    }));
    map.on(L.Draw.Event.CREATED, function (e) {
      var g = e.layer.toGeoJSON().geometry;
      if (g.type === "Point") { g.coordinates = g.coordinates.map(function (v) { return Math.round(v * 1e6) / 1e6; }); }
      write(g, g.type === "Point" ? "已在地图上标点（登记时提交）" : "已在地图上画出范围（登记时提交）", "drawn", null);
      gps.textContent = "";
    });
    $("f-place_file").addEventListener("change", function () {
      if (this.files.length) { status.textContent = "将以上传的文件 " + this.files[0].name + " 为准"; }
    });
    XC.state.drawReady = true;
  }

  function kindChanged() {
    var chosen = document.querySelector("input[name=kind]:checked");
    var picker = $("project-picker");
    var supervision = chosen && chosen.value === "督察问题";
    picker.classList.toggle("required", !!supervision);
    $("project-need").textContent = supervision ? "（督察问题必选：输入任务名称查找）" : "（可不选）";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = $("case-form-map");
    if (!el) { return; }
    start(el);
    document.querySelectorAll("input[name=kind]").forEach(function (r) { r.addEventListener("change", kindChanged); });
    kindChanged();
  });
}());
