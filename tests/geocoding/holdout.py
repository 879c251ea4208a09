"""The holdout of issue 19: how the geocoder does on task texts its rules were not written on.

The gold set (gold.yaml) scores 1.000 because the rules were written on it; this is the out-of-sample
figure.  Every text of holdout.yaml goes through ``service.geocoding.usecases.geocode_text`` with a
Session on the project database, exactly what ``POST /geocode`` runs (text, the plan's city, the lead
unit), so the figures are those a user of the service sees, on whatever layers that database holds.

    .venv/bin/python -m tests.geocoding.holdout [--verbose] [--strict]

The database is ``DATABASE_URL`` (else the project-managed cluster under .data/, which ``make setup`` or
``make run`` creates, migrates and loads).  The command always exits 0, as a measurement; ``--strict``
exits 1 when a target of the issue fails.  tests/geocoding/test_holdout.py runs the same ``measure`` on
the test database.

Scoring, per entry (``expect`` in holdout.yaml):

- place: *right* when answered automatically (status not review / unresolved) at an accepted precision
  code, every required place hit, no match outside the accepted ones and, with ``within``, the geometry
  inside those districts.  In review it is *rightly in review* when it reports one of ``review_span``
  (the gazetteer lacks the place and says which words), else *wrongly in review*.  Anything else is *wrong*.
- review: *rightly in review* when in review and reporting every group of ``spans``; in review with
  other spans is *wrongly in review*; answered automatically is *wrong*.
- no_place: *wrong* (a no-place text answered as a place) when any feature or admin unit is matched,
  *wrongly in review* when a place-shaped word or an ambiguous name sent it to review, else *right*
  (nothing found, or only the lead unit's seat, or the task marked as naming none).

A *silent fallback* is a text that names a place (place or review) answered automatically at the seat
(precision 8), the province (4), or with nothing but a seat: the user is told nothing is wrong.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.common.chinese_text import to_simplified
from service.geocoding.usecases import geocode_text

HOLDOUT_FILE = Path(__file__).with_name("holdout.yaml")
KINDS: tuple[str, ...] = (
    "township", "village", "unknown_place", "inside_name", "shared_suffix", "green_heart", "no_place", "control",
)  # fmt: skip
KIND_LABELS = {
    "township": "township / street (镇 乡 街道)",
    "village": "village / community (村 社区)",
    "unknown_place": "place-shaped, no layer holds it",
    "inside_name": "name inside a longer name",
    "shared_suffix": "shared suffix, unknown member",
    "green_heart": "districts inside the Green Heart",
    "no_place": "no place named",
    "control": "controls (bundled layers hold it)",
}
EXPECTS = ("place", "review", "no_place")
IN_REVIEW = frozenset({"review", "unresolved"})  # both put the project in the review queue
FALLBACK_PRECISIONS = frozenset({4, 8})  # the province, the government seat
EXACT_PRECISIONS = frozenset({1, 2})  # a wrong answer here claims to be a feature or an area: the worst kind
TARGET_RIGHT_SHARE = 0.90
WITHIN_BUFFER_DEG = 0.002  # about 200 m: the districts layer is simplified
WITHIN_AREA_OUTSIDE = 0.02  # share of an areal answer allowed outside the districts named

RIGHT, REVIEW_RIGHT, REVIEW_WRONG, WRONG = "right", "review-right", "review-wrong", "wrong"


@dataclass(frozen=True)
class Entry:
    """One holdout text and what a careful reader accepts as its answer (see holdout.yaml's header)."""

    number: int
    kind: str
    text: str
    city: str | None
    year: int
    lead_unit: str | None
    expect: str
    places: tuple[tuple[str, ...], ...] = ()
    also: tuple[str, ...] = ()
    precision: frozenset[int] = frozenset()
    within: tuple[str, ...] = ()
    review_span: tuple[str, ...] = ()
    spans: tuple[tuple[str, ...], ...] = ()

    @property
    def names_a_place(self) -> bool:
        return self.expect != "no_place"

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(_norm(a) for group in self.places for a in group) | {_norm(a) for a in self.also}


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(str(x) for x in items)


def _groups(value: Any) -> tuple[tuple[str, ...], ...]:
    return tuple(_strings(group) for group in value or [])


def load_holdout(path: Path = HOLDOUT_FILE) -> list[Entry]:
    """Read and check holdout.yaml: a malformed entry must fail loudly, not score silently."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    entries: list[Entry] = []
    for number, item in enumerate(raw, start=1):
        where = f"{path.name} entry {number}"
        if item.get("kind") not in KINDS:
            raise ValueError(f"{where}: kind {item.get('kind')!r} is not one of {', '.join(KINDS)}")
        if item.get("expect") not in EXPECTS:
            raise ValueError(f"{where}: expect {item.get('expect')!r} is not one of {', '.join(EXPECTS)}")
        if not str(item.get("text") or "").strip() or not isinstance(item.get("year"), int):
            raise ValueError(f"{where}: needs a text and a year")
        precision = frozenset(int(p) for p in _strings(item.get("precision", []))) if "precision" in item else None
        entry = Entry(
            number=number,
            kind=item["kind"],
            text=item["text"],
            city=item.get("city"),
            year=item["year"],
            lead_unit=item.get("lead_unit"),
            expect=item["expect"],
            places=_groups(item.get("places")),
            also=_strings(item.get("also", [])),
            precision=precision or frozenset(),
            within=_strings(item.get("within", [])),
            review_span=_strings(item.get("review_span", [])),
            spans=_groups(item.get("spans")),
        )
        if entry.expect == "place" and (not entry.places or not entry.precision):
            raise ValueError(f"{where}: a place expectation needs places and precision")
        if entry.expect == "review" and not entry.spans:
            raise ValueError(f"{where}: a review expectation needs spans")
        if entry.expect != "place" and (entry.places or entry.precision or entry.within or entry.review_span):
            raise ValueError(f"{where}: places / precision / within / review_span belong to place expectations")
        entries.append(entry)
    return entries


@dataclass
class Outcome:
    """What the geocoder answered for one entry and how it scores."""

    entry: Entry
    verdict: str
    status: str
    precision: int | None
    found: list[str]
    reported: list[str]
    why: str = ""
    silent_fallback: bool = False
    no_place_as_place: bool = False

    @property
    def wrong_exact(self) -> bool:
        return self.verdict == WRONG and self.precision in EXACT_PRECISIONS


def _norm(name: str) -> str:
    """Simplified script; an official code padded to its 12 digits (430211 = 430211000000), so the 6- and
    9-digit codes of the holdout meet whichever length a gazetteer stores."""
    name = to_simplified(str(name).strip())
    return name.ljust(12, "0") if name.isdigit() and len(name) in (2, 4, 6, 9) else name


def _identifiers(match: dict[str, Any]) -> set[str]:
    """Every way a holdout entry may name a match: name, feature id (key / admin code), layer/name, layer/id."""
    name, key, layer = str(match.get("name") or ""), str(match.get("feature_id") or ""), str(match.get("layer") or "")
    return {_norm(x) for x in (name, key, f"{layer}/{name}", f"{layer}/{key}") if x and not x.endswith("/")}


def _reported_spans(answer: dict[str, Any], text: str) -> list[str]:
    """The words the answer says a person must look at: unknown place-shaped words and ambiguous names."""
    spans: list[str] = []
    for item in [*(answer.get("unresolved") or []), *(answer.get("ambiguous") or [])]:
        word = item.get("text") if isinstance(item, dict) else None
        if not word and isinstance(item, dict) and item.get("span"):
            start, end = item["span"][:2]
            word = text[start:end]
        if word:
            spans.append(to_simplified(str(word)))
    return spans


def span_matches(reported: str, expected: str) -> bool:
    """The same words, give or take one character at an edge (周边泰山路 for 泰山路 is a wrong cut)."""
    reported, expected = to_simplified(reported), to_simplified(expected)
    if reported == expected:
        return True
    return (reported in expected or expected in reported) and abs(len(reported) - len(expected)) <= 1


def _any_span(reported: Iterable[str], alternatives: Iterable[str]) -> bool:
    alternatives = list(alternatives)
    return any(span_matches(r, a) for r in reported for a in alternatives)


def judge(entry: Entry, answer: dict[str, Any], within_ok: bool | None = None, within_why: str = "") -> Outcome:
    """Score one answer of ``geocode_text`` against the entry (``within_ok``: the geometry check, when asked)."""
    status = str(answer.get("status"))
    precision = answer.get("precision")
    matches = list(answer.get("matches") or [])
    places = [m for m in matches if m.get("method") != "seat"]
    found = [f"{m.get('layer')}/{m.get('name')}" for m in matches]
    reported = _reported_spans(answer, entry.text)
    in_review = status in IN_REVIEW
    outcome = Outcome(entry, WRONG, status, precision, found, reported)
    if entry.names_a_place and not in_review:
        outcome.silent_fallback = precision in FALLBACK_PRECISIONS or not places

    if entry.expect == "no_place":
        if places:
            outcome.no_place_as_place = True
            outcome.why = "a text naming no place answered as a place"
        elif in_review and reported:
            outcome.verdict, outcome.why = REVIEW_WRONG, f"sent to review for {'、'.join(reported)}"
        else:
            outcome.verdict = RIGHT
        return outcome

    if entry.expect == "review":
        if not in_review:
            outcome.why = "answered automatically; should go to review"
        else:
            missing = [group for group in entry.spans if not _any_span(reported, group)]
            outcome.verdict = REVIEW_WRONG if missing else REVIEW_RIGHT
            if missing:
                outcome.why = f"review without the span {' / '.join(missing[0])}"
        return outcome

    # a place expectation
    if in_review:
        if entry.review_span and _any_span(reported, entry.review_span):
            outcome.verdict = REVIEW_RIGHT
        else:
            outcome.verdict = REVIEW_WRONG
            want = " / ".join(entry.review_span) if entry.review_span else "none: the layers hold this place"
            outcome.why = f"in review; span wanted {want}"
        return outcome
    problems: list[str] = []
    if precision not in entry.precision:
        problems.append(f"precision {precision}, want {sorted(entry.precision)}")
    ids = [_identifiers(m) for m in matches]
    missing = [g for g in entry.places if not any(i & {_norm(a) for a in g} for i in ids)]
    if missing:
        problems.append(f"missing {missing[0][0]}")
    extra = [found[n] for n, i in enumerate(ids) if not i & entry.accepted]
    if extra:
        problems.append(f"not accepted {'、'.join(extra)}")
    if entry.within and within_ok is not True:
        problems.append(within_why or f"geometry not inside {'、'.join(entry.within)}")
    if problems:
        outcome.why = "; ".join(problems)
    else:
        outcome.verdict = RIGHT
    return outcome


def geometry_within(session: Session, geometry: dict[str, Any] | None, districts: Sequence[str]) -> tuple[bool, str]:
    """Whether an answer's geometry lies inside the named districts (the Green Heart *part* of a district).

    Points and lines must lie inside (within ~200 m); an areal answer may have 2 % of its area outside, for
    the simplified boundaries.  Read-only, in a savepoint so a geometry error leaves the session usable.
    """
    if not geometry:
        return False, "no geometry"
    import json

    query = sql(
        """
        WITH a AS (SELECT ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326)) AS g),
             d AS (SELECT count(*) AS n, ST_Buffer(ST_Union(geom), :buf) AS d FROM districts WHERE name = ANY(:names)),
             o AS (SELECT a.g, d.n, ST_Difference(a.g, d.d) AS o FROM a, d)
        SELECT n,
               ST_IsEmpty(ST_CollectionExtract(o, 1)) AND ST_IsEmpty(ST_CollectionExtract(o, 2)) AS no_point_line_out,
               ST_Area(ST_CollectionExtract(o, 3)) AS area_out,
               ST_Area(ST_CollectionExtract(g, 3)) AS area
        FROM o
        """
    )
    try:
        with session.begin_nested():
            row = session.execute(
                query, {"g": json.dumps(geometry), "buf": WITHIN_BUFFER_DEG, "names": list(districts)}
            ).one()
    except DBAPIError as error:
        return False, f"geometry check failed: {error.orig}"
    if row.n < len(set(districts)):
        return False, f"the districts layer lacks one of {'、'.join(districts)}"
    share_out = (row.area_out or 0.0) / row.area if row.area else 0.0
    if row.no_point_line_out and share_out <= WITHIN_AREA_OUTSIDE:
        return True, ""
    if not row.no_point_line_out:
        return False, f"a point or line of the answer lies outside {'、'.join(districts)}"
    return False, f"{share_out:.0%} of the answer's area lies outside {'、'.join(districts)}"


@dataclass
class Tally:
    """Counts of one category (or all): the figures the issue's targets are stated in."""

    n: int = 0
    right: int = 0
    review_right: int = 0
    review_wrong: int = 0
    wrong: int = 0
    wrong_exact: int = 0
    silent: int = 0
    no_place_as_place: int = 0

    def add(self, outcome: Outcome) -> None:
        self.n += 1
        self.right += outcome.verdict == RIGHT
        self.review_right += outcome.verdict == REVIEW_RIGHT
        self.review_wrong += outcome.verdict == REVIEW_WRONG
        self.wrong += outcome.verdict == WRONG
        self.wrong_exact += outcome.wrong_exact
        self.silent += outcome.silent_fallback
        self.no_place_as_place += outcome.no_place_as_place

    @property
    def right_share(self) -> float:
        return (self.right + self.review_right) / self.n if self.n else 0.0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def tally(self, kind: str | None = None) -> Tally:
        t = Tally()
        for outcome in self.outcomes:
            if kind is None or outcome.entry.kind == kind:
                t.add(outcome)
        return t

    def targets(self) -> list[tuple[str, str, str, bool]]:
        """(what, figure, target, passed) for each target of issue 19's "done when"."""
        total = self.tally()
        return [
            (
                "right or rightly in review",
                f"{total.right + total.review_right}/{total.n} = {total.right_share:.1%}",
                f">= {TARGET_RIGHT_SHARE:.0%}",
                total.right_share >= TARGET_RIGHT_SHARE,
            ),
            ("wrong at precision 1 or 2", str(total.wrong_exact), "0", total.wrong_exact == 0),
            ("silent fallbacks (names a place, auto at 8 / 4)", str(total.silent), "0", total.silent == 0),
        ]

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.targets())


def measure(session: Session, entries: Sequence[Entry] | None = None) -> Report:
    """Run every holdout text through ``geocode_text`` (what POST /geocode runs) and score it; reads only."""
    report = Report()
    for entry in entries if entries is not None else load_holdout():
        answer = geocode_text(session, entry.text, entry.city, entry.lead_unit)
        within_ok, within_why = None, ""
        if entry.within and answer.get("status") not in IN_REVIEW:
            within_ok, within_why = geometry_within(session, answer.get("geometry"), entry.within)
        report.outcomes.append(judge(entry, answer, within_ok, within_why))
    return report


def _pad(label: str, width: int) -> str:
    """Left-justify in terminal columns: a Chinese character takes two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
    return label + " " * max(0, width - used)


def format_report(report: Report, verbose: bool = False) -> str:
    """The figures per category and in total, the issue's targets beside them; ``verbose`` adds every miss."""
    header = (
        f"{_pad('category', 34)} {'n':>3} {'right':>5} {'rev ok':>6} {'rev bad':>7} {'wrong':>5} "
        f"{'@1/2':>4} {'silent':>6} {'np→pl':>5} {'ok %':>6}"
    )
    lines = [f"issue 19 holdout: {len(report.outcomes)} texts ({HOLDOUT_FILE.name})", "", header, "-" * len(header)]

    def row(label: str, t: Tally) -> str:
        return (
            f"{_pad(label, 34)} {t.n:>3} {t.right:>5} {t.review_right:>6} {t.review_wrong:>7} {t.wrong:>5} "
            f"{t.wrong_exact:>4} {t.silent:>6} {t.no_place_as_place:>5} {t.right_share:>6.1%}"
        )

    for kind in KINDS:
        if any(o.entry.kind == kind for o in report.outcomes):
            lines.append(row(KIND_LABELS[kind], report.tally(kind)))
    lines += ["-" * len(header), row("total", report.tally()), ""]
    lines += textwrap.wrap(
        "right: found and right, auto; rev ok / rev bad: sent to review rightly / wrongly; wrong: auto and wrong; "
        "@1/2: of those, at precision 1 or 2; silent: names a place, answered auto at the seat (8) or the "
        "province (4); np→pl: a no-place text answered as a place",
        width=len(header),
    )
    lines.append("")
    for what, figure, target, ok in report.targets():
        lines.append(f"{'PASS' if ok else 'FAIL'}  {what:48} {figure:>16}   target {target}")
    if verbose:
        lines += ["", "entries not right:"]
        for o in report.outcomes:
            if o.verdict == RIGHT:
                continue
            flags = "".join(f" [{f}]" for f, on in (("silent", o.silent_fallback), ("@1/2", o.wrong_exact)) if on)
            lines.append(
                f"  #{o.entry.number:<3} {o.verdict:12} {o.entry.kind:13} {o.entry.city or '-'} {o.entry.text[:40]}\n"
                f"        → {o.status} @{o.precision} {', '.join(o.found) or 'nothing'}"
                f"{'; review spans ' + '、'.join(o.reported) if o.reported else ''}{flags}"
                f"{'; ' + o.why if o.why else ''}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command: measure on the project database (``DATABASE_URL`` or the managed cluster) and print."""
    parser = argparse.ArgumentParser(prog="python -m tests.geocoding.holdout", description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every entry that is not right, and why")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails (default: always 0)")
    args = parser.parse_args(argv)

    from sqlalchemy.engine import make_url

    from service.database import get_engine, new_session

    engine = get_engine()
    where = make_url(str(engine.url)).render_as_string(hide_password=True)
    session = new_session(engine)
    try:
        report = measure(session)
    except DBAPIError as error:
        print(
            f"no usable database at {where}: {error.orig}\n"
            "set DATABASE_URL to a database set up by `xiangmap setup`, or run `make setup` / `make run`, "
            "which create and load the project-managed cluster",
            file=sys.stderr,
        )
        return 2
    finally:
        session.rollback()
        session.close()
    print(f"database: {where}")
    print(format_report(report, verbose=args.verbose))
    return 1 if args.strict and not report.passed else 0


if __name__ == "__main__":
    sys.exit(main())
