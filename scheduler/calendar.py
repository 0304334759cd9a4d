"""The municipal calendar: which days the city office is open, and when a scheduled push may go out.

Business days exclude weekends, Japanese public holidays (the maintained `holidays` package, which
knows future years, 振替休日 and 国民の休日) and the city's closure days (年末年始: 29 Dec – 3 Jan by
default; `DXBOT_CLOSURE_DAYS` changes them, e.g. "12-29..01-03,08-15", or "none": read once into
Config.closure_days and passed in as `closures`). Scheduled pushes
go out only inside the send window (08:30–19:00 in the city's timezone, DXBOT_TIMEZONE, passed in as `tz`)
of a business day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import holidays

from models.closures import CLOSURE_DAYS_ENV, DEFAULT_CLOSURES, CalendarError, ClosureRange

SEND_WINDOW: tuple[time, time] = (time(8, 30), time(19, 0))


def is_closure_day(d: date, closures: tuple[ClosureRange, ...] | None = None) -> bool:
    """Whether the city office is closed on D for its own reasons (年末年始 and the like).

    CLOSURES are Config.closure_days (DXBOT_CLOSURE_DAYS); None means the default, 29 Dec – 3 Jan."""
    key = (d.month, d.day)
    for start, end in DEFAULT_CLOSURES if closures is None else closures:
        if start <= end:
            if start <= key <= end:
                return True
        elif key >= start or key <= end:  # wraps the new year: 12-29..01-03
            return True
    return False


def _as_date(d: date) -> date:
    """A date (a datetime counts as the date on its own clock: callers pass local moments)."""
    return d.date() if isinstance(d, datetime) else d


@lru_cache(maxsize=64)
def _japan_holidays(year: int) -> holidays.HolidayBase:
    import holidays  # imported on first use: processes that never ask (`dxbot say`) skip its cost

    return holidays.Japan(years=year)


def is_public_holiday(d: date) -> bool:
    """Whether D is a Japanese public holiday (祝日, 振替休日, 国民の休日)."""
    return d in _japan_holidays(d.year)


def holiday_name(d: date) -> str | None:
    """The public holiday's name (for logs and explanations), or None."""
    return _japan_holidays(d.year).get(d)


def closed_because(d: date, closures: tuple[ClosureRange, ...] | None = None) -> str | None:
    """Why the office is closed on D ('a Sunday', the holiday's name, 'a closure day'), or None when open."""
    d = _as_date(d)
    if is_public_holiday(d):
        return holiday_name(d)
    if d.weekday() >= 5:
        return f"a {d:%A}"
    if is_closure_day(d, closures):
        return f"a closure day ({CLOSURE_DAYS_ENV})"
    return None


def is_business_day(d: date, closures: tuple[ClosureRange, ...] | None = None) -> bool:
    """Whether the city office is open on D: a weekday, not a public holiday, not a closure day."""
    d = _as_date(d)
    return d.weekday() < 5 and not is_public_holiday(d) and not is_closure_day(d, closures)


def next_business_day(
    d: date, *, inclusive: bool = False, closures: tuple[ClosureRange, ...] | None = None
) -> date:
    """The first business day after D (or D itself when INCLUSIVE and D is open: "next business day if closed")."""
    day = _as_date(d)
    if not inclusive:
        day += timedelta(days=1)
    for _step in range(366):
        if is_business_day(day, closures):
            return day
        day += timedelta(days=1)
    raise CalendarError("no business day within a year; check DXBOT_CLOSURE_DAYS")


def previous_business_day(
    d: date, *, inclusive: bool = False, closures: tuple[ClosureRange, ...] | None = None
) -> date:
    """The last business day before D (or D itself when INCLUSIVE and D is open)."""
    day = _as_date(d)
    if not inclusive:
        day -= timedelta(days=1)
    for _step in range(366):
        if is_business_day(day, closures):
            return day
        day -= timedelta(days=1)
    raise CalendarError("no business day within a year; check DXBOT_CLOSURE_DAYS")


def add_business_days(d: date, n: int, *, closures: tuple[ClosureRange, ...] | None = None) -> date:
    """The business day N business days after D (before it when N < 0); N = 0 gives D unchanged."""
    day = _as_date(d)
    step = next_business_day if n >= 0 else previous_business_day
    for _step in range(abs(n)):
        day = step(day, closures=closures)
    return day


def business_days_between(a: date, b: date, *, closures: tuple[ClosureRange, ...] | None = None) -> int:
    """How many business days lie in (A, B]: add_business_days(a, n) == b gives n; negative when B < A."""
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -business_days_between(b, a, closures=closures)
    count, day = 0, a
    while day < b:
        day += timedelta(days=1)
        if is_business_day(day, closures):
            count += 1
    return count


def next_send_time(
    moment: datetime,
    window: tuple[time, time] = SEND_WINDOW,
    *,
    tz: ZoneInfo,
    closures: tuple[ClosureRange, ...] | None = None,
) -> datetime:
    """When a scheduled push due at MOMENT may go out: MOMENT itself inside the window of a business day,
    else the window's opening on the next business day (the end of the window is exclusive). The window and
    the day are TZ's, the city's timezone (the clock's: DXBOT_TIMEZONE)."""
    if moment.tzinfo is None:
        raise ValueError("next_send_time needs a timezone-aware moment")
    start, end = window
    local = moment.astimezone(tz)
    today = local.date()
    if is_business_day(today, closures):
        if start <= local.time() < end:
            return local
        if local.time() < start:
            return datetime.combine(today, start, tzinfo=tz)
    return datetime.combine(next_business_day(today, closures=closures), start, tzinfo=tz)


def in_send_window(
    moment: datetime,
    window: tuple[time, time] = SEND_WINDOW,
    *,
    tz: ZoneInfo,
    closures: tuple[ClosureRange, ...] | None = None,
) -> bool:
    """Whether a scheduled push may go out at MOMENT (the send window in TZ, the city's timezone)."""
    return next_send_time(moment, window, tz=tz, closures=closures) == moment.astimezone(tz)
