/* The case list's map (service/templates/case_list/list.html): the filtered cases from /cases/map.geojson,
   clustered with Supercluster (a k-d tree per zoom, built once per load) over this server's own green-heart
   and district outlines (no internet tile, decision 0192).  Only the clusters and cases in view are Leaflet
   layers, rebuilt on every move (the progress map's way, decisions 0044 and 0252).  When htmx swaps the table
   after a filter change, the map reloads with the table's data-map-query, so the map and the list always
   show the same cases. */
(function () {
  "use strict";

  var STATUS_COLORS = {"登记": "#6c757d", "交办": "#1971c2", "整改中": "#e67700", "申请销号": "#7048e8",
                       "销号": "#2f9e44", "撤销": "#adb5bd"};
  var XC = window.XC = window.XC || {};
  XC.state = {loaded: false, drawn: false, features: 0, matched: 0, loads: 0, errors: [], query: null, shown: 0};
  var HOME = L.latLngBounds([[27.4, 112.4], [28.5, 113.5]]);  // Chang-Zhu-Tan
  var MIN_ZOOM = 7, MAX_ZOOM = 17, LAST_CLUSTERED = 15;  // from zoom 16 on, every case is its own marker
  var icons = {};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function icon(status, overdue) {
    var key = status + (overdue ? "!" : "");
    if (!icons[key]) {
      icons[key] = L.divIcon({className: "cm cm-" + (STATUS_COLORS[status] ? status : "x") + (overdue ? " cm-overdue" : ""),
                              iconSize: L.point(16, 16), html: overdue ? "!" : ""});
    }
    return icons[key];
  }

  function clusterIcon(count, label) {
    var size = count < 100 ? 30 : (count < 1000 ? 36 : 44);
    return L.divIcon({html: "<div><span>" + esc(label) + "</span></div>",
                      className: "cc cc-" + size, iconSize: L.point(size, size)});
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/geo+json, application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(url + ": HTTP " + r.status); } return r.json(); });
  }

  function legend(map) {
    var C = L.Control.extend({onAdd: function () {
      var div = L.DomUtil.create("div", "cm-legend");
      var html = "";
      Object.keys(STATUS_COLORS).forEach(function (s) {
        html += "<span><i class='cm cm-" + s + "'></i>" + esc(s) + "</span>";
      });
      html += "<span><i class='cm cm-整改中 cm-overdue'>!</i>逾期</span>";
      div.innerHTML = html;
      return div;
    }});
    new C({position: "bottomleft"}).addTo(map);
  }

  function popup(map, latlng, p) {
    L.popup({maxWidth: 280}).setLatLng(latlng).setContent(
      "<div class='cm-popup'><b>" + esc(p.n) + "</b><br>" + esc(p.s) + (p.o ? "（逾期）" : "") + " · " + esc(p.v) +
      "<br><a href='/cases/" + encodeURIComponent(p.id) + "'>查看案件 »</a></div>").openOn(map);
  }

  function start(el) {
    var map = L.map(el, {zoomSnap: 0.5, attributionControl: false, minZoom: MIN_ZOOM, maxZoom: MAX_ZOOM, preferCanvas: true});
    XC.map = map;
    map.fitBounds(HOME);
    legend(map);
    var layersUrl = el.dataset.layers;
    [["districts", {color: "#8a939b", weight: 1, fill: false}],
     ["green_heart", {color: "#1b7837", weight: 1.5, fillOpacity: 0.1, dashArray: "6 4"}]].forEach(function (pair) {
      getJSON(layersUrl + pair[0] + ".geojson").then(function (fc) {
        L.geoJSON(fc, {style: pair[1], interactive: false}).addTo(map).bringToBack();
      }).catch(function (e) { XC.state.errors.push(String(e)); });
    });

    /* what is on screen: the clusters and single cases of the view (padded), from the current index */
    var shown = L.featureGroup().addTo(map);
    var index = null;
    function draw() {
      shown.clearLayers();
      if (!index) { XC.state.shown = 0; return; }
      var b = map.getBounds().pad(0.2);
      var items = index.getClusters([Math.max(b.getWest(), -180), Math.max(b.getSouth(), -85),
                                     Math.min(b.getEast(), 180), Math.min(b.getNorth(), 85)], Math.floor(map.getZoom()));
      items.forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties, m;
        if (p.cluster) {
          m = L.marker([c[1], c[0]], {icon: clusterIcon(p.point_count, p.point_count_abbreviated),
                                      title: p.point_count + " 件案件", keyboard: false});
          m.xcCluster = p.cluster_id;
        } else {
          m = L.marker([c[1], c[0]], {icon: icon(p.s, p.o === 1), title: p.n, keyboard: false});
          m.xc = {id: f.id, n: p.n, s: p.s, o: p.o === 1, v: p.v};
        }
        shown.addLayer(m);
      });
      XC.state.shown = items.length;
      el.setAttribute("data-zoom", String(map.getZoom()));  // for tests: a cluster's click zooms in
    }
    map.on("moveend", draw);
    shown.on("click", function (e) {
      var m = e.layer;
      if (m.xc) { popup(map, m.getLatLng(), m.xc); return; }
      if (m.xcCluster != null && index) {
        map.setView(m.getLatLng(), Math.min(index.getClusterExpansionZoom(m.xcCluster), MAX_ZOOM));
      }
    });

    var ticket = 0;
    function finished(mine, query, count, timings) {
      requestAnimationFrame(function () {
        if (mine !== ticket) { return; }
        XC.state.drawn = true; XC.state.loads += 1; XC.state.drawnAt = performance.now();
        if (timings) { timings.total = performance.now() - timings.started; delete timings.started; XC.state.timings = timings; }
        el.setAttribute("data-drawn", String(XC.state.loads));
        el.setAttribute("data-features", String(count));
        el.setAttribute("data-query", query || "");
      });
    }
    function load(query) {
      var mine = ++ticket;
      XC.state.loaded = false; XC.state.drawn = false; XC.state.query = query;
      var started = performance.now();
      var url = el.dataset.geojson + (query ? "?" + query : "");
      return getJSON(url).then(function (fc) {
        if (mine !== ticket) { return; }
        var fetched = performance.now();
        var features = fc.features;
        if (features.length) {
          // the features as they came: Supercluster keeps a reference to each and hands it back for a leaf
          index = new Supercluster({radius: 60, extent: 256, minZoom: MIN_ZOOM, maxZoom: LAST_CLUSTERED});
          index.load(features);
        } else {
          index = null;
        }
        var indexed = performance.now();
        XC.state.features = features.length; XC.state.matched = fc.numberMatched;
        XC.state.loaded = true;
        if (fc.bbox) {
          map.fitBounds([[fc.bbox[1], fc.bbox[0]], [fc.bbox[3], fc.bbox[2]]], {paddingTopLeft: [20, 20], paddingBottomRight: [20, 60], maxZoom: 14, animate: false});
        }
        draw();  // fitBounds may not move (same view): draw this load's index in any case
        var timings = {started: started, fetch: fetched - started, index: indexed - fetched};
        var entry = performance.getEntriesByType("resource").filter(function (r) { return r.name.indexOf(url) >= 0; }).pop();
        if (entry && entry.responseEnd) {  // the server's answer, its transfer, and what the parse took after it
          timings.server = entry.responseStart - entry.requestStart;
          timings.transfer = entry.responseEnd - entry.responseStart;
          timings.parse = fetched - entry.responseEnd;
        }
        finished(mine, query, features.length, timings);
      }).catch(function (e) { XC.state.errors.push(String(e)); XC.state.loaded = true; });
    }
    XC.load = load;
    function current() {
      var table = document.getElementById("case-table");
      return table ? table.getAttribute("data-map-query") || "" : "";
    }
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail && e.detail.target && (e.detail.target.id === "case-table" || e.detail.elt.id === "case-table")) {
        if (current() !== XC.state.query) { load(current()); }
      }
    });
    load(current());
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("case-map");
    if (el) { start(el); }
  });
})();
