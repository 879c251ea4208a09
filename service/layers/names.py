"""Safe, readable names for what GIS staff publish: a layer id and its column names.

A file's field may be called ``geom; DROP TABLE``, ``名称`` or ``Shape_Area``; a layer may be called
``../x``.  Nothing of that is ever spliced into SQL: a column name keeps only letters (Chinese included),
digits and ``_``, so ``名称`` stays ``名称`` and ``geom; DROP TABLE`` becomes ``geom_drop_table``; the
original is kept as the field's label.  Every statement still quotes the result (``format('%I')`` in the
database, ``"..."`` in the registry), so quoting is the guard and this is for people reading the table.
"""

from __future__ import annotations

import re
import unicodedata

LAYER_ID = re.compile(r"^[a-z][a-z0-9_]{2,39}$")
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes: a Chinese character takes three
RESERVED_COLUMNS = frozenset({"id", "key", "name", "geom", "updated_at", "ord", "ctid", "xmin", "xmax", "oid"})
RESERVED_IDS = frozenset({"projects", "cases", "collections", "conformance", "api", "tiles", "layers", "jobs"})


def layer_id_problem(layer_id: str) -> str | None:
    """Why ``layer_id`` cannot name a published layer, or None (the table and the collection share it)."""
    if not LAYER_ID.match(layer_id):
        return (
            f"layer id {layer_id!r}: use 3 to 40 lower-case letters (a-z), digits and _, starting with a letter "
            "(it is the table name and the OGC collection id; the Chinese title goes in title_zh)"
        )
    if layer_id in RESERVED_IDS or layer_id.startswith(("xm_", "pg_", "screening_", "layer_")):
        return f"layer id {layer_id!r} is reserved; choose another"
    return None


def suggest_layer_id(*hints: str | None) -> str:
    """A valid id from a file name or title: its ASCII words, else ``layer`` (a person then edits it)."""
    for hint in hints:
        if not hint:
            continue
        ascii_part = unicodedata.normalize("NFKD", hint).encode("ascii", "ignore").decode().lower()
        slug = re.sub(r"[^a-z0-9]+", "_", ascii_part).strip("_")
        slug = re.sub(r"^[^a-z]+", "", slug)[:40].rstrip("_")
        if len(slug) >= 3 and layer_id_problem(slug) is None:
            return slug
    return "new_layer"


def _truncate_bytes(name: str, limit: int = MAX_IDENTIFIER_BYTES) -> str:
    while len(name.encode("utf-8")) > limit:
        name = name[:-1]
    return name


def column_name(original: str, taken: set[str]) -> str:
    """The column for a field called ``original``: letters, digits and ``_`` only, lower-cased ASCII,
    not a reserved name, unique among ``taken`` (which it joins), at most 63 bytes."""
    text = unicodedata.normalize("NFKC", str(original)).strip()
    cleaned = "".join(ch if (ch.isalnum() or ch == "_") else "_" for ch in text)
    cleaned = re.sub(r"_+", "_", cleaned).strip("_")
    cleaned = "".join(ch.lower() if ch.isascii() else ch for ch in cleaned)
    if not cleaned:
        cleaned = "field"
    if cleaned[0].isdigit():
        cleaned = f"f_{cleaned}"
    if cleaned in RESERVED_COLUMNS:
        cleaned = f"{cleaned}_1" if f"{cleaned}_1" not in taken else f"{cleaned}_field"
    cleaned = _truncate_bytes(cleaned)
    candidate, n = cleaned, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate = _truncate_bytes(cleaned, MAX_IDENTIFIER_BYTES - len(suffix)) + suffix
        n += 1
    taken.add(candidate)
    return candidate


def checked_column(name: str) -> str | None:
    """Why a column name a person typed (the preview's editable name) is not allowed, or None."""
    if not name or len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return f"column name {name!r}: 1 to 63 bytes"
    if not all(ch.isalnum() or ch == "_" for ch in name):
        return f"column name {name!r}: letters, digits and _ only"
    if name in RESERVED_COLUMNS:
        return f"column name {name!r} is reserved ({', '.join(sorted(RESERVED_COLUMNS))})"
    return None
