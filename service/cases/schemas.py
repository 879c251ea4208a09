"""What a client sends to register a case, move it, or take a step: plain pydantic models (no HTTP).

The routes parse a JSON body (or the ``data`` field of a multipart request) into these; the pages build
them from their form fields.  Bounds here are the first line; the use cases check the rest (the place
through the shared geometry guard, the unit against the register, the deadline against the finding date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.models.cases import CASE_KINDS, CASE_SEVERITIES

Kind = Literal["督察问题", "巡查发现", "违法违规"]
Severity = Literal["一般", "较重", "严重"]
PositionCrs = Literal["WGS84", "GCJ-02", "BD-09"]
assert set(Kind.__args__) == set(CASE_KINDS) and set(Severity.__args__) == set(CASE_SEVERITIES)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: its name and bytes (read up to one byte past the size bound)."""

    filename: str
    content: bytes


class PositionIn(BaseModel):
    """A phone's position: longitude and latitude in ``crs``, and its accuracy in metres."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(description="longitude (x), e.g. 112.98 for 长沙")
    lat: float = Field(description="latitude (y), e.g. 28.02")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="the position's accuracy radius in metres")
    crs: PositionCrs = Field(
        "WGS84", description="WGS84 (browser geolocation, GPS), GCJ-02 (高德, 腾讯) or BD-09 (百度)"
    )


class PlaceIn(BaseModel):
    """Where a case is: exactly one of a drawn GeoJSON geometry, a phone's position, or an uploaded file.

    The file is not a field here: it comes as the request's ``place_file`` part (``place_file=`` of the
    use cases).  ``geometry`` is a GeoJSON Point, Polygon or MultiPolygon in WGS84 (as drawn on the map).
    """

    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] | None = Field(None, description="GeoJSON Point / Polygon / MultiPolygon, WGS84")
    position: PositionIn | None = None


class CaseIn(PlaceIn):
    """A case as registered (the place fields of :class:`PlaceIn` and what the case is about)."""

    kind: Kind = Field(description="督察问题 (supervision), 巡查发现 (patrol finding) or 违法违规 (violation)")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=8000)
    found_on: date | None = Field(None, description="the day it was found (default today); screened at this date")
    project_id: int | None = Field(None, ge=1, le=2_147_483_647, description="the project it concerns")
    responsible_unit: int | str | None = Field(
        None, description="the responsible unit: its id or its name (resolved in the unit register)"
    )
    rectification: str = Field("", max_length=8000, description="the rectification required")
    deadline: date | None = Field(None, description="the rectification deadline, not before found_on")
    severity: Severity = "一般"
    note: str = Field("", max_length=8000, description="a note on the register event")


class StepIn(BaseModel):
    """A workflow step over the API (``POST /cases/{id}/steps``); its files come as multipart parts."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="assign, start, submit, accept, reject or withdraw")
    note: str = Field("", max_length=8000, description="the reason (required for reject and withdraw)")
    responsible_unit: int | str | None = Field(None, description="assign: the unit's id or name")
    deadline: date | None = Field(None, description="assign: the rectification deadline")
    severity: Severity | None = Field(None, description="assign: the severity, if it changes")
