"""Routes for the project register, locations and review queue (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
