"""KPI request rounds: one row per section and period, so nudges, snoozes and digests know who answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.fiscal_year import fiscal_year_end, fiscal_year_start
from models.reports import OpenTarget, open_targets_for_sections
from models.rows import known, row_id
from models.tables import KpiRequestRound, Section

QUARTER_OF_MONTH = {7: "Q1", 8: "Q1", 9: "Q1", 10: "Q2", 11: "Q2", 12: "Q2", 1: "Q3", 2: "Q3", 3: "Q3"}
FINAL = "final"
PERIODS = ("Q1", "Q2", "Q3", FINAL)


def quarter_for(day: date) -> str | None:
    """The quarter a request made on DAY asks about (July → Q1 …); None in April–June (final-actuals time)."""
    return QUARTER_OF_MONTH.get(day.month)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last moment of DAY (local), so a request due on DAY is late only from the next day on."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def due_date(request_round: KpiRequestRound, tz: ZoneInfo) -> date:
    """The day a round is due, on the city's calendar."""
    return request_round.due_at.astimezone(tz).date()


def days_late(request_round: KpiRequestRound, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days since the due date (0 while not yet late)."""
    return max(0, (now.astimezone(tz).date() - due_date(request_round, tz)).days)


def find_round(session: Session, section_id: int, fiscal_year: int, period: str) -> KpiRequestRound | None:
    """The round for this section and period, if one was opened."""
    return session.exec(
        select(KpiRequestRound).where(
            KpiRequestRound.section_id == section_id,
            KpiRequestRound.fiscal_year == fiscal_year,
            KpiRequestRound.period == period,
        )
    ).first()


def open_round(
    session: Session,
    section: Section,
    fiscal_year: int,
    period: str,
    *,
    due: date,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[KpiRequestRound, bool]:
    """Return the section's round for PERIOD, opening it (requested now, due at the end of DUE in TZ) the first
    time; True when new."""
    existing = find_round(session, row_id(section), fiscal_year, period)
    if existing is not None:
        return existing, False
    request_round = KpiRequestRound(
        section_id=row_id(section),
        fiscal_year=fiscal_year,
        period=period,
        requested_at=now,
        due_at=end_of_day(due, tz),
    )
    session.add(request_round)
    session.flush()
    return request_round, True


@dataclass(frozen=True)
class RoundProgress:
    """What a round asked for and what is still missing."""

    request_round: KpiRequestRound
    section: Section
    targets: list[OpenTarget]
    missing: list[OpenTarget]

    @property
    def expected(self) -> int:
        return len(self.targets)

    @property
    def reported(self) -> int:
        return len(self.targets) - len(self.missing)


def progress(session: Session, request_round: KpiRequestRound) -> RoundProgress:
    """The round's KPIs and which have no valid report since the request."""
    return rounds_progress(session, [request_round])[0]


def refresh_answered(session: Session, request_round: KpiRequestRound, now: datetime) -> RoundProgress:
    """Mark the round answered once every KPI has a valid report made after the request; return its progress."""
    return refresh_answered_rounds(session, [request_round], now)[0]


def rounds_progress(session: Session, rounds: list[KpiRequestRound]) -> list[RoundProgress]:
    """Each round's progress, in the order given, in two queries however many rounds and sections.

    A KPI is answered when the section has a valid (not voided) report for it made at or after the round's
    requested_at, i.e. when its newest valid report (OpenTarget.latest) was made then or later."""
    if not rounds:
        return []
    section_ids = {r.section_id for r in rounds}
    sections = {s.id: s for s in session.exec(select(Section).where(col(Section.id).in_(section_ids))).all()}
    targets = open_targets_for_sections(session, section_ids, {r.fiscal_year for r in rounds})
    states = []
    for request_round in rounds:
        mine = targets[(request_round.section_id, request_round.fiscal_year)]
        missing = [t for t in mine if not _answers(t, request_round)]
        states.append(RoundProgress(request_round, sections[request_round.section_id], mine, missing))
    return states


def refresh_answered_rounds(
    session: Session, rounds: list[KpiRequestRound], now: datetime
) -> list[RoundProgress]:
    """refresh_answered for many rounds (rounds_progress's queries, no more): a round with nothing missing
    is marked answered at its latest report since the request (NOW when it asked for no KPI)."""
    states = rounds_progress(session, rounds)
    for state in states:
        request_round = state.request_round
        if request_round.answered_at is None and not state.missing:
            request_round.answered_at = max(
                (known(t.latest, "an answer").reported_at for t in state.targets), default=now
            )
            session.add(request_round)
    return states


def _answers(target: OpenTarget, request_round: KpiRequestRound) -> bool:
    """Whether TARGET has a valid report made at or after the round's request."""
    return target.latest is not None and target.latest.reported_at >= request_round.requested_at


def ended(request_round: KpiRequestRound, now: datetime) -> bool:
    """Whether the round no longer waits for figures at NOW: answered, or closed by a section merge."""
    return any(at is not None and at <= now for at in (request_round.answered_at, request_round.closed_at))


def unanswered_rounds(session: Session, section_ids: list[int] | None = None) -> list[KpiRequestRound]:
    """Rounds still waiting for figures (optionally only some sections'), oldest first."""
    query = select(KpiRequestRound).where(
        col(KpiRequestRound.answered_at).is_(None), col(KpiRequestRound.closed_at).is_(None)
    )
    if section_ids is not None:
        query = query.where(col(KpiRequestRound.section_id).in_(section_ids or [-1]))
    return list(
        session.exec(query.order_by(col(KpiRequestRound.requested_at), col(KpiRequestRound.id))).all()
    )


def rounds_requested_in(
    session: Session, fiscal_year: int, section_ids: list[int], tz: ZoneInfo
) -> list[KpiRequestRound]:
    """Rounds requested during FISCAL_YEAR (its quarters, and April's final-actuals for the year before)."""
    if not section_ids:
        return []
    return list(
        session.exec(
            select(KpiRequestRound)
            .where(
                col(KpiRequestRound.section_id).in_(section_ids),
                KpiRequestRound.requested_at >= fiscal_year_start(fiscal_year, tz),
                KpiRequestRound.requested_at < fiscal_year_end(fiscal_year, tz),
            )
            .order_by(col(KpiRequestRound.requested_at), col(KpiRequestRound.id))
        ).all()
    )


def sections_asked_in(session: Session, fiscal_year: int, tz: ZoneInfo) -> list[Section]:
    """Sections that were asked for figures during FISCAL_YEAR, by name (the city-wide digest's pages)."""
    asked = select(KpiRequestRound.section_id).where(
        KpiRequestRound.requested_at >= fiscal_year_start(fiscal_year, tz),
        KpiRequestRound.requested_at < fiscal_year_end(fiscal_year, tz),
    )
    return list(session.exec(select(Section).where(col(Section.id).in_(asked)).order_by(Section.name)).all())


def snooze(session: Session, section_ids: list[int], *, days: int, now: datetime) -> list[KpiRequestRound]:
    """Hold back nudges for DAYS on the sections' unanswered rounds; returns the rounds snoozed."""
    until = now + timedelta(days=days)
    rounds = []
    for state in refresh_answered_rounds(session, unanswered_rounds(session, section_ids), now):
        if state.missing:
            state.request_round.snoozed_until = until
            session.add(state.request_round)
            rounds.append(state.request_round)
    session.flush()
    return rounds
