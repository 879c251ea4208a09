"""Domain logic: plain functions over sessions and geometries, no HTTP."""
