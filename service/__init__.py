"""xiangmap: Chang-Zhu-Tan work-plan projects on PostGIS layers."""

__version__ = "0.1.0"
