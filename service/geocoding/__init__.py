"""Geocoding: the gazetteer, the matcher, the resolver and batch geocoding of projects."""
