/* xiangmap progress map: fetches projects as GeoJSON from /maps/data, clusters points, draws lines and
   areas, a district choropleth of completion, overlay layers, filters and a time slider over report periods.
   Everything it loads comes from this server (no CDN), so it works on an offline intranet. */
(function () {
  "use strict";

  /* status -> colour, from the server's drawing kit (service/common/drawing.py) through the page config */
  var STATUS_COLORS = {};
  var FILTERS = ["plan", "category", "lead_unit", "district", "status", "year"];
  var FILTER_LABELS = {plan: "计划", category: "类别", lead_unit: "牵头单位", district: "区县", status: "状态", year: "年度"};
  var RAMP = [[0.2, "#ffffcc"], [0.4, "#c2e699"], [0.6, "#78c679"], [0.8, "#31a354"], [1.01, "#006837"]];
  var OVERLAY_STYLE = {
    green_heart: {color: "#1b7837", weight: 1.5, fillOpacity: 0.12, dashArray: "6 4"},
    qingshuitang: {color: "#8c510a", weight: 2, fillOpacity: 0.12},
    demo_zones: {color: "#762a83", weight: 1.5, fillOpacity: 0.08},
    districts: {color: "#555", weight: 1, fill: false},
    roads: {color: "#d95f02", weight: 2},
    streams: {color: "#2b8cbe", weight: 2},
    sewage_plants: {color: "#045a8d", radius: 5, fillOpacity: 0.8}
  };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function rampColor(rate) {
    if (rate == null) { return "#dddddd"; }
    for (var i = 0; i < RAMP.length; i++) { if (rate < RAMP[i][0]) { return RAMP[i][1]; } }
    return RAMP[RAMP.length - 1][1];
  }

  /* exact (1): solid; near / estimated (2, 5): half filled, dashed; district or coarser: hollow, dotted. */
  function precisionStyle(q, status) {
    var color = STATUS_COLORS[status] || "#000";
    if (q === 1) { return {radius: 7, color: "#222", weight: 1, fillColor: color, fillOpacity: 0.95}; }
    if (q === 2 || q === 5) { return {radius: 6, color: color, weight: 2, fillColor: color, fillOpacity: 0.45, dashArray: "3 2"}; }
    return {radius: 6, color: color, weight: 2, fillColor: color, fillOpacity: 0.1, dashArray: "1 3"};
  }

  function shapeStyle(feature) {
    var p = feature.properties, approx = p.q !== 1;
    var color = STATUS_COLORS[p.s] || "#000";
    var area = feature.geometry.type.indexOf("Polygon") >= 0;
    return {color: color, weight: area ? 2 : 4, opacity: 0.9, fillColor: color, fillOpacity: area ? 0.15 : 0,
            dashArray: approx ? "8 6" : null};
  }

  function paramsFrom(state) {
    var q = new URLSearchParams();
    FILTERS.forEach(function (k) { if (state.filters[k]) { q.set(k, state.filters[k]); } });
    if (state.asOf) { q.set("as_of", state.asOf); }
    return q;
  }

  function popupHtml(d) {
    var targets = (d.targets || []).map(function (t) { return typeof t === "string" ? t : (t.text || JSON.stringify(t)); });
    var rows = [
      ["计划", d.plan_title], ["类别", d.category], ["牵头单位", (d.lead_units || []).join("、")],
      ["责任单位", (d.responsible_units || []).join("、")], ["目标", targets.join("；")],
      ["进度分类", d.status],
      ["完成", d.percent + "%" + (d.elapsed_pct != null ? "（时间过半：" + Math.round(d.elapsed_pct) + "%）" : "")],
      ["投资", d.investment_wan != null ? d.investment_wan + " 万元" : ""],
      ["截止", d.deadline || d.deadline_text], ["最近报告", d.period ? d.period + (d.note ? "：" + d.note : "") : "无"],
      ["定位", d.place ? d.place + (d.precision ? "（精度 " + d.precision + "）" : "") : d.precision]
    ];
    var html = "<div class='xm-popup'><b>" + esc(d.title) + "</b><p>" + esc(d.task_text) + "</p><table>";
    rows.forEach(function (r) { if (r[1] !== null && r[1] !== undefined && r[1] !== "") { html += "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>"; } });
    html += "</table>";
    if (d.demo) { html += "<p class='xm-demo'>演示数据（非真实进度）</p>"; }
    return html + "<a href='/maps/projects/" + d.id + "' target='_blank'>项目地图与历次报告 »</a></div>";
  }

  function control(position, id, html) {
    var C = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", "xm-panel");
        div.id = id; div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    return new C({position: position});
  }

  window.XM = window.XM || {};
  XM.state = {loaded: false, drawn: false, features: 0, markers: 0, shapes: 0, loads: 0, errors: []};

  XM.progressMap = function (map, layerControl, cfg) {
    cfg.colours.status.forEach(function (pair) { STATUS_COLORS[pair[0]] = pair[1]; });
    map.setMinZoom(5); map.setMaxZoom(18);  // folium leaves them to the tile layers; the cluster needs one
    var url = new URL(window.location.href);
    var state = {filters: {}, asOf: url.searchParams.get("as_of") || "", periods: []};
    FILTERS.forEach(function (k) { state.filters[k] = url.searchParams.get(k) || ""; });
    var pub = XM.state;
    pub.asOf = state.asOf;

    var blank = L.layerGroup();
    layerControl.addBaseLayer(blank, "无底图");
    if (cfg.basemap === "none") { blank.addTo(map); }

    /* Points are clustered with Supercluster (a k-d tree: 100 000 points index in a fraction of a second);
       only the clusters and points in view are Leaflet layers, rebuilt on every move. */
    var cluster = L.layerGroup();
    var index = null;
    function drawClusters() {
      cluster.clearLayers();
      if (!index) { return; }
      var b = map.getBounds().pad(0.2);
      var items = index.getClusters([b.getWest(), Math.max(b.getSouth(), -85), b.getEast(), Math.min(b.getNorth(), 85)],
        Math.round(map.getZoom()));
      items.forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties, latlng = [c[1], c[0]];
        if (p.cluster) {
          var size = p.point_count < 100 ? 30 : (p.point_count < 1000 ? 38 : 46);
          var icon = L.divIcon({html: "<div><span>" + p.point_count_abbreviated + "</span></div>",
            className: "xm-cluster xm-cluster-" + size, iconSize: L.point(size, size)});
          var m = L.marker(latlng, {icon: icon, title: p.point_count + " 个项目"});
          m.on("click", function () { map.setView(latlng, Math.min(index.getClusterExpansionZoom(p.cluster_id), 18)); });
          cluster.addLayer(m);
        } else {
          var point = L.circleMarker(latlng, precisionStyle(p.q, p.s));
          point.xmId = f.id;
          cluster.addLayer(point);
        }
      });
    }
    map.on("moveend", drawClusters);
    var shapes = L.geoJSON(null, {style: shapeStyle, pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, precisionStyle(f.properties.q, f.properties.s));
    }});
    var projects = L.featureGroup([shapes, cluster]).addTo(map);
    layerControl.addOverlay(projects, "项目（按状态着色）");

    var choropleth = L.geoJSON(null, {
      style: function (f) { return {color: "#666", weight: 1, fillColor: rampColor(f.properties.completion_rate), fillOpacity: 0.35}; },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(esc(p.name) + "（" + esc(p.city) + "）<br>项目 " + p.projects + " 个，已完成 " + p.done +
          " 个<br>完成率 " + (p.completion_rate == null ? "—" : Math.round(p.completion_rate * 100) + "%"), {sticky: true});
      }
    });
    if (cfg.choropleth) { choropleth.addTo(map); choropleth.bringToBack(); }
    layerControl.addOverlay(choropleth, "区县完成率");

    (cfg.overlays || []).forEach(function (o) {
      var style = OVERLAY_STYLE[o.layer] || {};
      var layer = L.geoJSON(null, {
        style: function () { return style; },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, style); },
        onEachFeature: function (f, l) {
          var p = f.properties, extra = [];
          Object.keys(p).forEach(function (k) { if (k !== "name" && p[k] != null) { extra.push(esc(k) + "：" + esc(p[k])); } });
          l.bindPopup("<b>" + esc(p.name) + "</b><br>" + extra.join("<br>"));
        }
      });
      var fetched = false;
      function ensure() {
        if (fetched) { return; }
        fetched = true;
        pub.overlaysLoading = (pub.overlaysLoading || 0) + 1;
        fetch("/maps/data/layers/" + o.layer + ".geojson").then(function (r) { return r.json(); })
          .then(function (gj) { layer.addData(gj); if (map.hasLayer(projects)) { projects.bringToFront(); } })
          .catch(function (e) { pub.errors.push(String(e)); })
          .finally(function () { pub.overlaysLoading -= 1; });
      }
      layer.on("add", ensure);
      if (o.show) { layer.addTo(map); }
      layerControl.addOverlay(layer, o.label);
    });

    /* Cases (issue 16): off by default; fetched when first switched on, per caller (who sees which case is
       decided by the server); a dot coloured by status, overdue ones ringed in red; clustered like projects. */
    var CASE_COLORS = {"登记": "#6c757d", "交办": "#1971c2", "整改中": "#e67700", "申请销号": "#7048e8",
                       "销号": "#2f9e44", "撤销": "#adb5bd"};
    pub.cases = {loaded: false, features: 0};
    var caseLayer = L.layerGroup(), caseIndex = null, caseFetched = false;
    function drawCases() {
      caseLayer.clearLayers();
      if (!caseIndex || !map.hasLayer(caseLayer)) { return; }
      var b = map.getBounds().pad(0.2);
      caseIndex.getClusters([b.getWest(), Math.max(b.getSouth(), -85), b.getEast(), Math.min(b.getNorth(), 85)],
        Math.round(map.getZoom())).forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties, latlng = [c[1], c[0]];
        if (p.cluster) {
          var icon = L.divIcon({html: "<div><span>" + p.point_count_abbreviated + "</span></div>",
            className: "xm-cluster xm-cluster-30 xm-case-cluster", iconSize: L.point(30, 30)});
          var m = L.marker(latlng, {icon: icon, title: p.point_count + " 件案件"});
          m.on("click", function () { map.setView(latlng, Math.min(caseIndex.getClusterExpansionZoom(p.cluster_id), 18)); });
          caseLayer.addLayer(m);
        } else {
          var dot = L.circleMarker(latlng, {radius: 6, weight: p.o ? 3 : 1, color: p.o ? "#e03131" : "#222",
            fillColor: CASE_COLORS[p.s] || "#868e96", fillOpacity: 0.95});
          dot.bindPopup("<b>" + esc(p.n) + "</b><br>" + esc(p.s) + (p.o ? "（逾期）" : "") + " · " + esc(p.v) +
            "<br><a href='/cases/" + encodeURIComponent(f.id) + "' target='_blank'>查看案件 »</a>");
          caseLayer.addLayer(dot);
        }
      });
    }
    map.on("moveend", drawCases);
    caseLayer.on("add", function () {
      if (caseFetched) { drawCases(); return; }
      caseFetched = true;
      fetch("/maps/data/cases.geojson", {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { throw new Error("cases: HTTP " + r.status); }
        return r.json();
      }).then(function (gj) {
        caseIndex = new Supercluster({radius: 40, minZoom: 5, maxZoom: 13});
        caseIndex.load(gj.features.map(function (f) {
          return {type: "Feature", id: f.id, geometry: f.geometry, properties: {n: f.properties.n, s: f.properties.s,
                  o: f.properties.o, v: f.properties.v}};
        }));
        pub.cases = {loaded: true, features: gj.features.length};
        document.body.setAttribute("data-xm-cases", String(gj.features.length));
        drawCases();
      }).catch(function (e) { pub.errors.push(String(e)); });
    });
    if (cfg.cases) {
      if (cfg.cases.show) { caseLayer.addTo(map); }
      layerControl.addOverlay(caseLayer, cfg.cases.label);
    }

    // filter panel
    var fhtml = "<div class='xm-title'>" + esc(cfg.title) + "</div>";
    FILTERS.forEach(function (k) {
      fhtml += "<label>" + FILTER_LABELS[k] + "<select data-filter='" + k + "'><option value=''>全部</option></select></label>";
    });
    fhtml += "<div id='xm-count' data-count='0'>加载中…</div>" +
      "<div class='xm-links'><a id='xm-print' target='_blank' href='/maps/progress.png'>打印挂图 PNG</a> · " +
      "<a id='xm-pdf' target='_blank' href='/maps/progress.pdf'>PDF</a></div>";
    control("topleft", "xm-filters", fhtml).addTo(map);

    var shtml = "<button type='button' id='xm-play' title='播放'>▶</button>" +
      "<input type='range' id='xm-slider' min='0' max='0' step='1' value='0'>" +
      "<span id='xm-period'>截至今日</span>";
    control("bottomleft", "xm-time", shtml).addTo(map);

    var lhtml = "<div class='xm-legend-title'>项目状态</div>";
    Object.keys(STATUS_COLORS).forEach(function (s) {
      lhtml += "<div><i class='xm-dot' style='background:" + STATUS_COLORS[s] + "'></i>" + s + "</div>";
    });
    lhtml += "<div class='xm-legend-title'>位置精度</div>" +
      "<div><i class='xm-dot xm-exact'></i>精确位置</div><div><i class='xm-dot xm-near'></i>近似（沿线 / 附近）</div>" +
      "<div><i class='xm-dot xm-admin'></i>仅到区县 / 政府驻地</div><div class='xm-legend-title'>区县完成率</div>";
    RAMP.forEach(function (r, i) {
      var lo = i === 0 ? 0 : RAMP[i - 1][0];
      lhtml += "<div><i class='xm-box' style='background:" + r[1] + "'></i>" + Math.round(lo * 100) + "–" + Math.min(100, Math.round(r[0] * 100)) + "%</div>";
    });
    lhtml += "<div><i class='xm-box' style='background:#dddddd'></i>无项目</div>";
    if (cfg.cases) {
      lhtml += "<div class='xm-legend-title'>案件（图层开启时）</div><div class='xm-case-legend'>";
      Object.keys(CASE_COLORS).forEach(function (s) {
        lhtml += "<span><i class='xm-dot' style='background:" + CASE_COLORS[s] + "'></i>" + s + "</span> ";
      });
      lhtml += "<span><i class='xm-dot xm-case-overdue'></i>逾期</span></div>";
    }
    if (cfg.demo_note) { lhtml += "<div class='xm-demo'>" + esc(cfg.demo_note) + "</div>"; }
    control("bottomright", "xm-legend", lhtml).addTo(map);

    var slider = document.getElementById("xm-slider");
    var periodLabel = document.getElementById("xm-period");
    var selects = document.querySelectorAll("#xm-filters select");

    function setPeriodFromSlider() {
      var i = parseInt(slider.value, 10);
      state.asOf = i < state.periods.length ? state.periods[i] : "";
      periodLabel.textContent = state.asOf ? "截至 " + state.asOf.replace("-", "年") + "月" : "截至今日";
    }

    function syncUrl() {
      var q = paramsFrom(state);
      if (cfg.basemap_param) { q.set("basemap", cfg.basemap_param); }
      var s = q.toString();
      history.replaceState(null, "", window.location.pathname + (s ? "?" + s : ""));
      document.getElementById("xm-print").href = "/maps/progress.png?" + paramsFrom(state).toString();
      document.getElementById("xm-pdf").href = "/maps/progress.pdf?" + paramsFrom(state).toString();
    }

    var pending = null, lastFeatures = null;
    var awaitingDraw = false;
    function finishDraw() {
      if (!awaitingDraw) { return; }
      awaitingDraw = false;
      requestAnimationFrame(function () {
        pub.drawn = true; pub.drawnAt = performance.now();
        document.body.setAttribute("data-xm-drawn", String(pub.loads));
      });
    }

    function load() {
      var q = paramsFrom(state).toString();
      pub.drawn = false; pub.loaded = false; pub.asOf = state.asOf;
      syncUrl();
      var ticket = {};
      pending = ticket;
      var p1 = fetch("/maps/data/projects.geojson?" + q).then(function (r) {
        if (!r.ok) { throw new Error("projects: HTTP " + r.status); }
        return r.json();
      });
      var started = performance.now();
      return p1.then(function (projectsGeojson) {
        var res = [projectsGeojson];
        if (pending !== ticket) { return; }
        pub.timings = {fetchStart: started, fetched: performance.now()};
        var gj = res[0], points = [], shapeFeatures = [];
        lastFeatures = gj.features;
        gj.features.forEach(function (f) {
          var g = f.geometry;
          if (g.type === "Point") { points.push(f); } else if (g.type === "MultiPoint") {
            g.coordinates.forEach(function (c) {
              points.push({type: "Feature", id: f.id, properties: f.properties, geometry: {type: "Point", coordinates: c}});
            });
          } else { shapeFeatures.push(f); }
        });
        pub.timings.split = performance.now();
        shapes.clearLayers();
        shapes.addData(shapeFeatures);
        pub.timings.shapes = performance.now();
        // the choropleth comes second so that it does not compete with the projects for the server
        fetch("/maps/data/districts.geojson?" + q).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
          if (pending !== ticket || !d) { return; }
          choropleth.clearLayers(); choropleth.addData(d); choropleth.bringToBack();
          pub.choropleth = d.features.length;
        }).catch(function (e) { pub.errors.push(String(e)); });
        index = new Supercluster({radius: 50, minZoom: 5, maxZoom: 12});  // beyond 12: every point
        pub.timings.choropleth = performance.now();
        index.load(points);
        pub.timings.indexed = performance.now();
        pub.features = gj.features.length; pub.markers = points.length; pub.shapes = shapeFeatures.length;
        pub.loads += 1; pub.loaded = true;
        var count = document.getElementById("xm-count");
        count.setAttribute("data-count", String(gj.features.length));
        count.textContent = "显示 " + gj.features.length + " 个项目" + (state.asOf ? "（" + state.asOf + "）" : "");
        awaitingDraw = true;
        pub.timings.built = performance.now();
        if (pub.loads === 1 && gj.features.length) {
          var b = shapes.getBounds();
          if (points.length) {
            var x0 = 180, y0 = 90, x1 = -180, y1 = -90;
            points.forEach(function (f) {
              var c = f.geometry.coordinates;
              if (c[0] < x0) { x0 = c[0]; } if (c[0] > x1) { x1 = c[0]; }
              if (c[1] < y0) { y0 = c[1]; } if (c[1] > y1) { y1 = c[1]; }
            });
            b.extend([[y0, x0], [y1, x1]]);
          }
          if (b.isValid()) { map.fitBounds(b, {padding: [20, 20], maxZoom: 15, animate: false}); }
        }
        drawClusters();
        finishDraw();
      }).catch(function (e) { pub.errors.push(String(e)); });
    }

    function openPopup(layer, latlng) {
      var id = layer.xmId || (layer.feature && layer.feature.id);
      if (!id) { return Promise.resolve(); }
      var q = state.asOf ? "?as_of=" + state.asOf : "";
      return fetch("/maps/data/projects/" + id + ".json" + q).then(function (r) { return r.json(); }).then(function (d) {
        var popup = L.popup({maxWidth: 380}).setLatLng(latlng).setContent(popupHtml(d)).openOn(map);
        pub.popup = popup.getElement().innerText;
      });
    }
    /* the same popup a click opens, by project id (tests, links) */
    XM.popup = function (id) {
      var found = (lastFeatures || []).filter(function (f) { return f.id === id; })[0];
      if (!found) { return Promise.resolve(null); }
      var c = found.geometry.coordinates;
      while (Array.isArray(c[0])) { c = c[0]; }
      return openPopup({xmId: id}, L.latLng(c[1], c[0])).then(function () { return pub.popup; });
    };
    cluster.on("click", function (e) { if (e.layer.xmId) { openPopup(e.layer, e.latlng); } });
    shapes.on("click", function (e) { openPopup(e.layer, e.latlng); });

    selects.forEach(function (sel) {
      sel.addEventListener("change", function () { state.filters[sel.dataset.filter] = sel.value; load(); });
    });
    slider.addEventListener("input", setPeriodFromSlider);
    slider.addEventListener("change", function () { setPeriodFromSlider(); load(); });
    var timer = null;
    document.getElementById("xm-play").addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; this.textContent = "▶"; return; }
      this.textContent = "❚❚";
      slider.value = "0"; setPeriodFromSlider(); load();
      timer = setInterval(function () {
        var next = parseInt(slider.value, 10) + 1;
        if (next > state.periods.length) { clearInterval(timer); timer = null; document.getElementById("xm-play").textContent = "▶"; return; }
        slider.value = String(next); setPeriodFromSlider(); load();
      }, 1500);
    });

    XM.load = load;
    XM.setFilter = function (k, v) {
      state.filters[k] = v || "";
      var sel = document.querySelector("#xm-filters select[data-filter='" + k + "']");
      if (sel) { sel.value = v || ""; }
      return load();
    };
    XM.setPeriod = function (period) {
      var i = state.periods.indexOf(period);
      slider.value = String(i < 0 ? state.periods.length : i);
      setPeriodFromSlider();
      return load();
    };

    load().then(function () { return fetch("/maps/data/facets.json"); }).then(function (r) { return r.json(); }).then(function (f) {
      var options = {
        plan: f.plans.map(function (p) { return [p.id, p.title]; }),
        category: f.categories.map(function (c) { return [c, c]; }),
        lead_unit: f.lead_units.map(function (c) { return [c, c]; }),
        district: f.districts.map(function (d) { return [d.name, d.city + " " + d.name]; }),
        status: f.statuses.map(function (c) { return [c, c]; }),
        year: f.years.map(function (c) { return [String(c), String(c)]; })
      };
      selects.forEach(function (sel) {
        var k = sel.dataset.filter;
        options[k].forEach(function (o) {
          var opt = document.createElement("option"); opt.value = o[0]; opt.textContent = o[1]; sel.appendChild(opt);
        });
        sel.value = state.filters[k];
      });
      state.periods = f.periods;
      pub.periods = f.periods;
      slider.max = String(f.periods.length);
      var i = state.asOf ? f.periods.indexOf(state.asOf.slice(0, 7)) : -1;
      slider.value = String(i < 0 ? f.periods.length : i);
      if (!state.asOf || i >= 0) { setPeriodFromSlider(); } else { periodLabel.textContent = "截至 " + state.asOf; }
      pub.facets = true;
    });
  };
})();
