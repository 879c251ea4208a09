"""The backward schedule (倒排工期) offered for a task without milestones: worked back from its deadline.

A plan gives a deadline and rarely more.  The planner is offered four milestones placed at fixed shares of
the time from the start of the task's year (or the plan's publication, when later) to the deadline, and
accepts, edits or ignores them; only accepted milestones count (service.common.derived_status).  The
shares leave room at both ends: works begun by a quarter of the time, half done by 60 %, the main works by
85 %, accepted at the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# (name, share of the time elapsed, planned percent, works begun by then)
BACKWARD_STEPS = (
    ("开工", 0.25, 5.0, True),
    ("完成过半", 0.60, 50.0, False),
    ("主体完工", 0.85, 80.0, False),
    ("竣工验收", 1.00, 100.0, False),
)


@dataclass(frozen=True)
class Milestone:
    """One milestone as the domain sees it (the table's row without its bookkeeping)."""

    name: str
    due: date
    planned_percent: float
    starts_work: bool = False


def schedule_start(year: int, published: date | None) -> date:
    """The first day the task can be worked on: 1 January of its year, or the plan's publication if later."""
    first = date(year, 1, 1)
    return max(first, published) if published else first


def propose(start: date, deadline: date) -> list[Milestone]:
    """The backward milestones between ``start`` and ``deadline`` (a deadline on or before the start: one
    milestone, the deadline itself)."""
    span = (deadline - start).days
    if span <= 0:
        return [Milestone("竣工验收", deadline, 100.0, True)]
    found: list[Milestone] = []
    for name, share, percent, starts in BACKWARD_STEPS:
        due = deadline if share >= 1 else start + timedelta(days=round(span * share))
        if found and due <= found[-1].due:
            continue  # a span of a few days: keep the milestones strictly in order
        found.append(Milestone(name, due, percent, starts))
    return found
