"""Requests per client per group of expensive endpoints, with 429 + Retry-After (decisions 0094, 0320).

A *group* is a kind of work that costs far more than a cached read: geocoding a text, a screening
(five spatial queries and a recorded write), a whole-collection download, a printed wall map.  Each
group has an allowance in the `limits` notation (``XIANGMAP_RATE_LIMIT_<GROUP>``, e.g. ``60/minute``)
per client address for anonymous callers, and ``XIANGMAP_RATE_LIMIT_TOKEN_FACTOR`` times that per
token holder (keyed by user, from any address).  The client address is the one uvicorn reports:
``X-Forwarded-For`` when the connection comes from a proxy it trusts (``--forwarded-allow-ips``),
else the peer.

The counts are kept in PostgreSQL (``XIANGMAP_RATE_LIMIT_STORE=database``, the default;
``service/rate_counter.py``): every worker of every machine behind a load balancer counts against the
same allowance, a sliding window approximated by two fixed windows, one round trip per counted request
and none for a refusal this worker already knows of.  ``memory`` keeps them in this worker process
(`limits`' moving window), for a single-process development server: with N workers a client would get
up to N times the allowance.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from service.dependencies import current_principal
from service.errors import Problem, problem_response
from service.rate_counter import SharedCounter
from service.security import Principal
from service.settings import Settings

GROUPS = {
    "geocode": "geocoding (POST /geocode)",
    "screening": "screenings (POST /screening, /screening/batch, POST /projects/{id}/screening)",
    "downloads": "downloads (/collections/{id}/download.*)",
    "download_reads": "byte-range and HEAD reads of downloads (GDAL /vsicurl/, QGIS Protocol HTTP(S))",
    "print": "printed maps (/maps/progress.png, .pdf)",
    "signin": "failed sign-ins (POST /login)",
}
SIGNIN = "signin"
STORES = ("database", "memory")


def _scaled(item: RateLimitItem, factor: int) -> RateLimitItem:
    return type(item)(item.amount * factor, item.multiples, namespace=item.namespace)


@dataclass
class RateLimits:
    """The allowances of every group and their counter (shared in PostgreSQL, or this process's own)."""

    anonymous: dict[str, list[RateLimitItem]]
    holders: dict[str, list[RateLimitItem]]
    limiter: SharedCounter | MovingWindowRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits | None:
        """None when ``XIANGMAP_RATE_LIMITS_ENABLED`` is false; a bad allowance or store stops the start-up."""
        if not settings.rate_limits_enabled:
            return None
        if settings.rate_limit_store not in STORES:
            raise ValueError(f"XIANGMAP_RATE_LIMIT_STORE={settings.rate_limit_store!r}: use one of {', '.join(STORES)}")
        anonymous: dict[str, list[RateLimitItem]] = {}
        for group in GROUPS:
            raw = getattr(settings, f"rate_limit_{group}")
            try:
                anonymous[group] = parse_many(raw)
            except ValueError as error:
                raise ValueError(
                    f"XIANGMAP_RATE_LIMIT_{group.upper()}={raw!r} is not an allowance such as '60/minute' ({error})"
                ) from error
        factor = max(1, settings.rate_limit_token_factor)
        holders = {g: [_scaled(item, factor) for item in items] for g, items in anonymous.items()}
        if settings.rate_limit_store == "memory":
            return cls(anonymous, holders, MovingWindowRateLimiter(MemoryStorage()))
        return cls(anonymous, holders, SharedCounter())

    def over(self, group: str, key: str, items: list[RateLimitItem]) -> tuple[RateLimitItem, int] | None:
        """Count one request of ``key``; the allowance it exceeds and the seconds until it may retry, or None.

        Blocking with the shared store (a round trip): from the event loop, use :meth:`over_async`.
        """
        for item in items:
            if not self.limiter.hit(item, group, key):
                stats = self.limiter.get_window_stats(item, group, key)
                return item, max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def known_refusal(self, group: str, key: str, items: list[RateLimitItem]) -> tuple[RateLimitItem, int] | None:
        """A refusal this process already knows of (shared store only), found without a round trip; else None."""
        if isinstance(self.limiter, SharedCounter):
            for item in items:
                wait = self.limiter.known_refusal(item, group, key)
                if wait is not None:
                    return item, max(1, math.ceil(wait))
        return None

    async def over_async(self, group: str, key: str, items: list[RateLimitItem]) -> tuple[RateLimitItem, int] | None:
        """:meth:`over` from the event loop: the shared store's round trip runs on a worker thread."""
        if not isinstance(self.limiter, SharedCounter):
            return self.over(group, key, items)  # memory: no I/O
        known = self.known_refusal(group, key, items)
        if known is not None:
            return known
        return await anyio.to_thread.run_sync(self.over, group, key, items)

    def signin_wait(self, address: str, name: str) -> int | None:
        """Seconds until a sign-in from ``address`` or for ``name`` may be tried again; None when it may now.

        Only failures are counted (:meth:`signin_failed`), per address and per user name, so a user who
        signs in right is never slowed and one account cannot be guessed at from many addresses at once.
        Blocking with the shared store, as is :meth:`signin_failed`: the sign-in route runs on a worker thread.
        """
        for key in _signin_keys(address, name):
            for item in self.anonymous[SIGNIN]:
                if not self.limiter.test(item, SIGNIN, key):
                    stats = self.limiter.get_window_stats(item, SIGNIN, key)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    def signin_failed(self, address: str, name: str) -> None:
        for key in _signin_keys(address, name):
            for item in self.anonymous[SIGNIN]:
                self.limiter.hit(item, SIGNIN, key)

    def refusal(self, group: str, who: str, item: RateLimitItem, retry_after: int, anonymous: bool) -> Problem:
        anonymous_hint = "; a token holder may send more" if anonymous else ""
        return Problem(
            429,
            f"too many {GROUPS[group]} from {who}: at most {item.amount} per "
            f"{_window(item)}; try again in {retry_after} s{anonymous_hint}",
            headers={"Retry-After": str(retry_after)},
            limit=f"{item.amount}/{_window(item)}",
            retry_after=retry_after,
            fault="rate_limited",
        )

    async def check(self, group: str, principal: Principal, request: Request) -> None:
        """Count this request; 429 with Retry-After when the client is over one of the group's allowances."""
        group = read_group(group, request.method, "range" in request.headers)
        if principal.role is not None:
            key, who, items = f"user:{principal.name}", f"token holder {principal.name!r}", self.holders[group]
        else:
            if request.scope.get("state", {}).get(COUNTED) == group:
                return  # counted by AnonymousLimitMiddleware before the body was read
            address = request.client.host if request.client else "unknown"
            key, who, items = f"address:{address}", f"address {address}", self.anonymous[group]
        found = await self.over_async(group, key, items)
        if found is not None:
            raise self.refusal(group, who, *found, anonymous=principal.role is None)


def _signin_keys(address: str, name: str) -> tuple[str, str]:
    return f"address:{address}", f"name:{name.strip().casefold()}"


COUNTED = "xiangmap.rate_counted"  # scope["state"] key: the group an anonymous request was counted in

# the limited operations as an anonymous caller reaches them (method, path), matched before the body is read
ANONYMOUS_ROUTES: tuple[tuple[frozenset[str], re.Pattern[str], str], ...] = (
    (frozenset({"POST"}), re.compile(r"^/geocode$"), "geocode"),
    (frozenset({"POST"}), re.compile(r"^/screening(?:/batch)?$"), "screening"),
    (frozenset({"POST"}), re.compile(r"^/projects/[^/]+/screening$"), "screening"),
    (frozenset({"GET", "HEAD"}), re.compile(r"^/collections/[^/]+/download\.[\w.]+$"), "downloads"),
    (frozenset({"GET", "HEAD"}), re.compile(r"^/maps/progress\.(?:png|pdf)$"), "print"),
)


def read_group(group: str, method: str, ranged: bool) -> str:
    """A download's HEAD and Range requests count apart, with a larger allowance.

    GDAL's /vsicurl/ (QGIS's "Protocol HTTP(S)") opens a GeoPackage with a HEAD and tens of byte-range
    reads of the one cached file: counted as whole downloads, a single layer opened in QGIS ran into
    the 30/minute allowance and QGIS crashed on the 429.
    """
    return "download_reads" if group == "downloads" and (method == "HEAD" or ranged) else group


def anonymous_group(method: str, path: str, ranged: bool = False) -> str | None:
    for methods, pattern, group in ANONYMOUS_ROUTES:
        if method in methods and pattern.match(path):
            return read_group(group, method, ranged)
    return None


class AnonymousLimitMiddleware:
    """Counts anonymous callers of the limited operations before anything of their request is read.

    Over the allowance, the 429 costs no body parsing, no JSON decoding and, once this worker knows of the
    refusal (``SharedCounter`` remembers it until the retry time), no database round trip; it is held back
    for up to ``XIANGMAP_RATE_LIMIT_TARPIT_S`` seconds (never past ``Retry-After``) with the connection
    closed after it: a client that retries at once, as a flood does, then gets a handful of answers a
    second instead of the event loop's full attention.  At most
    ``XIANGMAP_RATE_LIMIT_TARPIT_MAX`` answers are held at once; beyond that they go out at once.
    Callers with a token are counted per user by the route's dependency, after the token is checked.
    """

    def __init__(self, app: ASGIApp, tarpit_s: float, tarpit_max: int) -> None:
        self.app = app
        self.tarpit_s = tarpit_s
        self.tarpit_max = tarpit_max
        self.held = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(k == b"authorization" for k, _ in scope.get("headers", [])):
            await self.app(scope, receive, send)
            return
        ranged = any(k == b"range" for k, _ in scope.get("headers", []))
        group = anonymous_group(scope["method"], scope.get("path", ""), ranged)
        limits: RateLimits | None = getattr(scope["app"].state, "rate_limits", None) if "app" in scope else None
        if group is None or limits is None:
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else "unknown"
        found = await limits.over_async(group, f"address:{address}", limits.anonymous[group])
        if found is None:
            scope.setdefault("state", {})[COUNTED] = group
            await self.app(scope, receive, send)
            return
        item, retry_after = found
        if self.tarpit_s > 0 and self.held < self.tarpit_max:
            self.held += 1
            try:
                await asyncio.sleep(min(self.tarpit_s, retry_after))
            finally:
                self.held -= 1
        refusal = limits.refusal(group, f"address {address}", item, retry_after, anonymous=True)
        response = problem_response(
            429,
            refusal.detail,
            instance=scope.get("path"),
            headers={**refusal.headers, "Connection": "close"},
            **refusal.extra,
        )
        await response(scope, receive, send)


def _window(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def install(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits.from_settings(settings)
    app.add_middleware(
        AnonymousLimitMiddleware, tarpit_s=settings.rate_limit_tarpit_s, tarpit_max=settings.rate_limit_tarpit_max
    )


def rate_limited(group: str) -> Any:
    """``dependencies=[rate_limited("geocode")]`` on a route: counts the caller's request in ``group``."""
    if group not in GROUPS:
        raise KeyError(group)

    async def check(request: Request, principal: Principal = Depends(current_principal)) -> None:
        limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
        if limits is not None:
            await limits.check(group, principal, request)

    dependency: Callable[..., Coroutine[Any, Any, None]] = check
    return Depends(dependency)
