"""Confirmations: what was recorded (value, target, achievement, fiscal year), with a way to undo it."""

from __future__ import annotations

from messages.builders.common import (
    GREEN,
    GREY,
    achievement_colour,
    achievement_text,
    kpi_target_text,
    progress_bar,
)
from messages.formatting import fiscal_year_label, format_moment, format_value
from messages.i18n import Translator
from messages.intents import Choice, Confirmation, Voided
from messages.layout import fit_utf16
from messages.line_limits import MAX_ALT_TEXT
from messages.model import Button, Card, Carousel, Line, Message, Row, Text
from messages.postback import encode


def confirmation_text(intent: Confirmation, _: Translator) -> str:
    """The confirmation as one readable sentence (also the Flex altText)."""
    kpi = intent.kpi
    parts = [
        _(
            "Recorded: %(name)s %(value)s",
            name=kpi.name,
            value=format_value(intent.value, kpi.unit, _.locale),
        ),
        f"（{kpi.initiative_title} / {intent.section} / {fiscal_year_label(kpi.fiscal_year, _.locale, short=True)}）",
        kpi_target_text(kpi, _),
    ]
    rate = achievement_text(kpi.achievement, _)
    if rate:
        parts.append(rate)
    return " ".join(parts[:2]) + "\n" + " / ".join(parts[2:])


def build_confirmation(intent: Confirmation, locale: str, plain: bool = False) -> list[Message]:
    """A bubble with the value, the target and an achievement bar; 取り消す as button and quick reply."""
    _ = Translator(locale)
    kpi = intent.kpi
    undo = Choice(label=_("Undo"), data=encode("void", intent.report_id), display_text=_("Undo"))
    text = confirmation_text(intent, _)
    if plain:
        return [Text(text, choices=(undo,))]
    rows: list[Row] = [
        Line(_("Recorded"), size="sm", bold=True, colour=GREEN),
        Line(kpi.name, size="md", bold=True, wrap=True),
        Line(kpi.initiative_title, size="xs", colour=GREY, wrap=True),
        Line(
            format_value(intent.value, kpi.unit, locale),
            size="3xl",
            bold=True,
            colour=achievement_colour(kpi.achievement),
        ),
        Line(kpi_target_text(kpi, _), size="sm", colour=GREY),
    ]
    if kpi.achievement is not None:
        rows.append(Line(achievement_text(kpi.achievement, _), size="sm", margin="md"))
        rows.append(progress_bar(kpi.achievement))
    rows.append(
        Line(
            f"{fiscal_year_label(kpi.fiscal_year, locale)} / {intent.section} / "
            f"{format_moment(intent.reported_at, locale)}",
            size="xxs",
            colour=GREY,
            wrap=True,
            margin="md",
        )
    )
    card = Card(
        rows=tuple(rows),
        buttons=(Button(_("Undo"), data=undo.data, display_text=_("Undo"), style="secondary"),),
    )
    return [Carousel(cards=(card,), alt_text=fit_utf16(text, MAX_ALT_TEXT), choices=(undo,))]


def build_voided(intent: Voided, locale: str, plain: bool = False) -> list[Message]:
    """Say which report was taken back (it stays on record, marked voided)."""
    _ = Translator(locale)
    text = _(
        "Cancelled: %(name)s %(value)s (kept on record as cancelled).",
        name=intent.kpi.name,
        value=format_value(intent.value, intent.kpi.unit, locale),
    )
    if intent.replacement is not None:
        text += "\n" + _(
            "Send the correct figure, e.g. 「%(name)s %(value)s」.",
            name=intent.kpi.name,
            value=format_value(intent.replacement, intent.kpi.unit, locale),
        )
    return [Text(text)]
