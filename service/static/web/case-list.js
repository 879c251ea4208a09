/* The case list's map (service/templates/case_list/list.html): the filtered cases from /cases/map.geojson,
   clustered with Leaflet.markercluster, over this server's own green-heart and district outlines (no
   internet tile, decision 0192).  When htmx swaps the table after a filter change, the map reloads with the
   table's data-map-query, so the map and the list always show the same cases. */
(function () {
  "use strict";

  var STATUS_COLORS = {"登记": "#6c757d", "交办": "#1971c2", "整改中": "#e67700", "申请销号": "#7048e8",
                       "销号": "#2f9e44", "撤销": "#adb5bd"};
  var XC = window.XC = window.XC || {};
  XC.state = {loaded: false, drawn: false, features: 0, matched: 0, loads: 0, errors: [], query: null};
  var CHINA = L.latLngBounds([[18, 73], [54, 135]]);
  var HOME = L.latLngBounds([[27.4, 112.4], [28.5, 113.5]]);  // Chang-Zhu-Tan
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

  function start(el) {
    var map = L.map(el, {zoomSnap: 0.5, attributionControl: false, minZoom: 7, maxZoom: 17, preferCanvas: true});
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
    var cluster = L.markerClusterGroup({chunkedLoading: true, chunkInterval: 250, chunkDelay: 5,
      maxClusterRadius: 60, disableClusteringAtZoom: 16, spiderfyOnMaxZoom: false, showCoverageOnHover: false,
      removeOutsideVisibleBounds: true});
    map.addLayer(cluster);
    cluster.on("click", function (e) {
      var p = e.layer.xc;
      if (!p) { return; }
      L.popup({maxWidth: 280}).setLatLng(e.layer.getLatLng()).setContent(
        "<div class='cm-popup'><b>" + esc(p.n) + "</b><br>" + esc(p.s) + (p.o ? "（逾期）" : "") + " · " + esc(p.v) +
        "<br><a href='/cases/" + encodeURIComponent(p.id) + "'>查看案件 »</a></div>").openOn(map);
    });

    var ticket = 0;
    function load(query) {
      var mine = ++ticket;
      XC.state.loaded = false; XC.state.drawn = false; XC.state.query = query;
      var started = performance.now();
      return getJSON(el.dataset.geojson + (query ? "?" + query : "")).then(function (fc) {
        if (mine !== ticket) { return; }
        var fetched = performance.now();
        var markers = new Array(fc.features.length);
        fc.features.forEach(function (f, i) {
          var c = f.geometry.coordinates, p = f.properties;
          var m = L.marker([c[1], c[0]], {icon: icon(p.s, p.o === 1), title: p.n, keyboard: false});
          m.xc = {id: f.id, n: p.n, s: p.s, o: p.o === 1, v: p.v};
          markers[i] = m;
        });
        cluster.clearLayers();
        if (fc.bbox) {
          map.fitBounds([[fc.bbox[1], fc.bbox[0]], [fc.bbox[3], fc.bbox[2]]], {padding: [20, 20], maxZoom: 14, animate: false});
        }
        XC.state.features = fc.features.length; XC.state.matched = fc.numberMatched;
        XC.state.loaded = true;
        cluster.options.chunkProgress = function (done, total) {
          if (mine !== ticket || done < total) { return; }
          requestAnimationFrame(function () {
            XC.state.drawn = true; XC.state.loads += 1; XC.state.drawnAt = performance.now();
            XC.state.timings = {fetch: fetched - started, total: performance.now() - started};
            el.setAttribute("data-drawn", String(XC.state.loads));
            el.setAttribute("data-features", String(fc.features.length));
            el.setAttribute("data-query", query || "");
          });
        };
        if (fc.features.length) { cluster.addLayers(markers); } else {
          XC.state.drawn = true; XC.state.loads += 1;
          el.setAttribute("data-drawn", String(XC.state.loads));
          el.setAttribute("data-features", "0");
          el.setAttribute("data-query", query || "");
        }
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
