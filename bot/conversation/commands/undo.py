"""「取り消し」 voids the member's last report; 「訂正 40%」 voids it and records the corrected figure."""

from __future__ import annotations

import re

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from bot.conversation.views import kpi_line
from messages.intents import Notice, Voided
from models.reports import last_report_by, void_report
from models.tables import Initiative, KpiTarget

VOID_RE = re.compile(r"(?:取り消し|取消し?|取り消す|とりけし|キャンセル|cancel|undo)", re.I)
CORRECT_RE = re.compile(r"(?:訂正|修正|ていせい)\s*[:：]?\s*(?P<rest>.+)")


def handle_void(ctx: Context, match: re.Match) -> Response:
    """Void the last valid report of this member (kept, marked voided)."""
    report = last_report_by(ctx.session, ctx.member)
    if report is None:
        return Response(intents=[Notice("nothing_to_undo")], locale=ctx.locale, outcome="refused")
    target = ctx.session.get(KpiTarget, report.kpi_target_id)
    void_report(ctx.session, report, by=ctx.member, now=ctx.now, reason="取り消し")
    line = kpi_line(target, ctx.session.get(Initiative, target.initiative_id))
    return Response(intents=[Voided(kpi=line, value=report.value)], locale=ctx.locale, outcome="recorded")


def handle_correct(ctx: Context, match: re.Match) -> Response:
    """Void the last report and read the new figure as a reply about the same KPI."""
    from bot.conversation.kpi_reply import reply_with_figures

    report = last_report_by(ctx.session, ctx.member)
    if report is None:
        return Response(intents=[Notice("nothing_to_undo")], locale=ctx.locale, outcome="refused")
    target = ctx.session.get(KpiTarget, report.kpi_target_id)
    response = reply_with_figures(
        ctx, match.group("rest"), pending_target=target, section_id=report.section_id, check=False
    )
    if response.outcome != "recorded":
        return response  # nothing new was recorded, so the old figure stays
    void_report(ctx.session, report, by=ctx.member, now=ctx.now, reason="訂正")
    line = kpi_line(target, ctx.session.get(Initiative, target.initiative_id))
    response.intents.insert(0, Voided(kpi=line, value=report.value))
    return response
