"""Folium web maps, their GeoJSON data, offline assets and the printable wall map (issue 6)."""
