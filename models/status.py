"""Where the plan stands: KPI grades, projections and at-risk KPIs, overdue and postponed items.

Plain functions of (session, …, now) shared by the digest, chat commands, dashboard and exports. The reads
take a fixed number of queries however many reports there are: the latest valid report per (KPI target,
section) is one index seek each (ix_kpireport_latest), the unanswered KPIs of late request rounds one NOT
EXISTS query.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from models.clock import DEFAULT_TIMEZONE
from models.fiscal_year import fiscal_year_end, fiscal_year_of, fraction_elapsed
from models.reports import achievement
from models.tables import (
    ActionItem,
    ActionSectionStatus,
    Initiative,
    InitiativeSection,
    KpiReport,
    KpiRequestRound,
    KpiTarget,
    PlanImport,
    Section,
)

TOKYO = ZoneInfo(DEFAULT_TIMEZONE)
GRADE_SCALE_ENV = "DXBOT_GRADE_SCALE"
DEFAULT_GRADE_SCALE = "S:110,A:100,B:80,C:0"
NO_GRADE = "−"
LIVE_SINCE_ENV = "DXBOT_LIVE_SINCE"
FINAL_DUE = (5, 31)  # final actuals are overdue only after 31 May (出納整理期間)
ROUNDS_BEFORE_AT_RISK = 2  # no report at all by the second request of the year → at risk
DONE, LATE, POSTPONED, NOT_STARTED = "完了", "遅延", "延期", "未着手"


# --- grades ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def parse_grade_scale(text: str) -> tuple[tuple[str, Decimal], ...]:
    """Read a scale like "S:110,A:100,B:80,C:0" into (grade, minimum %) pairs, highest first."""
    pairs = []
    for part in text.split(","):
        label, sep, minimum = part.strip().partition(":")
        if not sep or not label.strip():
            raise ValueError(f"{GRADE_SCALE_ENV}: {part!r} is not GRADE:PERCENT (e.g. {DEFAULT_GRADE_SCALE})")
        try:
            pairs.append((label.strip(), Decimal(minimum.strip())))
        except ArithmeticError as exc:
            raise ValueError(f"{GRADE_SCALE_ENV}: {minimum!r} is not a number") from exc
    return tuple(sorted(pairs, key=lambda p: p[1], reverse=True))


def grade_scale() -> tuple[tuple[str, Decimal], ...]:
    """The scale in force (DXBOT_GRADE_SCALE or the default S/A/B/C)."""
    return parse_grade_scale(os.environ.get(GRADE_SCALE_ENV, "").strip() or DEFAULT_GRADE_SCALE)


def grade_of(rate: Decimal | float | None, scale: tuple[tuple[str, Decimal], ...] | None = None) -> str:
    """The grade of an achievement rate (percent); "−" when there is no report."""
    if rate is None:
        return NO_GRADE
    scale = scale or grade_scale()
    rate = Decimal(str(rate))
    for label, minimum in scale:
        if rate >= minimum:
            return label
    return scale[-1][0]


# --- achievement and projection ---------------------------------------------------------------------


def achievement_rate(target: KpiTarget, value: Decimal | None) -> Decimal | None:
    """Percent of target reached: level, increase (the increase reported), reduction, lower-is-better."""
    return achievement(target, value)


def is_prorated(target: KpiTarget) -> bool:
    """Whether the KPI is a per-year count (pro-rated); levels, rates, increases and monthly counts are not."""
    return target.period == "year" and target.unit != "%" and target.kind != "increase"


def projected_value(target: KpiTarget, report: KpiReport | None) -> Decimal | None:
    """The year-end value the latest report points to (per-year counts pro-rated to the report's date)."""
    if report is None:
        return None
    value = report.value
    if not is_prorated(target):
        return value
    share = fraction_elapsed(report.reported_at, target.fiscal_year)
    if share <= 0 or share >= 1:
        return value
    return (value / Decimal(str(share))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def below_target(target: KpiTarget, value: Decimal | None) -> bool:
    """Whether VALUE falls short of the target in the KPI's own direction."""
    if value is None:
        return False
    if target.better == "lower":
        return value > target.target
    return value < target.target


# --- KPI states -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiState:
    """One KPI target as one reporting section stands on it."""

    section: str
    section_id: int
    initiative: Initiative
    target: KpiTarget
    latest: KpiReport | None
    value: Decimal | None
    rate: Decimal | None
    grade: str
    projected: Decimal | None
    at_risk: bool
    reason: str | None = None  # below-target | no-report
    lead: bool = False  # the lead section's state is the initiative's figure


def reporting_sections(session: Session) -> list[Section]:
    """Sections initiatives name directly, by name."""
    ids = select(InitiativeSection.section_id).where(InitiativeSection.section_id.is_not(None))
    return list(session.exec(select(Section).where(col(Section.id).in_(ids)).order_by(Section.name)).all())


def lead_sections(session: Session) -> dict[str, int]:
    """Each initiative's lead section id (is_lead, else its first concrete section)."""
    leads: dict[str, int] = {}
    links = session.exec(
        select(InitiativeSection)
        .where(InitiativeSection.section_id.is_not(None))
        .order_by(col(InitiativeSection.is_lead).desc(), InitiativeSection.position)
    ).all()
    for link in links:
        leads.setdefault(link.initiative_id, link.section_id)
    return leads


def rounds_by_section(session: Session, fiscal_year: int, now: datetime) -> Counter:
    """How many KPI requests each section has had for FISCAL_YEAR by NOW."""
    rows = session.exec(
        select(KpiRequestRound.section_id, func.count())
        .where(KpiRequestRound.fiscal_year == fiscal_year, KpiRequestRound.requested_at <= now)
        .group_by(KpiRequestRound.section_id)
    ).all()
    return Counter(dict(rows))


def latest_rows(
    session: Session,
    now: datetime,
    *,
    section_ids: set[int] | None = None,
    fiscal_year: int | None = None,
    initiative_ids: set[str] | None = None,
    series_id: str | None = None,
) -> list[tuple[KpiTarget, Initiative, int, KpiReport | None]]:
    """Every (KPI target, directly named section) with the newest valid report made by NOW, in plan order.

    One query: the newest report is a correlated LIMIT 1 subquery per pair, an index seek on
    ix_kpireport_latest, so the time does not grow with the reports of other pairs."""
    newest = aliased(KpiReport, name="newest")
    candidate = aliased(KpiReport, name="candidate")
    newest_id = (
        select(candidate.id)
        .where(
            candidate.kpi_target_id == KpiTarget.id,
            candidate.section_id == InitiativeSection.section_id,
            candidate.voided_at.is_(None),
            candidate.reported_at <= now,
        )
        # voided_at (always NULL here) leads so PostgreSQL reads ix_kpireport_latest backwards, no sort.
        .order_by(
            col(candidate.voided_at).desc(), col(candidate.reported_at).desc(), col(candidate.id).desc()
        )
        .limit(1)
        .correlate(KpiTarget, InitiativeSection)
        .scalar_subquery()
    )
    query = (
        select(KpiTarget, Initiative, InitiativeSection.section_id, newest)
        .join(Initiative, Initiative.id == KpiTarget.initiative_id)
        .join(InitiativeSection, InitiativeSection.initiative_id == KpiTarget.initiative_id)
        .outerjoin(newest, newest.id == newest_id)
        .where(InitiativeSection.section_id.is_not(None), KpiTarget.removed_at.is_(None))
        .order_by(Initiative.measure_no, Initiative.position, KpiTarget.fiscal_year, KpiTarget.position)
    )
    if section_ids is not None:
        query = query.where(col(InitiativeSection.section_id).in_(list(section_ids) or [-1]))
    if fiscal_year is not None:
        query = query.where(KpiTarget.fiscal_year == fiscal_year)
    if initiative_ids is not None:
        query = query.where(col(KpiTarget.initiative_id).in_(list(initiative_ids) or [""]))
    if series_id is not None:
        query = query.where(KpiTarget.series_id == series_id)
    seen: set[tuple[int, int]] = set()
    rows = []
    for target, initiative, section_id, report in session.exec(query).all():
        if (target.id, section_id) not in seen:  # a section listed twice in one initiative counts once
            seen.add((target.id, section_id))
            rows.append((target, initiative, section_id, report))
    return rows


def kpi_states(
    session: Session,
    now: datetime,
    sections: list[Section] | None = None,
    fiscal_year: int | None = None,
    *,
    initiative_ids: set[str] | None = None,
    leads: dict[str, int] | None = None,
) -> list[KpiState]:
    """Every (KPI target, reporting section) of the year: latest value by NOW, rate, grade, projection, risk.

    INITIATIVE_IDS narrows to those initiatives; LEADS (lead_sections) saves a query when the caller has it."""
    fy = fiscal_year if fiscal_year is not None else fiscal_year_of(now)
    sections = reporting_sections(session) if sections is None else sections
    by_id = {s.id: s for s in sections}
    if not by_id:
        return []
    rows = latest_rows(session, now, section_ids=set(by_id), fiscal_year=fy, initiative_ids=initiative_ids)
    asked = rounds_by_section(session, fy, now)
    leads = lead_sections(session) if leads is None else leads
    states = []
    for target, initiative, section_id, report in rows:
        value = report.value if report is not None else None
        rate = achievement_rate(target, value)
        projected = projected_value(target, report)
        if report is not None:
            reason = "below-target" if below_target(target, projected) else None
        else:
            reason = "no-report" if asked[section_id] >= ROUNDS_BEFORE_AT_RISK else None
        states.append(
            KpiState(
                section=by_id[section_id].name,
                section_id=section_id,
                initiative=initiative,
                target=target,
                latest=report,
                value=value,
                rate=rate,
                grade=grade_of(rate),
                projected=projected,
                at_risk=reason is not None,
                reason=reason,
                lead=leads.get(initiative.id) == section_id,
            )
        )
    states.sort(key=lambda s: by_id[s.section_id].name)  # stable: plan order within a section
    return states


def at_risk(states: list[KpiState]) -> list[KpiState]:
    """The at-risk states, in the order given."""
    return [s for s in states if s.at_risk]


def initiative_figures(states: list[KpiState]) -> list[KpiState]:
    """One state per KPI target: its lead section's (the initiative's figure)."""
    return [s for s in states if s.lead]


# --- a section's open round and state (状況, 課, digests, dashboard: one reading) ----------------------------

LATE_STATE, UNREPORTED, AT_RISK, ON_TRACK = "late", "unreported", "at-risk", "on-track"


@dataclass(frozen=True)
class RoundStatus:
    """A section's open KPI request round as every view shows it: due date, days late, snoozed until."""

    section: str
    section_id: int
    fiscal_year: int
    period: str
    due: date
    days_late: int  # 0 until the day after the due date
    snoozed_until: datetime | None  # only while the snooze lasts
    reported: int  # the round's KPIs with a figure since the request
    expected: int


@dataclass(frozen=True)
class SectionState:
    """How one section stands: late, unreported (a KPI without a figure), at risk or on track."""

    section: str
    section_id: int
    state: str
    reported: int  # the year's KPIs with a figure
    expected: int
    open_round: RoundStatus | None
    unconfirmed: int


def open_rounds(
    session: Session, now: datetime, sections: list[Section] | None = None
) -> dict[int, RoundStatus]:
    """Each section's oldest round requested by NOW that still misses figures (none when all answered)."""
    from models.rounds import rounds_progress, rounds_requested_in

    if sections is None:
        sections = list(session.exec(select(Section)).all())
    ids = list(dict.fromkeys(s.id for s in sections))
    return rounds_open_in(
        rounds_progress(session, rounds_requested_in(session, fiscal_year_of(now), ids)), now
    )


def rounds_open_in(progresses: list, now: datetime) -> dict[int, RoundStatus]:
    """open_rounds from the year's rounds' progress already read (models.rounds.RoundProgress, in order)."""
    today = now.astimezone(TOKYO).date()
    found: dict[int, RoundStatus] = {}
    for progress in progresses:
        request_round = progress.request_round
        if request_round.requested_at > now or (
            request_round.answered_at is not None and request_round.answered_at <= now
        ):
            continue
        if not progress.missing or request_round.section_id in found:
            continue
        due = round_due(request_round)
        snoozed = request_round.snoozed_until
        found[request_round.section_id] = RoundStatus(
            section=progress.section.name,
            section_id=request_round.section_id,
            fiscal_year=request_round.fiscal_year,
            period=request_round.period,
            due=due,
            days_late=max(0, (today - due).days),
            snoozed_until=snoozed if snoozed is not None and snoozed > now else None,
            reported=progress.reported,
            expected=progress.expected,
        )
    return found


def section_states(
    sections: list[Section], states: list[KpiState], follow: FollowUps, rounds: dict[int, RoundStatus]
) -> list[SectionState]:
    """Each section's state from what the caller read: past due → late; nothing reported → unreported; any
    KPI at risk → at-risk; any KPI still without a figure → unreported; else on track (never for silence)."""
    result = []
    for section in sections:
        mine = [s for s in states if s.section_id == section.id]
        reported = sum(1 for s in mine if s.latest is not None)
        late = any(e.section_id == section.id for e in follow.overdue)
        open_round = rounds.get(section.id)
        if late or (open_round is not None and open_round.days_late > 0):
            state = LATE_STATE
        elif mine and reported == 0:
            state = UNREPORTED
        elif any(s.at_risk for s in mine):
            state = AT_RISK
        elif reported < len(mine):
            state = UNREPORTED
        else:
            state = ON_TRACK
        result.append(
            SectionState(
                section=section.name,
                section_id=section.id,
                state=state,
                reported=reported,
                expected=len(mine),
                open_round=open_round,
                unconfirmed=sum(1 for e in follow.unconfirmed if e.section_id == section.id),
            )
        )
    return result


def round_json(found: RoundStatus) -> dict:
    """A RoundStatus as the digest JSON shows it."""
    return {
        "section": found.section,
        "fiscal_year": found.fiscal_year,
        "period": found.period,
        "due": found.due.isoformat(),
        "days_late": found.days_late,
        "snoozed_until": found.snoozed_until.astimezone(TOKYO).isoformat() if found.snoozed_until else None,
        "reported": found.reported,
        "expected": found.expected,
    }


def section_state_json(found: SectionState) -> dict:
    """A SectionState as the digest JSON shows it."""
    return {
        "section": found.section,
        "state": found.state,
        "reported": found.reported,
        "expected": found.expected,
        "due": found.open_round.due.isoformat() if found.open_round else None,
        "days_late": found.open_round.days_late if found.open_round else None,
        "unconfirmed": found.unconfirmed,
    }


# --- overdue, postponed, unconfirmed --------------------------------------------------------------


@dataclass(frozen=True)
class OverdueEntry:
    """A late (or postponed, or unconfirmed) KPI figure or action item."""

    section: str
    initiative: str
    fiscal_year: int
    kind: str  # kpi | action
    item: str
    due: date | None
    days_overdue: int | None
    period: str | None = None  # the request round's period (Q1…, final) for KPI entries
    section_id: int | None = None
    initiative_id: str | None = None
    item_id: int | None = None  # the ActionItem id (action entries)


@dataclass(frozen=True)
class FollowUps:
    """Overdue entries, postponed (延期) items and never-filled-in items of years before go-live (未確認)."""

    overdue: list[OverdueEntry] = field(default_factory=list)
    postponed: list[OverdueEntry] = field(default_factory=list)
    unconfirmed: list[OverdueEntry] = field(default_factory=list)


def live_since(session: Session) -> date | None:
    """When the bot went live: DXBOT_LIVE_SINCE (a date), else the date of the first plan import."""
    text = os.environ.get(LIVE_SINCE_ENV, "").strip()
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{LIVE_SINCE_ENV}: {text!r} is not a date (e.g. 2026-04-01)") from exc
    first = session.exec(select(func.min(PlanImport.imported_at))).first()
    if first is None:
        return None
    return first.astimezone(TOKYO).date() if isinstance(first, datetime) and first.tzinfo else first.date()


def follow_ups(
    session: Session,
    now: datetime,
    sections: list[Section] | None = None,
    *,
    live: date | None = None,
) -> FollowUps:
    """KPI requests past due without an answer and action items late, postponed or unconfirmed, as of NOW."""
    result = FollowUps()
    section_ids = None if sections is None else {s.id for s in sections}
    names = {s.id: s.name for s in session.exec(select(Section)).all()}
    _kpi_overdue(session, now, section_ids, names, result)
    _action_follow_ups(session, now, section_ids, names, live or live_since(session), result)
    result.overdue.sort(key=lambda e: (e.section, -(e.days_overdue or 0), e.fiscal_year))
    return result


def overdue(session: Session, now: datetime, sections: list[Section] | None = None) -> list[OverdueEntry]:
    """Only the overdue entries of follow_ups."""
    return follow_ups(session, now, sections).overdue


def round_due(request_round: KpiRequestRound) -> date:
    """A round's due date on the city's calendar (never before 31 May for final actuals)."""
    due = request_round.due_at.astimezone(TOKYO).date()
    if request_round.period == "final":
        due = max(due, date(request_round.fiscal_year + 1, *FINAL_DUE))
    return due


def _kpi_overdue(session, now, section_ids, names, result: FollowUps) -> None:
    """KPIs of past-due, unanswered request rounds with no valid report since the request (two queries)."""
    from models.rounds import rounds_requested_in

    fy = fiscal_year_of(now)
    today = now.astimezone(TOKYO).date()
    ids = list(names) if section_ids is None else list(section_ids)
    late: dict[int, tuple[KpiRequestRound, date]] = {}
    for request_round in rounds_requested_in(session, fy, ids):
        if request_round.requested_at > now:
            continue
        if request_round.answered_at is not None and request_round.answered_at <= now:
            continue
        due = round_due(request_round)
        if today > due:
            late[request_round.id] = (request_round, due)
    if not late:
        return
    report = aliased(KpiReport, name="answer")
    answered = exists().where(
        report.kpi_target_id == KpiTarget.id,
        report.section_id == KpiRequestRound.section_id,
        report.voided_at.is_(None),
        report.reported_at >= KpiRequestRound.requested_at,
    )
    rows = session.exec(
        select(KpiRequestRound.id, KpiTarget, Initiative)
        .select_from(KpiRequestRound)
        .join(InitiativeSection, InitiativeSection.section_id == KpiRequestRound.section_id)
        .join(
            KpiTarget,
            and_(
                KpiTarget.initiative_id == InitiativeSection.initiative_id,
                KpiTarget.fiscal_year == KpiRequestRound.fiscal_year,
            ),
        )
        .join(Initiative, Initiative.id == KpiTarget.initiative_id)
        .where(col(KpiRequestRound.id).in_(list(late)), KpiTarget.removed_at.is_(None), ~answered)
        .order_by(Initiative.measure_no, Initiative.position, KpiTarget.position)
    ).all()
    missing: dict[int, list[tuple[KpiTarget, Initiative]]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for round_id, target, initiative in rows:
        if (round_id, target.id) not in seen:
            seen.add((round_id, target.id))
            missing[round_id].append((target, initiative))
    for round_id, (request_round, due) in late.items():
        for target, initiative in missing[round_id]:
            result.overdue.append(
                OverdueEntry(
                    section=names[request_round.section_id],
                    initiative=initiative.title,
                    fiscal_year=request_round.fiscal_year,
                    kind="kpi",
                    item=target.name,
                    due=due,
                    days_overdue=(today - due).days,
                    period=request_round.period,
                    section_id=request_round.section_id,
                    initiative_id=initiative.id,
                )
            )


def _action_follow_ups(session, now, section_ids, names, live, result: FollowUps) -> None:
    """Each section's own status of its items: any section that set 遅延/延期 is followed up for it; an
    item no section has touched is the lead section's to confirm (not 41 sections' for a 全所属 item)."""
    today = now.astimezone(TOKYO).date()
    fy_now = fiscal_year_of(now)
    leads = lead_sections(session)
    rows = session.exec(
        select(ActionItem, Initiative, ActionSectionStatus)
        .join(Initiative, Initiative.id == ActionItem.initiative_id)
        .outerjoin(ActionSectionStatus, ActionSectionStatus.action_item_id == ActionItem.id)
        .where(ActionItem.removed_at.is_(None))
        .order_by(
            ActionItem.fiscal_year,
            Initiative.measure_no,
            Initiative.position,
            ActionItem.position,
            ActionItem.id,
        )
    ).all()
    by_item: dict[int, dict[int, ActionSectionStatus]] = defaultdict(dict)
    items: dict[int, tuple[ActionItem, Initiative]] = {}
    for item, initiative, part in rows:
        items.setdefault(item.id, (item, initiative))
        if part is not None:
            by_item[item.id][part.section_id] = part
    rows = list(items.values())
    for item, initiative in rows:
        lead = leads.get(initiative.id)
        own = by_item.get(item.id, {})
        candidates = ([lead] if lead is not None else []) + sorted(s for s in own if s != lead)
        for section_id in candidates:
            if section_ids is not None and section_id not in section_ids:
                continue
            row = own.get(section_id)
            status, changed_at = (
                (row.status, row.status_changed_at) if row is not None else (NOT_STARTED, None)
            )
            if status != DONE:
                _action_entry(
                    item, initiative, section_id, status, changed_at, names, today, fy_now, live, result
                )


def _action_entry(
    item, initiative, section_id, status, changed_at, names, today, fy_now, live, result
) -> None:
    ended = item.fiscal_year < fy_now
    year_end = fiscal_year_end(item.fiscal_year).date()
    last_day = date(item.fiscal_year + 1, 3, 31)

    def entry(due: date | None) -> OverdueEntry:
        return OverdueEntry(
            section=names[section_id],
            initiative=initiative.title,
            fiscal_year=item.fiscal_year,
            kind="action",
            item=item.text,
            due=due,
            days_overdue=None if due is None else max(0, (today - due).days),
            section_id=section_id,
            initiative_id=initiative.id,
            item_id=item.id,
        )

    if status == POSTPONED:
        result.postponed.append(entry(None))
    elif status == LATE:
        marked = changed_at.astimezone(TOKYO).date() if changed_at else today
        result.overdue.append(entry(last_day if ended else min(marked, today)))
    elif ended:
        if live is not None and year_end <= live and changed_at is None:
            result.unconfirmed.append(entry(None))
        else:
            result.overdue.append(entry(last_day))


# --- JSON -----------------------------------------------------------------------------------------


def number(value: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number (int when whole)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def entry_json(entry: OverdueEntry) -> dict:
    """An OverdueEntry as the digest JSON shows it."""
    return {
        "section": entry.section,
        "initiative": entry.initiative,
        "fiscal_year": entry.fiscal_year,
        "kind": entry.kind,
        "item": entry.item,
        "due": entry.due.isoformat() if entry.due else None,
        "days_overdue": entry.days_overdue,
        "period": entry.period,
    }


def state_json(state: KpiState) -> dict:
    """A KpiState with the keys the digest JSON promises (and a few more)."""
    return {
        "section": state.section,
        "initiative": state.initiative.title,
        "initiative_id": state.initiative.id,
        "kpi": state.target.name,
        "kpi_id": state.target.series_id,
        "unit": state.target.unit,
        "value": number(state.value),
        "target": number(state.target.target),
        "projected": number(state.projected),
        "achievement": number(state.rate),
        "grade": state.grade,
        "at_risk": state.at_risk,
        "reason": state.reason,
        "lead": state.lead,
    }
