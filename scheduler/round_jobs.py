"""The jobs that ask sections: the April kickoff, the quarterly and final-actuals requests, the nudges.

Cron cannot know holidays, so each job checks the business day itself; pushes wait for the send window
(not_before = next_send_time(moment, tz=clock.tz)). The request helpers are shared with the admin's
「送信 依頼」.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from messages.i18n import Translator
from messages.intents import AdminResult, InitiativePlan, Kickoff, KpiRequest, Nudge
from messages.lines import kpi_line
from models import rounds
from models.clock import Clock
from models.editions import edition_id_of_year
from models.fiscal_year import fiscal_year_of, format_fiscal_year
from models.kpi_status import reporting_sections
from models.participation import record_asked
from models.plan_queries import plan_years
from models.reports import directly_named_initiative_ids, open_targets
from models.rows import row_id
from models.tables import ActionItem, Initiative, KpiTarget, Section
from scheduler.calendar import (
    ClosureRange,
    add_business_days,
    business_days_between,
    is_business_day,
    next_send_time,
)
from scheduler.outbox import active_pause
from scheduler.planning import JobResult, active_admins, by_locale, local_day, queue_intent, section_members
from scheduler.round_asks import request_key

REQUEST_DAYS = 14  # a quarterly request is due 14 days later (moved to the next business day if closed)
FINAL_DUE = (5, 31)  # the final-actuals request is due 31 May: the end of the 出納整理期間
NUDGE_EVERY = 3  # business days between nudges
MAX_NUDGES = 3  # then the section's managers hear about it, once
# Config.closure_days (DXBOT_CLOSURE_DAYS), passed in by job_settings; None: the default 年末年始
Closures = tuple[ClosureRange, ...] | None


def _in_every_locale(intent: object) -> Callable[[str], object]:
    """queue_intent's intent_for when the intent reads the same in every language."""
    return lambda _locale: intent


def _closed(result: JobResult, day: date, closures: Closures) -> bool:
    """Record and say so when DAY is not a business day (cron fires anyway; the job decides)."""
    if is_business_day(day, closures):
        return False
    result.note(f"{day.isoformat()} is not a business day; nothing to do")
    return True


def _covered(
    session: Session, result: JobResult, fiscal_year: int, now: datetime, closures: Closures, tz: ZoneInfo
) -> bool:
    """Whether the plan covers FISCAL_YEAR; after its last year the admins are told, once per year."""
    years = plan_years(session)
    if fiscal_year in years:
        return True
    if years and fiscal_year > years[-1]:
        result.note(f"the plan ends with FY{years[-1]}; FY{fiscal_year} is not covered")
        admins = active_admins(session)
        first, last = years[0], years[-1]

        def plan_ended(locale: str) -> AdminResult:
            _ = Translator(locale)
            return AdminResult(
                title=_("The DX plan's period has ended"),
                lines=(
                    _(
                        "%(year)s is not in the loaded plan (%(first)s–%(last)s); no kickoff or KPI requests were sent.",
                        year=format_fiscal_year(fiscal_year, locale),
                        first=format_fiscal_year(first, locale),
                        last=format_fiscal_year(last, locale),
                    ),
                    _("Import the next plan with `dxbot plan import PATH`."),
                ),
            )

        queue_intent(
            session,
            result,
            kind="notice",
            base_key=f"plan-ended:{fiscal_year}",
            recipients=by_locale(admins),
            intent_for=plan_ended,
            section=None,
            not_before=next_send_time(now, tz=tz, closures=closures),
            now=now,
        )
    else:
        result.note(f"FY{fiscal_year} is not in the plan")
    return False


def plan_kickoff(session: Session, clock: Clock, result: JobResult, *, closures: Closures = None) -> None:
    now = clock.now()
    today = local_day(now, clock)
    fy = fiscal_year_of(now, clock.tz)
    if _closed(result, today, closures) or not _covered(session, result, fy, now, closures, clock.tz):
        return
    for section in reporting_sections(session):
        members = section_members(session, row_id(section), now)
        if not members:
            continue
        plans = section_plan(session, section, fy)
        if not plans:
            continue
        intent = Kickoff(section=section.name, fiscal_year=fy, initiatives=tuple(plans))
        queue_intent(
            session,
            result,
            kind="kickoff",
            base_key=f"kickoff:{fy}:{section.id}",
            recipients=by_locale(members),
            intent_for=_in_every_locale(intent),
            section=section,
            not_before=next_send_time(now, tz=clock.tz, closures=closures),
            now=now,
        )


def section_plan(session: Session, section: Section, fiscal_year: int) -> list[InitiativePlan]:
    """The section's initiatives (named directly) with this year's action items and KPI targets."""
    edition_id = edition_id_of_year(session, fiscal_year)
    ids = directly_named_initiative_ids(session, section, edition_id)
    if not ids:
        return []
    initiatives = session.exec(
        select(Initiative)
        .where(col(Initiative.id).in_(ids), Initiative.edition_id == edition_id)
        .order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()
    actions: dict[str, list[str]] = {}
    for item in session.exec(
        select(ActionItem)
        .where(
            col(ActionItem.initiative_id).in_(ids),
            ActionItem.edition_id == edition_id,
            ActionItem.fiscal_year == fiscal_year,
            col(ActionItem.removed_at).is_(None),
        )
        .order_by(col(ActionItem.position))
    ).all():
        actions.setdefault(item.initiative_id, []).append(item.text)
    by_initiative = {i.id: i for i in initiatives}
    kpis: dict[str, list] = {}
    for target in session.exec(
        select(KpiTarget)
        .where(
            col(KpiTarget.initiative_id).in_(ids),
            KpiTarget.fiscal_year == fiscal_year,
            col(KpiTarget.removed_at).is_(None),
        )
        .order_by(col(KpiTarget.position))
    ).all():
        kpis.setdefault(target.initiative_id, []).append(
            kpi_line(target, by_initiative[target.initiative_id])
        )
    return [
        InitiativePlan(
            id=i.id, title=i.title, actions=tuple(actions.get(i.id, ())), kpis=tuple(kpis.get(i.id, ()))
        )
        for i in initiatives
        if actions.get(i.id) or kpis.get(i.id)
    ]


def _request_round(
    session: Session,
    result: JobResult,
    *,
    section: Section,
    fiscal_year: int,
    period: str,
    due: date,
    now: datetime,
    tz: ZoneInfo,
    final: bool,
    closures: Closures,
) -> None:
    """Ask one section for its figures of FISCAL_YEAR (open the round, queue the request)."""
    members = section_members(session, row_id(section), now)
    if not members:
        return
    targets = open_targets(session, section, fiscal_year)
    if not targets:
        return
    request_round, _new = rounds.open_round(session, section, fiscal_year, period, due=due, now=now, tz=tz)
    due_day = rounds.due_date(request_round, tz)
    intent = request_intent(section, fiscal_year, due_day, targets, final)
    base = request_key(section, fiscal_year, period, final)
    queued: list = []
    queue_intent(
        session,
        result,
        kind="final-actuals" if final else "kpi-request",
        base_key=base,
        recipients=by_locale(members),
        intent_for=lambda _locale: intent,
        section=section,
        not_before=next_send_time(now, tz=tz, closures=closures),
        now=now,
        queued_rows=queued,
    )
    record_asked(session, request_round, members, queued)


def request_intent(section: Section, fiscal_year: int, due_day: date, targets, final: bool) -> KpiRequest:
    """The request for TARGETS (OpenTargets) of FISCAL_YEAR, due DUE_DAY."""
    return KpiRequest(
        section=section.name,
        fiscal_year=fiscal_year,
        due=due_day,
        kpis=tuple(kpi_line(t.target, t.initiative, t.latest, due=due_day) for t in targets),
        final_actuals=final,
    )


def request_due(day: date, closures: Closures = None) -> date:
    """A quarterly request's due date: 14 days after DAY, or the next business day when that one is closed."""
    due = day + timedelta(days=REQUEST_DAYS)
    return due if is_business_day(due, closures) else add_business_days(due, 1, closures=closures)


def plan_kpi_request(session: Session, clock: Clock, result: JobResult, *, closures: Closures = None) -> None:
    now = clock.now()
    today = local_day(now, clock)
    if _closed(result, today, closures):
        return
    period = rounds.quarter_for(today)
    if period is None:
        result.note("no quarterly request in April–June (final-actuals asks for the year just closed)")
        return
    fy = fiscal_year_of(now, clock.tz)
    if not _covered(session, result, fy, now, closures, clock.tz):
        return
    due = request_due(today, closures)
    for section in reporting_sections(session):
        _request_round(
            session,
            result,
            section=section,
            fiscal_year=fy,
            period=period,
            due=due,
            now=now,
            tz=clock.tz,
            final=False,
            closures=closures,
        )


def plan_final_actuals(
    session: Session, clock: Clock, result: JobResult, *, closures: Closures = None
) -> None:
    now = clock.now()
    today = local_day(now, clock)
    if _closed(result, today, closures):
        return
    closed_year = fiscal_year_of(now, clock.tz) - 1
    due = date(closed_year + 1, *FINAL_DUE)
    if not (date(closed_year + 1, 4, 1) <= today <= due):
        result.note(f"final actuals are asked for between 1 April and {due.isoformat()}")
        return
    if not _covered(session, result, closed_year, now, closures, clock.tz):
        return
    for section in reporting_sections(session):
        _request_round(
            session,
            result,
            section=section,
            fiscal_year=closed_year,
            period=rounds.FINAL,
            due=due,
            now=now,
            tz=clock.tz,
            final=True,
            closures=closures,
        )


def plan_nudge(session: Session, clock: Clock, result: JobResult, *, closures: Closures = None) -> None:
    now = clock.now()
    today = local_day(now, clock)
    if _closed(result, today, closures):
        return
    for request_round in rounds.unanswered_rounds(session):
        if request_round.due_at >= now:
            continue
        state = rounds.refresh_answered(session, request_round, now)
        if not state.missing:
            continue
        if request_round.snoozed_until is not None and request_round.snoozed_until > now:
            result.note(f"{state.section.name} {request_round.period}: snoozed")
            continue
        if active_pause(session, request_round.section_id, now) is not None:
            result.note(f"{state.section.name} {request_round.period}: section paused")
            continue
        last = request_round.last_nudged_at
        if (
            last is not None
            and business_days_between(last.astimezone(clock.tz).date(), today, closures=closures)
            < NUDGE_EVERY
        ):
            continue
        intent = Nudge(
            section=state.section.name,
            fiscal_year=request_round.fiscal_year,
            due=rounds.due_date(request_round, clock.tz),
            days_late=rounds.days_late(request_round, now, clock.tz),
            missing=tuple(
                kpi_line(t.target, t.initiative, t.latest, due=rounds.due_date(request_round, clock.tz))
                for t in state.missing
            ),
        )
        if request_round.nudges < MAX_NUDGES:
            members = section_members(session, request_round.section_id, now)
            if not members:
                continue
            queue_intent(
                session,
                result,
                kind="nudge",
                base_key=f"nudge:{request_round.id}:{request_round.nudges + 1}",
                recipients=by_locale(members),
                intent_for=_in_every_locale(intent),
                section=state.section,
                not_before=next_send_time(now, tz=clock.tz, closures=closures),
                now=now,
            )
            request_round.nudges += 1
            request_round.last_nudged_at = now
        elif request_round.escalated_at is None:
            managers = [
                m for m in section_members(session, request_round.section_id, now) if m.role == "manager"
            ]
            recipients = managers or active_admins(session)
            if not recipients:
                continue
            queue_intent(
                session,
                result,
                kind="escalation",
                base_key=f"escalation:{request_round.id}",
                recipients=by_locale(recipients),
                intent_for=_in_every_locale(intent),
                section=state.section,
                not_before=next_send_time(now, tz=clock.tz, closures=closures),
                now=now,
            )
            request_round.escalated_at = now
        session.add(request_round)
