/* xiangmap project map: one project's planned geometry against the part done, where it was located,
   the protected zones within 5 km, and its report history, all fetched from this server. */
(function () {
  "use strict";

  var ROLE_STYLE = {
    planned: {color: "#555", weight: 5, opacity: 0.8, dashArray: "8 6", fillColor: "#999", fillOpacity: 0.2, radius: 9},
    done: {color: "#33a02c", weight: 7, opacity: 0.95, fillColor: "#33a02c", fillOpacity: 0.5, radius: 7},
    location: {color: "#1f78b4", weight: 2, fillOpacity: 0.15, radius: 6},
    zone: {color: "#1b7837", weight: 1.5, fillOpacity: 0.1, dashArray: "4 4"}
  };
  var ROLE_LABEL = {planned: "计划范围", done: "已完成部分", location: "定位要素", zone: "周边保护区 / 片区（5 公里内）"};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  window.XM = window.XM || {};
  XM.state = {loaded: false, drawn: false, features: 0, reports: 0, errors: []};

  XM.projectMap = function (map, layerControl, cfg) {
    map.setMinZoom(5); map.setMaxZoom(18);  // folium leaves them to the tile layers; the cluster needs one
    var project = cfg.project, pub = XM.state;
    var blank = L.layerGroup();
    layerControl.addBaseLayer(blank, "无底图");
    if (cfg.basemap === "none") { blank.addTo(map); }
    var groups = {};
    ["zone", "location", "planned", "done"].forEach(function (role) {
      groups[role] = L.geoJSON(null, {
        style: function () { return ROLE_STYLE[role]; },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, ROLE_STYLE[role]); },
        onEachFeature: function (f, l) {
          l.bindTooltip(esc(ROLE_LABEL[role]) + (f.properties.name ? "：" + esc(f.properties.name) : ""));
        }
      }).addTo(map);
      layerControl.addOverlay(groups[role], ROLE_LABEL[role]);
    });

    var panel = L.DomUtil.create("div", "xm-panel xm-reports", map.getContainer());
    L.DomEvent.disableClickPropagation(panel); L.DomEvent.disableScrollPropagation(panel);
    panel.id = "xm-project";
    panel.innerHTML = "<div class='xm-title'>" + esc(project.title) + "</div>加载中…";

    var q = new URLSearchParams(window.location.search).get("as_of");
    var asOf = q ? "?as_of=" + encodeURIComponent(q) : "";
    Promise.all([
      fetch("/maps/data/projects/" + project.id + "/features.geojson" + asOf).then(function (r) { return r.json(); }),
      fetch("/projects/" + project.id + "/progress" + asOf).then(function (r) { return r.json(); })
    ]).then(function (res) {
      var gj = res[0], progress = res[1], s = progress.state;
      gj.features.forEach(function (f) { groups[f.properties.role].addData(f); });
      var bounds = L.latLngBounds([]);
      ["planned", "done", "location"].forEach(function (r) {
        if (groups[r].getLayers().length) { bounds.extend(groups[r].getBounds()); }
      });
      if (bounds.isValid()) { map.fitBounds(bounds, {padding: [40, 40], maxZoom: 16, animate: false}); }
      var spatial = "";
      if (s.spatial_progress != null) {
        spatial = s.length_planned_m ? "已建 " + Math.round(s.length_done_m || 0) + " / " + Math.round(s.length_planned_m) + " 米"
                                     : "已完成 " + Math.round((s.area_done_m2 || 0) / 10000 * 10) / 10 + " / " + Math.round(s.area_planned_m2 / 10000 * 10) / 10 + " 公顷";
        spatial += "（" + Math.round(s.spatial_progress * 100) + "%）";
      }
      var html = "<div class='xm-title'>" + esc(project.title) + "</div><p>" + esc(project.task_text) + "</p>" +
        "<div>牵头单位：" + esc((project.lead_units || []).join("、")) + "</div>" +
        "<div>进度分类：<b>" + esc(s.status) + "</b>，完成 " + s.percent + "%</div>" +
        (spatial ? "<div>空间进度：" + spatial + "</div>" : "") +
        "<div>截止：" + esc(project.deadline || project.deadline_text || "—") + "</div>" +
        "<table id='xm-report-table'><tr><th>月份</th><th>状态</th><th>完成</th><th>投资(万元)</th><th>说明</th></tr>";
      progress.reports.forEach(function (r) {
        html += "<tr><td>" + esc(r.period) + "</td><td>" + esc(r.status) + "</td><td>" + r.percent + "%</td><td>" +
          esc(r.investment_wan == null ? "" : r.investment_wan) + "</td><td>" + esc(r.note || "") + (r.demo ? "（演示）" : "") + "</td></tr>";
      });
      html += "</table>";
      if (!progress.reports.length) { html += "<p>尚无进度报告</p>"; }
      html += "<div class='xm-legend-title'>图例</div>";
      ["planned", "done", "location", "zone"].forEach(function (role) {
        var st = ROLE_STYLE[role];
        html += "<div><i class='xm-line' style='border-top:" + Math.min(st.weight, 5) + "px " + (st.dashArray ? "dashed" : "solid") +
          " " + st.color + "'></i>" + esc(ROLE_LABEL[role]) + "</div>";
      });
      panel.innerHTML = html;
      pub.features = gj.features.length; pub.reports = progress.reports.length; pub.loaded = true;
      requestAnimationFrame(function () { pub.drawn = true; document.body.setAttribute("data-xm-drawn", "1"); });
    }).catch(function (e) { pub.errors.push(String(e)); });
  };
})();
