"""OGC API - Features / Tiles and downloads: collections, queries, CRS, CQL2, tiles, file formats.

Plain functions over a SQLAlchemy engine; the HTTP adapters live in ``service/routers/ogc*.py``.
"""
