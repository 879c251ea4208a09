"""Rate limits shared by every worker and machine through PostgreSQL (issue 21, decision 0320).

Two apps made from the same settings stand for two workers, or two machines behind a load balancer:
they have nothing in common but the database, and a client gets one allowance across both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine, create_engine, text

from service.rate_counter import SharedCounter, wait_s, window_key
from service.rate_limits import RateLimits
from service.settings import Settings
from tests.web.conftest import make_user, sign_in

GEOCODE = {"text": "株洲市天元区"}


@pytest.fixture
def no_counts(engine: Engine) -> Iterator[Engine]:
    """Every test starts from no counts: the table outlives the apps, as it outlives the workers."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rate_limit_counts"))
    yield engine


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rate_limits_enabled": True,
        "rate_limit_geocode": "3/minute",
        "rate_limit_signin": "2/minute",
        "rate_limit_token_factor": 2,
        "rate_limit_tarpit_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


def _app(**overrides: Any) -> FastAPI:
    from service.app import create_app

    return create_app(_settings(**overrides))


def _counts(engine: Engine, like: str) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT hits FROM rate_limit_counts WHERE key LIKE :k ORDER BY window_start"), {"k": like}
        )
        return list(rows.scalars())


def _retry_after(response: Any) -> int:
    assert response.status_code == 429, response.text[:300]
    body = response.json()
    assert body["fault"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert body["retry_after"] == retry_after
    assert 1 <= retry_after <= 120  # at most two windows of a minute
    return retry_after


def test_two_apps_share_one_allowance_and_refuse_from_either(no_counts: Engine) -> None:
    one, other = _app(), _app()
    assert isinstance(one.state.rate_limits.limiter, SharedCounter)  # the default store
    with TestClient(one) as a, TestClient(other) as b:
        codes = [c.post("/geocode", json=GEOCODE).status_code for c in (a, b, a)]
        assert codes == [200, 200, 200]  # three in all, not three per app
        assert "from address testclient: at most 3 per minute" in b.post("/geocode", json=GEOCODE).json()["detail"]
        for c in (a, b, a, b):
            _retry_after(c.post("/geocode", json=GEOCODE))
    # the refused requests were not counted: the client is charged for the three it was given
    assert _counts(no_counts, "60s/3/geocode/address:testclient") == [3]


def test_a_token_holder_is_counted_once_across_apps(no_counts: Engine, auth: dict[str, dict[str, str]]) -> None:
    viewer = auth["viewer"]  # 3 x 2 per minute, by user
    with TestClient(_app()) as a, TestClient(_app()) as b:
        codes = [(a, b)[i % 2].post("/geocode", json=GEOCODE, headers=viewer).status_code for i in range(6)]
        assert codes == [200] * 6
        _retry_after(b.post("/geocode", json=GEOCODE, headers=viewer))
        _retry_after(a.post("/geocode", json=GEOCODE, headers=viewer))
        assert a.post("/geocode", json=GEOCODE).status_code == 200  # the address keeps its own count
    assert _counts(no_counts, "60s/6/geocode/user:test-viewer") == [6]


def test_failed_sign_ins_are_counted_across_apps(no_counts: Engine) -> None:
    user = make_user("shared-limited", "viewer")
    one = TestClient(_app(), follow_redirects=False)
    other = TestClient(_app(), follow_redirects=False)
    assert sign_in(one, user, password="guess-guess-guess").status_code == 401
    assert sign_in(other, user, password="guess-guess-guess").status_code == 401
    for browser in (one, other):  # two failures in all: either app now refuses, even the right password
        blocked = sign_in(browser, user)
        assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text
        assert 1 <= int(blocked.headers["Retry-After"]) <= 120
    elsewhere = TestClient(_app(), follow_redirects=False, client=("203.0.113.21", 50000))
    assert sign_in(elsewhere, user).status_code == 429  # the name is over its allowance on every app
    fresh = make_user("shared-limited-other", "viewer")
    assert sign_in(elsewhere, fresh).status_code == 303


def test_the_sign_in_throttle_of_two_limiters_is_one(no_counts: Engine) -> None:
    first, second = RateLimits.from_settings(_settings()), RateLimits.from_settings(_settings())
    assert first is not None and second is not None
    first.signin_failed("198.51.100.4", "Somebody")
    assert second.signin_wait("198.51.100.4", "somebody ") is None  # one failure of two
    second.signin_failed("198.51.100.5", "somebody")
    wait = first.signin_wait("198.51.100.6", "SOMEBODY")  # the name has failed twice, from two addresses
    assert wait is not None and 1 <= wait <= 120
    assert second.signin_wait("198.51.100.6", "someone else") is None


def test_a_window_that_passes_frees_the_client(no_counts: Engine) -> None:
    settings = _settings(rate_limit_geocode="2/second")
    first, second = RateLimits.from_settings(settings), RateLimits.from_settings(settings)
    assert first is not None and second is not None
    items = first.anonymous["geocode"]
    key = "address:192.0.2.77"
    assert first.over("geocode", key, items) is None
    assert second.over("geocode", key, items) is None
    refused = second.over("geocode", key, items)
    assert refused is not None and 1 <= refused[1] <= 2  # Retry-After: whole seconds, at most two windows
    assert first.over("geocode", key, items) is not None  # the other limiter asks the database: refused too
    # the second remembers its refusal: answered without a round trip, and the same from either
    assert second.known_refusal("geocode", key, items) is not None
    waits = [
        limits.limiter.known_refusal(items[0], "geocode", key)
        for limits in (first, second)
        if isinstance(limits.limiter, SharedCounter)
    ]
    assert all(w is not None and 0 < w <= 2 for w in waits)
    time.sleep(max(w for w in waits if w is not None) + 0.05)
    assert first.over("geocode", key, items) is None  # the wait named is for one more request
    assert second.over("geocode", key, items) is not None
    time.sleep(2.05)  # two whole windows later nothing is left of the counts: the whole allowance again
    assert second.over("geocode", key, items) is None
    assert first.over("geocode", key, items) is None
    assert second.over("geocode", key, items) is not None


def test_two_counters_at_once_never_give_more_than_the_allowance(no_counts: Engine) -> None:
    """The upsert re-checks the locked row: 40 requests at once from 8 threads on two counters, 10 counted."""
    counters = (SharedCounter(), SharedCounter())
    item = parse("10/day")  # a window boundary during the test would be at midnight UTC only
    with ThreadPoolExecutor(max_workers=8) as pool:
        counted = list(pool.map(lambda i: counters[i % 2].hit(item, "geocode", "address:192.0.2.88"), range(40)))
    assert counted.count(True) == 10
    assert _counts(no_counts, "86400s/10/geocode/address:192.0.2.88") == [10]


def test_the_previous_window_weighs_by_what_is_left_of_it() -> None:
    """Cloudflare's sliding window counter: ``previous x (1 - elapsed / W) + current`` against the allowance."""
    assert wait_s(previous=0, current=2, elapsed=10, window=60, limit=3) == 0
    # 3 in the previous window still weigh 2.25 at 15 s: one more fits when they weigh 2, at 20 s
    assert wait_s(previous=3, current=0, elapsed=15, window=60, limit=3) == pytest.approx(5)
    # 1 now and 3 before: they must weigh 1, at 40 s
    assert wait_s(previous=3, current=1, elapsed=15, window=60, limit=3) == pytest.approx(25)
    # this window is full at 10 s: 50 s to its end, then 3 weigh 2 after 20 s of the next
    assert wait_s(previous=0, current=3, elapsed=10, window=60, limit=3) == pytest.approx(70)
    # the longest wait: a whole allowance of 1 at the start of a window, two windows
    assert wait_s(previous=0, current=1, elapsed=0, window=60, limit=1) == pytest.approx(120)
    assert window_key(parse("30/5 minutes"), "screening", "user:x") == "300s/30/screening/user:x"


def test_old_windows_are_swept(no_counts: Engine) -> None:
    counter = SharedCounter(sweep_every=0)
    item = parse("5/minute")
    assert counter.hit(item, "print", "address:192.0.2.99")
    with no_counts.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO rate_limit_counts (key, window_start, hits) VALUES"
                " ('60s/5/print/address:192.0.2.99', now() - interval '3 minutes', 5),"
                " ('60s/5/print/address:192.0.2.99', now() - interval '90 seconds', 4),"
                " ('86400s/5/print/address:192.0.2.99', now() - interval '1 day', 2)"
            )
        )
    assert counter.sweep() == 1  # only the row older than two of its windows
    assert sorted(_counts(no_counts, "%/print/address:192.0.2.99")) == [1, 2, 4]


def test_a_database_that_does_not_answer_lets_requests_through() -> None:
    """Fail open: the limited endpoints need the database themselves and answer 503 while it is away."""
    down = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/nothing", connect_args={"connect_timeout": 1}, pool_size=1
    )
    counter = SharedCounter(down)
    item = parse("1/minute")
    assert counter.hit(item, "geocode", "address:192.0.2.1")
    started = time.monotonic()
    assert all(counter.hit(item, "geocode", "address:192.0.2.1") for _ in range(20))  # no retry for a second
    assert counter.test(item, "geocode", "address:192.0.2.1")
    assert counter.get_window_stats(item, "geocode", "address:192.0.2.1").remaining == 1
    assert time.monotonic() - started < 0.5
    down.dispose()


def test_the_memory_store_counts_per_app(no_counts: Engine) -> None:
    """``XIANGMAP_RATE_LIMIT_STORE=memory``: the old per-process counts, for a single-process server."""
    one, other = _app(rate_limit_store="memory"), _app(rate_limit_store="memory")
    assert isinstance(one.state.rate_limits.limiter, MovingWindowRateLimiter)
    with TestClient(one) as a, TestClient(other) as b:
        assert [a.post("/geocode", json=GEOCODE).status_code for _ in range(3)] == [200] * 3
        _retry_after(a.post("/geocode", json=GEOCODE))
        assert b.post("/geocode", json=GEOCODE).status_code == 200  # its own count
    assert _counts(no_counts, "%") == []  # nothing written to the database


def test_an_unknown_store_stops_the_start_up() -> None:
    with pytest.raises(ValueError, match="XIANGMAP_RATE_LIMIT_STORE='redis'"):
        RateLimits.from_settings(_settings(rate_limit_store="redis"))
