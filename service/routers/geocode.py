"""POST /geocode: a text (and the city it is about) → places, precision code and geometry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.dependencies import get_session
from service.domain.geocoding_service import geocode_text
from service.errors import Problem
from service.routing import SessionReleasingRoute

router = APIRouter(route_class=SessionReleasingRoute, tags=["geocode"])
MAX_TEXT = 20_000


class GeocodeIn(BaseModel):
    text: str = Field(description="task text, simplified or traditional Chinese")
    city: str | None = Field(None, description="the city the text is about, e.g. 株洲市 (context for same names)")
    lead_unit: str | None = Field(None, description="lead unit, for the seat when the text names no place")


@router.post("/geocode", summary="Find the places a text names, with the IATI / AidData precision code")
def geocode(body: GeocodeIn, session: Annotated[Session, Depends(get_session, scope="function")]) -> dict[str, Any]:
    if not body.text.strip():
        raise Problem(400, "text: empty; give the task text to geocode", parameter="text")
    if len(body.text) > MAX_TEXT:
        raise Problem(400, f"text: {len(body.text)} characters, at most {MAX_TEXT}", parameter="text")
    return geocode_text(session.connection(), body.text, body.city, body.lead_unit)
