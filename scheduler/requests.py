"""KPI request rounds: one row per section and period, so nudges, snoozes and digests know who answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.clock import DEFAULT_TIMEZONE
from models.fiscal_year import fiscal_year_end, fiscal_year_start
from models.reports import OpenTarget, open_targets
from models.tables import KpiReport, KpiRequestRound, Section

TOKYO = ZoneInfo(DEFAULT_TIMEZONE)
QUARTER_OF_MONTH = {7: "Q1", 8: "Q1", 9: "Q1", 10: "Q2", 11: "Q2", 12: "Q2", 1: "Q3", 2: "Q3", 3: "Q3"}
FINAL = "final"
PERIODS = ("Q1", "Q2", "Q3", FINAL)


def quarter_for(day: date) -> str | None:
    """The quarter a request made on DAY asks about (July → Q1 …); None in April–June (final-actuals time)."""
    return QUARTER_OF_MONTH.get(day.month)


def end_of_day(day: date, tz: ZoneInfo = TOKYO) -> datetime:
    """The last moment of DAY (local), so a request due on DAY is late only from the next day on."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def due_date(request_round: KpiRequestRound, tz: ZoneInfo = TOKYO) -> date:
    """The day a round is due, on the city's calendar."""
    return request_round.due_at.astimezone(tz).date()


def days_late(request_round: KpiRequestRound, now: datetime, tz: ZoneInfo = TOKYO) -> int:
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
    session: Session, section: Section, fiscal_year: int, period: str, *, due: date, now: datetime
) -> tuple[KpiRequestRound, bool]:
    """Return the section's round for PERIOD, opening it (requested now, due on DUE) the first time; True when new."""
    existing = find_round(session, section.id, fiscal_year, period)
    if existing is not None:
        return existing, False
    request_round = KpiRequestRound(
        section_id=section.id,
        fiscal_year=fiscal_year,
        period=period,
        requested_at=now,
        due_at=end_of_day(due),
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
    """The round's KPIs and which have no valid report since the request (one query for the reports)."""
    section = session.get(Section, request_round.section_id)
    targets = open_targets(session, section, request_round.fiscal_year)
    ids = [t.target.id for t in targets]
    answered: set[int] = set()
    if ids:
        answered = set(
            session.exec(
                select(KpiReport.kpi_target_id).where(
                    col(KpiReport.kpi_target_id).in_(ids),
                    KpiReport.section_id == section.id,
                    KpiReport.voided_at.is_(None),
                    KpiReport.reported_at >= request_round.requested_at,
                )
            ).all()
        )
    missing = [t for t in targets if t.target.id not in answered]
    return RoundProgress(request_round, section, targets, missing)


def refresh_answered(session: Session, request_round: KpiRequestRound, now: datetime) -> RoundProgress:
    """Mark the round answered once every KPI has a valid report made after the request; return its progress."""
    state = progress(session, request_round)
    if request_round.answered_at is None and not state.missing:
        latest = session.exec(
            select(KpiReport.reported_at)
            .where(
                col(KpiReport.kpi_target_id).in_([t.target.id for t in state.targets] or [-1]),
                KpiReport.section_id == request_round.section_id,
                KpiReport.voided_at.is_(None),
                KpiReport.reported_at >= request_round.requested_at,
            )
            .order_by(col(KpiReport.reported_at).desc())
            .limit(1)
        ).first()
        request_round.answered_at = latest or now
        session.add(request_round)
    return state


def unanswered_rounds(session: Session, section_ids: list[int] | None = None) -> list[KpiRequestRound]:
    """Rounds still waiting for figures (optionally only some sections'), oldest first."""
    query = select(KpiRequestRound).where(KpiRequestRound.answered_at.is_(None))
    if section_ids is not None:
        query = query.where(col(KpiRequestRound.section_id).in_(section_ids or [-1]))
    return list(session.exec(query.order_by(KpiRequestRound.requested_at, KpiRequestRound.id)).all())


def rounds_requested_in(
    session: Session, fiscal_year: int, section_ids: list[int], tz: ZoneInfo = TOKYO
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
            .order_by(KpiRequestRound.requested_at, KpiRequestRound.id)
        ).all()
    )


def sections_asked_in(session: Session, fiscal_year: int, tz: ZoneInfo = TOKYO) -> list[Section]:
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
    for request_round in unanswered_rounds(session, section_ids):
        if refresh_answered(session, request_round, now).missing:
            request_round.snoozed_until = until
            session.add(request_round)
            rounds.append(request_round)
    session.flush()
    return rounds
