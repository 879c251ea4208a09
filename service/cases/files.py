"""A case's photos and documents: checked by content, bounded, hashed, their EXIF place and time read, stored.

The checks are the shared ones (``service.common.file_checks``: JPEG / PNG / WebP that Pillow decodes whole,
or a PDF with its header and end; the name's suffix agreeing with the bytes; pixels bounded), with the case
register's own bounds (``XIANGMAP_MAX_CASE_FILE_MB`` per file, ``XIANGMAP_MAX_CASE_FILES`` per request).
Every file of a request is checked before anything is written, so one refused file stores none.  From a
photo's EXIF: the GPS position (WGS84, as cameras write it) and DateTimeOriginal; the case page shows the
distance between where the photo was taken and the case's place.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.cases.schemas import Upload
from service.common.file_checks import ACCEPT, CheckedFile, FileRefused, ascii_name, check
from service.errors import Problem
from service.settings import get_settings

__all__ = ["ACCEPT", "CaseUpload", "ascii_name", "check_files", "exif_of", "get_file", "list_files", "store"]

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_DATETIME = 306


@dataclass(frozen=True)
class CaseUpload:
    """A checked file and what its EXIF says."""

    file: CheckedFile
    exif_lon: float | None = None
    exif_lat: float | None = None
    exif_taken_at: datetime | None = None

    def summary(self) -> dict[str, Any]:
        f = self.file
        return {"filename": f.filename, "type": f.media_type, "size": f.size, "sha256": f.sha256}


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    out = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if str(ref).strip().upper() in ("S", "W"):
        out = -out
    return out if math.isfinite(out) else None


def _taken_at(raw: Any) -> datetime | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "ignore")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def exif_of(content: bytes) -> tuple[float | None, float | None, datetime | None]:
    """(longitude, latitude, taken at) from a photo's EXIF; None for each that is absent or unreadable."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            exif = image.getexif()
            gps = exif.get_ifd(_GPS_IFD)
            taken = _taken_at(exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)) or _taken_at(exif.get(_DATETIME))
    except Exception:  # a photo whose EXIF cannot be read is still a photo (it was decoded whole)
        return None, None, None
    lat = _degrees(gps.get(2), gps.get(1)) if gps else None
    lon = _degrees(gps.get(4), gps.get(3)) if gps else None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        lon = lat = None
    return lon, lat, taken


def check_files(uploads: Sequence[Upload]) -> list[CaseUpload]:
    """Every file checked (and its EXIF read) before anything is stored; a 4xx Problem naming the first refused."""
    settings = get_settings()
    if len(uploads) > settings.max_case_files:
        raise Problem(
            413,
            f"一次最多上传 {settings.max_case_files} 个文件（收到 {len(uploads)} 个） / "
            f"at most {settings.max_case_files} files per request (got {len(uploads)})",
            parameter="files",
        )
    checked = []
    for upload in uploads:
        try:
            found = check(upload.filename, upload.content, settings.max_case_file_mb)
        except FileRefused as exc:
            raise Problem(exc.status, str(exc), parameter="files", filename=upload.filename) from None
        if found.media_type.startswith("image/"):
            lon, lat, taken = exif_of(found.content)
            checked.append(CaseUpload(found, lon, lat, taken))
        else:
            checked.append(CaseUpload(found))
    return checked


def store(session: Session, case_id: int, event_id: int | None, files: Sequence[CaseUpload], actor: str) -> list[int]:
    """The files' rows, in the caller's transaction."""
    ids = []
    for u in files:
        f = u.file
        ids.append(
            session.execute(
                text(
                    "INSERT INTO case_files (case_id, event_id, filename, media_type, size, sha256, content,"
                    " exif_lon, exif_lat, exif_taken_at, uploaded_by) VALUES (:case_id, :event_id, :filename,"
                    " :media_type, :size, :sha256, :content, :exif_lon, :exif_lat, :exif_taken_at, :actor)"
                    " RETURNING id"
                ),
                {
                    "case_id": case_id,
                    "event_id": event_id,
                    "filename": f.filename,
                    "media_type": f.media_type,
                    "size": f.size,
                    "sha256": f.sha256,
                    "content": f.content,
                    "exif_lon": u.exif_lon,
                    "exif_lat": u.exif_lat,
                    "exif_taken_at": u.exif_taken_at,
                    "actor": actor,
                },
            ).scalar_one()
        )
    return ids


def list_files(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The case's files without their bytes, in the order sent, with the distance in metres from where a
    photo was taken (EXIF) to the case's place."""
    rows = session.execute(
        text(
            "SELECT f.id, f.event_id, f.filename, f.media_type, f.size, f.sha256, f.exif_lon, f.exif_lat,"
            " f.exif_taken_at, f.uploaded_by, f.uploaded_at,"
            " CASE WHEN f.exif_lon IS NOT NULL THEN round(ST_Distance(c.geom::geography,"
            "   ST_SetSRID(ST_MakePoint(f.exif_lon, f.exif_lat), 4326)::geography)::numeric, 1)::float8 END"
            "   AS exif_distance_m"
            " FROM case_files f JOIN cases c ON c.id = f.case_id WHERE f.case_id = :id ORDER BY f.id"
        ),
        {"id": case_id},
    ).mappings()
    return [dict(r) | {"href": f"/cases/{case_id}/files/{r['id']}"} for r in rows]


def get_file(session: Session, case_id: int, file_id: int) -> dict[str, Any] | None:
    row = (
        session.execute(
            text(
                "SELECT id, filename, media_type, size, sha256, content FROM case_files"
                " WHERE id = :id AND case_id = :case_id"
            ),
            {"id": file_id, "case_id": case_id},
        )
        .mappings()
        .first()
    )
    return dict(row) | {"ascii_name": ascii_name(row["filename"])} if row else None
