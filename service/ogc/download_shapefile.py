"""What a Shapefile cannot hold, and where the download puts it instead (issue #14 items 3 and 4).

A .dbf has field names of at most 10 characters, text of at most 254 bytes *in its encoding*, one
encoding for the whole file (GBK cannot write every Chinese character), and a .shp one geometry type.
The zip therefore carries, besides one .shp per geometry family (service.ogc.downloads):

- predictable short field names (``dbf_names``), listed in README.txt;
- each text value the .dbf cannot hold as it is (too long, or a character the encoding lacks) cut
  or replaced in the .dbf and written in full to ``<layer>_text.csv`` (UTF-8, keyed by ``id``): ``DbfText``;
- README.txt saying all of it, and a short ASCII note for the ``X-Xiangmap-Notes`` response header.

This module is pure Python: the GDAL child writer (service.ogc.filewriter) imports it to fit values
batch by batch, and the web process to write the README (docs/decisions/0111-shapefile-limits.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

DBF_NAME_LENGTH = 10
DBF_TEXT_BYTES = 254
# the ``encoding`` parameter: value -> (GDAL ENCODING / .cpg text, Python codec)
ENCODINGS = {"UTF-8": ("UTF-8", "utf-8"), "GBK": ("GBK", "gbk")}
ENCODING_ALIASES = {"UTF-8": "UTF-8", "UTF8": "UTF-8", "GBK": "GBK", "CP936": "GBK"}
DEFAULT_ENCODING = "UTF-8"


def dbf_names(names: list[str], taken: tuple[str, ...] = ("id",)) -> list[str]:
    """The .dbf field name for each name, in order: the first 10 characters, or when that is taken
    (case-insensitively, as dBase compares them) the first 8 or 7 and ``_1``, ``_2`` ...; never GDAL's
    own renaming, so the mapping README.txt lists is the one in the file."""
    used = {t.lower() for t in taken}
    result = []
    for name in names:
        candidate = name[:DBF_NAME_LENGTH]
        number = 1
        while candidate.lower() in used:
            suffix = f"_{number}"
            candidate = name[: DBF_NAME_LENGTH - len(suffix)] + suffix
            number += 1
        used.add(candidate.lower())
        result.append(candidate)
    return result


def fit_text(value: str, codec: str) -> str:
    """``value`` as a .dbf field can hold it in ``codec``: characters the codec lacks become ``?``,
    then the text is cut on a character boundary to 254 bytes.  Equal to ``value`` when nothing was lost."""
    encoded = value.encode(codec, errors="replace")
    if len(encoded) > DBF_TEXT_BYTES:
        encoded = encoded[:DBF_TEXT_BYTES]
    return encoded.decode(codec, errors="ignore")


@dataclass
class TextReport:
    """What one layer's .dbf could not hold: changed values per field, the sidecar's name."""

    layer: str
    rows: int = 0
    changed: dict[str, int] = field(default_factory=dict)
    sidecar: str | None = None


class DbfText:
    """Fits the text columns of each row for the .dbf and writes the full values of the changed ones to
    ``<layer>_text.csv`` (created on the first change: one row per feature with any changed value, the
    full text in that field's column, the others empty)."""

    def __init__(self, layer: str, folder: Path, names: list[str], text_columns: list[int], codec: str) -> None:
        self.report = TextReport(layer)
        self.folder = folder
        self.names = names  # the full field names of the row after ``id``
        self.text_columns = text_columns  # row indexes (0 is id) of the text fields
        self.codec = codec
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def fit(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        self.report.rows += 1
        out = list(row)
        full: dict[int, str] = {}
        for index in self.text_columns:
            value = row[index]
            if isinstance(value, str):
                fitted = fit_text(value, self.codec)
                if fitted != value:
                    out[index] = fitted
                    full[index] = value
                    name = self.names[index - 1]
                    self.report.changed[name] = self.report.changed.get(name, 0) + 1
        if full:
            self._sidecar_row(row[0], full)
        return tuple(out)

    def _sidecar_row(self, feature_id: Any, full: dict[int, str]) -> None:
        if self._writer is None:
            name = f"{self.report.layer}_text.csv"
            self._handle = (self.folder / name).open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["id", *(self.names[i - 1] for i in self.text_columns)])
            self.report.sidecar = name
        self._writer.writerow([feature_id, *(full.get(i, "") for i in self.text_columns)])

    def close(self) -> TextReport:
        if self._handle is not None:
            self._handle.close()
        return self.report


def parse_encoding(value: str | None) -> str:
    """The ``encoding`` parameter as ``UTF-8`` or ``GBK``; None / empty is the default (UTF-8)."""
    if value is None or value.strip() == "":
        return DEFAULT_ENCODING
    found = ENCODING_ALIASES.get(value.strip().upper())
    if found is None:
        raise ValueError(value)
    return found


@dataclass
class ShapefileLayer:
    """One .shp of the zip, as the README describes it."""

    name: str
    geometry: str
    description: str


def readme(
    collection_id: str,
    crs_uri: str,
    encoding: str,
    layers: list[ShapefileLayer],
    names: list[str],
    short: list[str],
    reports: list[TextReport],
) -> str:
    """README.txt of the zip: the layers, the field names, the encoding, what was cut and where it is."""
    lines = [
        f"xiangmap download: collection {collection_id} as zipped Shapefile",
        f"CRS: {crs_uri} (x/y: easting or longitude first; each .prj says it)",
        f"Text encoding of the .dbf files: {encoding} (each .cpg says it).",
        "",
        "Layers (a Shapefile holds one geometry type, so each geometry family has its own .shp;",
        "a GeometryCollection's parts go to the layers of their families, the feature's id and",
        "attributes repeated, so every part of every feature is written):",
    ]
    lines += [f"  {layer.name}.shp  {layer.geometry}: {layer.description}" for layer in layers]
    lines += ["", "Field names (a .dbf field name has at most 10 characters):", "  id -> id"]
    lines += [f"  {full} -> {dbf}" for full, dbf in zip(names, short, strict=True)]
    lines.append("")
    changed = [r for r in reports if r.changed]
    if not changed:
        lines.append(f"Every text value fits its .dbf field ({DBF_TEXT_BYTES} bytes in {encoding}): nothing was cut.")
    else:
        lines.append(
            f"A .dbf text field holds {DBF_TEXT_BYTES} bytes in its encoding; values longer than that are cut there,"
        )
        lines.append("and characters the encoding lacks are written as '?'. The full values are in the sidecar")
        lines.append("CSV of the layer (UTF-8, one row per feature, joined on id; an empty cell: the .dbf is whole):")
        for report in changed:
            counts = ", ".join(f"{name}: {count} of {report.rows}" for name, count in report.changed.items())
            lines.append(f"  {report.layer}.dbf -> {report.sidecar}  ({counts})")
    return "\n".join(lines) + "\n"


def header_note(reports: list[TextReport], names: list[str], short: list[str]) -> str | None:
    """A short ASCII note for the response header, None when the Shapefile holds everything as it is."""
    parts = []
    changed = [r for r in reports if r.changed]
    if changed:
        fields = sorted({name for r in changed for name in r.changed})
        count = sum(sum(r.changed.values()) for r in changed)
        sidecars = ", ".join(r.sidecar or "" for r in changed)
        parts.append(
            f"{count} text values of {', '.join(fields)} do not fit a .dbf field (254 bytes) as they are: "
            f"cut in the .dbf, in full in {sidecars}"
        )
    renamed = [f"{full}->{dbf}" for full, dbf in zip(names, short, strict=True) if full != dbf]
    if renamed:
        parts.append("field names shortened to 10 characters: " + ", ".join(renamed))
    if not parts:
        return None
    return "; ".join(parts) + "; see README.txt in the zip"
