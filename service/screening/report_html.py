"""HTML report: a summary, every zone hit in a table, and a map per flagged site (inline PNG)."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from service.models import Screening
from service.screening.report_facts import DISCLAIMER, VERDICT_ZH, site_facts, zone_citations
from service.screening.report_figures import screening_png
from service.screening.report_table import report_rows

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def screenings_html(screenings: Sequence[Screening], *, title: str) -> str:
    # a site's own section (its facts, map and citations): every flagged site, and the one site of a single report
    flagged = [s for s in screenings if s.result.get("flagged") or len(screenings) == 1]
    maps = {s.id: base64.b64encode(screening_png(s.result)).decode() for s in flagged}
    return (
        environment()
        .get_template("screening/report.html")
        .render(
            title=title,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            screenings=screenings,
            flagged=flagged,
            counts=Counter(s.result["verdict"] for s in screenings),
            rows=report_rows(screenings),
            maps=maps,
            verdict_zh=VERDICT_ZH,
            facts={s.id: site_facts(s) for s in flagged},
            citations={s.id: zone_citations(s.result) for s in flagged},
            disclaimer=DISCLAIMER,
        )
    )
