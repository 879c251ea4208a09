"""Two evaluations side by side: what moved between them (003 二(一): 定期评估, "what changed since last time").

Read from the two frozen snapshots only, so a comparison made next year says what this one says.  A task is
matched by its id; the figures by class and the scores are differences of the later minus the earlier.
"""

from __future__ import annotations

from typing import Any

from service.common.derived_status import SCHEDULE_CLASSES

# how a move between classes reads to a planner: better, worse or sideways
RANK = {"应开工未开工": 0, "已开工进展缓慢": 1, "暂停": 1, "正常推进": 2, "已完成": 3}


def _delta(after: float | None, before: float | None, digits: int = 4) -> float | None:
    if after is None or before is None:
        return None
    return round(after - before, digits)


def _direction(before: str, after: str) -> str:
    if RANK[after] > RANK[before]:
        return "好转"
    if RANK[after] < RANK[before]:
        return "退步"
    return "变化"


def _heads(document: dict[str, Any]) -> dict[str, Any]:
    e = document["evaluation"]
    return {k: e[k] for k in ("id", "title", "kind_label", "period", "as_of", "created_at")}


def _groups(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    old = {g["key"]: g for g in before}
    new = {g["key"]: g for g in after}
    out = []
    for key in sorted(set(old) | set(new), key=lambda k: (-(new.get(k) or old[k])["projects"], k)):
        a, b = old.get(key), new.get(key)
        out.append(
            {
                "key": key,
                "projects": [a["projects"] if a else 0, b["projects"] if b else 0],
                "completion_rate": [a and a["completion_rate"], b and b["completion_rate"]],
                "completion_rate_change": _delta(b and b["completion_rate"], a and a["completion_rate"]),
                "delayed": [a["delayed"] if a else 0, b["delayed"] if b else 0],
            }
        )
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The later (``after``) against the earlier (``before``); swapped arguments are put in date order."""
    if (after["evaluation"]["as_of"], after["evaluation"]["id"]) < (
        before["evaluation"]["as_of"],
        before["evaluation"]["id"],
    ):
        before, after = after, before
    old = {t["project_id"]: t for t in before["tasks"]}
    new = {t["project_id"]: t for t in after["tasks"]}
    moved = []
    for pid in sorted(set(old) & set(new), key=lambda p: new[p]["no"]):
        a, b = old[pid], new[pid]
        if a["status"] != b["status"]:
            moved.append(
                {
                    "project_id": pid,
                    "no": b["no"],
                    "title": b["title"],
                    "units": b["assessed_units"],
                    "from": a["status"],
                    "to": b["status"],
                    "direction": _direction(a["status"], b["status"]),
                    "percent": [a["percent"], b["percent"]],
                }
            )
    by_status = {
        c: [
            before["summary"]["by_status"][c],
            after["summary"]["by_status"][c],
            after["summary"]["by_status"][c] - before["summary"]["by_status"][c],
        ]
        for c in SCHEDULE_CLASSES
    }
    old_scores = {u["unit"]: u for u in before["scoreboard"]["units"]}
    scores = []
    for u in after["scoreboard"]["units"]:
        prev = old_scores.get(u["unit"])
        scores.append(
            {
                "unit": u["unit"],
                "score": [prev["score"] if prev else None, u["score"]],
                "change": _delta(u["score"], prev["score"] if prev else None, 2),
                "rank": [prev["rank"] if prev else None, u["rank"]],
            }
        )
    return {
        "before": _heads(before),
        "after": _heads(after),
        "same_rule": before["scoreboard"]["rule"]["sha256"] == after["scoreboard"]["rule"]["sha256"],
        "summary": {
            "projects": [before["summary"]["projects"], after["summary"]["projects"]],
            "by_status": by_status,
            "completion_rate": [before["summary"]["completion_rate"], after["summary"]["completion_rate"]],
            "mean_percent": [before["summary"]["mean_percent"], after["summary"]["mean_percent"]],
        },
        "moved": moved,
        "better": sum(1 for m in moved if m["direction"] == "好转"),
        "worse": sum(1 for m in moved if m["direction"] == "退步"),
        "added": [
            {"project_id": p, "title": new[p]["title"], "status": new[p]["status"]} for p in sorted(set(new) - set(old))
        ],
        "removed": [{"project_id": p, "title": old[p]["title"]} for p in sorted(set(old) - set(new))],
        "units": _groups(before["groups"]["unit"], after["groups"]["unit"]),
        "scores": scores,
    }
