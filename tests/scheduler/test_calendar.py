"""The municipal calendar on real dates of FY2026: holidays, 国民の休日, 振替休日, 年末年始, the send window."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.closures import CLOSURE_DAYS_ENV, CalendarError, parse_closure_days
from models.config import Config, ConfigError
from scheduler.calendar import (
    add_business_days,
    business_days_between,
    closed_because,
    holiday_name,
    in_send_window,
    is_business_day,
    is_closure_day,
    next_business_day,
    next_send_time,
    previous_business_day,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 5, 4),  # みどりの日
        date(2026, 5, 5),  # こどもの日
        date(2026, 5, 6),  # 振替休日 (5/3 was a Sunday)
        date(2026, 9, 21),  # 敬老の日
        date(2026, 9, 22),  # 国民の休日 (between two holidays)
        date(2026, 9, 23),  # 秋分の日
        date(2027, 3, 21),  # 春分の日 (a Sunday)
        date(2027, 3, 22),  # 振替休日
        date(2026, 11, 23),  # 勤労感謝の日
    ],
)
def test_public_holidays_are_not_business_days(day):
    assert holiday_name(day)
    assert not is_business_day(day)


@pytest.mark.parametrize(
    "day", [date(2026, 12, 29), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]
)
def test_year_end_closure(day):
    assert is_closure_day(day)
    assert not is_business_day(day)


def test_open_days_around_the_closure_and_holidays():
    assert is_business_day(date(2026, 12, 28))  # 仕事納め
    assert is_business_day(date(2027, 1, 4))  # 仕事始め (a Monday)
    assert is_business_day(date(2026, 5, 7))
    assert is_business_day(date(2026, 9, 24))
    assert is_business_day(date(2027, 3, 23))
    assert is_business_day(date(2026, 11, 24))


def test_weekends_are_closed():
    assert not is_business_day(date(2026, 11, 28))  # Saturday
    assert not is_business_day(date(2026, 11, 29))  # Sunday
    assert next_business_day(date(2026, 11, 27)) == date(2026, 11, 30)


def test_next_business_day_skips_holiday_runs():
    assert next_business_day(date(2026, 5, 1)) == date(2026, 5, 7)  # Fri → Golden Week → Thu
    assert next_business_day(date(2026, 9, 18)) == date(2026, 9, 24)  # Silver Week
    assert next_business_day(date(2026, 12, 28)) == date(2027, 1, 4)
    assert next_business_day(date(2027, 3, 19)) == date(2027, 3, 23)
    assert next_business_day(date(2026, 5, 4), inclusive=True) == date(2026, 5, 7)
    assert next_business_day(date(2026, 5, 7), inclusive=True) == date(2026, 5, 7)
    assert previous_business_day(date(2027, 1, 4)) == date(2026, 12, 28)


def test_add_business_days_and_count_agree():
    assert add_business_days(date(2026, 5, 1), 1) == date(2026, 5, 7)
    assert add_business_days(date(2026, 5, 1), 3) == date(2026, 5, 11)
    assert add_business_days(date(2026, 12, 25), 2) == date(2027, 1, 4)
    assert add_business_days(date(2027, 1, 4), -1) == date(2026, 12, 28)
    assert add_business_days(date(2026, 11, 24), 0) == date(2026, 11, 24)
    assert business_days_between(date(2026, 5, 1), date(2026, 5, 11)) == 3
    assert business_days_between(date(2026, 5, 11), date(2026, 5, 1)) == -3
    assert business_days_between(date(2026, 9, 18), date(2026, 9, 24)) == 1
    assert business_days_between(date(2026, 12, 28), date(2027, 1, 3)) == 0
    for start in (date(2026, 4, 1), date(2026, 9, 17), date(2026, 12, 24)):
        for n in range(0, 12):
            assert business_days_between(start, add_business_days(start, n)) == n


def closures(spec: str | None) -> tuple:
    """Config.closure_days as a process reads it with DXBOT_CLOSURE_DAYS=SPEC (None: unset)."""
    env = {"DXBOT_DATABASE_URL": "sqlite://"} | ({CLOSURE_DAYS_ENV: spec} if spec is not None else {})
    return Config.from_env(env).closure_days


def test_closure_days_are_configurable():
    assert not is_business_day(date(2025, 8, 15), closures("12-29..01-03,08-15"))  # a Friday
    assert is_business_day(date(2025, 8, 14), closures("12-29..01-03,08-15"))
    assert is_business_day(date(2026, 12, 29), closures("none"))
    assert not is_business_day(date(2026, 12, 28), closures("12-28"))
    assert is_business_day(date(2026, 12, 29), closures("12-28"))
    assert closures(None) == closures("12-29..01-03")  # unset: 年末年始
    assert not is_business_day(date(2026, 12, 29), closures(None))


@pytest.mark.parametrize("spec", ["12/29", "13-01", "12-32..01-03", "tomorrow"])
def test_bad_closure_specs_are_refused(spec):
    with pytest.raises(CalendarError, match=CLOSURE_DAYS_ENV):
        parse_closure_days(spec)
    with pytest.raises(ConfigError, match=CLOSURE_DAYS_ENV):  # a process refuses to start, naming it
        closures(spec)


# --- the send window (08:30–19:00 JST on business days) -----------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (jst(2026, 11, 24, 7, 0), jst(2026, 11, 24, 8, 30)),  # before opening: the same morning
        (jst(2026, 11, 24, 8, 30), jst(2026, 11, 24, 8, 30)),  # opening: now
        (jst(2026, 11, 24, 12, 15), jst(2026, 11, 24, 12, 15)),
        (jst(2026, 11, 24, 18, 59), jst(2026, 11, 24, 18, 59)),
        (jst(2026, 11, 24, 19, 0), jst(2026, 11, 25, 8, 30)),  # closing (exclusive): next morning
        (jst(2026, 11, 24, 23, 0), jst(2026, 11, 25, 8, 30)),
        (jst(2026, 11, 27, 20, 0), jst(2026, 11, 30, 8, 30)),  # Friday evening → Monday
        (jst(2026, 11, 28, 10, 0), jst(2026, 11, 30, 8, 30)),  # Saturday
        (jst(2026, 5, 1, 19, 30), jst(2026, 5, 7, 8, 30)),  # before Golden Week
        (jst(2026, 9, 18, 21, 0), jst(2026, 9, 24, 8, 30)),  # before Silver Week
        (jst(2026, 12, 28, 19, 0), jst(2027, 1, 4, 8, 30)),  # 仕事納め evening
        (jst(2027, 1, 1, 9, 0), jst(2027, 1, 4, 8, 30)),
        (jst(2027, 3, 19, 18, 0), jst(2027, 3, 19, 18, 0)),
        (jst(2027, 3, 22, 10, 0), jst(2027, 3, 23, 8, 30)),  # 振替休日
    ],
)
def test_next_send_time(moment, expected):
    result = next_send_time(moment, tz=TOKYO)
    assert result == expected
    assert result.utcoffset().total_seconds() == 9 * 3600
    assert in_send_window(moment, tz=TOKYO) == (result == moment)


def test_next_send_time_takes_any_timezone_and_a_custom_window():
    utc = datetime(2026, 11, 24, 0, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 JST
    assert next_send_time(utc, tz=TOKYO) == jst(2026, 11, 24, 9, 0)
    assert next_send_time(jst(2026, 11, 24, 9, 0), (time(10, 0), time(12, 0)), tz=TOKYO) == jst(
        2026, 11, 24, 10, 0
    )
    with pytest.raises(ValueError):
        next_send_time(datetime(2026, 11, 24, 9, 0), tz=TOKYO)


def test_closed_because_names_the_reason():
    assert closed_because(date(2026, 9, 21)) == "Respect for the Aged Day"
    assert closed_because(date(2026, 9, 26)) == "a Saturday"
    assert closed_because(date(2026, 12, 29)) == "a closure day (DXBOT_CLOSURE_DAYS)"
    assert closed_because(date(2026, 9, 25)) is None
