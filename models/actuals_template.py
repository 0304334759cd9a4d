"""The past-years template: every action item and KPI target of the years before this one, to fill in.

A city may start the bot partway through its plan (the bundled plan's city did in its last year), so the
earlier years happened without it. An admin exports this
workbook, the sections fill in statuses and actuals, and `dxbot import-actuals` reads it back
(models/actuals_import.py, cells read by models/actuals_cells.py; the workbook is written by
models/actuals_workbook.py). Rows carry hidden, locked ids (and what the bot knew at export) so every row
maps back to one action item or one (KPI target, reporting section), and so a stale copy cannot silently
overwrite what staff reported in LINE since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models import kpi_status
from models.actions import rollups
from models.editions import edition_for_year, in_edition
from models.export import local_date
from models.fiscal_year import fiscal_year_of
from models.grade_scale import GradeScale
from models.kpi_parsing import COUNT_UNITS
from models.plan_queries import plan_years
from models.rows import row_id
from models.tables import ActionItem, Initiative, InitiativeSection, KpiTarget, Measure

TEMPLATE_NAME = "dxbot-actuals-template.xlsx"
INSTRUCTIONS_SHEET = "記入方法"
ACTION_SHEET = "行動計画"
KPI_SHEET = "KPI実績"
STATUS_CHOICES = ("未着手", "進行中", "完了", "遅延", "延期")
DATE_FORMAT = "yyyy-mm-dd"

# Column headers; the import finds columns by these names, so they never change.
MEASURE, INITIATIVE, SECTIONS, YEAR = "施策", "取組み", "担当課・室", "年度"
ACTION_TEXT, STATUS, CONFIRMED = "行動計画", "状況", "確認日"
KPI_NAME, TARGET, UNIT, RAW, HOW, ACTUAL, AS_OF = (
    "KPI",
    "目標",
    "単位",
    "計画の記載",
    "記入する値",
    "実績",
    "時点",
)
ACTION_ID, KNOWN_STATUS = "action_item_id", "出力時の状況"
TARGET_ID, SECTION_ID, KNOWN_ACTUAL = "kpi_target_id", "section_id", "出力時の実績"

ACTION_HEADERS = (
    MEASURE,
    INITIATIVE,
    SECTIONS,
    YEAR,
    ACTION_TEXT,
    STATUS,
    CONFIRMED,
    ACTION_ID,
    KNOWN_STATUS,
    SECTION_ID,  # whose row: a shared item has one row per section
)
KPI_HEADERS = (
    MEASURE,
    INITIATIVE,
    SECTIONS,
    YEAR,
    KPI_NAME,
    TARGET,
    UNIT,
    RAW,
    HOW,
    ACTUAL,
    AS_OF,
    TARGET_ID,
    SECTION_ID,
    KNOWN_ACTUAL,
)
ACTION_INPUTS = (STATUS, CONFIRMED)
KPI_INPUTS = (ACTUAL, AS_OF)
ACTION_HIDDEN = (ACTION_ID, KNOWN_STATUS, SECTION_ID)
KPI_HIDDEN = (TARGET_ID, SECTION_ID, KNOWN_ACTUAL)


@dataclass(frozen=True)
class TemplateAction:
    """One past action item as one section stands on it; STATUS and CONFIRMED filled in when known."""

    item_id: int
    measure: str
    initiative: str
    sections: str
    fiscal_year: int
    text: str
    status: str | None
    confirmed: date | None
    section_id: int | None = None

    def values(self) -> tuple:
        return (
            self.measure,
            self.initiative,
            self.sections,
            self.fiscal_year,
            self.text,
            self.status,
            self.confirmed,
            self.item_id,
            self.status,
            self.section_id,
        )


@dataclass(frozen=True)
class TemplateKpi:
    """One past KPI target as one reporting section stands on it; ACTUAL is its latest report, if any."""

    target_id: int
    section_id: int
    measure: str
    initiative: str
    section: str
    fiscal_year: int
    kpi: str
    target: int | float
    unit: str
    raw: str
    how: str
    actual: int | float | None
    as_of: date | None
    kind: str
    lead: bool

    def values(self) -> tuple:
        return (
            self.measure,
            self.initiative,
            self.section,
            self.fiscal_year,
            self.kpi,
            self.target,
            self.unit,
            self.raw,
            self.how,
            self.actual,
            self.as_of,
            self.target_id,
            self.section_id,
            self.actual,
        )


@dataclass(frozen=True)
class Template:
    """What the workbook holds: the years, the rows, and KPI targets no section can report (left out)."""

    years: list[int]
    actions: list[TemplateAction]
    kpis: list[TemplateKpi]
    unlisted: list[KpiTarget]
    made_at: datetime
    title: str = "DX推進計画"  # the plan editions' own names (the workbook's heading), never a fixed city's


def past_years(session: Session, now: datetime) -> list[int]:
    """The plan's fiscal years that ended before NOW's fiscal year."""
    current = fiscal_year_of(now)
    return [fy for fy in plan_years(session) if fy < current]


def how_to_fill(target: KpiTarget) -> str:
    """What number the 実績 cell wants, in the KPI's own kind, period and direction."""
    if target.kind == "increase":
        hint = f"増加分（{kpi_status.number(target.target)}{target.unit}増なら {kpi_status.number(target.target)}）"
    elif target.kind == "reduction":
        hint = "削減量"
    elif target.period == "year":
        hint = "年間の実績"
    elif target.period == "month":
        hint = "月あたりの実績"
    elif target.unit == "%":
        hint = "年度末の率（18%なら 18）"
    else:
        hint = "年度末の値"
    if target.better == "lower":
        hint += "・低いほど良い"
    return hint


def value_kind(unit: str, kind: str) -> str:
    """rate (a % from 0 to 100), count (a whole number) or other (a % increase: any number from 0)."""
    if unit == "%":
        return "other" if kind == "increase" else "rate"
    return "count" if unit in COUNT_UNITS else "other"


def _measure_titles(session: Session) -> dict[tuple[int, int], str]:
    """Each measure's label by (edition id, no): the next plan's (1) may have another title."""
    return {(m.edition_id, m.no): f"({m.no}) {m.title}" for m in session.exec(select(Measure)).all()}


def _section_labels(session: Session) -> dict[tuple[int, str], str]:
    """Each initiative's 担当課・室 as the plan writes it (labels joined by 、), by (edition id, initiative id)."""
    labels: dict[tuple[int, str], list[str]] = {}
    for link in session.exec(select(InitiativeSection).order_by(col(InitiativeSection.position))).all():
        labels.setdefault((link.edition_id, link.initiative_id), []).append(link.label)
    return {initiative: "、".join(names) for initiative, names in labels.items()}


def _known(item: ActionItem, part) -> str | None:
    """The status the bot knows for the row (None when never set), the section's own if the row has one."""
    if part is None:
        return item.status if item.status_changed_at is not None else None
    return part.status if part.changed_at is not None else None


def build_template(
    session: Session, now: datetime, *, tz: ZoneInfo, scale: GradeScale | None = None
) -> Template:
    """Every action item and (KPI target, reporting section) of the past years, prefilled where known
    (grades on SCALE: Config.grade_scale)."""
    years = past_years(session, now)
    measures = _measure_titles(session)
    labels = _section_labels(session)
    rows = session.exec(
        select(ActionItem, Initiative)
        .join(Initiative, in_edition(ActionItem))
        .where(col(ActionItem.fiscal_year).in_(years or [-1]), col(ActionItem.removed_at).is_(None))
        .order_by(
            col(ActionItem.fiscal_year),
            col(Initiative.measure_no),
            col(Initiative.position),
            col(ActionItem.position),
        )
    ).all()
    rolled = rollups(session, [item for item, _ in rows])
    actions = [
        TemplateAction(
            item_id=row_id(item),
            measure=measures.get((initiative.edition_id, initiative.measure_no), str(initiative.measure_no)),
            initiative=f"{initiative.id} {initiative.title}",
            sections=part.section
            if part is not None
            else labels.get((initiative.edition_id, initiative.id), ""),
            fiscal_year=item.fiscal_year,
            text=item.text,
            status=_known(item, part),
            confirmed=local_date(part.changed_at if part is not None else item.status_changed_at, tz),
            section_id=part.section_id if part is not None else None,
        )
        for item, initiative in rows
        for part in (rolled[row_id(item)].sections or (None,))
    ]
    kpis: list[TemplateKpi] = []
    unlisted: list[KpiTarget] = []
    for fy in years:
        states = sorted(
            kpi_status.kpi_states(session, now, fiscal_year=fy, scale=scale),
            key=lambda s: (
                s.initiative.measure_no,
                s.initiative.position,
                s.target.position,
                not s.lead,
                s.section,
            ),
        )
        kpis.extend(
            TemplateKpi(
                target_id=row_id(s.target),
                section_id=s.section_id,
                measure=measures.get(
                    (s.initiative.edition_id, s.initiative.measure_no), str(s.initiative.measure_no)
                ),
                initiative=f"{s.initiative.id} {s.initiative.title}",
                section=s.section,
                fiscal_year=fy,
                kpi=s.target.name,
                target=kpi_status.number(s.target.target),
                unit=s.target.unit,
                raw=s.target.raw,
                how=how_to_fill(s.target),
                actual=kpi_status.number(s.value),
                as_of=local_date(s.latest.reported_at, tz) if s.latest is not None else None,
                kind=s.target.kind,
                lead=s.lead,
            )
            for s in states
        )
        listed = {s.target.id for s in states}
        unlisted.extend(
            t
            for t in session.exec(
                select(KpiTarget)
                .where(col(KpiTarget.fiscal_year) == fy, col(KpiTarget.removed_at).is_(None))
                .order_by(KpiTarget.series_id)
            ).all()
            if t.id not in listed
        )
    titles = dict.fromkeys(e.title for fy in years if (e := edition_for_year(session, fy)) is not None)
    return Template(
        years=years,
        actions=actions,
        kpis=kpis,
        unlisted=unlisted,
        made_at=now,
        title="・".join(titles) or Template.title,
    )


# --- the workbook ---------------------------------------------------------------------------------------
