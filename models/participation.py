"""Participation: who a KPI request round asked, who answered and how fast, and the spread of grades.

Definitions (docs/notes-part.md says the same for users):

- A round, city-wide, is one request period: a fiscal year and Q1/Q2/Q3/final. A section's round is its
  KpiRequestRound of that period. The current round is the latest period requested by NOW in the scope
  (ordered by its first request), the previous round the one before it.
- Asked: the members recorded in kpiroundask when the round's request was queued (by member id, so a
  purge, which keeps the member row, or a later move changes nothing). A round sent before asks were
  recorded has none: it is "not recorded" (記録なし) and left out of every count.
- A figure answers a section's round when it is a KPI report of that section, for a KPI of the round's
  fiscal year, made at or after the round's request and before the section's next request of the same
  fiscal year (and by NOW). Voided figures count too: a figure corrected or withdrawn was still an answer.
- A section answered when any figure answers its round; a person answered when they were asked and
  reported such a figure themselves.
- Time to first figure: from the round's first asked_at (when the request went out) to its first answering
  figure (never below zero); city-wide the median over the sections that answered.
- Grades: every (KPI, reporting section) of the year by the status model's grade, − for no figure.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models import grades, kpi_status
from models.grade_scale import DEFAULT_SCALE, GradeScale
from models.rows import row_id
from models.tables import KpiReport, KpiRequestRound, KpiRoundAsk, KpiTarget, Member, Section

# --- recording who was asked ----------------------------------------------------------------------


def record_asked(session: Session, request_round: KpiRequestRound, members: Sequence[Member], rows) -> int:
    """Record the MEMBERS among the queued ROWS' recipients (on the row's platform) as asked by REQUEST_ROUND.

    Only rows this run created count (a re-run queues none), and only rows that will go out (a paused
    section's held rows ask nobody until released); a member already recorded is not added again, so
    re-sends and nudges never double count. Returns how many were added."""
    # (platform, id): a LINE member and a LINE WORKS member may share an id string, and a row goes to one.
    when = {
        (row.transport, r): row.not_before for row in rows if row.status != "held" for r in row.recipients
    }
    already = set(
        session.exec(select(KpiRoundAsk.member_id).where(KpiRoundAsk.round_id == request_round.id)).all()
    )
    added = 0
    for member in members:
        key = (member.transport, member.line_user_id)
        if key in when and member.id not in already:
            session.add(
                KpiRoundAsk(round_id=row_id(request_round), member_id=row_id(member), asked_at=when[key])
            )
            already.add(row_id(member))
            added += 1
    if added:
        session.flush()
    return added


def withdraw_asked(session: Session, request_round: KpiRequestRound, members: Sequence[Member]) -> int:
    """Forget that MEMBERS were asked by REQUEST_ROUND (its request was held before it went out)."""
    ids = [m.id for m in members]
    asks = session.exec(
        select(KpiRoundAsk).where(
            KpiRoundAsk.round_id == request_round.id, col(KpiRoundAsk.member_id).in_(ids)
        )
    ).all()
    for ask in asks:
        session.delete(ask)
    if asks:
        session.flush()
    return len(asks)


# --- plain data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """One member asked by one round, and when the request went out."""

    round_id: int
    member_id: int
    asked_at: datetime


@dataclass(frozen=True)
class Figure:
    """One reported figure, reduced to what participation needs."""

    section_id: int
    fiscal_year: int
    reporter_member_id: int | None
    reported_at: datetime


@dataclass(frozen=True)
class RoundRate:
    """Who answered one round: sections and people answered of asked, and the median time to a first figure."""

    fiscal_year: int
    period: str
    recorded: bool  # False: sent before who was asked was recorded (記録なし)
    sections_asked: int = 0
    sections_answered: int = 0
    people_asked: int = 0
    people_answered: int = 0
    median_to_first: timedelta | None = None

    @property
    def section_rate(self) -> int | None:
        return percent(self.sections_answered, self.sections_asked)

    @property
    def people_rate(self) -> int | None:
        return percent(self.people_answered, self.people_asked)


@dataclass(frozen=True)
class Participation:
    """A scope's (the whole scope: section None) current and previous round, and its grade counts."""

    section: str | None
    section_id: int | None
    current: RoundRate | None
    previous: RoundRate | None
    grades: tuple[tuple[str, int], ...]


def percent(part: int, whole: int) -> int | None:
    """PART of WHOLE in whole percent, half up (None when nobody was asked)."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


# --- pure computation -------------------------------------------------------------------------------


def round_keys(rounds: Iterable[KpiRequestRound], now: datetime) -> list[tuple[int, str]]:
    """The (fiscal year, period) of the rounds requested by NOW, oldest first by their first request."""
    first: dict[tuple[int, str], datetime] = {}
    for r in rounds:
        if r.requested_at <= now:
            key = (r.fiscal_year, r.period)
            first[key] = min(first.get(key, r.requested_at), r.requested_at)
    return sorted(first, key=lambda k: (first[k], k))


def window_ends(rounds: Iterable[KpiRequestRound]) -> dict[int, datetime | None]:
    """Each round's answering window end: the section's next request of the same fiscal year (None: open)."""
    by_section: dict[tuple[int, int], list[KpiRequestRound]] = defaultdict(list)
    for r in rounds:
        by_section[(r.section_id, r.fiscal_year)].append(r)
    ends: dict[int, datetime | None] = {}
    for group in by_section.values():
        group.sort(key=lambda r: (r.requested_at, r.id))
        for this, after in zip(group, [*group[1:], None], strict=True):
            ends[row_id(this)] = after.requested_at if after is not None else None
    return ends


@dataclass(frozen=True)
class _SectionRound:
    recorded: bool
    asked: frozenset[int]
    answered_people: frozenset[int]
    first_delay: timedelta | None  # None: nothing answered


def _section_round(
    request_round: KpiRequestRound,
    asks: list[Ask],
    figures: list[Figure],
    end: datetime | None,
    now: datetime,
) -> _SectionRound:
    if not asks:
        return _SectionRound(False, frozenset(), frozenset(), None)
    answering = [
        f
        for f in figures
        if f.section_id == request_round.section_id
        and f.fiscal_year == request_round.fiscal_year
        and request_round.requested_at <= f.reported_at <= now
        and (end is None or f.reported_at < end)
    ]
    asked = frozenset(a.member_id for a in asks)
    people = frozenset(f.reporter_member_id for f in answering if f.reporter_member_id in asked)
    delay = None
    if answering:
        sent = min(a.asked_at for a in asks)
        delay = max(timedelta(0), min(f.reported_at for f in answering) - sent)
    return _SectionRound(True, asked, people, delay)


def combine(fiscal_year: int, period: str, parts: list[_SectionRound]) -> RoundRate:
    """One RoundRate from the sections' rounds of one period (the unrecorded ones left out)."""
    recorded = [p for p in parts if p.recorded]
    if not recorded:
        return RoundRate(fiscal_year, period, recorded=False)
    delays = [p.first_delay for p in recorded if p.first_delay is not None]
    return RoundRate(
        fiscal_year,
        period,
        recorded=True,
        sections_asked=len(recorded),
        sections_answered=len(delays),
        people_asked=sum(len(p.asked) for p in recorded),
        people_answered=sum(len(p.answered_people) for p in recorded),
        # statistics.median sorts and averages, which timedelta supports; typeshed allows numbers only
        median_to_first=statistics.median(delays) if delays else None,  # type: ignore[type-var]
    )


def grade_counts(
    states: Iterable[kpi_status.KpiState], scale: GradeScale | None = None
) -> tuple[tuple[str, int], ...]:
    """How many KPI states have each grade of SCALE (Config.grade_scale; None: the default), then − (no
    figure), in that order."""
    labels = [label for label, _minimum in scale or DEFAULT_SCALE] + [grades.NO_GRADE]
    counts = dict.fromkeys(labels, 0)
    for state in states:
        counts[state.grade] = counts.get(state.grade, 0) + 1
    return tuple(counts.items())


def compute(
    rounds: list[KpiRequestRound],
    asks: list[Ask],
    figures: list[Figure],
    states: list[kpi_status.KpiState],
    sections: list[Section],
    now: datetime,
    scale: GradeScale | None = None,
) -> tuple[Participation, list[Participation]]:
    """The scope's participation and each section's, from plain data (the rounds of every year in scope)."""
    keys = round_keys(rounds, now)
    wanted = keys[-2:][::-1]  # current, previous
    ends = window_ends(rounds)
    asks_by_round: dict[int, list[Ask]] = defaultdict(list)
    for ask in asks:
        asks_by_round[ask.round_id].append(ask)
    parts: dict[tuple[int, str], dict[int, _SectionRound]] = {k: {} for k in wanted}
    for r in rounds:
        key = (r.fiscal_year, r.period)
        if key in parts and r.requested_at <= now:
            parts[key][r.section_id] = _section_round(
                r, asks_by_round[row_id(r)], figures, ends[row_id(r)], now
            )

    def rate(key_index: int, section_id: int | None) -> RoundRate | None:
        if key_index >= len(wanted):
            return None
        key = wanted[key_index]
        if section_id is None:
            return combine(*key, list(parts[key].values()))
        part = parts[key].get(section_id)
        return None if part is None else combine(*key, [part])

    whole = Participation(None, None, rate(0, None), rate(1, None), grade_counts(states, scale))
    each = [
        Participation(
            s.name,
            s.id,
            rate(0, s.id),
            rate(1, s.id),
            grade_counts((st for st in states if st.section_id == s.id), scale),
        )
        for s in sections
    ]
    return whole, each


# --- reading ----------------------------------------------------------------------------------------


def participation(
    session: Session,
    now: datetime,
    sections: list[Section] | None = None,
    *,
    states: list[kpi_status.KpiState] | None = None,
    fiscal_year: int | None = None,
    scale: GradeScale | None = None,
) -> tuple[Participation, list[Participation]]:
    """Participation of SECTIONS (None: city-wide, with every reporting section listed) as of NOW.

    STATES: the scope's KPI states of the year when the caller has them (else read for FISCAL_YEAR);
    SCALE: Config.grade_scale."""
    listed = kpi_status.reporting_sections(session) if sections is None else sections
    if states is None:
        states = kpi_status.kpi_states(session, now, sections, fiscal_year, scale=scale)
    query = select(KpiRequestRound).where(KpiRequestRound.requested_at <= now)
    if sections is not None:
        query = query.where(col(KpiRequestRound.section_id).in_([s.id for s in sections] or [-1]))
    rounds = list(
        session.exec(query.order_by(col(KpiRequestRound.requested_at), col(KpiRequestRound.id))).all()
    )
    wanted = set(round_keys(rounds, now)[-2:])
    chosen = [r for r in rounds if (r.fiscal_year, r.period) in wanted]
    asks, figures = _read_asks(session, chosen), _read_figures(session, chosen, now)
    return compute(rounds, asks, figures, states, listed, now, scale)


def _read_asks(session: Session, rounds: list[KpiRequestRound]) -> list[Ask]:
    if not rounds:
        return []
    rows = session.exec(
        select(KpiRoundAsk.round_id, KpiRoundAsk.member_id, KpiRoundAsk.asked_at).where(
            col(KpiRoundAsk.round_id).in_([r.id for r in rounds])
        )
    ).all()
    return [Ask(*row) for row in rows]


def _read_figures(session: Session, rounds: list[KpiRequestRound], now: datetime) -> list[Figure]:
    """Every figure (voided included) the rounds' sections reported for the rounds' years since the first."""
    if not rounds:
        return []
    rows = session.exec(
        select(
            KpiReport.section_id, KpiTarget.fiscal_year, KpiReport.reporter_member_id, KpiReport.reported_at
        )
        .join(KpiTarget, col(KpiTarget.id) == KpiReport.kpi_target_id)
        .where(
            col(KpiReport.section_id).in_(list({r.section_id for r in rounds})),
            col(KpiTarget.fiscal_year).in_(list({r.fiscal_year for r in rounds})),
            KpiReport.reported_at >= min(r.requested_at for r in rounds),
            KpiReport.reported_at <= now,
        )
    ).all()
    return [Figure(*row) for row in rows]


# --- JSON -----------------------------------------------------------------------------------------


def rate_json(found: RoundRate | None) -> dict | None:
    """A RoundRate as `dxbot digest --json` shows it (rates in percent; hours to 0.1)."""
    if found is None:
        return None
    hours = None
    if found.median_to_first is not None:
        hours = round(found.median_to_first.total_seconds() / 3600, 1)
    return {
        "fiscal_year": found.fiscal_year,
        "period": found.period,
        "recorded": found.recorded,
        "sections_asked": found.sections_asked,
        "sections_answered": found.sections_answered,
        "section_rate": found.section_rate,
        "people_asked": found.people_asked,
        "people_answered": found.people_answered,
        "people_rate": found.people_rate,
        "median_hours_to_first_figure": hours,
    }


def participation_json(found: Participation) -> dict:
    """A Participation as `dxbot digest --json` shows it."""
    data = {"section": found.section} if found.section is not None else {}
    return {
        **data,
        "current": rate_json(found.current),
        "previous": rate_json(found.previous),
        "grades": dict(found.grades),
    }
