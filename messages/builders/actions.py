"""Action items: the numbered list of a section's 行動計画 with status, and status updates."""

from __future__ import annotations

from dataclasses import replace

from messages.builders.common import kpi_target_text, status_label
from messages.formatting import fiscal_year_label
from messages.i18n import Translator
from messages.intents import ActionList, ActionUpdated, Choice, Kickoff
from messages.layout import chunk_lines
from messages.model import Message, Text
from messages.postback import encode

STATUS_ORDER = ("未着手", "進行中", "遅延", "完了", "延期")


def build_action_list(intent: ActionList, locale: str, plain: bool = False) -> list[Message]:
    """The list, numbered, grouped by initiative; how to update; other years as quick replies."""
    _ = Translator(locale)
    year = fiscal_year_label(intent.fiscal_year, locale)
    if not intent.items:
        text = _("%(section)s has no action items in %(year)s.", section=intent.section, year=year)
        return [Text(text, choices=_year_choices(intent, _))]
    lines = [_("Action items of %(section)s, %(year)s", section=intent.section, year=year)]
    current = None
    for item in intent.items:
        if item.initiative_title and item.initiative_title != current:
            current = item.initiative_title
            lines.append(f"■ {current}")
        lines.append(f"{item.no}. [{status_label(item.status, _)}] {item.text}")
    lines.append(_("To update, send the number and the status, e.g. 「2 完了」「3 進行中」."))
    chunks = chunk_lines(
        lines,
        overflow=lambda n: _.ngettext(
            "…and %(n)s more line; ask for one initiative at a time or see the dashboard.",
            "…and %(n)s more lines; ask for one initiative at a time or see the dashboard.",
            n,
        ),
    )
    messages: list[Message] = [Text(c) for c in chunks]
    messages[-1] = replace(messages[-1], choices=_year_choices(intent, _))
    return messages


def _year_choices(intent: ActionList, _: Translator) -> tuple[Choice, ...]:
    years = [y for y in intent.years if y != intent.fiscal_year]
    return tuple(
        Choice(label=fiscal_year_label(y, _.locale, short=True), data=encode("acts", y)) for y in years
    )


def build_action_updated(intent: ActionUpdated, locale: str, plain: bool = False) -> list[Message]:
    """Confirm a status change, with buttons for the other statuses in case of a slip."""
    _ = Translator(locale)
    item = intent.item
    text = _(
        "%(no)s. %(text)s: %(before)s → %(after)s",
        no=item.no,
        text=item.text,
        before=status_label(intent.previous_status, _),
        after=status_label(item.status, _),
    )
    others = [
        Choice(label=status_label(s, _), data=_status_button(item, s), display_text=f"{item.no} {s}")
        for s in STATUS_ORDER
        if s != item.status
    ]
    return [Text(text, choices=tuple(others))]


def _status_button(item, status: str) -> str:
    if item.section_id is None:
        return encode("act", item.id, status)
    return encode("actsec", item.id, item.section_id, status)


def build_kickoff(intent: Kickoff, locale: str, plain: bool = False) -> list[Message]:
    """The new fiscal year: each initiative's actions and the KPI targets the section will be asked about."""
    _ = Translator(locale)
    year = fiscal_year_label(intent.fiscal_year, locale)
    lines = [
        _(
            "%(year)s has started. This is what the DX plan expects of %(section)s this year.",
            year=year,
            section=intent.section,
        )
    ]
    for initiative in intent.initiatives:
        lines.append("")
        lines.append(f"■ {initiative.id} {initiative.title}")
        lines.extend(f"・{a}" for a in initiative.actions)
        for kpi in initiative.kpis:
            lines.append(f"KPI {kpi.name}: {kpi_target_text(kpi, _)}")
    lines.append("")
    lines.append(_("Send 「今年度の行動計画」 any time to see and update these items."))
    chunks = chunk_lines(
        lines,
        overflow=lambda n: _.ngettext(
            "…and %(n)s more line: send 「今年度の行動計画」 to see everything.",
            "…and %(n)s more lines: send 「今年度の行動計画」 to see everything.",
            n,
        ),
    )
    return [Text(c) for c in chunks]
