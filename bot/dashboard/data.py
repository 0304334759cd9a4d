"""What the dashboard shows, read with a fixed number of queries however many reports there are.

The KPI states and follow-ups are the status model's (models/grades.py, kpi_status.py, follow_up_status.py:
achievement, grades, projections, at-risk, overdue, 未確認, read with index seeks); this module groups and counts them for the pages and reads
what only the dashboard shows (action histories, KPI series over the years, the audit trail).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from messages.intents import ParticipationLine
from messages.lines import participation_line
from models import follow_up_status, kpi_status
from models.actions import RollUp, rollups
from models.editions import edition_id_of_year, edition_years, in_edition
from models.follow_up_status import FollowUps
from models.grade_scale import GradeScale
from models.kpi_status import KpiState, lead_sections
from models.participation import participation
from models.rows import row_id
from models.sections import covers
from models.tables import (
    ActionItem,
    ActionStatusChange,
    Initiative,
    InitiativeSection,
    KpiReport,
    KpiTarget,
    Measure,
    Member,
    PlanEdition,
    Section,
)

# --- scope ------------------------------------------------------------------------------------------


def sections_by_id(session: Session) -> dict[int, Section]:
    """Every section, by id (one query; names for entries and filters)."""
    return {row_id(s): s for s in session.exec(select(Section).order_by(Section.name)).all()}


def initiative_ids_covering(
    session: Session, sections: list[Section], by_id: dict[int, Section], edition_id: int | None
) -> set[str]:
    """Initiatives of a plan edition whose 担当課・室 include any of SECTIONS (directly, as a site, or a group)."""
    links = session.exec(select(InitiativeSection).where(InitiativeSection.edition_id == edition_id)).all()
    return {link.initiative_id for link in links for s in sections if covers(link, s, by_id)}


def year_in_plan(years: list[int], fiscal_year: int) -> int:
    """FISCAL_YEAR, or the nearest plan year (before the plan: its first year; after it: its last)."""
    if not years or fiscal_year in years:
        return fiscal_year
    return min(max(fiscal_year, years[0]), years[-1])


# --- the overview ---------------------------------------------------------------------------------------


@dataclass
class Counts:
    """How an initiative (or a measure) stands: KPI states and follow-up entries, counted."""

    on_track: int = 0  # reported and not at risk
    at_risk: int = 0
    awaiting: int = 0  # no report yet, not (yet) at risk
    overdue: int = 0
    postponed: int = 0
    unconfirmed: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class InitiativeRow:
    """One initiative on the overview: its counts and the grade of each of its KPIs."""

    initiative: Initiative
    lead: str | None
    counts: Counts
    grades: list[KpiState]


@dataclass
class MeasureBlock:
    """A measure (施策) with its initiatives and their totals."""

    measure: Measure
    rows: list[InitiativeRow]
    totals: Counts = field(default_factory=Counts)


def count_states(states: list[KpiState], entries: FollowUps, fiscal_year: int) -> Counts:
    """The counts of one group of states and follow-up entries (entries of FISCAL_YEAR only)."""
    counts = Counts()
    late = {
        (e.section_id, e.initiative_id, e.item)
        for e in entries.overdue
        if e.kind == "kpi" and e.fiscal_year == fiscal_year
    }
    for state in states:
        if state.at_risk:
            counts.at_risk += 1
        elif state.latest is not None:
            counts.on_track += 1
        elif (state.section_id, state.initiative.id, state.target.name) not in late:
            counts.awaiting += 1  # a late one is counted once, under overdue
    counts.overdue = sum(1 for e in entries.overdue if e.fiscal_year == fiscal_year)
    counts.postponed = sum(1 for e in entries.postponed if e.fiscal_year == fiscal_year)
    counts.unconfirmed = sum(1 for e in entries.unconfirmed if e.fiscal_year == fiscal_year)
    return counts


def of_year(entries: FollowUps, fiscal_year: int) -> FollowUps:
    """Only the entries of FISCAL_YEAR."""
    return FollowUps(
        overdue=[e for e in entries.overdue if e.fiscal_year == fiscal_year],
        postponed=[e for e in entries.postponed if e.fiscal_year == fiscal_year],
        unconfirmed=[e for e in entries.unconfirmed if e.fiscal_year == fiscal_year],
    )


def split_by_initiative(entries: FollowUps) -> dict[str, FollowUps]:
    """Follow-up entries grouped by initiative id."""
    grouped: dict[str, FollowUps] = defaultdict(FollowUps)
    for name in ("overdue", "postponed", "unconfirmed"):
        for entry in getattr(entries, name):
            getattr(grouped[entry.initiative_id], name).append(entry)
    return grouped


def overview(
    session: Session,
    now: datetime,
    *,
    tz: ZoneInfo,
    fiscal_year: int,
    sections: list[Section] | None,
    by_id: dict[int, Section],
    states: list[KpiState] | None = None,
    leads: dict[str, int] | None = None,
    scale: GradeScale | None = None,
    live: date | None = None,
) -> list[MeasureBlock]:
    """Measures → initiatives with counts and grades, for every section (None) or only SECTIONS.

    STATES and LEADS: the scope's KPI states of the year and lead_sections, when the caller has read them;
    SCALE and LIVE: Config.grade_scale and Config.live_since; TZ: the clock's timezone (DXBOT_TIMEZONE)."""
    leads = lead_sections(session, edition_id_of_year(session, fiscal_year)) if leads is None else leads
    section_ids = None if sections is None else {s.id for s in sections}
    if sections is None:
        wanted = None
    else:
        wanted = initiative_ids_covering(session, sections, by_id, edition_id_of_year(session, fiscal_year))
        wanted |= {i for i, s in leads.items() if s in section_ids}
    if states is None:
        states = kpi_status.kpi_states(session, now, sections, fiscal_year, leads=leads, scale=scale)
    entries = split_by_initiative(follow_up_status.follow_ups(session, now, sections, tz=tz, live=live))
    by_initiative: dict[str, list[KpiState]] = defaultdict(list)
    for state in states:
        by_initiative[state.initiative.id].append(state)
    measures = session.exec(select(Measure).order_by(col(Measure.no))).all()
    initiatives = session.exec(
        select(Initiative).order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()
    blocks = []
    for measure in measures:
        block = MeasureBlock(measure=measure, rows=[])
        for initiative in initiatives:
            if initiative.measure_no != measure.no or (wanted is not None and initiative.id not in wanted):
                continue
            mine = sorted(by_initiative.get(initiative.id, []), key=lambda s: (s.target.position, s.section))
            grades = [s for s in mine if s.lead] if sections is None else mine
            counts = count_states(mine, entries.get(initiative.id, FollowUps()), fiscal_year)
            lead_id = leads.get(initiative.id)
            block.rows.append(
                InitiativeRow(
                    initiative=initiative,
                    lead=by_id[lead_id].name if lead_id in by_id else None,
                    counts=counts,
                    grades=grades,
                )
            )
            block.totals.add(counts)
        if block.rows:
            blocks.append(block)
    return blocks


def participation_rows(
    session: Session,
    now: datetime,
    *,
    fiscal_year: int,
    sections: list[Section] | None,
    states: list[KpiState] | None = None,
    scale: GradeScale | None = None,
) -> list[tuple[str | None, ParticipationLine]]:
    """The scope's participation (name None) then each section's that was asked in either round; grades of
    FISCAL_YEAR (from STATES when the caller has them; on SCALE, Config.grade_scale), rounds as of NOW
    (models/participation.py)."""
    whole, each = participation(session, now, sections, states=states, fiscal_year=fiscal_year, scale=scale)
    rows = [(None, participation_line(whole))]
    rows += [
        (p.section, participation_line(p))
        for p in each
        if sections is not None or p.current is not None or p.previous is not None
    ]
    return rows


# --- who did it -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """A member as the dashboard names them: the display name and the platform they are on (line | lineworks:
    a LINE WORKS member is marked as such; their platform id is never shown)."""

    name: str
    transport: str = "line"


def who(name: str | None, transport: str | None) -> Who | None:
    """Who from an outer join's (display name, transport): None when there was no member."""
    return None if name is None else Who(name, transport or "line")


# --- one initiative ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionHistory:
    """An action item of the year with who moved it to which status, when (oldest first)."""

    item: ActionItem
    changes: list[tuple[ActionStatusChange, Who | None]]  # (change, who)
    rollup: RollUp | None = None  # each section's status, lead first (a shared item has one per section)
    section_names: dict[int, str] = field(default_factory=dict)
    own_status: str | None = None  # the status of the section whose page this is


def initiative_sections(session: Session, initiative: Initiative) -> list[InitiativeSection]:
    """The initiative's 担当課・室 entries (in its edition), lead first, then in the plan's order."""
    return list(
        session.exec(
            select(InitiativeSection)
            .where(
                InitiativeSection.initiative_id == initiative.id,
                InitiativeSection.edition_id == initiative.edition_id,
            )
            .order_by(col(InitiativeSection.is_lead).desc(), col(InitiativeSection.position))
        ).all()
    )


def action_histories(
    session: Session,
    initiative_ids: list[str],
    fiscal_year: int,
    by_id: dict[int, Section],
    section: Section | None = None,
    links: list[InitiativeSection] | None = None,
) -> list[ActionHistory]:
    """The year's action items of these initiatives with each section's status and history (four queries).

    With SECTION, each item shows that section's own status (and its history only); else the roll-up.
    LINKS: the 担当課・室 entries of all of INITIATIVE_IDS, when the caller has them (one query fewer)."""
    items = session.exec(
        select(ActionItem)
        .join(Initiative, in_edition(ActionItem))
        .where(
            col(ActionItem.initiative_id).in_(initiative_ids or [""]),
            ActionItem.fiscal_year == fiscal_year,
            col(ActionItem.removed_at).is_(None),
        )
        .order_by(col(Initiative.measure_no), col(Initiative.position), col(ActionItem.position))
    ).all()
    changes: dict[int, list] = defaultdict(list)
    if items:
        for change, name, transport in session.exec(
            select(ActionStatusChange, Member.display_name, Member.transport)
            .outerjoin(Member, col(Member.id) == ActionStatusChange.changed_by_member_id)
            .where(col(ActionStatusChange.action_item_id).in_([i.id for i in items]))
            .order_by(col(ActionStatusChange.changed_at), col(ActionStatusChange.id))
        ).all():
            changes[change.action_item_id].append((change, who(name, transport)))
    rolled = rollups(session, items, by_id.values(), links)
    names = {s.id: s.name for s in by_id.values()}
    if section is not None:
        changes = {k: [(c, who) for c, who in v if c.section_id == section.id] for k, v in changes.items()}
    return [
        ActionHistory(
            item=i,
            changes=changes.get(row_id(i), []),
            rollup=rolled[row_id(i)],
            section_names=names,
            own_status=_own(rolled[row_id(i)], section),
        )
        for i in items
    ]


def _own(rollup: RollUp, section: Section | None) -> str | None:
    if section is None:
        return None
    return next((p.status for p in rollup.sections if p.section_id == section.id), None)


# --- a KPI series over the plan's years (the chart) ----------------------------------------------------------


@dataclass(frozen=True)
class SeriesHistory:
    """One KPI series: its yearly targets and each reporting section's latest value per year."""

    series_id: str
    initiative_id: str
    name: str  # the newest year's wording
    unit: str
    kind: str
    better: str
    years: tuple[int, ...]
    targets: tuple[tuple[int, object], ...]  # (fiscal year, Decimal target)
    values: tuple[tuple[str, tuple[tuple[int, object], ...]], ...]  # (section, ((year, Decimal), …))
    lead: str | None = None
    target_rows: tuple[KpiTarget, ...] = field(default=(), compare=False, repr=False)

    def key(self) -> str:
        """Everything the chart depends on, as text (the chart cache's key)."""
        return repr(self)

    @property
    def target_by_year(self) -> dict[int, KpiTarget]:
        return {t.fiscal_year: t for t in self.target_rows}


def series_histories(
    session: Session,
    now: datetime,
    *,
    by_id: dict[int, Section],
    section_ids: set[int] | None,
    edition: PlanEdition,
    initiative_id: str | None = None,
    series_id: str | None = None,
    leads: dict[str, int] | None = None,
) -> list[SeriesHistory]:
    """An initiative's KPI series (or one series) over EDITION's years: yearly targets and, per reporting section
    in scope, the latest valid value of each year by NOW — three queries however many series and reports there
    are (two with LEADS, the edition's lead_sections, when the caller has them)."""
    initiative_ids = {initiative_id} if initiative_id is not None else None
    rows = kpi_status.latest_rows(
        session,
        now,
        series_id=series_id,
        initiative_ids=initiative_ids,
        section_ids=section_ids,
        edition_id=edition.id,
    )
    query = (
        select(KpiTarget)
        .where(col(KpiTarget.removed_at).is_(None), col(KpiTarget.edition_id) == edition.id)
        .order_by(col(KpiTarget.fiscal_year))
    )
    if initiative_id is not None:
        query = query.where(KpiTarget.initiative_id == initiative_id)
    if series_id is not None:
        query = query.where(KpiTarget.series_id == series_id)
    targets: dict[str, list[KpiTarget]] = defaultdict(list)
    for target in session.exec(query).all():
        targets[target.series_id].append(target)
    values: dict[str, dict[str, dict[int, object]]] = defaultdict(lambda: defaultdict(dict))
    for target, _initiative, section_id, report in rows:
        by_year = values[target.series_id][by_id[section_id].name]
        if report is not None:
            by_year[target.fiscal_year] = report.value
    leads = lead_sections(session, edition.id) if leads is None else leads
    histories = []
    for series, yearly in sorted(
        targets.items(), key=lambda item: (min(t.position for t in item[1]), item[0])
    ):
        newest = yearly[-1]
        lead_id = leads.get(newest.initiative_id)
        lead = by_id[lead_id].name if lead_id in by_id else None
        sections = values[series]
        ordered = sorted(sections, key=lambda n: (n != lead, n))
        histories.append(
            SeriesHistory(
                series_id=series,
                initiative_id=newest.initiative_id,
                name=newest.name,
                unit=newest.unit,
                kind=newest.kind,
                better=newest.better,
                years=tuple(edition_years(edition)),
                targets=tuple((t.fiscal_year, t.target) for t in yearly),
                values=tuple((n, tuple(sorted(sections[n].items()))) for n in ordered),
                lead=lead,
                target_rows=tuple(yearly),
            )
        )
    return histories


# --- the audit trail -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    """One KPI report as recorded: who, when, from which message, and whether it was voided."""

    report: KpiReport
    target: KpiTarget
    initiative: Initiative
    section: str
    reporter: Who | None
    voided_by: Who | None


def audit_rows(
    session: Session,
    *,
    section_ids: set[int] | None,
    fiscal_year: int | None,
    page: int,
    per_page: int = 100,
) -> tuple[list[AuditRow], bool]:
    """A page of reports, newest first (voided ones included); True when there is a next page."""
    reporter = aliased(Member, name="reporter")
    voider = aliased(Member, name="voider")
    query = (
        select(
            KpiReport,
            KpiTarget,
            Initiative,
            Section.name,
            reporter.display_name,
            reporter.transport,
            voider.display_name,
            voider.transport,
        )
        .join(KpiTarget, KpiTarget.id == KpiReport.kpi_target_id)
        .join(Initiative, in_edition(KpiTarget))
        .join(Section, Section.id == KpiReport.section_id)
        .outerjoin(reporter, reporter.id == KpiReport.reporter_member_id)
        .outerjoin(voider, voider.id == KpiReport.voided_by_member_id)
        .order_by(col(KpiReport.reported_at).desc(), col(KpiReport.id).desc())
        .offset(max(page - 1, 0) * per_page)
        .limit(per_page + 1)
    )
    if section_ids is not None:
        query = query.where(col(KpiReport.section_id).in_(list(section_ids) or [-1]))
    if fiscal_year is not None:
        query = query.where(KpiTarget.fiscal_year == fiscal_year)
    rows = [
        AuditRow(
            report=r,
            target=t,
            initiative=i,
            section=s,
            reporter=who(name, transport),
            voided_by=who(by, by_transport),
        )
        for r, t, i, s, name, transport, by, by_transport in session.exec(query).all()
    ]
    return rows[:per_page], len(rows) > per_page


def status_changes(
    session: Session, *, initiative_ids: set[str] | None, fiscal_year: int | None, limit: int = 100
) -> list[tuple[ActionStatusChange, ActionItem, Initiative, Who | None]]:
    """The newest action item status changes (who, when, from which message)."""
    query = (
        select(ActionStatusChange, ActionItem, Initiative, Member)
        .join(ActionItem, col(ActionItem.id) == ActionStatusChange.action_item_id)
        .join(Initiative, in_edition(ActionItem))
        .outerjoin(Member, col(Member.id) == ActionStatusChange.changed_by_member_id)
        .order_by(col(ActionStatusChange.changed_at).desc(), col(ActionStatusChange.id).desc())
        .limit(limit)
    )
    if initiative_ids is not None:
        query = query.where(col(ActionItem.initiative_id).in_(list(initiative_ids) or [""]))
    if fiscal_year is not None:
        query = query.where(ActionItem.fiscal_year == fiscal_year)
    return [
        (change, item, initiative, None if member is None else who(member.display_name, member.transport))
        for change, item, initiative, member in session.exec(query).all()
    ]
