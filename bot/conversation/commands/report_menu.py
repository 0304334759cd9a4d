"""「報告する」: start a guided report — choose one of the section's open KPIs, then send the figure."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from bot.conversation.kpi_reply import figures_year
from messages.builders.common import kpi_label, names_repeat
from messages.intents import Choice, Notice, Question
from messages.lines import open_line
from messages.postback import encode
from models.fiscal_year import format_fiscal_year
from models.reports import open_targets


def handle(ctx: Context, match) -> Response:
    """Offer the open KPIs as quick-reply choices (the keyboard opens when one is tapped)."""
    year = figures_year(ctx, ctx.reporting_sections)
    lines = [open_line(t) for s in ctx.reporting_sections for t in open_targets(ctx.session, s, year)]
    if not lines:
        section = "、".join(s.name for s in ctx.reporting_sections)
        return Response(
            intents=[
                Notice(
                    "no_open_kpis",
                    {"section": section, "year": format_fiscal_year(year, ctx.locale)},
                )
            ],
            locale=ctx.locale,
            outcome="command",
        )
    repeat = names_repeat(lines)
    choices = tuple(
        Choice(label=kpi_label(k, repeat), data=encode("kpi", k.key), display_text=k.name) for k in lines
    )
    return Response(
        intents=[Question(reason="choose_kpi", choices=choices)], locale=ctx.locale, outcome="question"
    )
