"""What needs following up: KPI figures of late request rounds, and action items late, postponed or never
confirmed; the unanswered KPIs of late rounds are one NOT EXISTS query however many reports there are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from models.editions import in_edition
from models.fiscal_year import fiscal_year_end, fiscal_year_of
from models.kpi_status import lead_sections_by_edition
from models.rows import row_id
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

FINAL_DUE = (5, 31)  # final actuals are overdue only after 31 May (出納整理期間)
DONE, LATE, POSTPONED, NOT_STARTED = "完了", "遅延", "延期", "未着手"


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


def live_since(session: Session, configured: date | None, tz: ZoneInfo) -> date | None:
    """When the bot went live: CONFIGURED (Config.live_since, DXBOT_LIVE_SINCE), else the date (in TZ) of the
    first plan import."""
    if configured is not None:
        return configured
    first = session.exec(select(func.min(PlanImport.imported_at))).first()
    if first is None:
        return None
    return first.astimezone(tz).date() if isinstance(first, datetime) and first.tzinfo else first.date()


def follow_ups(
    session: Session,
    now: datetime,
    sections: list[Section] | None = None,
    *,
    tz: ZoneInfo,
    live: date | None = None,
) -> FollowUps:
    """KPI requests past due without an answer and action items late, postponed or unconfirmed, as of NOW.

    TZ is the city's timezone (the clock's: DXBOT_TIMEZONE), whose calendar days "late" counts in. LIVE is
    Config.live_since (DXBOT_LIVE_SINCE); None: the date of the first plan import."""
    result = FollowUps()
    section_ids = None if sections is None else {s.id for s in sections}
    names = {s.id: s.name for s in session.exec(select(Section)).all()}
    _kpi_overdue(session, now, tz, section_ids, names, result)
    _action_follow_ups(session, now, tz, section_ids, names, live_since(session, live, tz), result)
    result.overdue.sort(key=lambda e: (e.section, -(e.days_overdue or 0), e.fiscal_year))
    return result


def overdue(
    session: Session, now: datetime, sections: list[Section] | None = None, *, tz: ZoneInfo
) -> list[OverdueEntry]:
    """Only the overdue entries of follow_ups."""
    return follow_ups(session, now, sections, tz=tz).overdue


def round_due(request_round: KpiRequestRound, tz: ZoneInfo) -> date:
    """A round's due date on the city's calendar, in TZ (never before 31 May for final actuals)."""
    due = request_round.due_at.astimezone(tz).date()
    if request_round.period == "final":
        due = max(due, date(request_round.fiscal_year + 1, *FINAL_DUE))
    return due


def _kpi_overdue(session, now, tz, section_ids, names, result: FollowUps) -> None:
    """KPIs of past-due, unanswered request rounds with no valid report since the request (two queries)."""
    from models.rounds import ended, rounds_requested_in

    fy = fiscal_year_of(now, tz)
    today = now.astimezone(tz).date()
    ids = list(names) if section_ids is None else list(section_ids)
    late: dict[int, tuple[KpiRequestRound, date]] = {}
    for request_round in rounds_requested_in(session, fy, ids, tz):
        if request_round.requested_at > now:
            continue
        if ended(request_round, now):
            continue
        due = round_due(request_round, tz)
        if today > due:
            late[row_id(request_round)] = (request_round, due)
    if not late:
        return
    report = aliased(KpiReport, name="answer")
    answered = exists().where(
        col(report.kpi_target_id) == KpiTarget.id,
        col(report.section_id) == KpiRequestRound.section_id,
        col(report.voided_at).is_(None),
        col(report.reported_at) >= KpiRequestRound.requested_at,
    )
    rows = session.exec(
        select(KpiRequestRound.id, KpiTarget, Initiative)
        .select_from(KpiRequestRound)
        .join(InitiativeSection, col(InitiativeSection.section_id) == KpiRequestRound.section_id)
        .join(
            KpiTarget,
            and_(
                col(KpiTarget.initiative_id) == InitiativeSection.initiative_id,
                col(KpiTarget.edition_id) == InitiativeSection.edition_id,
                col(KpiTarget.fiscal_year) == KpiRequestRound.fiscal_year,
            ),
        )
        .join(Initiative, in_edition(KpiTarget))
        .where(col(KpiRequestRound.id).in_(list(late)), col(KpiTarget.removed_at).is_(None), ~answered)
        .order_by(col(Initiative.measure_no), col(Initiative.position), col(KpiTarget.position))
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


def _action_follow_ups(session, now, tz, section_ids, names, live, result: FollowUps) -> None:
    """Each section's own status of its items: any section that set 遅延/延期 is followed up for it; an
    item no section has touched is the lead section's to confirm (not 41 sections' for a 全所属 item)."""
    today = now.astimezone(tz).date()
    fy_now = fiscal_year_of(now, tz)
    leads = lead_sections_by_edition(session)
    rows = session.exec(
        select(ActionItem, Initiative, ActionSectionStatus)
        .join(Initiative, in_edition(ActionItem))
        .outerjoin(ActionSectionStatus, col(ActionSectionStatus.action_item_id) == ActionItem.id)
        .where(col(ActionItem.removed_at).is_(None))
        .order_by(
            col(ActionItem.fiscal_year),
            col(Initiative.measure_no),
            col(Initiative.position),
            col(ActionItem.position),
            col(ActionItem.id),
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
        lead = leads.get((initiative.edition_id, initiative.id))
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
                    item, initiative, section_id, status, changed_at, names, today, fy_now, live, tz, result
                )


def _action_entry(
    item, initiative, section_id, status, changed_at, names, today, fy_now, live, tz, result
) -> None:
    ended = item.fiscal_year < fy_now
    year_end = fiscal_year_end(item.fiscal_year, tz).date()
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
        marked = changed_at.astimezone(tz).date() if changed_at else today
        result.overdue.append(entry(last_day if ended else min(marked, today)))
    elif ended:
        if live is not None and year_end <= live and changed_at is None:
            result.unconfirmed.append(entry(None))
        else:
            result.overdue.append(entry(last_day))


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
