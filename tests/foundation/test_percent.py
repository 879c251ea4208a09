"""80%, 80 and 0.8 are one percent everywhere (decision 0175)."""

from __future__ import annotations

import pytest

from service.common.percent import PercentError, parse_percent


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        ("80%", {}, 80.0),
        ("80 ％", {}, 80.0),
        ("80", {}, 80.0),
        (80, {}, 80.0),
        ("0.8", {}, 80.0),
        (0.8, {}, 80.0),
        (0.8, {"percent_format": True}, 80.0),
        (1, {"percent_format": True}, 100.0),
        (1, {}, 1.0),
        ("0.5%", {}, 0.5),
        (0, {}, 0.0),
        ("", {}, None),
        (None, {}, None),
    ],
)
def test_one_reading_of_a_percent(value, kwargs, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_percent(value, **kwargs) == expected


@pytest.mark.parametrize(("value", "words"), [("八十", "not a number"), (150, "between 0 and 100"), (True, "not")])
def test_what_is_not_a_percent_says_why(value, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PercentError, match=words):
        parse_percent(value)
