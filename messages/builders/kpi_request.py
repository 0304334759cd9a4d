"""The KPI request: a Flex bubble per initiative (target, last value, due date, a button per KPI)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from messages.builders.common import (
    GREEN,
    GREY,
    due_text,
    example_report,
    fill_in_text,
    kpi_last_text,
    kpi_target_text,
    progress_bar,
)
from messages.formatting import fiscal_year_label, format_day
from messages.i18n import Translator
from messages.intents import KpiLine, KpiRequest, Nudge
from messages.layout import chunk_lines, fit_utf16, shorten
from messages.line_limits import MAX_ALT_TEXT, MAX_MESSAGES
from messages.model import Button, Card, Carousel, Line, Message, Separator, Text
from messages.postback import encode

MAX_BUBBLES = 12


def _by_initiative(kpis: tuple[KpiLine, ...]) -> OrderedDict[str, list[KpiLine]]:
    groups: OrderedDict[str, list[KpiLine]] = OrderedDict()
    for kpi in kpis:
        groups.setdefault(kpi.initiative_title, []).append(kpi)
    return groups


def kpi_bubble(title: str, kpis: list[KpiLine], _: Translator) -> Card:
    """One initiative's KPIs with a report button each (the keyboard opens prefilled)."""
    rows: list = [Line(title, size="md", bold=True, wrap=True)]
    buttons: list[Button] = []
    for kpi in kpis:
        rows.append(Separator())
        rows.append(Line(kpi.name, size="sm", bold=True, wrap=True, margin="md"))
        facts = [kpi_target_text(kpi, _), kpi_last_text(kpi, _)]
        if kpi.due:
            facts.append(due_text(kpi.due, _))
        rows.append(Line(" / ".join(facts), size="xs", colour=GREY, wrap=True))
        if kpi.achievement is not None:
            rows.append(progress_bar(kpi.achievement))
        buttons.append(
            Button(
                shorten(_("Report: %(name)s", name=kpi.name), 20),
                data=encode("kpi", kpi.key),
                display_text=shorten(_("Report %(name)s", name=kpi.name), 300),
                colour=GREEN,
                fill_in=fill_in_text(kpi),
            )
        )
    return Card(rows=tuple(rows), buttons=tuple(buttons), size="mega", button_spacing="sm")


def _alt_text(heading: str, kpis: tuple[KpiLine, ...], _: Translator) -> str:
    names = "、".join(k.name for k in kpis[:3])
    more = _(" and %(n)s more", n=len(kpis) - 3) if len(kpis) > 3 else ""
    return fit_utf16(f"{heading}: {names}{more}", MAX_ALT_TEXT)


def _carousels(intent_kpis: tuple[KpiLine, ...], alt: str, _: Translator) -> list[Message]:
    bubbles = [kpi_bubble(title, kpis, _) for title, kpis in _by_initiative(intent_kpis).items()]
    messages: list[Message] = []
    for start in range(0, len(bubbles), MAX_BUBBLES):
        part = bubbles[start : start + MAX_BUBBLES]
        if len(part) > 1:  # kilo, like the digest's: the next bubble's edge shows there is more to swipe to
            part = [replace(card, size="kilo") for card in part]
        messages.append(Carousel(cards=tuple(part), alt_text=alt))
    return messages


def build_kpi_request(intent: KpiRequest, locale: str, plain: bool = False) -> list[Message]:
    """Ask a section for its figures: a heading text, then the KPIs to tap (or a plain list for groups)."""
    _ = Translator(locale)
    year = fiscal_year_label(intent.fiscal_year, locale)
    if intent.final_actuals:
        heading = _(
            "Please send the final figures of %(year)s for %(section)s by %(due)s.",
            year=year,
            section=intent.section,
            due=format_day(intent.due, locale),
        )
    else:
        heading = _(
            "Please send the KPI figures of %(year)s for %(section)s by %(due)s.",
            year=year,
            section=intent.section,
            due=format_day(intent.due, locale),
        )
    how = _(
        "Tap a KPI below, or just send the figure, e.g. 「%(example)s」.",
        example=example_report(intent.kpis[0]),
    )
    if plain:
        lines = [heading, how]
        for kpi in intent.kpis:
            lines.append(
                f"・{kpi.name}（{kpi.initiative_title}）: {kpi_target_text(kpi, _)} / {kpi_last_text(kpi, _)}"
            )
        return [Text(t) for t in chunk_lines(lines, max_chunks=MAX_MESSAGES)]
    messages: list[Message] = [Text(f"{heading}\n{how}")]
    messages.extend(_carousels(intent.kpis, _alt_text(heading, intent.kpis, _), _))
    return _cap(messages, _)


def build_nudge(intent: Nudge, locale: str, plain: bool = False) -> list[Message]:
    """A friendly reminder of the figures still missing, with the same buttons."""
    _ = Translator(locale)
    missing = _.ngettext(
        "Reminder: %(n)s KPI of %(section)s for %(year)s is still missing.",
        "Reminder: %(n)s KPIs of %(section)s for %(year)s are still missing.",
        len(intent.missing),
        section=intent.section,
        year=fiscal_year_label(intent.fiscal_year, locale, short=True),
    )
    late = _.ngettext(
        "It was due %(due)s, %(n)s day ago.",
        "It was due %(due)s, %(n)s days ago.",
        intent.days_late,
        due=format_day(intent.due, locale),
    )
    heading = f"{missing} {late}"
    if plain:
        lines = [heading, *[f"・{k.name}（{k.initiative_title}）" for k in intent.missing]]
        return [Text(t) for t in chunk_lines(lines)]
    messages: list[Message] = [Text(heading)]
    messages.extend(_carousels(intent.missing, _alt_text(heading, intent.missing, _), _))
    return _cap(messages, _)


def _cap(messages: list[Message], _: Translator) -> list[Message]:
    """Keep within 5 messages per request; say what was left out instead of dropping it silently."""
    if len(messages) <= MAX_MESSAGES:
        return messages
    kept = messages[: MAX_MESSAGES - 1]
    left = len(messages) - len(kept)
    kept.append(
        Text(
            _.ngettext(
                "%(n)s more card could not be shown here; send 「状況」 to see every KPI.",
                "%(n)s more cards could not be shown here; send 「状況」 to see every KPI.",
                left,
            )
        )
    )
    return kept
