"""A screening map opens in a plain browser through a signed, expiring link; nothing else gets in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from service.common.signed_links import sign
from service.database import get_engine

ZHAOSHAN = {"geometry": {"type": "Point", "coordinates": [113.0171, 27.9739]}, "buffer_m": 200}


def test_shared_map_link_works_without_a_token_and_only_as_signed(client, auth) -> None:  # type: ignore[no-untyped-def]
    answer = client.post("/screening", json=ZHAOSHAN, headers=auth["inspector"]).json()
    sid, shared = answer["id"], answer["links"]["map_shared"]
    assert shared.startswith(f"/maps/screening/{sid}?expires=")

    page = client.get(shared)  # no Authorization header: what a browser sends
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.get(f"/screenings/{sid}", headers=auth["inspector"]).json()["links"]["map_shared"]

    query = parse_qs(urlsplit(shared).query)
    expires, sig = query["expires"][0], query["sig"][0]
    tampered = "0" * len(sig)
    assert client.get(f"/maps/screening/{sid}?expires={expires}&sig={tampered}").status_code == 403
    assert client.get(f"/maps/screening/{sid}?expires={int(expires) + 1}&sig={sig}").status_code == 403
    other = client.get(f"/maps/screening/{sid + 1}?expires={expires}&sig={sig}")  # a link is for one map only
    assert other.status_code == 403

    expired = sign(get_engine(), f"/maps/screening/{sid}", ttl_s=60, now=1_000_000)
    r = client.get(expired)
    assert r.status_code == 403 and "expired" in r.json()["detail"]

    assert client.get(f"/maps/screening/{sid}").status_code == 401
    assert client.get(f"/maps/screening/{sid}", headers=auth["viewer"]).status_code == 403
    assert client.get(f"/maps/screening/{sid}", headers=auth["inspector"]).status_code == 200
