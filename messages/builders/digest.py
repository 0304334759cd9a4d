"""The weekly digest: a carousel (≤ 12 bubbles) of counts, overdue items and at-risk KPIs with progress bars."""

from __future__ import annotations

from messages.builders.common import (
    GREEN,
    GREY,
    RED,
    STATE_COLOURS,
    achievement_text,
    kpi_target_text,
    progress_bar,
    projected_text,
    section_state_text,
)
from messages.builders.participation import (
    grades_text,
    participation_alt_lines,
    participation_lines,
    section_participation_text,
)
from messages.formatting import fiscal_year_label, format_day, format_value
from messages.i18n import Translator
from messages.intents import Digest, DigestSection
from messages.layout import chunk_lines, fit_utf16, shorten
from messages.model import Button, Card, Carousel, Fact, Line, Message, Row, Separator, Text

MAX_BUBBLES = 12
ROWS_PER_BUBBLE = 6
MAX_DIGEST_ALT_TEXT = 400  # a lock-screen preview: LINE allows 1,500, issue 23 asks the digest for 400


def _totals(intent: Digest) -> tuple[int, int, int, int]:
    reported = sum(s.reported for s in intent.sections)
    expected = sum(s.expected for s in intent.sections)
    overdue = sum(len(s.overdue) for s in intent.sections)
    at_risk = sum(len(s.at_risk) for s in intent.sections)
    return reported, expected, overdue, at_risk


def _all_on_track(intent: Digest) -> bool:
    """Nothing late or at risk and every KPI reported (silence is not on track)."""
    reported, expected, overdue, at_risk = _totals(intent)
    states = {s.round.state for s in intent.sections if s.round is not None}
    return overdue == 0 and at_risk == 0 and reported == expected and states <= {"on-track"}


def digest_summary(intent: Digest, _: Translator) -> str:
    """The digest in one line: this year's counts, and first of all how many sections are late."""
    reported, expected, overdue, at_risk = _totals(intent)
    head = _(
        "Weekly digest %(scope)s (%(day)s)", scope=intent.title_scope, day=format_day(intent.as_of, _.locale)
    )
    if _all_on_track(intent):
        return (
            head
            + ": "
            + _(
                "all on track — this year %(reported)s of %(expected)s KPIs reported, nothing overdue.",
                reported=reported,
                expected=expected,
            )
        )
    late = sum(1 for s in intent.sections if s.round is not None and s.round.state == "late")
    counts = _(
        "This year %(reported)s of %(expected)s KPIs reported, %(overdue)s overdue, %(at_risk)s at risk.",
        reported=reported,
        expected=expected,
        overdue=overdue,
        at_risk=at_risk,
    )
    if late:
        counts += ("" if _.locale == "ja" else " ") + _.ngettext(
            "%(n)s section is late with the KPI request.",
            "%(n)s sections are late with the KPI request.",
            late,
        )
    return head + ": " + counts


def _alt_text(intent: Digest, _: Translator) -> str:
    """Summary, this round's answers and the grades first (they survive the cut), then what is late."""
    lines = [digest_summary(intent, _), *participation_alt_lines(intent.participation, _)]
    for section in intent.sections:
        for item in section.overdue:
            lines.append(
                _(
                    "%(section)s: %(what)s (%(days)s days late)",
                    section=section.section,
                    what=item.what,
                    days=item.days_late,
                )
            )
    return fit_utf16("\n".join(lines), MAX_DIGEST_ALT_TEXT)


def _summary_bubble(intent: Digest, left_out: list[DigestSection], _: Translator) -> Card:
    reported, expected, overdue, at_risk = _totals(intent)
    rows: list[Row] = [
        Line(_("Weekly digest"), size="sm", bold=True, colour=GREEN),
        Line(intent.title_scope, size="lg", bold=True, wrap=True),
        Line(
            f"{fiscal_year_label(intent.fiscal_year, _.locale)} / {format_day(intent.as_of, _.locale)}",
            size="xs",
            colour=GREY,
            wrap=True,
        ),
        Separator(),
        Fact(_("Reported this year"), f"{reported} / {expected}"),
        Fact(_("Overdue"), str(overdue), RED if overdue else None),
        Fact(_("At risk"), str(at_risk), RED if at_risk else None),
    ]
    participation = participation_lines(intent.participation, _)
    if participation:
        rows.append(Separator())
        rows.extend(Line(line, size="xs", wrap=True) for line in participation)
    if _all_on_track(intent):
        rows.append(
            Line(_("Nothing is late this week. Thank you!"), size="sm", colour=GREEN, wrap=True, margin="md")
        )
    if left_out:
        more = _.ngettext(
            "%(n)s more section is not shown here; see the dashboard.",
            "%(n)s more sections are not shown here; see the dashboard.",
            len(left_out),
        )
        rows.append(Line(more, size="xs", colour=GREY, wrap=True, margin="md"))
    buttons: tuple[Button, ...] = ()
    if intent.dashboard_url:
        buttons = (Button(_("Open dashboard"), uri=intent.dashboard_url, style="link"),)
    return Card(rows=tuple(rows), buttons=buttons, size="kilo")


def _section_bubble(section: DigestSection, _: Translator) -> Card:
    reported = _(
        "Reported this year %(reported)s / %(expected)s", reported=section.reported, expected=section.expected
    )
    rows: list[Row] = [
        Line(section.section, size="md", bold=True, wrap=True),
        Line(reported, size="xs", colour=GREY),
    ]
    if section.round is not None:
        state = section_state_text(section.round, _)
        rows.append(Line(state, size="xs", bold=True, colour=STATE_COLOURS[section.round.state], wrap=True))
    answered = section_participation_text(section.participation, _)
    if answered:
        rows.append(Line(answered, size="xxs", colour=GREY, wrap=True))
    if section.participation is not None and section.participation.grades:
        grades = _("Grades: %(counts)s", counts=grades_text(section.participation.grades))
        rows.append(Line(grades, size="xxs", colour=GREY, wrap=True))
    if section.overdue:
        rows.append(Line(_("Overdue"), size="sm", bold=True, colour=RED, margin="md"))
        for item in section.overdue[:ROWS_PER_BUBBLE]:
            late = _("%(what)s (%(days)s days late)", what=shorten(item.what, 60), days=item.days_late)
            rows.append(Line(late, size="xs", wrap=True))
        if len(section.overdue) > ROWS_PER_BUBBLE:
            more = _("…and %(n)s more", n=len(section.overdue) - ROWS_PER_BUBBLE)
            rows.append(Line(more, size="xxs", colour=GREY))
    if section.at_risk:
        rows.append(Line(_("At risk"), size="sm", bold=True, margin="md"))
        for kpi in section.at_risk[:ROWS_PER_BUBBLE]:
            value = format_value(kpi.last_value, kpi.unit, _.locale) if kpi.last_value is not None else "-"
            parts = (
                f"{shorten(kpi.name, 30)}: {value} / {kpi_target_text(kpi, _)}",
                projected_text(kpi.projected, kpi.last_value, kpi.unit, _),
                achievement_text(kpi.achievement, _),
            )
            rows.append(Line(" ".join(p for p in parts if p), size="xs", wrap=True))
            rows.append(progress_bar(kpi.achievement))
        if len(section.at_risk) > ROWS_PER_BUBBLE:
            more = _("…and %(n)s more", n=len(section.at_risk) - ROWS_PER_BUBBLE)
            rows.append(Line(more, size="xxs", colour=GREY))
    if not section.overdue and not section.at_risk and section.round is None:
        rows.append(Line(_("On track"), size="sm", colour=GREEN, margin="md"))
    return Card(rows=tuple(rows), size="kilo")


def build_digest(intent: Digest, locale: str, plain: bool = False) -> list[Message]:
    """Summary first, then the sections with something to say (late or at risk first)."""
    _ = Translator(locale)
    ordered = sorted(intent.sections, key=lambda s: (-(len(s.overdue) + len(s.at_risk)), s.section))
    if plain:
        lines = [digest_summary(intent, _), *participation_lines(intent.participation, _)]
        for section in ordered:
            if section.round is not None:
                lines.append(f"・{section.section}: {section_state_text(section.round, _)}")
            answered = section_participation_text(section.participation, _)
            if answered:
                lines.append(f"・{section.section}: {answered}")
            for item in section.overdue:
                lines.append(
                    f"・{section.section}: "
                    + _("%(what)s (%(days)s days late)", what=item.what, days=item.days_late)
                )
        return [Text(t) for t in chunk_lines(lines)]
    shown, left_out = ordered[: MAX_BUBBLES - 1], ordered[MAX_BUBBLES - 1 :]
    bubbles = [_summary_bubble(intent, left_out, _)] + [_section_bubble(s, _) for s in shown]
    return [Carousel(cards=tuple(bubbles), alt_text=_alt_text(intent, _))]
