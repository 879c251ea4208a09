"""Routes for protected-zone screening (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
