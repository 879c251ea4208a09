"""The OGC links and negotiation take plain values (base URL, path, query pairs, Accept header), no request."""

from __future__ import annotations

import pytest

from service.errors import Problem
from service.ogc.links import page_href, with_format
from service.ogc.negotiate import wants_html

BASE = "http://example.test"
QUERY = [("limit", "10"), ("f", "json"), ("kind", "a"), ("offset", "20"), ("kind", "b")]


def test_paging_links_keep_the_parameters_in_order_but_f_and_offset() -> None:
    path = "/collections/roads/items"
    assert page_href(BASE, path, QUERY, 30) == f"{BASE}{path}?limit=10&kind=a&kind=b&offset=30"
    assert page_href(BASE, path, [("f", "html")], 0) == f"{BASE}{path}"
    assert with_format(BASE, path, QUERY, "html") == f"{BASE}{path}?limit=10&kind=a&offset=20&kind=b&f=html"


@pytest.mark.parametrize(
    ("fmt", "accept", "html"),
    [
        (None, "text/html,application/xhtml+xml,*/*;q=0.8", True),
        (None, "application/json, text/html", False),
        (None, "", False),
        ("HTML", "application/json", True),
        ("json", "text/html", False),
    ],
)
def test_format_from_f_then_accept(fmt: str | None, accept: str, html: bool) -> None:
    assert wants_html(fmt, accept) is html


def test_an_unknown_f_is_a_400_naming_it() -> None:
    with pytest.raises(Problem) as raised:
        wants_html("xml", "")
    assert raised.value.status == 400
