"""「状況」: the section's KPIs this year (latest value, target, achievement) and its late action items."""

from __future__ import annotations

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.intents import KpiStatus
from messages.lines import open_line, round_line
from models import follow_up_status, kpi_status, section_status
from models.actions import section_action_items, section_statuses, status_for
from models.reports import open_targets
from models.rows import row_id


def handle(ctx: Context, match) -> Response:
    """One status intent per reporting section, with its state and open round as every view shows them."""
    sections = ctx.reporting_sections
    states = kpi_status.kpi_states(
        ctx.session, ctx.now, sections, ctx.fiscal_year, scale=ctx.config.grade_scale
    )
    follow = follow_up_status.follow_ups(
        ctx.session, ctx.now, sections, tz=ctx.clock.tz, live=ctx.config.live_since
    )
    rounds = section_status.open_rounds(ctx.session, ctx.now, sections, tz=ctx.clock.tz)
    standing = {s.section_id: s for s in section_status.section_states(sections, states, follow, rounds)}
    intents = []
    for section in sections:
        kpis = tuple(open_line(t) for t in open_targets(ctx.session, section, ctx.fiscal_year))
        rows = section_action_items(ctx.session, section, ctx.fiscal_year)
        statuses = section_statuses(ctx.session, [item.id for item, _ in rows])
        delayed = tuple(
            item.text for item, _ in rows if status_for(statuses, item, row_id(section))[0] == "遅延"
        )
        intents.append(
            KpiStatus(
                section=section.name,
                fiscal_year=ctx.fiscal_year,
                kpis=kpis,
                delayed_actions=delayed,
                round=round_line(standing[row_id(section)], ctx.clock.tz),
            )
        )
    return Response(intents=intents[:5], locale=ctx.locale, outcome="command")
