"""KPI reports: which targets a section may report now, recording, correcting and reading them back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.editions import in_edition
from models.rows import known, row_id
from models.tables import Initiative, InitiativeSection, KpiReport, KpiTarget, Member, Section


@dataclass(frozen=True)
class OpenTarget:
    """A KPI target a section can report for, with its initiative and latest report."""

    target: KpiTarget
    initiative: Initiative
    latest: KpiReport | None


def directly_named_initiative_ids(
    session: Session, section: Section, edition_id: int | None = None
) -> set[str]:
    """Initiatives that list SECTION itself in 担当課・室 (not through 全所属 or other groups), of one edition if given."""
    query = select(InitiativeSection.initiative_id).where(InitiativeSection.section_id == section.id)
    if edition_id is not None:
        query = query.where(InitiativeSection.edition_id == edition_id)
    rows = session.exec(query)
    return set(rows.all())


def open_targets(session: Session, section: Section, fiscal_year: int) -> list[OpenTarget]:
    """The KPI targets of FISCAL_YEAR that SECTION reports, in plan order, with their latest report."""
    return open_targets_for_sections(session, [row_id(section)], [fiscal_year])[
        (row_id(section), fiscal_year)
    ]


# open_targets_for_sections' newest valid report of a (KPI target, section) pair, correlated to KpiTarget and
# InitiativeSection: built once (aliasing the table on every call costs more than the query itself).
_NEWEST = aliased(KpiReport, name="newest")
_CANDIDATE = aliased(KpiReport, name="candidate")
_NEWEST_ID = (
    select(_CANDIDATE.id)
    .where(
        _CANDIDATE.kpi_target_id == KpiTarget.id,
        _CANDIDATE.section_id == InitiativeSection.section_id,
        col(_CANDIDATE.voided_at).is_(None),
    )
    # voided_at (NULL in every candidate) leads so PostgreSQL reads the index backwards, without a sort
    .order_by(col(_CANDIDATE.voided_at).desc(), col(_CANDIDATE.reported_at).desc(), col(_CANDIDATE.id).desc())
    .limit(1)
    .correlate(KpiTarget, InitiativeSection)
    .scalar_subquery()
)


# open_targets_for_sections' query, built once with the sections and years as parameters: SQLAlchemy then
# reuses its cache key too (building the statement and its key on each call cost a third of the query's time).
_OPEN_TARGETS = (
    select(InitiativeSection.section_id, KpiTarget, Initiative, _NEWEST)
    .join(Initiative, in_edition(KpiTarget))
    .join(InitiativeSection, in_edition(KpiTarget, InitiativeSection))
    .outerjoin(_NEWEST, col(_NEWEST.id) == _NEWEST_ID)
    .where(
        col(InitiativeSection.section_id).in_(bindparam("section_ids", expanding=True)),
        col(KpiTarget.fiscal_year).in_(bindparam("fiscal_years", expanding=True)),
        col(KpiTarget.removed_at).is_(None),
    )
    .order_by(
        col(Initiative.measure_no), col(Initiative.position), col(KpiTarget.position), col(KpiTarget.id)
    )
)


def open_targets_for_sections(
    session: Session, section_ids: Iterable[int], fiscal_years: Iterable[int]
) -> dict[tuple[int, int], list[OpenTarget]]:
    """open_targets for every (section id, fiscal year) asked, in one query however many there are.

    A section reports the targets of the initiatives that name it directly (directly_named_initiative_ids;
    once, even when an initiative lists it twice), not removed, in plan order; each with the section's
    newest valid report (newest reported_at, then id), a LIMIT 1 index seek on ix_kpireport_latest per
    (target, section). Every pair asked is a key (an empty list when the section reports nothing)."""
    section_ids, fiscal_years = sorted(set(section_ids)), sorted(set(fiscal_years))
    found: dict[tuple[int, int], list[OpenTarget]] = {(s, y): [] for s in section_ids for y in fiscal_years}
    if not found:
        return found
    rows = session.exec(
        _OPEN_TARGETS, params={"section_ids": section_ids, "fiscal_years": fiscal_years}
    ).all()
    seen: set[tuple[int, int]] = set()
    for link_section_id, target, initiative, latest in rows:
        section_id = known(link_section_id, "a reporting link's section")  # one of SECTION_IDS
        if (row_id(target), section_id) not in seen:  # a section listed twice in one initiative counts once
            seen.add((row_id(target), section_id))
            found[(section_id, target.fiscal_year)].append(
                OpenTarget(target=target, initiative=initiative, latest=latest)
            )
    return found


def latest_reports(session: Session, target_ids: list[int], section_id: int) -> dict[int, KpiReport]:
    """The newest valid report per target for one section (one query; only the newest rows are loaded)."""
    if not target_ids:
        return {}
    newest_first = (col(KpiReport.reported_at).desc(), col(KpiReport.id).desc())
    ranked = (
        select(
            KpiReport.id,
            func.row_number()
            .over(partition_by=col(KpiReport.kpi_target_id), order_by=newest_first)
            .label("rank"),
        )
        .where(
            col(KpiReport.kpi_target_id).in_(target_ids),
            KpiReport.section_id == section_id,
            col(KpiReport.voided_at).is_(None),
        )
        .subquery()
    )
    rows = session.exec(
        select(KpiReport).join(ranked, ranked.c.id == KpiReport.id).where(ranked.c.rank == 1)
    ).all()
    return {r.kpi_target_id: r for r in rows}


def achievement(target: KpiTarget, value: Decimal | None) -> Decimal | None:
    """Percent of the target reached, in the KPI's own direction (lower-is-better inverts it)."""
    if value is None or target.target is None:
        return None
    if target.better == "lower":
        if value <= 0:
            return None
        rate = target.target / value * 100
    else:
        if target.target == 0:
            return None
        rate = value / target.target * 100
    return rate.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def record_report(
    session: Session,
    *,
    target: KpiTarget,
    section: Section,
    value: Decimal,
    now: datetime,
    reporter: Member | None = None,
    unit_written: str | None = None,
    source_message_id: str | None = None,
    source_text: str | None = None,
) -> KpiReport:
    """Store a figure for TARGET on behalf of SECTION; who, when and from which message go with it."""
    report = KpiReport(
        kpi_target_id=row_id(target),
        section_id=row_id(section),
        value=value,
        unit_written=unit_written,
        reporter_member_id=reporter.id if reporter else None,
        source_message_id=source_message_id,
        source_text=source_text,
        reported_at=now,
    )
    session.add(report)
    session.flush()
    return report


def last_report_by(session: Session, member: Member) -> KpiReport | None:
    """The member's most recent report that is still valid."""
    return session.exec(
        select(KpiReport)
        .where(col(KpiReport.reporter_member_id) == member.id, col(KpiReport.voided_at).is_(None))
        .order_by(col(KpiReport.reported_at).desc(), col(KpiReport.id).desc())
        .limit(1)
    ).first()


def void_report(
    session: Session, report: KpiReport, *, by: Member | None, now: datetime, reason: str
) -> KpiReport:
    """Mark a report voided (kept for audit, never deleted)."""
    report.voided_at = now
    report.voided_by_member_id = by.id if by else None
    report.void_reason = reason
    session.add(report)
    session.flush()
    return report


def correct_report(
    session: Session,
    report: KpiReport,
    *,
    value: Decimal,
    by: Member | None,
    now: datetime,
    reason: str,
    source_text: str,
) -> KpiReport:
    """Void REPORT (「訂正: REASON」) and record VALUE for the same KPI and section in its place."""
    void_report(session, report, by=by, now=now, reason=f"訂正: {reason}")
    return record_report(
        session,
        target=known(session.get(KpiTarget, report.kpi_target_id), "the report's KPI target"),
        section=known(session.get(Section, report.section_id), "the report's section"),
        value=value,
        now=now,
        reporter=by,
        source_text=source_text,
    )


def reports_listing(
    session: Session, *, fiscal_year: int | None = None, section: Section | None = None
) -> list[dict]:
    """Reports of all years (or one), latest first, voided ones included and marked — for `dxbot kpi list`."""
    query = (
        # sqlmodel types select() for up to 4 entities; it takes any number at run time
        select(KpiReport, KpiTarget, Initiative, Section, Member)  # type: ignore[call-overload]
        .join(KpiTarget, KpiTarget.id == KpiReport.kpi_target_id)
        .join(Initiative, in_edition(KpiTarget))
        .join(Section, Section.id == KpiReport.section_id)
        .outerjoin(Member, Member.id == KpiReport.reporter_member_id)
        .order_by(col(KpiReport.reported_at).desc(), col(KpiReport.id).desc())
    )
    if fiscal_year is not None:
        query = query.where(KpiTarget.fiscal_year == fiscal_year)
    if section is not None:
        query = query.where(KpiReport.section_id == section.id)
    rows = []
    for report, target, initiative, report_section, member in session.exec(query).all():
        rows.append(
            {
                "id": report.id,
                "initiative": initiative.title,
                "initiative_id": initiative.id,
                "edition": target.edition_id,  # the plan edition of initiative_id and kpi_id
                "kpi": target.name,
                "kpi_id": target.series_id,
                "section": report_section.name,
                "fiscal_year": target.fiscal_year,
                "value": float(report.value)
                if report.value != report.value.to_integral_value()
                else int(report.value),
                "unit": target.unit,
                "unit_as_written": report.unit_written,
                "target": float(target.target)
                if target.target != target.target.to_integral_value()
                else int(target.target),
                "achievement": _json_rate(achievement(target, report.value)),
                "reporter": member.display_name if member else None,
                "reported_at": report.reported_at.isoformat(),
                "source_message_id": report.source_message_id,
                "voided": report.voided_at is not None,
                "voided_at": report.voided_at.isoformat() if report.voided_at else None,
                "void_reason": report.void_reason,
            }
        )
    return rows


def _json_rate(rate: Decimal | None) -> float | None:
    return float(rate) if rate is not None else None
