"""How a section stands — late, unreported, at risk or on track — and its open request round: one reading
for 状況, 課, the digests and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models.fiscal_year import fiscal_year_of
from models.follow_up_status import FollowUps, round_due
from models.kpi_status import KpiState
from models.rows import row_id
from models.tables import Section

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
    session: Session, now: datetime, sections: list[Section] | None = None, *, tz: ZoneInfo
) -> dict[int, RoundStatus]:
    """Each section's oldest round requested by NOW that still misses figures (none when all answered); due
    dates and days late on TZ's calendar (the clock's: DXBOT_TIMEZONE)."""
    from models.rounds import rounds_progress, rounds_requested_in

    if sections is None:
        sections = list(session.exec(select(Section)).all())
    ids = list(dict.fromkeys(row_id(s) for s in sections))
    return rounds_open_in(
        rounds_progress(session, rounds_requested_in(session, fiscal_year_of(now, tz), ids, tz)), now, tz
    )


def rounds_open_in(progresses: list, now: datetime, tz: ZoneInfo) -> dict[int, RoundStatus]:
    """open_rounds from the year's rounds' progress already read (models.rounds.RoundProgress, in order)."""
    from models.rounds import ended

    today = now.astimezone(tz).date()
    found: dict[int, RoundStatus] = {}
    for progress in progresses:
        request_round = progress.request_round
        if request_round.requested_at > now or ended(request_round, now):
            continue
        if not progress.missing or request_round.section_id in found:
            continue
        due = round_due(request_round, tz)
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
        open_round = rounds.get(row_id(section))
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
                section_id=row_id(section),
                state=state,
                reported=reported,
                expected=len(mine),
                open_round=open_round,
                unconfirmed=sum(1 for e in follow.unconfirmed if e.section_id == section.id),
            )
        )
    return result


def round_json(found: RoundStatus, tz: ZoneInfo) -> dict:
    """A RoundStatus as the digest JSON shows it (snoozed_until in TZ, the city's timezone)."""
    return {
        "section": found.section,
        "fiscal_year": found.fiscal_year,
        "period": found.period,
        "due": found.due.isoformat(),
        "days_late": found.days_late,
        "snoozed_until": found.snoozed_until.astimezone(tz).isoformat() if found.snoozed_until else None,
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
