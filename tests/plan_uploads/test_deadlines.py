"""Deadlines as people write them (service.common.chinese_text.read_deadline), in the plan's year, never today's."""

from __future__ import annotations

from datetime import date

import pytest

from service.common.chinese_text import DeadlineError, read_deadline


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2019年12月底前", date(2019, 12, 31)),
        ("2019年12月", date(2019, 12, 31)),
        ("2019年6月", date(2019, 6, 30)),
        ("2019-12-31", date(2019, 12, 31)),
        ("2019/6/15", date(2019, 6, 15)),
        ("2019.12", date(2019, 12, 31)),
        ("2018年6月30日前", date(2018, 6, 30)),
        ("２０１９年１２月底前", date(2019, 12, 31)),  # full-width digits, as some Chinese input methods type them
        ("2019年底前", date(2019, 12, 31)),
        ("2019", date(2019, 12, 31)),
        ("2018-2020年", date(2020, 12, 31)),
        ("2019年上半年", date(2019, 6, 30)),
        ("2019年三季度", date(2019, 9, 30)),
        # the year-less words, read in the plan's year (2018 here)
        ("年底前", date(2018, 12, 31)),
        ("年内", date(2018, 12, 31)),
        ("上半年", date(2018, 6, 30)),
        ("下半年", date(2018, 12, 31)),
        ("三季度", date(2018, 9, 30)),
        ("第一季度末", date(2018, 3, 31)),
        ("6月底前", date(2018, 6, 30)),
        ("12月中旬", date(2018, 12, 20)),
        ("6月底前启动，年底前完成", date(2018, 12, 31)),  # several dates: the last is the deadline
        ("2019年12月底前完成，长期坚持", date(2019, 12, 31)),
    ],
)
def test_written_deadlines_read_as_dates(written: str, expected: date) -> None:
    found = read_deadline(written, 2018)
    assert found.on == expected and found.text == written and not found.ongoing


@pytest.mark.parametrize("written", ["长期", "持续推进", "长期坚持", "常态化开展"])
def test_ongoing_work_has_no_date(written: str) -> None:
    found = read_deadline(written, 2018)
    assert found.on is None and found.ongoing and found.text == written


def test_a_year_less_deadline_without_the_plans_year_is_refused_not_dated_today() -> None:
    with pytest.raises(DeadlineError) as caught:
        read_deadline("年底前", None)
    assert caught.value.needs_year and "年份" in caught.value.zh and "year" in caught.value.en
    assert read_deadline("2019年底前", None).on == date(2019, 12, 31)  # a written year needs no plan year


@pytest.mark.parametrize("written", ["尽快", "视情况而定", "2019年2月30日", "   "])
def test_unreadable_deadlines_say_why(written: str) -> None:
    with pytest.raises(DeadlineError) as caught:
        read_deadline(written, 2018)
    assert caught.value.zh and caught.value.en and not caught.value.needs_year
