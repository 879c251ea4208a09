"""Routes for Folium web maps (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
