"""Replay a recorded screening against the layer versions and rules it saw (issue 20).

A record keeps its answer as seen (decision 0053), and :func:`service.screening.records.recheck` says what
today's layers would answer.  Replaying answers a third question an inspector is asked in an appeal: *does
the verdict follow from the data and rules of that day?*  For a published layer the record names its
version; a later replace archived that version's zone parts (service.layers.published.archive_version), so
the replay tests the site against exactly those parts and the rules file stored as ``layer_rules/<id>``.
Bundled layers (the Green Heart, Qingshuitang) keep no versions: they are replayed against today's parts,
and a zone whose geometry changed since is named in ``notes``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.models import Screening
from service.screening.records import flat_zones, rerun, zone_differences
from service.screening.rules_store import rulebook, scheme_for_record

PART_COLUMNS = "id, layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash, geom"
PARTS_SQL = f"""(
    SELECT {PART_COLUMNS} FROM screening_zone_parts
     WHERE layer = ANY(CAST(:replay_live AS text[]))
    UNION ALL
    SELECT {PART_COLUMNS} FROM screening_zone_parts_archive
     WHERE layer || ':' || layer_version = ANY(CAST(:replay_archived AS text[]))
)"""


def _catalogue(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.execute(text("SELECT id, title_zh, title_en, origin, status, version FROM layer_catalogue"))
    return {r.id: dict(r._mapping) for r in rows}


def replay(session: Session, row: Screening) -> dict[str, Any]:
    """Screen the recorded site again against what it saw; say whether the answer is the same, and why not."""
    recorded: dict[str, Any] = row.scheme_versions or {}
    catalogue = _catalogue(session)
    live, archived, versions, notes = [], [], {}, []
    for layer_id, seen in recorded.items():
        now = catalogue.get(layer_id)
        version = seen.get("layer_version")
        if version is None:  # a bundled layer: today's parts
            live.append(layer_id)
            versions[layer_id] = {"recorded": None, "current": None, "parts": "live"}
            continue
        same = now is not None and now["status"] == "active" and int(now["version"]) == int(version)
        (live if same else archived).append(layer_id if same else f"{layer_id}:{version}")
        versions[layer_id] = {
            "recorded": int(version),
            "current": int(now["version"]) if now else None,
            "status": now["status"] if now else "missing",
            "parts": "live" if same else "archive",
        }
    rules = rulebook(session)
    recorded_schemes = []
    for seen in recorded.values():
        for entry in seen.get("schemes", []):
            scheme = scheme_for_record(session, entry.get("rules_file"), entry.get("rules_sha256"))
            if scheme is not None:
                recorded_schemes.append(scheme)
            elif entry.get("rules_file") and not str(entry["rules_file"]).startswith("layer_rules/"):
                current = next((s for s in rules.schemes if s.path == entry["rules_file"]), None)
                if current is None or current.sha256 != entry.get("rules_sha256"):
                    notes.append(
                        f"{entry['rules_file']} has changed since the screening (bundled rules keep no versions): "
                        "replayed with today's file"
                    )
    if recorded_schemes:
        replaced = {s.layer for s in recorded_schemes}
        kept = tuple(s for s in rules.schemes if s.layer not in replaced or not s.path.startswith("layer_rules/"))
        rules = dataclasses.replace(rules, schemes=kept + tuple(recorded_schemes))
    layers = [
        {
            "id": entry["layer"],
            "title_zh": entry.get("title_zh"),
            "title_en": entry.get("title_en"),
            "origin": (catalogue.get(entry["layer"]) or {}).get("origin"),
            "version": versions.get(entry["layer"], {}).get("recorded"),
        }
        for entry in row.result.get("layers", [])
    ]
    again = rerun(
        session,
        row,
        rules,
        parts=PARTS_SQL,
        parts_params={"replay_live": live, "replay_archived": archived},
        layers=layers,
    )
    differences = zone_differences(row.result, again, "replayed")
    before, after = flat_zones(row.result), flat_zones(again)
    for key, seen in before.items():
        if key in after and after[key][3] != seen[3] and versions.get(key.split("/")[0], {}).get("parts") == "live":
            notes.append(f"zone {key} has changed since (its layer keeps no versions)")
    return {
        "id": row.id,
        "date": row.on_date.isoformat(),
        "recorded_verdict": row.result["verdict"],
        "replayed_verdict": again["verdict"],
        "same": not differences and again["verdict"] == row.result["verdict"],
        "differences": differences,
        "layer_versions": versions,
        "rules": {lid: [s.get("rules_file") for s in seen.get("schemes", [])] for lid, seen in recorded.items()},
        "notes": notes,
        "layers": again["layers"],
    }
