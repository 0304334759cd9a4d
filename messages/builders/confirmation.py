"""Confirmations: what was recorded (value, target, achievement, fiscal year), with a way to undo it."""

from __future__ import annotations

from linebot.v3.messaging import FlexMessage, Message, TextMessage

from messages.builders.common import (
    GREEN,
    GREY,
    achievement_colour,
    achievement_text,
    kpi_target_text,
    progress_bar,
    quick_reply,
)
from messages.formatting import fiscal_year_label, format_moment, format_value
from messages.i18n import Translator
from messages.intents import Choice, Confirmation, Voided
from messages.layout import fit_utf16
from messages.line_limits import MAX_ALT_TEXT
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
        return [TextMessage(text=text, quick_reply=quick_reply([undo]))]
    body = [
        {"type": "text", "text": _("Recorded"), "weight": "bold", "color": GREEN, "size": "sm"},
        {"type": "text", "text": kpi.name, "weight": "bold", "wrap": True, "size": "md"},
        {"type": "text", "text": kpi.initiative_title, "wrap": True, "size": "xs", "color": GREY},
        {
            "type": "text",
            "text": format_value(intent.value, kpi.unit, locale),
            "size": "3xl",
            "weight": "bold",
            "color": achievement_colour(kpi.achievement),
        },
        {"type": "text", "text": kpi_target_text(kpi, _), "size": "sm", "color": GREY},
    ]
    if kpi.achievement is not None:
        body.append(
            {"type": "text", "text": achievement_text(kpi.achievement, _), "size": "sm", "margin": "md"}
        )
        body.append(progress_bar(kpi.achievement))
    body.append(
        {
            "type": "text",
            "wrap": True,
            "size": "xxs",
            "color": GREY,
            "margin": "md",
            "text": f"{fiscal_year_label(kpi.fiscal_year, locale)} / {intent.section} / "
            f"{format_moment(intent.reported_at, locale)}",
        }
    )
    bubble = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "secondary",
                    "height": "sm",
                    "action": {
                        "type": "postback",
                        "label": _("Undo"),
                        "data": undo.data,
                        "displayText": _("Undo"),
                    },
                }
            ],
        },
    }
    message = FlexMessage.from_dict(
        {"type": "flex", "altText": fit_utf16(text, MAX_ALT_TEXT), "contents": bubble}
    )
    message.quick_reply = quick_reply([undo])
    return [message]


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
    return [TextMessage(text=text)]
