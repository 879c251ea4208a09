"""POST /geocode: a text (and the city it is about) → places, precision code and geometry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.dependencies import get_session
from service.errors import RATE_LIMITED_RESPONSES, Problem
from service.geocoding.usecases import geocode_text
from service.rate_limits import rate_limited
from service.routing import SessionReleasingRoute
from service.settings import get_settings

router = APIRouter(route_class=SessionReleasingRoute, tags=["geocode"])


class GeocodeIn(BaseModel):
    text: str = Field(description="task text, simplified or traditional Chinese")
    city: str | None = Field(
        None, max_length=50, description="the city the text is about, e.g. 株洲市 (context for same names)"
    )
    lead_unit: str | None = Field(
        None, max_length=200, description="lead unit, for the seat when the text names no place"
    )


@router.post(
    "/geocode",
    summary="Find the places a text names, with the IATI / AidData precision code",
    dependencies=[rate_limited("geocode")],
    responses=RATE_LIMITED_RESPONSES,
)
def geocode(body: GeocodeIn, session: Annotated[Session, Depends(get_session, scope="function")]) -> dict[str, Any]:
    if not body.text.strip():
        raise Problem(400, "text: empty; give the task text to geocode", parameter="text")
    most = get_settings().geocode_max_chars
    if len(body.text) > most:
        # a task text is a few hundred characters (the register's longest: 447); decision 0094
        raise Problem(
            413,
            f"text: {len(body.text)} characters, at most {most}; geocode one task (or one paragraph) at a time",
            parameter="text",
            fault="text_too_long",
        )
    return geocode_text(session, body.text, body.city, body.lead_unit)
