"""Layers: the catalogue, loading bundled and uploaded files, load history, re-derivation."""
