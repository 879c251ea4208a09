"""Requests per client per group of expensive endpoints, with 429 + Retry-After (decision 0094).

A *group* is a kind of work that costs far more than a cached read: geocoding a text, a screening
(five spatial queries and a recorded write), a whole-collection download, a printed wall map.  Each
group has an allowance in the `limits` notation (``XIANGMAP_RATE_LIMIT_<GROUP>``, e.g. ``60/minute``)
per client address for anonymous callers, and ``XIANGMAP_RATE_LIMIT_TOKEN_FACTOR`` times that per
token holder (keyed by user, from any address).  The client address is the one uvicorn reports:
``X-Forwarded-For`` when the connection comes from a proxy it trusts (``--forwarded-allow-ips``),
else the peer.

Counting is a moving window (`limits.strategies.MovingWindowRateLimiter`) kept in this worker process:
with N workers a client may get up to N times the allowance.  Shared state in PostgreSQL would cost a
write per limited request and a table in the fixed migration chain; see the decision.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service.dependencies import current_principal
from service.errors import Problem
from service.security import Principal
from service.settings import Settings

GROUPS = {
    "geocode": "geocoding (POST /geocode)",
    "screening": "screenings (POST /screening, /screening/batch, GET /projects/{id}/screening)",
    "downloads": "downloads (/collections/{id}/download.*)",
    "print": "printed maps (/maps/progress.png, .pdf)",
}


def _scaled(item: RateLimitItem, factor: int) -> RateLimitItem:
    return type(item)(item.amount * factor, item.multiples, namespace=item.namespace)


@dataclass
class RateLimits:
    """The allowances of every group and the counters of this process."""

    anonymous: dict[str, list[RateLimitItem]]
    holders: dict[str, list[RateLimitItem]]
    limiter: MovingWindowRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits | None:
        """None when ``XIANGMAP_RATE_LIMITS_ENABLED`` is false; a bad allowance stops the start-up."""
        if not settings.rate_limits_enabled:
            return None
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
        return cls(anonymous, holders, MovingWindowRateLimiter(MemoryStorage()))

    def check(self, group: str, principal: Principal, request: Request) -> None:
        """Count this request; 429 with Retry-After when the client is over one of the group's allowances."""
        if principal.role is not None:
            key, who, items = f"user:{principal.name}", f"token holder {principal.name!r}", self.holders[group]
        else:
            address = request.client.host if request.client else "unknown"
            key, who, items = f"address:{address}", f"address {address}", self.anonymous[group]
        for item in items:
            if not self.limiter.hit(item, group, key):
                stats = self.limiter.get_window_stats(item, group, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                anonymous_hint = "" if principal.role is not None else "; a token holder may send more"
                raise Problem(
                    429,
                    f"too many {GROUPS[group]} from {who}: at most {item.amount} per "
                    f"{_window(item)}; try again in {retry_after} s{anonymous_hint}",
                    headers={"Retry-After": str(retry_after)},
                    limit=f"{item.amount}/{_window(item)}",
                    retry_after=retry_after,
                    fault="rate_limited",
                )


def _window(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def install(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits.from_settings(settings)


def rate_limited(group: str) -> Any:
    """``dependencies=[rate_limited("geocode")]`` on a route: counts the caller's request in ``group``."""
    if group not in GROUPS:
        raise KeyError(group)

    async def check(request: Request, principal: Principal = Depends(current_principal)) -> None:
        limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
        if limits is not None:
            limits.check(group, principal, request)

    dependency: Callable[..., Coroutine[Any, Any, None]] = check
    return Depends(dependency)
