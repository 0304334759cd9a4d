"""Participation as text: response rates of a round, time to a first figure, grade counts (digest, dashboard)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from messages.formatting import fiscal_year_label, format_number
from messages.i18n import Translator
from messages.intents import ParticipationLine, RoundRate

HOURS_SHOWN_UP_TO = 48  # beyond two days a wait reads better in days


def round_label(rate: RoundRate, _: Translator) -> str:
    """'R8年度 Q2' / 'FY2026 Q2'; the final-actuals round as 確定値 / final."""
    period = _("final") if rate.period == "final" else rate.period
    return f"{fiscal_year_label(rate.fiscal_year, _.locale, short=True)} {period}"


def rate_text(rate: RoundRate | None, _: Translator) -> str:
    """'2/3課 (67%)・2/5人 (40%)'; 記録なし for a round sent before asks were recorded; − for no round."""
    if rate is None:
        return "−"
    if not rate.recorded:
        return _("not recorded")
    sections = "/".join(map(str, (rate.sections_answered, rate.sections_asked)))
    people = "/".join(map(str, (rate.people_answered, rate.people_asked)))
    return _(
        "%(sections)s sections (%(section_rate)s%%) · %(people)s people (%(people_rate)s%%)",
        sections=sections,
        section_rate=rate.section_rate if rate.section_rate is not None else "−",
        people=people,
        people_rate=rate.people_rate if rate.people_rate is not None else "−",
    )


def people_text(rate: RoundRate | None, _: Translator) -> str:
    """One section's round in short: '1/2人' (記録なし, −)."""
    if rate is None:
        return "−"
    if not rate.recorded:
        return _("not recorded")
    return _("%(answered)s/%(asked)s people", answered=rate.people_answered, asked=rate.people_asked)


def hours_text(rate: RoundRate | None, _: Translator) -> str:
    """The median time to a first figure: '6時間', '2.1日'; − when nobody answered or nothing was recorded."""
    if rate is None or rate.median_hours is None:
        return "−"
    if rate.median_hours < HOURS_SHOWN_UP_TO:
        return _("%(n)s h", n=format_number(rate.median_hours, _.locale))
    days = (Decimal(str(rate.median_hours)) / 24).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return _("%(n)s days", n=format_number(days, _.locale))


def grades_text(grades: tuple[tuple[str, int], ...]) -> str:
    """'S 1 · A 2 · B 0 · C 1 · − 3'."""
    return " · ".join(f"{grade} {count}" for grade, count in grades)


def _answered_line(rate: RoundRate, _: Translator) -> str:
    return _("Answered %(round)s: %(rate)s", round=round_label(rate, _), rate=rate_text(rate, _))


def participation_lines(line: ParticipationLine | None, _: Translator) -> list[str]:
    """The scope's participation as short lines (the digest's text and its summary bubble say these)."""
    if line is None:
        return []
    lines = []
    if line.current is not None:
        lines.append(_answered_line(line.current, _))
    if line.previous is not None:
        lines.append(
            _(
                "Last round %(round)s: %(rate)s",
                round=round_label(line.previous, _),
                rate=rate_text(line.previous, _),
            )
        )
    if line.current is not None:
        lines.append(
            _(
                "Median time to first figure: %(now)s (last round %(before)s)",
                now=hours_text(line.current, _),
                before=hours_text(line.previous, _),
            )
        )
    return lines + _grades_lines(line, _)


def participation_alt_lines(line: ParticipationLine | None, _: Translator) -> list[str]:
    """This round's answers and the grades: what the digest's altText keeps before what is late."""
    if line is None:
        return []
    answered = [_answered_line(line.current, _)] if line.current is not None else []
    return answered + _grades_lines(line, _)


def _grades_lines(line: ParticipationLine, _: Translator) -> list[str]:
    return [_("Grades: %(counts)s", counts=grades_text(line.grades))] if line.grades else []


def section_participation_text(line: ParticipationLine | None, _: Translator) -> str | None:
    """One section's participation in a line: 'Q2 回答 1/2人・初回 6時間（前回 2/2人）'."""
    if line is None or line.current is None:
        return None
    return _(
        "%(round)s answered %(people)s, first figure %(time)s (last round %(before)s)",
        round=line.current.period if line.current.period != "final" else _("final"),
        people=people_text(line.current, _),
        time=hours_text(line.current, _),
        before=people_text(line.previous, _),
    )
