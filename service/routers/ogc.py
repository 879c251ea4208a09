"""Routes for OGC API - Features and Tiles, downloads (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
