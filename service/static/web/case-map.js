/* The case maps (service/templates/cases/): the Green Heart zones in force on a date, drawn from this
   server's own /collections/green_heart/items (no tile from the internet, decision 0192), and the case's
   place.  Used by the patrol form (case-form.js) and the case page. */
(function () {
  "use strict";

  var XC = window.XC = window.XC || {};
  XC.STYLE = {
    core: {color: "#1b5e20", weight: 1.5, opacity: 0.9, fillColor: "#2e7d32", fillOpacity: 0.35},
    zone: {color: "#558b2f", weight: 1, opacity: 0.8, fillColor: "#9ccc65", fillOpacity: 0.25},
    place: {color: "#b3261e", weight: 4, opacity: 0.95, fillColor: "#e4574c", fillOpacity: 0.35},
    accuracy: {color: "#0b5cad", weight: 1, opacity: 0.8, fillColor: "#0b5cad", fillOpacity: 0.12}
  };
  XC.state = {zones: 0, loaded: false, errors: []};
  var GREEN_HEART = L.latLngBounds([[27.72, 112.82], [28.22, 113.32]]);
  var CORE = /核心|禁止/;

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/geo+json, application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(url + ": HTTP " + r.status); } return r.json(); });
  }

  function inForce(props, on) {
    return (!props.valid_from || props.valid_from <= on) && (!props.valid_to || on <= props.valid_to);
  }

  /* A map in ``el`` with the zones of el.dataset.zones in force on el.dataset.on (default today). */
  XC.map = function (el) {
    var map = L.map(el, {zoomSnap: 0.5, attributionControl: false});
    XC.lastMap = map;  // for the browser tests
    map.fitBounds(GREEN_HEART);
    var on = el.dataset.on || new Date().toISOString().slice(0, 10);
    var zones = L.geoJSON(null, {
      interactive: true,
      style: function (f) { return CORE.test(f.properties.subzone || "") ? XC.STYLE.core : XC.STYLE.zone; },
      onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.name || f.properties.subzone || "", {sticky: true}); }
    }).addTo(map);
    XC.zonesLayer = zones;
    if (el.dataset.zones) {
      getJSON(el.dataset.zones).then(function (fc) {
        (fc.features || []).forEach(function (f) {
          if (inForce(f.properties || {}, on)) { zones.addData(f); XC.state.zones += 1; }
        });
        zones.bringToBack();
        XC.state.loaded = true;
      }).catch(function (e) { XC.state.errors.push(String(e)); XC.state.loaded = true; });
    } else { XC.state.loaded = true; }
    return map;
  };

  /* The place (GeoJSON geometry) as a layer: a point is a circle marker, an area its outline. */
  XC.place = function (geometry) {
    return L.geoJSON(geometry, {
      style: XC.STYLE.place,
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 9, color: "#b3261e", weight: 3, fillColor: "#e4574c", fillOpacity: 0.8}); }
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("case-map");
    if (!el) { return; }
    var map = XC.map(el);
    var place = XC.place(JSON.parse(el.dataset.geom)).addTo(map);
    var bounds = place.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.8), {maxZoom: 14, animate: false}); }
    XC.state.place = true;
  });
}());
