"""「ヘルプ」: what to send, with examples from the member's own KPIs."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.builders.common import example_report
from messages.intents import Help
from messages.lines import open_line
from models.reports import open_targets


def help_intent(ctx: Context) -> Help:
    """Help with up to four examples drawn from the sections' open KPIs."""
    examples: list[str] = []
    for section in ctx.reporting_sections:
        for open_target in open_targets(ctx.session, section, ctx.fiscal_year):
            examples.append(example_report(open_line(open_target)))
    return Help(
        role=ctx.member.role if ctx.member else "staff",
        examples=tuple(dict.fromkeys(examples))[:4],
        registered=ctx.member is not None,
    )


def handle(ctx: Context, match) -> Response:
    """Answer 「ヘルプ」 / 「?」."""
    return Response(intents=[help_intent(ctx)], locale=ctx.locale, outcome="help")
