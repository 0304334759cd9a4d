"""The city office's own closure days (年末年始 by default), as DXBOT_CLOSURE_DAYS spells them.

Parsed once into the Config (models/config.py); the municipal calendar (scheduler/calendar.py) takes
the ranges as an argument.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

CLOSURE_DAYS_ENV = "DXBOT_CLOSURE_DAYS"
DEFAULT_CLOSURE_DAYS = "12-29..01-03"

MonthDay = tuple[int, int]
ClosureRange = tuple[MonthDay, MonthDay]

_MONTH_DAY = re.compile(r"\A(\d{1,2})-(\d{1,2})\Z")


class CalendarError(ValueError):
    """A closure-day specification that cannot be read; the message says what was expected."""


def _month_day(text: str, spec: str) -> MonthDay:
    """Read MM-DD (checked against a leap year, so 02-29 is allowed)."""
    match = _MONTH_DAY.match(text.strip())
    if not match:
        raise CalendarError(
            f"{CLOSURE_DAYS_ENV}={spec!r}: {text.strip()!r} is not MM-DD (for example: 12-29..01-03,08-15)"
        )
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2024, month, day)
    except ValueError as exc:
        raise CalendarError(
            f"{CLOSURE_DAYS_ENV}={spec!r}: {text.strip()!r} is not a day of the year"
        ) from exc
    return month, day


@lru_cache(maxsize=32)
def parse_closure_days(spec: str | None) -> tuple[ClosureRange, ...]:
    """Parse "12-29..01-03,08-15" into (start, end) month-day ranges; a range may wrap the new year."""
    if spec is None or not spec.strip():
        spec = DEFAULT_CLOSURE_DAYS
    if spec.strip().lower() in ("none", "-"):
        return ()
    ranges: list[ClosureRange] = []
    for part in spec.split(","):
        if not part.strip():
            continue
        if ".." in part:
            start_text, end_text = part.split("..", 1)
            ranges.append((_month_day(start_text, spec), _month_day(end_text, spec)))
        else:
            day = _month_day(part, spec)
            ranges.append((day, day))
    return tuple(ranges)


DEFAULT_CLOSURES = parse_closure_days(DEFAULT_CLOSURE_DAYS)  # 29 Dec – 3 Jan
