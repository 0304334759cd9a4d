"""The weekly digest: a carousel (≤ 12 bubbles) of counts, overdue items and at-risk KPIs with progress bars."""

from __future__ import annotations

from linebot.v3.messaging import FlexMessage, Message, TextMessage

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
    """One lock-screen line: scope, date, reported/expected, overdue, at risk."""
    reported, expected, overdue, at_risk = _totals(intent)
    head = _(
        "Weekly digest %(scope)s (%(day)s)", scope=intent.title_scope, day=format_day(intent.as_of, _.locale)
    )
    if _all_on_track(intent):
        return (
            head
            + ": "
            + _(
                "all on track — %(reported)s of %(expected)s KPIs reported, nothing overdue.",
                reported=reported,
                expected=expected,
            )
        )
    return (
        head
        + ": "
        + _(
            "%(reported)s of %(expected)s KPIs reported, %(overdue)s overdue, %(at_risk)s at risk.",
            reported=reported,
            expected=expected,
            overdue=overdue,
            at_risk=at_risk,
        )
    )


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


def _summary_bubble(intent: Digest, left_out: list[DigestSection], _: Translator) -> dict:
    reported, expected, overdue, at_risk = _totals(intent)
    rows = [
        {"type": "text", "text": _("Weekly digest"), "weight": "bold", "color": GREEN, "size": "sm"},
        {"type": "text", "text": intent.title_scope, "weight": "bold", "size": "lg", "wrap": True},
        {
            "type": "text",
            "text": f"{fiscal_year_label(intent.fiscal_year, _.locale)} / {format_day(intent.as_of, _.locale)}",
            "size": "xs",
            "color": GREY,
            "wrap": True,
        },
        {"type": "separator", "margin": "md"},
        _fact(_("Reported"), f"{reported} / {expected}"),
        _fact(_("Overdue"), str(overdue), RED if overdue else None),
        _fact(_("At risk"), str(at_risk), RED if at_risk else None),
    ]
    participation = participation_lines(intent.participation, _)
    if participation:
        rows.append({"type": "separator", "margin": "md"})
        rows.extend({"type": "text", "text": line, "size": "xs", "wrap": True} for line in participation)
    if _all_on_track(intent):
        rows.append(
            {
                "type": "text",
                "text": _("Nothing is late this week. Thank you!"),
                "wrap": True,
                "size": "sm",
                "color": GREEN,
                "margin": "md",
            }
        )
    if left_out:
        rows.append(
            {
                "type": "text",
                "wrap": True,
                "size": "xs",
                "color": GREY,
                "margin": "md",
                "text": _.ngettext(
                    "%(n)s more section is not shown here; see the dashboard.",
                    "%(n)s more sections are not shown here; see the dashboard.",
                    len(left_out),
                ),
            }
        )
    bubble = {
        "type": "bubble",
        "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": rows},
    }
    if intent.dashboard_url:
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "link",
                    "height": "sm",
                    "action": {"type": "uri", "label": _("Open dashboard"), "uri": intent.dashboard_url},
                }
            ],
        }
    return bubble


def _fact(label: str, value: str, colour: str | None = None) -> dict:
    right = {"type": "text", "text": value, "align": "end", "size": "sm", "weight": "bold"}
    if colour:
        right["color"] = colour
    return {
        "type": "box",
        "layout": "horizontal",
        "contents": [{"type": "text", "text": label, "size": "sm", "color": GREY}, right],
    }


def _section_bubble(section: DigestSection, _: Translator) -> dict:
    rows: list[dict] = [
        {"type": "text", "text": section.section, "weight": "bold", "size": "md", "wrap": True},
        {
            "type": "text",
            "text": _(
                "Reported %(reported)s / %(expected)s", reported=section.reported, expected=section.expected
            ),
            "size": "xs",
            "color": GREY,
        },
    ]
    if section.round is not None:
        rows.append(
            {
                "type": "text",
                "text": section_state_text(section.round, _),
                "wrap": True,
                "size": "xs",
                "weight": "bold",
                "color": STATE_COLOURS[section.round.state],
            }
        )
    answered = section_participation_text(section.participation, _)
    if answered:
        rows.append({"type": "text", "text": answered, "wrap": True, "size": "xxs", "color": GREY})
    if section.participation is not None and section.participation.grades:
        rows.append(
            {
                "type": "text",
                "text": _("Grades: %(counts)s", counts=grades_text(section.participation.grades)),
                "size": "xxs",
                "color": GREY,
                "wrap": True,
            }
        )
    if section.overdue:
        rows.append(
            {
                "type": "text",
                "text": _("Overdue"),
                "weight": "bold",
                "color": RED,
                "size": "sm",
                "margin": "md",
            }
        )
        for item in section.overdue[:ROWS_PER_BUBBLE]:
            rows.append(
                {
                    "type": "text",
                    "wrap": True,
                    "size": "xs",
                    "text": _(
                        "%(what)s (%(days)s days late)", what=shorten(item.what, 60), days=item.days_late
                    ),
                }
            )
        if len(section.overdue) > ROWS_PER_BUBBLE:
            rows.append(
                {
                    "type": "text",
                    "size": "xxs",
                    "color": GREY,
                    "text": _("…and %(n)s more", n=len(section.overdue) - ROWS_PER_BUBBLE),
                }
            )
    if section.at_risk:
        rows.append({"type": "text", "text": _("At risk"), "weight": "bold", "size": "sm", "margin": "md"})
        for kpi in section.at_risk[:ROWS_PER_BUBBLE]:
            value = format_value(kpi.last_value, kpi.unit, _.locale) if kpi.last_value is not None else "-"
            rows.append(
                {
                    "type": "text",
                    "wrap": True,
                    "size": "xs",
                    "text": " ".join(
                        p
                        for p in (
                            f"{shorten(kpi.name, 30)}: {value} / {kpi_target_text(kpi, _)}",
                            projected_text(kpi.projected, kpi.last_value, kpi.unit, _),
                            achievement_text(kpi.achievement, _),
                        )
                        if p
                    ),
                }
            )
            rows.append(progress_bar(kpi.achievement))
        if len(section.at_risk) > ROWS_PER_BUBBLE:
            rows.append(
                {
                    "type": "text",
                    "size": "xxs",
                    "color": GREY,
                    "text": _("…and %(n)s more", n=len(section.at_risk) - ROWS_PER_BUBBLE),
                }
            )
    if not section.overdue and not section.at_risk and section.round is None:
        rows.append({"type": "text", "text": _("On track"), "color": GREEN, "size": "sm", "margin": "md"})
    return {
        "type": "bubble",
        "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": rows},
    }


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
        return [TextMessage(text=t) for t in chunk_lines(lines)]
    shown, left_out = ordered[: MAX_BUBBLES - 1], ordered[MAX_BUBBLES - 1 :]
    bubbles = [_summary_bubble(intent, left_out, _)] + [_section_bubble(s, _) for s in shown]
    contents = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
    return [FlexMessage.from_dict({"type": "flex", "altText": _alt_text(intent, _), "contents": contents})]
