"""Japanese municipal fiscal years (年度, 1 April to 31 March) and their Reiwa names."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError

from models.config import DEFAULT_TIMEZONE

REIWA_OFFSET = 2018  # 令和N年度 = fiscal year 2018 + N
FIRST_REIWA_YEAR = REIWA_OFFSET + 1  # 令和元年度 = FY2019
FISCAL_YEAR_START_MONTH = 4

_FALLBACK_LANGUAGE = "ja"
_EXAMPLE = "令和8年度 or 2026"

_REIWA_FORM = re.compile(r"令和\s*(元|\d{1,3})\s*年度")
_SHORT_REIWA_FORM = re.compile(r"r\s*(\d{1,3})(?:\s*年度)?", re.IGNORECASE)
_WESTERN_FORM = re.compile(r"(?:fy\s*([1-9]\d{3})|([1-9]\d{3})(?:\s*年度)?)", re.IGNORECASE)
_OTHER_ERAS = ("平成", "昭和", "大正", "明治")


def _zone(tz: ZoneInfo | None) -> ZoneInfo:
    """Return TZ, or the bot's own zone, so every judgement uses the city's calendar by default."""
    return tz or ZoneInfo(DEFAULT_TIMEZONE)


def _aware(moment: datetime) -> datetime:
    """Reject a naive time, since its calendar date (and so its fiscal year) would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no UTC offset (for example: 2026-04-01T09:00:00+09:00)")
    return moment


def _local_date(moment: datetime | date, tz: ZoneInfo | None) -> date:
    """Return the calendar date of MOMENT in TZ, so a fiscal year turns at local midnight, not UTC's."""
    if isinstance(moment, datetime):
        return _aware(moment).astimezone(_zone(tz)).date()
    return moment


def fiscal_year_of(moment: datetime | date, tz: ZoneInfo | None = None) -> int:
    """Return the fiscal year MOMENT falls in, judged on the local (default Asia/Tokyo) date."""
    day = _local_date(moment, tz)
    return day.year if day.month >= FISCAL_YEAR_START_MONTH else day.year - 1


def fiscal_year_start(fy: int, tz: ZoneInfo | None = None) -> datetime:
    """Return the aware moment fiscal year FY begins: 1 April 00:00 local time."""
    return datetime(fy, FISCAL_YEAR_START_MONTH, 1, tzinfo=_zone(tz))


def fiscal_year_end(fy: int, tz: ZoneInfo | None = None) -> datetime:
    """Return the aware moment fiscal year FY is over (exclusive): the next 1 April 00:00 local time."""
    return fiscal_year_start(fy + 1, tz)


def fiscal_year_dates(fy: int) -> tuple[date, date]:
    """Return the first and last days of fiscal year FY (1 April and 31 March, both inclusive)."""
    return date(fy, FISCAL_YEAR_START_MONTH, 1), date(fy + 1, 3, 31)


def reiwa_year(fy: int) -> int:
    """Return N of 令和N年度 for fiscal year FY, refusing years before the Reiwa era."""
    if fy < FIRST_REIWA_YEAR:
        raise ValueError(f"fiscal year {fy} is before the Reiwa era (令和元年度 = {FIRST_REIWA_YEAR})")
    return fy - REIWA_OFFSET


def fiscal_year_from_reiwa(n: int) -> int:
    """Return the fiscal year called 令和N年度, refusing N below 1 (元年)."""
    if n < 1:
        raise ValueError(f"令和{n}年度 does not exist (令和元年度 = {FIRST_REIWA_YEAR})")
    return n + REIWA_OFFSET


def parse_fiscal_year(text: str) -> int:
    """Read a fiscal year as people type it (令和8年度, R8, 2026年度, FY2026, full-width too)."""
    normalised = unicodedata.normalize("NFKC", text).strip()
    if match := _REIWA_FORM.fullmatch(normalised):
        number = match.group(1)
        return fiscal_year_from_reiwa(1 if number == "元" else int(number))
    if match := _SHORT_REIWA_FORM.fullmatch(normalised):
        return fiscal_year_from_reiwa(int(match.group(1)))
    if match := _WESTERN_FORM.fullmatch(normalised):
        return int(match.group(1) or match.group(2))
    if normalised.startswith(_OTHER_ERAS):
        raise ValueError(
            f"only Reiwa or western years are understood, not {text!r} (for example: {_EXAMPLE})"
        )
    raise ValueError(f"{text!r} is not a fiscal year (for example: {_EXAMPLE})")


def _language(locale: str) -> str:
    """Return the wording language for LOCALE, falling back to Japanese so a bad locale never breaks a reply."""
    try:
        return Locale.parse(str(locale).strip().replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return _FALLBACK_LANGUAGE


def _reiwa_name(fy: int) -> str:
    """Return 令和N年度 with 元 for the first year, as official documents write it."""
    n = reiwa_year(fy)
    return f"令和{'元' if n == 1 else n}年度"


def format_fiscal_year(fy: int, locale: str = "ja") -> str:
    """Name fiscal year FY in full, with both era and western year, so nobody has to convert."""
    if _language(locale) == "en":
        return f"FY{fy} (Reiwa {reiwa_year(fy)})" if fy >= FIRST_REIWA_YEAR else f"FY{fy}"
    return f"{_reiwa_name(fy)} ({fy}年度)" if fy >= FIRST_REIWA_YEAR else f"{fy}年度"


def short_fiscal_year(fy: int, locale: str = "ja") -> str:
    """Name fiscal year FY briefly (R8年度 / FY2026), for tight spaces such as quick-reply labels."""
    if _language(locale) == "en":
        return f"FY{fy}"
    return f"R{reiwa_year(fy)}年度" if fy >= FIRST_REIWA_YEAR else f"{fy}年度"


def fiscal_quarter_of(moment: datetime | date, tz: ZoneInfo | None = None) -> int:
    """Return the fiscal quarter of MOMENT (1 = Apr-Jun ... 4 = Jan-Mar), on the local date."""
    day = _local_date(moment, tz)
    return (day.month - FISCAL_YEAR_START_MONTH) % 12 // 3 + 1


def fraction_elapsed(moment: datetime | date, fy: int, tz: ZoneInfo | None = None) -> float:
    """Return the share (0 to 1) of fiscal year FY gone by at MOMENT, to pro-rate yearly targets."""
    zone = _zone(tz)
    if isinstance(moment, datetime):
        instant = _aware(moment)
    else:
        instant = datetime(moment.year, moment.month, moment.day, tzinfo=zone)
    # Subtract in UTC: same-zone subtraction ignores DST changes in zones that have them.
    start, end = (fiscal_year_start(fy, zone).astimezone(UTC), fiscal_year_end(fy, zone).astimezone(UTC))
    share = (instant.astimezone(UTC) - start) / (end - start)
    return min(1.0, max(0.0, share))
