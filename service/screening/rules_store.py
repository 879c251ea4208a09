"""Screening rules of published protected layers, kept in the database (issue 20, migration 0025).

GIS staff who publish a protected layer of their own (生态保护红线 ...) attach its rules without a release: the
same YAML as ``geodata/rules/<layer>/<scheme>.yaml``, checked by the same parser before it is accepted, so a
malformed file is refused with the line at fault.  ``layer_rules`` is append-only: a new upload of a scheme
supersedes the older one (the newest row per layer and scheme is in force) and the older rows stay, so a
screening recorded against ``layer_rules/12`` can be replayed against exactly those rules.

No HTTP here: the routes turn the :class:`~service.errors.Problem` raised below into answers.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from service.common import audit
from service.errors import Problem
from service.models import LayerEntry, LayerRules
from service.screening.rules import RuleBook, RulesError, Scheme, category_ids, load_rules, parse_scheme_text

log = logging.getLogger("xiangmap")

MAX_BYTES = 256 * 1024  # the bundled files are under 10 KB; a rules file is text a person reads
MAX_NOTE = 2000
SOURCE_PREFIX = "layer_rules/"
_SOURCE = re.compile(r"layer_rules/(\d+)")
_CACHE_ROWS = 1024

CategoryIds = tuple[frozenset[str], frozenset[str]]  # the ids a file may name; those that build nothing
_parsed: dict[tuple[int, CategoryIds], Scheme | None] = {}  # by row id and categories: rows never change


def check_rules(layer_id: str, content: bytes, source: str = "upload") -> Scheme:
    """The scheme of an uploaded rules file for ``layer_id``, checked against today's categories.

    Raises :class:`RulesError` with the line at fault: too large, not UTF-8, not YAML, not the rules of
    ``layer_id``, or anything :func:`parse_scheme_text` refuses in a bundled file.
    """
    if len(content) > MAX_BYTES:
        raise RulesError(f"{source}: {len(content)} bytes; a rules file may have at most {MAX_BYTES} (256 KB)")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise RulesError(
            f"{source} line {line}: not UTF-8 text (byte {exc.start}); save the rules file as UTF-8", line=line
        ) from exc
    known, non_development = _categories()
    return parse_scheme_text(content, source, known, non_development, layer=layer_id)


def store_rules(
    session: Session, layer_id: str, content: bytes, *, actor: str, note: str | None = None
) -> dict[str, Any]:
    """Check and keep an uploaded rules file for a published protected layer; audited, flushed, not committed.

    A file for a scheme id stored before supersedes it: the newest row per (layer, scheme) is in force.
    """
    _rules_layer(session, layer_id)
    note = " ".join(note.split()) if note else None
    if note and len(note) > MAX_NOTE:
        raise Problem(400, f"note is {len(note)} characters; at most {MAX_NOTE}", parameter="note")
    try:
        scheme = check_rules(layer_id, content)
    except RulesError as exc:
        raise Problem(400, f"rules file refused: {exc}", parameter="rules", line=exc.line, field=exc.field) from exc
    supersedes = session.scalar(
        select(LayerRules.id)
        .where(LayerRules.layer == layer_id, LayerRules.scheme == scheme.scheme)
        .order_by(LayerRules.id.desc())
        .limit(1)
    )
    values = {
        "layer": layer_id,
        "scheme": scheme.scheme,
        "valid_from": scheme.valid_from,
        "valid_to": scheme.valid_to,
        "content": content,
        "sha256": hashlib.sha256(content).hexdigest(),
        "actor": actor,
        "note": note,
    }
    row_id, at = session.execute(insert(LayerRules).values(**values).returning(LayerRules.id, LayerRules.at)).one()
    summary = _summary({**values, "id": row_id, "at": at})
    summary["supersedes"] = supersedes
    after = {k: summary[k] for k in ("scheme", "valid_from", "valid_to", "sha256", "note", "supersedes")}
    audit.record(session, actor, "rules", f"layer:{layer_id}", row_id, None, {**after, "bytes": len(content)})
    session.flush()
    return summary


def published_schemes(session: Session) -> tuple[Scheme, ...]:
    """The rules in force of every active published protected layer: the newest row per (layer, scheme).

    Which rows are in force is asked on every call (one small query: a retired layer's rules stop at once);
    each row's YAML is parsed once per set of categories and kept, so a screening does not re-parse it.
    A stored file that today's categories no longer accept is left out, with a warning in the log: its zones
    then answer "no screening rules on file", which asks for approval, rather than failing the screening.
    """
    in_force = session.scalars(
        select(LayerRules.id)
        .join(LayerEntry, LayerEntry.id == LayerRules.layer)
        .where(LayerEntry.origin == "published", LayerEntry.protected, LayerEntry.status == "active")
        .ext(distinct_on(LayerRules.layer, LayerRules.scheme))
        .order_by(LayerRules.layer, LayerRules.scheme, LayerRules.id.desc())
    ).all()
    categories = _categories()
    found = {row_id: _parsed[row_id, categories] for row_id in in_force if (row_id, categories) in _parsed}
    missing = [row_id for row_id in in_force if row_id not in found]
    if missing:
        for row_id, content, sha256 in session.execute(
            select(LayerRules.id, LayerRules.content, LayerRules.sha256).where(LayerRules.id.in_(missing))
        ):
            found[row_id] = _parse_row(row_id, content, sha256, categories)
    schemes = (found.get(row_id) for row_id in in_force)
    return tuple(s for s in schemes if s is not None)


def rulebook(session: Session) -> RuleBook:
    """The rule book of a screening: the bundled files' rules and the published layers' rules in force."""
    return load_rules().with_schemes(published_schemes(session))


def rules_history(session: Session, layer_id: str) -> list[dict[str, Any]]:
    """Every rules file stored for a layer, newest first, without its content; each says which row, if any,
    superseded it (``superseded_by`` is None for the one in force of its scheme)."""
    if session.get(LayerEntry, layer_id) is None:
        raise Problem(404, f"no layer {layer_id!r}", parameter="layer")
    rows = session.execute(
        select(
            LayerRules.id,
            LayerRules.layer,
            LayerRules.scheme,
            LayerRules.valid_from,
            LayerRules.valid_to,
            LayerRules.sha256,
            LayerRules.actor,
            LayerRules.note,
            LayerRules.at,
        )
        .where(LayerRules.layer == layer_id)
        .order_by(LayerRules.id.desc())
    ).mappings()
    newer: dict[str, int] = {}
    history = []
    for row in rows:
        entry = _summary(dict(row))
        entry["superseded_by"] = newer.get(row["scheme"])
        newer[row["scheme"]] = row["id"]
        history.append(entry)
    return history


def rules_content(session: Session, rules_id: int, *, layer_id: str | None = None) -> bytes:
    """The bytes of a stored rules file, exactly as they were accepted; with ``layer_id``, only that layer's
    (so ``/layers/a/rules/7`` never serves layer b's file)."""
    query = select(LayerRules.content).where(LayerRules.id == rules_id)
    if layer_id is not None:
        query = query.where(LayerRules.layer == layer_id)
    content = session.scalar(query)
    if content is None:
        of = f" of layer {layer_id!r}" if layer_id is not None else ""
        raise Problem(404, f"no stored rules file {rules_id}{of}", parameter="id")
    return bytes(content)


def scheme_for_record(session: Session, rules_file: str | None, sha256: str | None) -> Scheme | None:
    """The scheme a recorded screening used, when it came from ``layer_rules/<id>``: that exact row, even if
    superseded since.  None for a bundled file (the caller reads files), an unknown row, or a row whose
    SHA-256 is not the one recorded."""
    match = _SOURCE.fullmatch(rules_file or "")
    if match is None:
        return None
    row = session.execute(
        select(LayerRules.content, LayerRules.sha256).where(LayerRules.id == int(match.group(1)))
    ).one_or_none()
    if row is None or (sha256 is not None and row.sha256 != sha256):
        return None
    return _parse_row(int(match.group(1)), row.content, row.sha256, _categories())


def _categories() -> CategoryIds:
    """The category ids a rules file may name now, and those of tasks that build nothing (as ``_load``)."""
    return category_ids(load_rules().categories)


def _parse_row(row_id: int, content: bytes, sha256: str, categories: CategoryIds) -> Scheme | None:
    """A stored row's scheme (``Scheme.path`` is ``layer_rules/<id>``), parsed once per set of categories."""
    key = (row_id, categories)
    if key in _parsed:
        return _parsed[key]
    if len(_parsed) >= _CACHE_ROWS:
        _parsed.clear()
    try:
        scheme: Scheme | None = replace(
            parse_scheme_text(bytes(content), f"{SOURCE_PREFIX}{row_id}", *categories), sha256=sha256
        )
    except RulesError as exc:
        log.warning("stored screening rules %s%s left out: %s", SOURCE_PREFIX, row_id, exc)
        scheme = None
    _parsed[key] = scheme
    return scheme


def _rules_layer(session: Session, layer_id: str) -> LayerEntry:
    """The layer rules may be stored for: published from a file, protected (screened against) and active.

    A bundled layer's rules are files under ``geodata/rules/``, reviewed and changed with a release.
    """
    entry = session.get(LayerEntry, layer_id)
    if entry is None:
        raise Problem(404, f"no layer {layer_id!r}", parameter="layer")
    if entry.origin != "published":
        raise Problem(
            422,
            f"layer {layer_id!r} is bundled: its rules are files in geodata/rules/{layer_id}/, changed by a release",
            parameter="layer",
        )
    if not entry.protected:
        raise Problem(
            422, f"layer {layer_id!r} is not a protected layer: screening does not test it", parameter="layer"
        )
    if entry.status != "active":
        raise Problem(
            422, f"layer {layer_id!r} is {entry.status}; restore it before giving it rules", parameter="layer"
        )
    return entry


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """A stored rules file as an answer shows it: dates as ISO strings, never the content."""
    return {
        "id": row["id"],
        "layer": row["layer"],
        "scheme": row["scheme"],
        "valid_from": row["valid_from"].isoformat() if row["valid_from"] else None,
        "valid_to": row["valid_to"].isoformat() if row["valid_to"] else None,
        "sha256": row["sha256"],
        "at": row["at"].isoformat() if row["at"] else None,
        "actor": row["actor"],
        "note": row["note"],
        "source": f"{SOURCE_PREFIX}{row['id']}",
    }
