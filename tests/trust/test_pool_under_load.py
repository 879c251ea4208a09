"""Many authenticated requests at once never starve the connection pool.

Regression test: the caller's token used to be looked up on the request's own session, which then held
its connection (idle in transaction) while the endpoint checked out a second one; with every worker
thread doing that, the pool ran dry and requests hung until the pool timeout.  Second regression: a
plain-``def`` endpoint's session kept its connection while FastAPI waited for a thread to serialise
the answer; with the threads all waiting for connections, nothing moved (service/routing.py).  Here
80 authenticated requests, half of them on a session, run at once against the live server (more
than the pool holds) and every one must answer 200.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

PATHS = [
    "/collections/projects/tiles/WebMercatorQuad/12/1718/3335",
    "/collections/roads/items?limit=100&bbox=113.10,27.80,113.16,27.86",
    "/collections/districts/tiles/WebMercatorQuad/10/429/833",
    "/projects?limit=20",
    "/projects?limit=5",
]


def test_eighty_concurrent_authenticated_requests_all_succeed(live_server: str, auth) -> None:  # type: ignore[no-untyped-def]
    headers = auth["viewer"]

    def call(i: int) -> int:
        with httpx.Client(base_url=live_server, timeout=60) as c:
            return c.get(PATHS[i % len(PATHS)], headers=headers).status_code

    with ThreadPoolExecutor(max_workers=80) as pool:
        codes = list(pool.map(call, range(80)))
    assert codes == [200] * 80, sorted(set(codes))
