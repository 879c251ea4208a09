"""Background publishing jobs: a browser sees a percentage while a big file loads.

A publish, replace or append of a large file takes minutes; the request that started it answers at once
with a job id (``layer_jobs`` row) and the load runs in a thread of the worker that received it, in a
session of its own.  Progress is written to the job row on a separate short connection (the load's own
transaction is still open and invisible to others), at most a few times a second, so any worker behind
the load balancer can answer ``GET /layers/jobs/{id}``.  The work is given the staged file's bytes by its
caller (service.layers.usecases), which writes them to a temporary directory in the job's thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from service.errors import Problem
from service.models import LayerJob

PROGRESS_EVERY_S = 0.5
PHASES = {"copy": (0, 80), "check": (80, 88), "write": (88, 96), "index": (96, 100)}

Work = Callable[[Session, Callable[[int, int, str], None]], dict[str, Any]]  # (session, progress) -> result
Sessions = Callable[[], Session]  # makes a new session on the service's engine (the job's thread has its own)


def create(session: Session, actor: str, action: str, layer: str) -> str:
    job = LayerJob(actor=actor, action=action, layer=layer, state="queued")
    session.add(job)
    session.flush()
    return str(job.id)


def percent(done: int, total: int, phase: str | None) -> int:
    low, high = PHASES.get(phase or "", (0, 0))
    if phase == "copy" and total:
        return low + int((high - low) * min(done, total) / total)
    return low


# a load's statements each stop at 30 minutes (publishing.LONG_LOAD_TIMEOUT): a job still "running" after this
# long lost its worker (a restart, a crash); its transaction was rolled back with it, so nothing was written
STALE_AFTER = timedelta(hours=3)
STALE = {
    "status": 503,
    "title": "Service Unavailable",
    "detail": "the worker that ran this load stopped before it finished; nothing was written: start it again",
    "fault": "worker_lost",
}


def shown(job: LayerJob) -> dict[str, Any]:
    state, error = job.state, job.error
    if state in ("queued", "running") and datetime.now(UTC) - job.created_at > STALE_AFTER:
        state, error = "failed", STALE
    pct = 100 if state == "done" else percent(int(job.done), int(job.total), job.phase)
    return {
        "id": job.id,
        "action": job.action,
        "layer": job.layer,
        "state": state,
        "phase": job.phase,
        "done": int(job.done),
        "total": int(job.total),
        "percent": pct,
        "result": job.result,
        "error": error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "links": {"self": f"/layers/jobs/{job.id}", "layer": f"/layers/{job.layer}"},
    }


def get(session: Session, job_id: str, actor: str | None = None) -> dict[str, Any]:
    try:
        job = session.get(LayerJob, job_id)
    except Exception:
        session.rollback()
        job = None
    if job is None or (actor is not None and job.actor != actor):
        raise Problem(404, f"no layer job {job_id}", parameter="job_id")
    return shown(job)


def _reporter(sessions: Sessions, job_id: str) -> Callable[[int, int, str], None]:
    last = [0.0]

    def report(done: int, total: int, phase: str) -> None:
        now = time.monotonic()
        if phase == "copy" and now - last[0] < PROGRESS_EVERY_S and done < total:
            return
        last[0] = now
        with sessions() as session:
            session.execute(
                update(LayerJob)
                .where(LayerJob.id == job_id)
                .values(state="running", done=done, total=total, phase=phase)
            )
            session.commit()

    return report


def _finish(
    sessions: Sessions, job_id: str, *, result: dict[str, Any] | None = None, error: dict[str, Any] | None = None
) -> None:
    with sessions() as session:
        session.execute(
            update(LayerJob)
            .where(LayerJob.id == job_id)
            .values(
                state="failed" if error else "done",
                result=_plain(result) if result else None,
                error=_plain(error) if error else None,
                finished_at=text("now()"),
            )
        )
        session.commit()


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready (dates and the like as text) for the JSONB column."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _problem_body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, Problem):
        return {"status": exc.status, "title": exc.title, "detail": exc.detail, **exc.extra}
    return {"status": 500, "title": "Internal error", "detail": f"the load stopped unexpectedly ({type(exc).__name__})"}


def run(sessions: Sessions, job_id: str, work: Work) -> None:
    """Run ``work`` in a session of its own; record the result or the problem."""
    report = _reporter(sessions, job_id)
    try:
        with sessions() as session:
            result = work(session, report)
        _finish(sessions, job_id, result=result)
    except BaseException as exc:
        _finish(sessions, job_id, error=_problem_body(exc))


def start(sessions: Sessions, job_id: str, work: Work) -> threading.Thread:
    thread = threading.Thread(target=run, args=(sessions, job_id, work), name=f"layer-job-{job_id}", daemon=True)
    thread.start()
    return thread
