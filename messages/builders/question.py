"""Questions: nothing was recorded yet; say why and offer choices to tap."""

from __future__ import annotations

from dataclasses import replace

from messages.builders.common import example_report, kpi_last_text, kpi_target_text
from messages.formatting import format_value
from messages.i18n import N_, Translator
from messages.intents import NumberPrompt, Question
from messages.layout import MAX_TEXT, fit_utf16
from messages.model import Message, Text

REASONS = {
    "unclear_value": N_(
        "「%(text)s」 reads as a range or a change, not the figure itself. Nothing was recorded; "
        "please send the figure as it stands, e.g. 「%(example)s」."
    ),
    "choose_kpi": N_("Which KPI will you report? Choose below, then send the figure."),
    "which_kpi": N_("Which KPI is 「%(text)s」 for? Please choose below."),
    "unit_mismatch": N_(
        "The unit in 「%(text)s」 does not fit %(kpi)s (%(unit)s). Nothing was recorded; please send it again."
    ),
    "impossible_value": N_(
        "「%(text)s」 cannot be right for %(kpi)s. Nothing was recorded; please check the figure."
    ),
    "malformed_number": N_(
        "I could not read the number in 「%(text)s」. Nothing was recorded; please write it like 1,050."
    ),
    "no_figure": N_(
        "I could not find a figure in 「%(text)s」. Send it like 「%(example)s」, or 「ヘルプ」 for help."
    ),
    "which_figure": N_(
        "「%(text)s」 has several numbers. Which is the figure for %(kpi)s? Choose below, or send it again."
    ),
    "several_figures": N_("「%(text)s」 has several numbers. Please send one figure per KPI, one per line."),
    "same_as_last": N_("%(kpi)s 「%(text)s」 is the same as last time. Record it?"),
    "implausible": N_(
        "「%(text)s」 is far from what %(kpi)s can be (target %(target)s, last %(last)s). "
        "Nothing was recorded yet; record it as it is?"
    ),
    "which_year": N_(
        "Is 「%(text)s」 the final figure of the year just closed, or this year's? Please choose."
    ),
}
CONFIRM_REASONS = ("same_as_last", "implausible")


def build_question(intent: Question, locale: str, plain: bool = False) -> list[Message]:
    """The question with its choices as a quick reply (≤ 13); the choices are also listed when many."""
    _ = Translator(locale)
    kpi = intent.kpi
    values = {
        "text": intent.text.strip()[:200],
        "kpi": kpi.name if kpi else _("the KPI"),
        "unit": kpi.unit if kpi else "",
        "example": f"{kpi.name} {format_value(kpi.target, kpi.unit, 'ja')}"
        if kpi
        else "オンライン申請率 41%",
        "target": format_value(kpi.target, kpi.unit, locale) if kpi else "-",
        "last": format_value(kpi.last_value, kpi.unit, locale) if kpi and kpi.last_value is not None else "-",
    }
    text = _(REASONS[intent.reason], **values)
    choices = intent.choices
    if intent.reason in CONFIRM_REASONS:  # 記録する / 修正する: labels are msgids
        choices = tuple(replace(c, label=_(c.label)) for c in choices)
    if len(intent.choices) > 13:
        listed = "\n".join(f"{i}. {c.label}" for i, c in enumerate(intent.choices, start=1))
        text += "\n" + listed
    return [Text(fit_utf16(text, MAX_TEXT), choices=tuple(choices))]


def build_number_prompt(intent: NumberPrompt, locale: str, plain: bool = False) -> list[Message]:
    """Ask for one KPI's figure (the member tapped it; the keyboard is already open)."""
    _ = Translator(locale)
    kpi = intent.kpi
    text = _(
        "Send the figure for %(name)s (%(title)s). %(target)s / %(last)s",
        name=kpi.name,
        title=kpi.initiative_title,
        target=kpi_target_text(kpi, _),
        last=kpi_last_text(kpi, _),
    )
    text += "\n" + _("Example: 「%(example)s」", example=example_report(kpi))
    return [Text(text)]
