"""Routes for POST /geocode (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
