"""Reads that may be slightly stale go to PostgreSQL hot standbys; everything else to the primary (issue 21).

``XIANGMAP_REPLICA_URLS`` lists the standbys (the application role's URLs, comma-separated).  Each worker
process watches them on a thread of its own every ``replica_check_s``: a standby is *usable* while it
answers and the data it has replayed is no more than ``replica_max_lag_s`` behind the primary.  Staleness is
measured on the data version (migration 0009), which numbers every commit of served data and replicates
with it: the watcher notes when the primary reached each version, and a standby at version v is as stale as
the time since the primary moved past v.

Read-your-writes: a client that wrote carries the data version of its write (the ``xm_seen`` cookie for
browsers, the ``X-Data-Version`` header for API clients; both are set on every successful write, see
:func:`seen_after_write`).  A standby whose replayed version is known to be older is not used for it, so the
writer sees its write at once.  A standby that fails in the middle of a request is marked down and the read
is run again on the primary: the client never sees the failure.  Nothing here is kept per client on the
server; every worker decides alike from the request and the databases.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine, exc
from sqlalchemy.orm import Session

from service.database import get_engine, new_session, read_one
from service.settings import get_settings

log = logging.getLogger("xiangmap.read_routing")
T = TypeVar("T")

VERSION_SQL = "SELECT version FROM data_version"
# the primary's side: its version, when that version's commit happened and the time now, all on its clock
PRIMARY_SQL = "SELECT version, extract(epoch FROM changed_at), extract(epoch FROM clock_timestamp()) FROM data_version"
# the floor a request's reads must reach: the data version its client last wrote (None: any usable standby)
READ_FLOOR: ContextVar[int | None] = ContextVar("read_floor", default=None)
SEEN_COOKIE = "xm_seen"
SEEN_HEADER = "X-Data-Version"


@dataclass
class Standby:
    url: str
    engine: Engine
    version: int | None = None
    lag_s: float | None = None
    up: bool = False
    error: str | None = None
    checked_at: float = 0.0

    def usable(self, max_lag_s: float) -> bool:
        return self.up and self.lag_s is not None and self.lag_s <= max_lag_s


@dataclass
class Router:
    """The standbys of this process and what is known of them."""

    primary: Engine
    standbys: list[Standby]
    max_lag_s: float
    check_s: float
    _history: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=4096))  # (version, committed at)
    _primary_clock: float = 0.0
    _turn: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    # ---- watching ---------------------------------------------------------------------------------
    def check_once(self) -> None:
        """Read the primary's and each standby's data version; work out each standby's staleness."""
        now = time.monotonic()
        try:
            row = read_one(PRIMARY_SQL, engine=self.primary)
        except exc.SQLAlchemyError:
            row = None
        with self._lock:
            if row is not None:
                primary_version, changed_at, self._primary_clock = int(row[0]), float(row[1]), float(row[2])
                if not self._history or self._history[-1][0] != primary_version:
                    self._history.append((primary_version, changed_at))
        for standby in self.standbys:
            try:
                row = read_one(VERSION_SQL, engine=standby.engine)
                version = int(row[0]) if row else None
            except exc.SQLAlchemyError as error:
                self._down(standby, error)
                continue
            with self._lock:
                standby.version, standby.up, standby.error, standby.checked_at = version, True, None, now
                standby.lag_s = self._lag(version, now)

    def _lag(self, version: int | None, now: float) -> float | None:
        """How long ago the primary committed the first version newer than ``version`` that the watcher saw,
        on the primary's own clock (0 when the standby has the newest version seen).  A version committed and
        superseded between two checks is not seen, so this may undercount by up to one check interval."""
        if version is None:
            return None
        newer = [t for v, t in self._history if v > version]
        return max(0.0, self._primary_clock - min(newer)) if newer else 0.0

    def _down(self, standby: Standby, error: BaseException) -> None:
        with self._lock:
            if standby.up:
                log.warning("standby %s is down: %s", _safe(standby.url), str(error).splitlines()[0][:200])
            standby.up, standby.error, standby.checked_at = False, str(error).splitlines()[0][:200], time.monotonic()
        standby.engine.dispose(close=False)

    def start(self) -> None:
        if self._thread is not None or not self.standbys:
            return
        self.check_once()

        def watch() -> None:
            while not self._stop.wait(self.check_s):
                try:
                    self.check_once()
                except Exception:
                    log.exception("checking the standbys failed")

        self._thread = threading.Thread(target=watch, name="xiangmap-standby-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # ---- choosing ---------------------------------------------------------------------------------
    def engine_for(self, floor: int | None) -> Engine:
        """A usable standby that has replayed at least ``floor``, taken in turn; else the primary."""
        with self._lock:
            fit = [
                s
                for s in self.standbys
                if s.usable(self.max_lag_s) and (floor is None or (s.version is not None and s.version >= floor))
            ]
            if not fit:
                return self.primary
            return fit[next(self._turn) % len(fit)].engine

    def failed(self, engine: Engine, error: BaseException) -> None:
        for standby in self.standbys:
            if standby.engine is engine:
                self._down(standby, error)

    def status(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {
                    "url": _safe(s.url),
                    "up": s.up,
                    "usable": s.usable(self.max_lag_s),
                    "data_version": s.version,
                    "lag_s": None if s.lag_s is None else round(s.lag_s, 3),
                    "error": s.error,
                }
                for s in self.standbys
            ]


def _safe(url: str) -> str:
    """The URL without its password, for logs and /healthz."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _standby_engine(url: str) -> Engine:
    """The service's own engine settings, its connections named xiangmap-read in ``pg_stat_activity``."""
    return get_engine(url, application_name="xiangmap-read")


_router: Router | None = None
_router_lock = threading.Lock()


def router() -> Router:
    """This process's router (made, and its watcher started, on first use)."""
    global _router
    with _router_lock:
        if _router is None:
            settings = get_settings()
            standbys = [Standby(url, _standby_engine(url)) for url in settings.replica_urls]
            _router = Router(get_engine(), standbys, settings.replica_max_lag_s, settings.replica_check_s)
            _router.start()
        return _router


def reset() -> None:
    """Forget the router (tests that change the replica settings)."""
    global _router
    with _router_lock:
        if _router is not None:
            _router.stop()
            for standby in _router.standbys:
                standby.engine.dispose()
        _router = None


def read_engine() -> Engine:
    """The engine for a read that may be slightly stale, in this request (see the module's docstring)."""
    if not get_settings().replica_urls:
        return get_engine()
    return router().engine_for(READ_FLOOR.get())


def run_read(read: Callable[[Engine], T]) -> T:
    """Run ``read`` on a standby; if the standby fails under it, mark it down and run it on the primary."""
    engine = read_engine()
    if engine is get_engine():
        return read(engine)
    try:
        return read(engine)
    except exc.OperationalError as error:
        router().failed(engine, error)
        return read(get_engine())
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        router().failed(engine, error)
        return read(get_engine())


def run_read_session(read: Callable[[Session], T]) -> T:
    """:func:`run_read` for code that reads through a Session (the maps' data, the ledger)."""

    def on(engine: Engine) -> T:
        with new_session(engine) as session:
            return read(session)

    return run_read(on)


def floor_from(cookie: str | None, header: str | None) -> int | None:
    """The client's last write as it tells it: the larger of cookie and header (garbage is ignored)."""
    best = None
    for raw in (cookie, header):
        try:
            value = int(str(raw).split("@", 1)[0]) if raw else None
        except ValueError:
            value = None
        if value is not None and value >= 0 and (best is None or value > best):
            best = value
    return best


def seen_after_write() -> int | None:
    """The primary's data version now: what a client that just wrote must see from here on."""
    try:
        row = read_one(VERSION_SQL, engine=get_engine())
    except exc.SQLAlchemyError:
        return None
    return int(row[0]) if row else None
