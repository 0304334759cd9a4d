"""Exports of the plan's progress: the KPI achievement table and action items (xlsx / csv), and open data.

Plain functions of (session, now, …): the rows are built here, `bot/cli/export.py` only picks files.
No personal data is ever read into these rows (no reporter names, no LINE ids).
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models import grades, kpi_status
from models.actions import SectionStatus, rollups
from models.editions import edition_id_of_year, in_edition
from models.grade_scale import GradeScale
from models.rows import row_id
from models.tables import ActionItem, Initiative, KpiTarget, Measure
from models.target_history import TargetHistory, history_record, target_histories

KPI_SHEET = "KPI達成状況"
ACTION_SHEET = "行動計画"
KPI_HEADERS = (
    "施策",
    "取組み",
    "担当課・室",
    "KPI",
    "目標",
    "実績",
    "達成率",
    "評価",
    "最終報告日",
    "当初目標",  # the target as the plan first set it (目標 is the revised one)
    "目標の変更",  # each revision: 2026-04-01 35%→45%、…
)
ACTION_HEADERS = ("施策", "取組み", "年度", "行動計画", "状況", "更新日", "担当課・室")
OPEN_DATA_COLUMNS = (
    "measure_no",
    "measure",
    "initiative_id",
    "initiative",
    "kpi_id",
    "kpi",
    "fiscal_year",
    "target",
    "unit",
    "kind",
    "better",
    "actual",
    "achievement_rate",
    "grade",
    "last_reported_on",
    "original_target",  # as the plan first set it; target is the revised one
    "target_revised_on",  # the day of the latest revision, or empty
)
OPEN_DATA_JSON_KEYS = (*OPEN_DATA_COLUMNS, "revisions")  # revisions: [{"on", "from", "to"}], oldest first
OPEN_DATA_CSV = "kpi-results.csv"
OPEN_DATA_JSON = "kpi-results.json"


def xlsx_name(fiscal_year: int) -> str:
    return f"dx-kpi-{fiscal_year}.xlsx"


def csv_names(fiscal_year: int) -> tuple[str, str]:
    """The two CSV files of a year: the KPI table and the action items."""
    return f"dx-kpi-{fiscal_year}.csv", f"dx-actions-{fiscal_year}.csv"


# --- rows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiRow:
    """One KPI target as one reporting section stands on it (rate as a fraction: 0.9 is 90%)."""

    measure: str
    initiative: str
    section: str
    kpi: str
    target: int | float
    unit: str
    actual: int | float | None
    rate: float | None
    grade: str
    last_reported: date | None
    original_target: int | float | None = None
    target_changes: str = ""

    def values(self) -> tuple:
        return (
            self.measure,
            self.initiative,
            self.section,
            self.kpi,
            self.target,
            self.actual,
            self.rate,
            self.grade,
            self.last_reported,
            self.original_target,
            self.target_changes,
        )


@dataclass(frozen=True)
class ActionRow:
    """One action item of the year with one section's status (a shared item has a row per section)."""

    measure: str
    initiative: str
    fiscal_year: int
    text: str
    status: str
    updated: date | None
    section: str = ""

    def values(self) -> tuple:
        return (
            self.measure,
            self.initiative,
            self.fiscal_year,
            self.text,
            self.status,
            self.updated,
            self.section,
        )


def local_date(moment: datetime | None, tz: ZoneInfo) -> date | None:
    """A stored moment as a calendar date in TZ, the city's timezone (the clock's: DXBOT_TIMEZONE)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def _measure_titles(session: Session) -> dict[tuple[int, int], str]:
    """Each measure's label by (edition id, no): the next plan's (1) may have another title."""
    return {(m.edition_id, m.no): f"({m.no}) {m.title}" for m in session.exec(select(Measure)).all()}


def _initiative_label(initiative: Initiative) -> str:
    return f"{initiative.id} {initiative.title}"


def _fraction(rate: Decimal | None) -> float | None:
    return None if rate is None else float(rate / 100)


def changes_text(history: TargetHistory | None) -> str:
    """A target's revisions in one cell: '2026-04-01 35%→45%、2026-05-10 45%→50%' ('' when never revised)."""
    if history is None:
        return ""
    return "、".join(
        f"{c.day.isoformat()} {kpi_status.number(c.old)}{c.old_unit}→{kpi_status.number(c.new)}{c.new_unit}"
        for c in history.changes
    )


def kpi_rows(
    session: Session, now: datetime, fiscal_year: int, *, tz: ZoneInfo, scale: GradeScale | None = None
) -> list[KpiRow]:
    """The KPI achievement table of FISCAL_YEAR: one row per KPI target and reporting section, plan order
    (grades on SCALE: Config.grade_scale)."""
    measures = _measure_titles(session)
    states = kpi_status.kpi_states(session, now, fiscal_year=fiscal_year, scale=scale)
    histories = target_histories(
        session, edition_id=edition_id_of_year(session, fiscal_year), tz=tz, fiscal_year=fiscal_year
    )
    states = sorted(
        states,
        key=lambda s: (
            s.initiative.measure_no,
            s.initiative.position,
            s.target.position,
            not s.lead,
            s.section,
        ),
    )
    return [
        KpiRow(
            measure=measures.get(
                (s.initiative.edition_id, s.initiative.measure_no), str(s.initiative.measure_no)
            ),
            initiative=_initiative_label(s.initiative),
            section=s.section,
            kpi=s.target.name,
            target=kpi_status.number(s.target.target),
            unit=s.target.unit,
            actual=kpi_status.number(s.value),
            rate=_fraction(s.rate),
            grade=s.grade,
            last_reported=local_date(s.latest.reported_at, tz) if s.latest is not None else None,
            original_target=kpi_status.number(
                histories[s.target.id].original if s.target.id in histories else s.target.target
            ),
            target_changes=changes_text(histories.get(row_id(s.target))),
        )
        for s in states
    ]


def action_rows(session: Session, fiscal_year: int, *, tz: ZoneInfo) -> list[ActionRow]:
    """Every action item of FISCAL_YEAR with each section's status (lead first), in plan order (dates in TZ)."""
    measures = _measure_titles(session)
    rows = session.exec(
        select(ActionItem, Initiative)
        .join(Initiative, in_edition(ActionItem))
        .where(col(ActionItem.fiscal_year) == fiscal_year, col(ActionItem.removed_at).is_(None))
        .order_by(col(Initiative.measure_no), col(Initiative.position), col(ActionItem.position))
    ).all()
    rolled = rollups(session, [item for item, _ in rows])
    result: list[ActionRow] = []
    for item, initiative in rows:
        parts = rolled[row_id(item)].sections or (SectionStatus(0, "", item.status, item.status_changed_at),)
        result.extend(
            ActionRow(
                measure=measures.get(
                    (initiative.edition_id, initiative.measure_no), str(initiative.measure_no)
                ),
                initiative=_initiative_label(initiative),
                fiscal_year=item.fiscal_year,
                text=item.text,
                status=part.status,
                updated=local_date(part.changed_at, tz),
                section=part.section,
            )
            for part in parts
        )
    return result


def open_data_rows(
    session: Session, now: datetime, *, tz: ZoneInfo, scale: GradeScale | None = None
) -> list[dict]:
    """One record per KPI target per plan year: the initiative's figure (its lead section's), as of NOW
    (grades on SCALE: Config.grade_scale)."""
    measures = {(m.edition_id, m.no): m.title for m in session.exec(select(Measure)).all()}
    targets = session.exec(
        select(KpiTarget, Initiative)
        .join(Initiative, in_edition(KpiTarget))
        .where(col(KpiTarget.removed_at).is_(None))
        .order_by(
            col(KpiTarget.fiscal_year),
            col(Initiative.measure_no),
            col(Initiative.position),
            col(KpiTarget.position),
        )
    ).all()
    histories: dict[int, TargetHistory] = {}
    for edition_id in sorted({t.edition_id for t, _ in targets}):
        histories.update(target_histories(session, edition_id=edition_id, tz=tz))
    figures: dict[int, kpi_status.KpiState] = {}
    for fy in sorted({t.fiscal_year for t, _ in targets}):
        for candidate in kpi_status.kpi_states(session, now, fiscal_year=fy, scale=scale):
            if candidate.lead or candidate.target.id not in figures:
                figures[row_id(candidate.target)] = candidate
    records = []
    for target, initiative in targets:
        state = figures.get(row_id(target))
        latest = state.latest if state is not None else None
        rate = state.rate if state is not None else None
        reported = local_date(latest.reported_at, tz) if latest is not None else None
        records.append(
            {
                "measure_no": initiative.measure_no,
                "measure": measures.get((initiative.edition_id, initiative.measure_no)),
                "initiative_id": initiative.id,
                "initiative": initiative.title,
                "kpi_id": target.series_id,
                "kpi": target.name,
                "fiscal_year": target.fiscal_year,
                "target": kpi_status.number(target.target),
                "unit": target.unit,
                "kind": target.kind,
                "better": target.better,
                "actual": kpi_status.number(latest.value) if latest is not None else None,
                "achievement_rate": kpi_status.number(rate),
                "grade": grades.grade_of(rate, scale) if rate is not None else None,
                "last_reported_on": reported.isoformat() if reported else None,
                **history_record(histories.get(row_id(target))),
            }
        )
    return records


# --- writers --------------------------------------------------------------------------------------------


def display_width(value) -> int:
    if value is None:
        return 0
    text = value.isoformat() if isinstance(value, date) else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def unit_format(unit: str) -> str:
    """A number format showing the KPI's unit after the number (the cell stays a number)."""
    unit = unit.replace('"', "").replace("\\", "")
    return f'General"{unit}"' if unit else "General"


def fill_sheet(sheet, headers: Sequence[str], rows: Iterable[tuple], formats: Iterable[dict]) -> None:
    """Bold frozen header, the rows (per-cell number formats by column number), widths from content, a filter."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append(list(headers))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    widths = [display_width(h) for h in headers]
    for row_no, (values, row_formats) in enumerate(zip(rows, formats, strict=True), start=2):
        sheet.append(list(values))
        for col_no, value in enumerate(values, start=1):
            widths[col_no - 1] = max(widths[col_no - 1], display_width(value))
            number_format = row_formats.get(col_no)
            if number_format and value is not None:
                sheet.cell(row=row_no, column=col_no).number_format = number_format
    for col_no, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col_no)].width = min(max(width + 2, 8), 60)
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def write_xlsx(path: Path, kpis: Sequence[KpiRow], actions: Sequence[ActionRow]) -> None:
    """Two sheets (KPI達成状況, 行動計画): bold frozen header, numbers as numbers, dates as dates."""
    from openpyxl import Workbook

    workbook = Workbook()
    kpi_sheet = workbook.worksheets[0]  # a new workbook opens on one sheet
    kpi_sheet.title = KPI_SHEET
    action_sheet = workbook.create_sheet(ACTION_SHEET)
    fill_sheet(
        kpi_sheet,
        KPI_HEADERS,
        (r.values() for r in kpis),
        [
            {
                5: unit_format(r.unit),
                6: unit_format(r.unit),
                7: "0.0%",
                9: "yyyy-mm-dd",
                10: unit_format(r.unit),
            }
            for r in kpis
        ],
    )
    fill_sheet(
        action_sheet, ACTION_HEADERS, (r.values() for r in actions), [{6: "yyyy-mm-dd"} for _ in actions]
    )
    workbook.save(path)


def _csv_value(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence], bom: bool = False) -> None:
    """A UTF-8 CSV with a header row (a BOM first when BOM, so Excel reads it as UTF-8)."""
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def write_kpi_csvs(
    directory: Path, fiscal_year: int, kpis: Sequence[KpiRow], actions: Sequence[ActionRow], bom: bool = False
) -> list[Path]:
    """The KPI table and the action items as two CSV files in DIRECTORY; the paths written."""
    kpi_name, action_name = csv_names(fiscal_year)
    kpi_path, action_path = directory / kpi_name, directory / action_name
    write_csv(kpi_path, KPI_HEADERS, (r.values() for r in kpis), bom)
    write_csv(action_path, ACTION_HEADERS, (r.values() for r in actions), bom)
    return [kpi_path, action_path]


def write_open_data(directory: Path, records: Sequence[dict], bom: bool = False) -> list[Path]:
    """kpi-results.csv and kpi-results.json (a list of records with the stable columns) in DIRECTORY."""
    csv_path, json_path = directory / OPEN_DATA_CSV, directory / OPEN_DATA_JSON
    write_csv(csv_path, OPEN_DATA_COLUMNS, ([r[c] for c in OPEN_DATA_COLUMNS] for r in records), bom)
    json_path.write_text(
        json.dumps([{c: r[c] for c in OPEN_DATA_JSON_KEYS} for r in records], ensure_ascii=False, indent=2)
        + "\n",
        encoding="utf-8",
    )
    return [csv_path, json_path]
