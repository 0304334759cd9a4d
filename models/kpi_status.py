"""Where each KPI stands: per (KPI target, reporting section), the latest figure, grade, projection and risk.

Plain functions of (session, …, now) shared by the digest, chat commands, dashboard and exports, in a fixed
number of queries however many reports there are: the latest valid report per (KPI target, section) is one
index seek each (ix_kpireport_latest).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import overload

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from models.editions import edition_id_of_year, in_edition
from models.fiscal_year import fiscal_year_of
from models.grade_scale import GradeScale
from models.grades import achievement_rate, below_target, grade_of, projected_value
from models.rows import known, row_id
from models.tables import Initiative, InitiativeSection, KpiReport, KpiRequestRound, KpiTarget, Section

ROUNDS_BEFORE_AT_RISK = 2  # no report at all by the second request of the year → at risk


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
    ids = select(col(InitiativeSection.section_id)).where(col(InitiativeSection.section_id).is_not(None))
    return list(session.exec(select(Section).where(col(Section.id).in_(ids)).order_by(Section.name)).all())


def lead_sections(session: Session, edition_id: int | None) -> dict[str, int]:
    """Each initiative's lead section id (is_lead, else its first concrete section) in one plan edition."""
    return {
        code: lead
        for (edition, code), lead in lead_sections_by_edition(session).items()
        if edition == edition_id
    }


def lead_sections_by_edition(session: Session) -> dict[tuple[int, str], int]:
    """lead_sections of every edition, by (edition id, initiative id): for rows of several years."""
    leads: dict[tuple[int, str], int] = {}
    links = session.exec(
        select(InitiativeSection)
        .where(col(InitiativeSection.section_id).is_not(None))
        .order_by(col(InitiativeSection.is_lead).desc(), col(InitiativeSection.position))
    ).all()
    for link in links:
        leads.setdefault(
            (link.edition_id, link.initiative_id), known(link.section_id, "a lead link's section")
        )
    return leads


def rounds_by_section(session: Session, fiscal_year: int, now: datetime) -> Counter:
    """How many KPI requests each section has had for FISCAL_YEAR by NOW."""
    rows = session.exec(
        select(KpiRequestRound.section_id, func.count())
        .where(KpiRequestRound.fiscal_year == fiscal_year, KpiRequestRound.requested_at <= now)
        .group_by(col(KpiRequestRound.section_id))
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
    edition_id: int | None = None,
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
            col(candidate.voided_at).is_(None),
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
        .join(Initiative, in_edition(KpiTarget))
        .join(InitiativeSection, in_edition(KpiTarget, InitiativeSection))
        .outerjoin(newest, col(newest.id) == newest_id)
        .where(col(InitiativeSection.section_id).is_not(None), col(KpiTarget.removed_at).is_(None))
        .order_by(
            col(Initiative.measure_no),
            col(Initiative.position),
            col(KpiTarget.fiscal_year),
            col(KpiTarget.position),
        )
    )
    if section_ids is not None:
        query = query.where(col(InitiativeSection.section_id).in_(list(section_ids) or [-1]))
    if fiscal_year is not None:
        query = query.where(KpiTarget.fiscal_year == fiscal_year)
    if initiative_ids is not None:
        query = query.where(col(KpiTarget.initiative_id).in_(list(initiative_ids) or [""]))
    if series_id is not None:
        query = query.where(KpiTarget.series_id == series_id)
    if edition_id is not None:
        query = query.where(KpiTarget.edition_id == edition_id)
    seen: set[tuple[int, int]] = set()
    rows: list[tuple[KpiTarget, Initiative, int, KpiReport | None]] = []
    for target, initiative, link_section_id, report in session.exec(query).all():
        section_id = known(link_section_id, "a reporting link's section")  # the query wants one
        if (row_id(target), section_id) not in seen:  # a section listed twice in one initiative counts once
            seen.add((row_id(target), section_id))
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
    scale: GradeScale | None = None,
) -> list[KpiState]:
    """Every (KPI target, reporting section) of the year: latest value by NOW, rate, grade, projection, risk.

    INITIATIVE_IDS narrows to those initiatives; LEADS (lead_sections) saves a query when the caller has it;
    SCALE is Config.grade_scale (DXBOT_GRADE_SCALE; None: the default S/A/B/C)."""
    fy = fiscal_year if fiscal_year is not None else fiscal_year_of(now)
    sections = reporting_sections(session) if sections is None else sections
    by_id = {s.id: s for s in sections}
    if not by_id:
        return []
    rows = latest_rows(
        session, now, section_ids={row_id(s) for s in sections}, fiscal_year=fy, initiative_ids=initiative_ids
    )
    asked = rounds_by_section(session, fy, now)
    leads = lead_sections(session, edition_id_of_year(session, fy)) if leads is None else leads
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
                grade=grade_of(rate, scale),
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


@overload
def number(value: Decimal) -> int | float: ...
@overload
def number(value: Decimal | None) -> int | float | None: ...
def number(value: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number (int when whole)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def state_json(state: KpiState) -> dict:
    """A KpiState with the keys the digest JSON promises (and a few more)."""
    return {
        "section": state.section,
        "initiative": state.initiative.title,
        "initiative_id": state.initiative.id,
        "edition": state.target.edition_id,  # the plan edition the ids belong to (1-1 may recur in the next plan)
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
