"""Numbers, values with units, percents and dates the way each locale writes them (Babel)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal

from messages.i18n import N_, Translator, normalise_locale
from models.fiscal_year import format_fiscal_year, short_fiscal_year

# English words for the plan's counting units (singular, plural); ja writes the unit itself.
UNIT_WORDS = {
    "人": (N_("%(n)s person"), N_("%(n)s people")),
    "件": (N_("%(n)s case"), N_("%(n)s cases")),
    "回": (N_("%(n)s time"), N_("%(n)s times")),
    "校": (N_("%(n)s school"), N_("%(n)s schools")),
    "か所": (N_("%(n)s site"), N_("%(n)s sites")),
    "課": (N_("%(n)s section"), N_("%(n)s sections")),
    "枚": (N_("%(n)s sheet"), N_("%(n)s sheets")),
}


def format_number(value: Decimal | int | float, locale: str | None = None) -> str:
    """1500 → '1,500', 18.50 → '18.5' (no trailing zeros, grouping by locale)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format_decimal(number.normalize(), format="#,##0.######", locale=normalise_locale(locale))


def format_percent_value(value: Decimal | int | float, locale: str | None = None) -> str:
    """A value already in percent: 12.5 → '12.5%'."""
    return f"{format_number(value, locale)}%"


def format_value(value: Decimal | int | float, unit: str | None, locale: str | None = None) -> str:
    """A KPI value with its unit: ja '1,500件' / '12.5%'; en '1,500 cases' / '12.5%'."""
    if unit == "%":
        return format_percent_value(value, locale)
    code = normalise_locale(locale)
    number = format_number(value, code)
    if code == "ja" or not unit:
        return f"{number}{unit or ''}"
    words = UNIT_WORDS.get(unit)
    if words is None:
        return f"{number} {unit}"
    count = 1 if Decimal(str(value)) == 1 else 2
    return Translator(code).ngettext(words[0], words[1], count, n=number)


def format_target(value: Decimal, unit: str, kind: str, locale: str | None = None) -> str:
    """A target as the plan states it: '35%', '5%増' / '+5%', '1人削減' / '1 person fewer'."""
    _ = Translator(locale)
    shown = format_value(value, unit, locale)
    if kind == "increase":
        return _("%(value)s increase", value=shown)
    if kind == "reduction":
        return _("%(value)s reduction", value=shown)
    return shown


def format_day(day: date | datetime, locale: str | None = None) -> str:
    """ja '2026年11月24日(火)', en 'Tue, 24 Nov 2026'."""
    code = normalise_locale(locale)
    pattern = "y年M月d日(E)" if code == "ja" else "EEE, d MMM y"
    return babel_format_date(day, pattern, locale=code)


def format_date(day: date | datetime, locale: str | None = None) -> str:
    """ja '2026年4月1日', en '1 Apr 2026' (a day in a sentence, without the weekday)."""
    code = normalise_locale(locale)
    return babel_format_date(day, "y年M月d日" if code == "ja" else "d MMM y", locale=code)


def format_short_day(day: date | datetime, locale: str | None = None) -> str:
    """ja '11月24日(火)', en 'Tue 24 Nov' (for tight places)."""
    code = normalise_locale(locale)
    pattern = "M月d日(E)" if code == "ja" else "EEE d MMM"
    return babel_format_date(day, pattern, locale=code)


def format_moment(moment: datetime, locale: str | None = None, tz=None) -> str:
    """A time of day on a date: ja '2026年11月24日(火) 10:00', en 'Tue, 24 Nov 2026 10:00'."""
    code = normalise_locale(locale)
    pattern = "y年M月d日(E) H:mm" if code == "ja" else "EEE, d MMM y HH:mm"
    return babel_format_datetime(moment, pattern, tzinfo=tz or moment.tzinfo, locale=code)


def fiscal_year_label(fiscal_year: int, locale: str | None = None, short: bool = False) -> str:
    """令和8年度 (2026年度) / FY2026 (Reiwa 8), or the short R8年度 / FY2026."""
    code = normalise_locale(locale)
    return short_fiscal_year(fiscal_year, code) if short else format_fiscal_year(fiscal_year, code)
