"""Rate-limit counts in PostgreSQL, shared by every worker and every machine (issue 21, decision 0320).

``SharedCounter`` answers what ``service/rate_limits.py`` asks of a `limits` strategy (``hit``, ``test``,
``get_window_stats``) from the table ``rate_limit_counts`` (migration 0026, UNLOGGED).

**Counting: a sliding window approximated by two fixed windows** (Cloudflare's "sliding window counter").
Time is cut into fixed windows of the allowance's length W (a multiple of W since the epoch, by the
database's clock, so machines whose clocks differ still count in the same rows).  One row per client key
and window holds the requests counted in it.  At ``elapsed`` seconds into the current window, the client
has used ``previous x (1 - elapsed / W) + current``: the previous window's count, weighted by how much of
it the sliding window still covers, as if its requests had come evenly spread.  A request is counted only
when that plus 1 is at most the allowance; a refused request is **not** counted, so a client that keeps
knocking while refused is free again at the time its ``Retry-After`` named (``limits``' moving window does
the same).  The approximation lets a client that sent its whole allowance at the very end of one window
send about half of it again halfway through the next, and makes one that sent it all at the start of a
window wait up to ``W / allowance`` past the window's end: ``Retry-After`` is at most 2 W.

**One round trip per counted request**: one statement reads both windows' rows and upserts the current
one with ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <still under the allowance>``; the conflict path
re-checks against the locked, latest row, so two workers counting the same client at once cannot both
take the last request.  1 in :data:`SWEEP_EVERY` counted requests also deletes the rows older than two
windows (a second statement).  Each statement runs in autocommit on a pooled connection of the service's
engine (``service.database.read_one``), never inside a request's transaction, and always on the primary
(an unlogged table cannot be read on a standby).

**A refusal is remembered in this process** until its retry time, and answered from memory without a
round trip: a flood of refused requests costs the database nothing.  This is exact, not a cache that may
be stale in the client's favour or against it: refused requests are not counted, and requests counted by
other workers only raise the counts, so nothing can free the client before that time.

**The database does not answer: the counter fails open.**  The request is let through (logged), and for
:data:`FAIL_OPEN_S` seconds the counter does not try again, so a database that is down costs at most one
connection attempt per second per worker.  A limiter that answered 500 would be worse than none: the
limited endpoints need the database themselves and answer 503 while it is away.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from typing import Any

from limits import RateLimitItem
from limits.util import WindowStats
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.database import get_engine, read_one

log = logging.getLogger("xiangmap.rate_limits")

SWEEP_EVERY = 1000  # 1 in this many counted requests deletes the windows no count needs any more
FAIL_OPEN_S = 1.0  # after a failed round trip, requests are let through uncounted this long
REMEMBERED_MAX = 10_000  # refusals remembered per process; beyond that the expired ones are forgotten

# the two windows of one key, by the database's clock: (previous hits, current hits, seconds into the window)
_WINDOWS = """
WITH clock AS (
    SELECT floor(extract(epoch FROM now()) / %(w)s) * %(w)s AS start_s, extract(epoch FROM now()) AS now_s
), counts AS (
    SELECT start_s, now_s - start_s AS elapsed,
        coalesce((SELECT hits FROM rate_limit_counts
                  WHERE key = %(key)s AND window_start = to_timestamp(start_s - %(w)s)), 0) AS previous,
        coalesce((SELECT hits FROM rate_limit_counts
                  WHERE key = %(key)s AND window_start = to_timestamp(start_s)), 0) AS current
    FROM clock
), seen AS (
    SELECT *, previous * (1 - elapsed / %(w)s) AS carried FROM counts
)"""

HIT_SQL = (
    _WINDOWS
    + """, counted AS (
    INSERT INTO rate_limit_counts AS r (key, window_start, hits)
    SELECT %(key)s, to_timestamp(start_s), 1 FROM seen WHERE carried + 1 <= %(limit)s
    ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + 1
    WHERE r.hits + 1 + (SELECT carried FROM seen) <= %(limit)s
    RETURNING r.hits
)
SELECT (SELECT hits FROM counted), previous, current, elapsed::float8 FROM seen"""
)
WINDOWS_SQL = _WINDOWS + "\nSELECT NULL::integer, previous, current, elapsed::float8 FROM seen"

# the key starts with the window's length ("60s/..."): every row's own expiry, for one sweep of all windows
SWEEP_SQL = (
    "WITH gone AS (DELETE FROM rate_limit_counts"
    " WHERE window_start < now() - 2 * split_part(key, 's/', 1)::integer * interval '1 second' RETURNING 1)"
    " SELECT count(*) FROM gone"
)


def window_key(item: RateLimitItem, *identifiers: str) -> str:
    """``60s/30/screening/address:10.0.0.7``: the window's length, the allowance, the group and the client."""
    return f"{item.get_expiry()}s/{item.amount}/" + "/".join(identifiers)


def wait_s(previous: int, current: int, elapsed: float, window: int, limit: int) -> float:
    """Seconds from now until one more request fits under ``limit``; 0 when it fits now."""
    if previous * (1 - elapsed / window) + current + 1 <= limit:
        return 0.0
    if current + 1 <= limit:  # the previous window's weight must fade: later in this window
        return max(0.0, window * (1 - (limit - 1 - current) / previous) - elapsed)
    # this window is full: in the next one, the current count becomes the weighted previous one
    return window - elapsed + window * max(0.0, 1 - (limit - 1) / current)


class SharedCounter:
    """`limits`' strategy interface over ``rate_limit_counts``; thread-safe, one per app."""

    def __init__(self, engine: Engine | None = None, sweep_every: int = SWEEP_EVERY) -> None:
        self.engine = engine
        self.sweep_every = sweep_every
        self._refused: dict[str, float] = {}  # key -> time.monotonic() at which it may retry
        self._lock = threading.Lock()
        self._down_until = 0.0

    # --- what rate_limits.py calls -------------------------------------------------------------------
    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one request; False (and not counted) when it would exceed the allowance."""
        key = window_key(item, *identifiers)
        if self.refused_until(key) is not None:
            return False
        row = self._one(HIT_SQL, key, item)
        if row is None:
            return True  # failed open
        counted, previous, current, elapsed = row
        if counted is None:
            self._remember(key, wait_s(previous, current, elapsed, item.get_expiry(), item.amount))
            return False
        if self.sweep_every and random.randrange(self.sweep_every) == 0:
            self.sweep()
        return True

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Whether one more request would be counted now; counts nothing."""
        return self._wait(item, *identifiers) == 0

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """``reset_time``: when (``time.time()``) one more request will fit; ``remaining``: how many fit now."""
        key = window_key(item, *identifiers)
        until = self.refused_until(key)
        if until is not None:
            return WindowStats(time.time() + until - time.monotonic(), 0)
        row = self._one(WINDOWS_SQL, key, item)
        if row is None:
            return WindowStats(time.time(), item.amount)
        _, previous, current, elapsed = row
        window = item.get_expiry()
        remaining = max(0, math.floor(item.amount - previous * (1 - elapsed / window) - current))
        return WindowStats(time.time() + wait_s(previous, current, elapsed, window, item.amount), remaining)

    # --- the rest ----------------------------------------------------------------------------------------
    def refused_until(self, key: str) -> float | None:
        """The ``time.monotonic()`` until which ``key`` is known to be refused, without a round trip; or None."""
        until = self._refused.get(key)
        if until is None:
            return None
        if until <= time.monotonic():
            self._refused.pop(key, None)
            return None
        return until

    def known_refusal(self, item: RateLimitItem, *identifiers: str) -> float | None:
        """Seconds until the client may retry, when this process already knows it is refused; else None."""
        until = self.refused_until(window_key(item, *identifiers))
        return None if until is None else until - time.monotonic()

    def sweep(self) -> int:
        """Delete the rows older than two of their windows; how many went (0 when the database did not answer)."""
        try:
            row = read_one(SWEEP_SQL, engine=self.engine or get_engine())
        except SQLAlchemyError as error:
            log.warning("rate limits: the sweep of old windows failed (%s)", error)
            return 0
        return int(row[0]) if row else 0

    def _wait(self, item: RateLimitItem, *identifiers: str) -> float:
        key = window_key(item, *identifiers)
        until = self.refused_until(key)
        if until is not None:
            return until - time.monotonic()
        row = self._one(WINDOWS_SQL, key, item)
        if row is None:
            return 0.0
        _, previous, current, elapsed = row
        wait = wait_s(previous, current, elapsed, item.get_expiry(), item.amount)
        if wait > 0:
            self._remember(key, wait)
        return wait

    def _remember(self, key: str, wait: float) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._refused) >= REMEMBERED_MAX:
                self._refused = {k: t for k, t in self._refused.items() if t > now}
                if len(self._refused) >= REMEMBERED_MAX:
                    self._refused.clear()
            self._refused[key] = now + wait

    def _one(self, sql: str, key: str, item: RateLimitItem) -> tuple[Any, ...] | None:
        """The statement's row; None when the database did not answer (the caller then fails open)."""
        if time.monotonic() < self._down_until:
            return None
        try:
            params = {"key": key, "w": item.get_expiry(), "limit": item.amount}
            return read_one(sql, params, self.engine or get_engine())
        except SQLAlchemyError as error:
            self._down_until = time.monotonic() + FAIL_OPEN_S
            log.warning(
                "rate limits: the database did not answer (%s); requests are let through uncounted for %s s",
                error,
                FAIL_OPEN_S,
            )
            return None
