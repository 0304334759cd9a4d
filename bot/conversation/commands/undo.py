"""「取り消し」 voids the member's last report; 「訂正 40%」 voids it and records the corrected figure."""

from __future__ import annotations

import re

from sqlmodel import col, select

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.intents import Confirmation, Notice, Voided
from messages.lines import kpi_line
from models.editions import initiative_of
from models.reports import last_report_by, void_report
from models.tables import KpiReport, KpiTarget

VOID_RE = re.compile(r"(?:取り消し|取消し?|取り消す|とりけし|キャンセル|cancel|undo)", re.I)
VOID_ID_RE = re.compile(
    r"(?:取り消し|取消し?|取り消す|とりけし)\s*報告\s*(?:ID|id|#|No\.?)?\s*(?P<id>[0-9]{1,9})"
)
CORRECT_RE = re.compile(r"(?:訂正|修正|ていせい)\s*[:：]?\s*(?P<rest>.+)")


def handle_void(ctx: Context, match: re.Match) -> Response:
    """Void the last valid report of this member (kept, marked voided)."""
    report = last_report_by(ctx.session, ctx.registered_member)
    if report is None:
        return Response(intents=[Notice("nothing_to_undo")], locale=ctx.locale, outcome="refused")
    target = ctx.session.get(KpiTarget, report.kpi_target_id)
    void_report(ctx.session, report, by=ctx.member, now=ctx.now, reason="取り消し")
    line = kpi_line(target, initiative_of(ctx.session, target))
    return Response(intents=[Voided(kpi=line, value=report.value)], locale=ctx.locale, outcome="recorded")


def handle_void_id(ctx: Context, match: re.Match) -> Response:
    """「取消 報告 ID」: an admin voids anyone's report; others only their own."""
    report = ctx.session.get(KpiReport, int(match.group("id")))
    allowed = report is not None and (
        ctx.registered_member.role == "admin" or report.reporter_member_id == ctx.registered_member.id
    )
    if not allowed or report.voided_at is not None:
        return Response(intents=[Notice("nothing_to_undo")], locale=ctx.locale, outcome="refused")
    void_report(ctx.session, report, by=ctx.member, now=ctx.now, reason="取り消し")
    target = ctx.session.get(KpiTarget, report.kpi_target_id)
    line = kpi_line(target, initiative_of(ctx.session, target))
    return Response(intents=[Voided(kpi=line, value=report.value)], locale=ctx.locale, outcome="recorded")


def _correct_for_section(ctx: Context, text: str) -> Response | None:
    """An admin's 「訂正 職員課 研修受講人数 130人」: record the figure for that section and void its earlier
    report of the same KPI; None when TEXT names no section."""
    from bot.conversation.kpi_reply import _named_section, reply_with_figures

    sections, rest = _named_section(ctx, text)
    if rest == text:
        return None
    response = reply_with_figures(ctx, text, check=False)
    if response.outcome != "recorded":
        return response
    voided = []
    for confirmation in [i for i in response.intents if isinstance(i, Confirmation)]:
        new = ctx.session.get(KpiReport, confirmation.report_id)
        earlier = ctx.session.exec(
            select(KpiReport)
            .where(
                KpiReport.kpi_target_id == new.kpi_target_id,
                KpiReport.section_id == new.section_id,
                col(KpiReport.voided_at).is_(None),
                KpiReport.id != new.id,
            )
            .order_by(col(KpiReport.reported_at).desc(), col(KpiReport.id).desc())
        ).first()
        if earlier is not None:
            void_report(ctx.session, earlier, by=ctx.member, now=ctx.now, reason="訂正")
            target = ctx.session.get(KpiTarget, earlier.kpi_target_id)
            line = kpi_line(target, initiative_of(ctx.session, target))
            voided.append(Voided(kpi=line, value=earlier.value))
    response.intents[:0] = voided
    return response


def handle_correct(ctx: Context, match: re.Match) -> Response:
    """Void the last report and read the new figure as a reply about the same KPI."""
    from bot.conversation.kpi_reply import reply_with_figures

    if ctx.registered_member.role == "admin":
        named = _correct_for_section(ctx, match.group("rest"))
        if named is not None:
            return named

    report = last_report_by(ctx.session, ctx.registered_member)
    if report is None:
        return Response(intents=[Notice("nothing_to_undo")], locale=ctx.locale, outcome="refused")
    target = ctx.session.get(KpiTarget, report.kpi_target_id)
    response = reply_with_figures(
        ctx, match.group("rest"), pending_target=target, section_id=report.section_id, check=False
    )
    if response.outcome != "recorded":
        return response  # nothing new was recorded, so the old figure stays
    void_report(ctx.session, report, by=ctx.member, now=ctx.now, reason="訂正")
    line = kpi_line(target, initiative_of(ctx.session, target))
    response.intents.insert(0, Voided(kpi=line, value=report.value))
    return response
