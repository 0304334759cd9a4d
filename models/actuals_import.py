"""Reading the filled-in past-years template back (`dxbot import-actuals`): every row is checked first,
and only a file without a single problem is written — action statuses with history, actuals as reports.

Idempotent: a row that says what the bot already knows writes nothing. A cell still holding what the
template was exported with never overrides what staff reported in LINE since; a cell changed in the file
AND in the bot is a conflict, reported like any other problem.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from sqlmodel import Session, col, select

from models import actuals_template as tpl
from models.actions import section_status, set_status
from models.actuals_cells import (
    SheetRow,
    cell_text,
    is_blank,
    read_actual,
    read_date,
    read_id,
    read_status,
    show_cell,
)
from models.fiscal_year import fiscal_year_dates, fiscal_year_of
from models.kpi_status import number
from models.reports import record_report
from models.rows import known as required
from models.rows import row_id
from models.tables import ActionItem, InitiativeSection, KpiReport, KpiTarget, Section

IMPORT_SOURCE = "import-actuals"  # source_message_id of what an import writes (no LINE message, no reporter)


@dataclass(frozen=True)
class StatusChange:
    item: ActionItem
    status: str
    at: datetime
    where: str
    section: Section | None = None  # None: a template without section rows speaks for every section


@dataclass(frozen=True)
class NewActual:
    target: KpiTarget
    section: Section
    value: Decimal
    at: datetime
    where: str
    written: str


@dataclass
class YearCounts:
    """What an import does to one fiscal year."""

    statuses: int = 0
    statuses_unchanged: int = 0
    statuses_empty: int = 0
    actuals: int = 0
    actuals_unchanged: int = 0
    actuals_empty: int = 0


@dataclass
class Checked:
    """The outcome of checking a workbook: problems (nothing may be written) or the changes to make."""

    problems: list[str] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    actuals: list[NewActual] = field(default_factory=list)
    years: dict[int, YearCounts] = field(default_factory=dict)

    @overload
    def year(self, fy: int) -> YearCounts: ...
    @overload
    def year(self, fy: Any) -> YearCounts | None: ...
    def year(self, fy: Any) -> YearCounts | None:
        if not isinstance(fy, int):
            return None
        return self.years.setdefault(fy, YearCounts())


def _moment(day: date | None, now: datetime) -> datetime:
    """When a change dated DAY happened: the end of that day (never after NOW); NOW when undated."""
    if day is None:
        return now
    return min(datetime.combine(day, time(23, 59, 59), tzinfo=now.tzinfo), now)


def _date_problem(day: date | None, header: str, fiscal_year: int, now: datetime) -> str | None:
    if day is None:
        return None
    today = now.date()
    if day > today:
        return f"{header} {day.isoformat()} is in the future (today is {today.isoformat()})"
    start = fiscal_year_dates(fiscal_year)[0]
    if day < start:
        return f"{header} {day.isoformat()} is before FY{fiscal_year} began ({start.isoformat()})"
    return None


# --- checking ---------------------------------------------------------------------------------------


def check(session: Session, sheets: dict[str, list[SheetRow]], now: datetime) -> Checked:
    """Every row of the workbook checked against the plan and what the bot knows; nothing is written."""
    result = Checked()
    current = fiscal_year_of(now)
    _check_actions(session, sheets.get(tpl.ACTION_SHEET, []), now, current, result)
    _check_actuals(session, sheets.get(tpl.KPI_SHEET, []), now, current, result)
    return result


def _check_actions(
    session: Session, rows: list[SheetRow], now: datetime, current: int, result: Checked
) -> None:
    seen: dict[tuple[int, int | None], int] = {}
    for row in rows:
        status, status_problem = read_status(row.cells[tpl.STATUS])
        if status is None and status_problem is None:
            if (counts := result.year(row.cells[tpl.YEAR])) is not None:
                counts.statuses_empty += 1
            continue
        problems = [status_problem] if status_problem else []
        item_id, problem = read_id(row.cells[tpl.ACTION_ID], tpl.ACTION_ID)
        item = None
        if problem:
            problems.append(problem)
        else:
            item = session.get(ActionItem, item_id)
            section, section_problem = _row_section(session, row)
            key = (
                required(item_id, "an id read without a problem"),
                section.id if section is not None else None,
            )
            if item is None:
                problems.append(f"unknown {tpl.ACTION_ID} {item_id}: not an action item of the plan")
            elif section_problem:
                problems.append(section_problem)
                item = None
            elif key in seen:
                problems.append(f"the same action item as row {seen[key]}")
                item = None
            else:
                seen[key] = row.row
        day, date_problem = read_date(row.cells[tpl.CONFIRMED], tpl.CONFIRMED)
        if date_problem:
            problems.append(date_problem)
        if item is not None:
            problems.extend(_action_identity(item, row, current))
            if (late := _date_problem(day, tpl.CONFIRMED, item.fiscal_year, now)) is not None:
                problems.append(late)
        if problems or item is None or status is None:  # no item or status without a problem
            result.problems.extend(f"{row.where()}: {p}" for p in problems)
            continue
        known, known_since = _known(session, item, section)
        exported, _ = read_status(row.cells[tpl.KNOWN_STATUS])
        counts = result.year(item.fiscal_year)
        if status in (known, exported):
            counts.statuses_unchanged += 1  # already so, or untouched while the bot learnt something newer
        elif known_since is not None and known != exported:  # known_since is None when known is
            since = known_since.astimezone(now.tzinfo).date().isoformat()
            result.problems.append(
                f"{row.where()}: {tpl.STATUS} was changed in the bot since the template was exported "
                f"(now {known}, {since}); export a new template, or write {known} to keep it"
            )
        else:
            result.statuses.append(StatusChange(item, status, _moment(day, now), row.where(), section))
            counts.statuses += 1


def _row_section(session: Session, row: SheetRow) -> tuple[Section | None, str | None]:
    """The section whose row this is (None for a template made before section rows) or why not."""
    raw = row.cells.get(tpl.SECTION_ID)
    if is_blank(raw):
        return None, None
    section_id, problem = read_id(raw, tpl.SECTION_ID)
    if problem:
        return None, problem
    section = session.get(Section, section_id)
    if section is None:
        return None, f"unknown {tpl.SECTION_ID} {section_id}: export a new template"
    return section, None


def _known(session: Session, item: ActionItem, section: Section | None) -> tuple[str | None, datetime | None]:
    """The status the bot knows for the row and since when (None, None when never set)."""
    if section is None:
        return (item.status, item.status_changed_at) if item.status_changed_at is not None else (None, None)
    status, since = section_status(session, item, section)
    return (status, since) if since is not None else (None, None)


def _action_identity(item: ActionItem, row: SheetRow, current: int) -> list[str]:
    """Why ROW no longer describes ITEM (removed, other text or year, a year not over yet)."""
    if item.removed_at is not None:
        return [
            f"this action item was removed from the plan by a revision "
            f"({item.removed_at.date().isoformat()}); export a new template"
        ]
    problems = []
    if _decimal(row.cells[tpl.YEAR]) != item.fiscal_year:
        problems.append(
            f"{tpl.YEAR} {show_cell(row.cells[tpl.YEAR])} does not match the item's FY{item.fiscal_year}"
        )
    if cell_text(row.cells[tpl.ACTION_TEXT]) != cell_text(item.text):
        problems.append(
            f"{tpl.ACTION_TEXT} does not match the plan (the plan says 「{item.text}」); export a new template"
        )
    if item.fiscal_year >= current:
        problems.append(f"FY{item.fiscal_year} has not ended; its statuses are set in LINE, not imported")
    return problems


def _check_actuals(
    session: Session, rows: list[SheetRow], now: datetime, current: int, result: Checked
) -> None:
    seen: dict[tuple[int, int], int] = {}
    for row in rows:
        if is_blank(row.cells[tpl.ACTUAL]):
            if (counts := result.year(row.cells[tpl.YEAR])) is not None:
                counts.actuals_empty += 1
            continue
        problems: list[str] = []
        target_id, problem = read_id(row.cells[tpl.TARGET_ID], tpl.TARGET_ID)
        target = None
        if problem:
            problems.append(problem)
        elif (target := session.get(KpiTarget, target_id)) is None:
            problems.append(f"unknown {tpl.TARGET_ID} {target_id}: not a KPI target of the plan")
        section_id, problem = read_id(row.cells[tpl.SECTION_ID], tpl.SECTION_ID)
        section = None
        if problem:
            problems.append(problem)
        elif (section := session.get(Section, section_id)) is None:
            problems.append(f"unknown {tpl.SECTION_ID} {section_id}: not a section")
        if target is not None and section is not None:
            if (row_id(target), row_id(section)) in seen:
                problems.append(f"the same KPI and section as row {seen[(row_id(target), row_id(section))]}")
                target = None
            else:
                seen[(row_id(target), row_id(section))] = row.row
                problems.extend(_kpi_identity(session, target, section, row, current))
        value, problem = (
            (None, None)
            if target is None
            else read_actual(row.cells[tpl.ACTUAL], row.formats.get(tpl.ACTUAL, "General"), target)
        )
        if problem:
            problems.append(problem)
        day, problem = read_date(row.cells[tpl.AS_OF], tpl.AS_OF)
        if problem:
            problems.append(problem)
        elif target is not None and (late := _date_problem(day, tpl.AS_OF, target.fiscal_year, now)):
            problems.append(late)
        if problems or target is None or section is None or value is None:
            result.problems.extend(f"{row.where()}: {p}" for p in problems)
            continue
        latest = _latest(session, target, section, now)
        known = latest.value if latest is not None else None
        exported = _decimal(row.cells[tpl.KNOWN_ACTUAL])
        counts = result.year(target.fiscal_year)
        at = _moment(day, now)
        if value == known or (exported is not None and value == exported):
            counts.actuals_unchanged += 1
        elif latest is not None and known != exported:  # known is None when latest is
            when = latest.reported_at.astimezone(now.tzinfo).date().isoformat()
            result.problems.append(
                f"{row.where()}: {tpl.ACTUAL} was reported in the bot since the template was exported "
                f"(now {number(known)}{target.unit}, {when}); export a new template, or write "
                f"{number(known)} to keep it"
            )
        elif latest is not None and day is not None and at < latest.reported_at:
            when = latest.reported_at.astimezone(now.tzinfo).date().isoformat()
            result.problems.append(
                f"{row.where()}: {tpl.AS_OF} {day.isoformat()} is before the latest report ({when}), "
                "so the figure would not count; leave 時点 empty or give a later date"
            )
        else:
            result.actuals.append(
                NewActual(target, section, value, at, row.where(), show_cell(row.cells[tpl.ACTUAL]))
            )
            counts.actuals += 1


def _kpi_identity(
    session: Session, target: KpiTarget, section: Section, row: SheetRow, current: int
) -> list[str]:
    """Why ROW no longer describes TARGET as SECTION reports it."""
    if target.removed_at is not None:
        return [
            f"this KPI target was removed from the plan by a revision "
            f"({target.removed_at.date().isoformat()}); export a new template"
        ]
    problems = []
    if _decimal(row.cells[tpl.YEAR]) != target.fiscal_year:
        problems.append(
            f"{tpl.YEAR} {show_cell(row.cells[tpl.YEAR])} does not match the KPI target's FY{target.fiscal_year}"
        )
    if (
        cell_text(row.cells[tpl.KPI_NAME]) != cell_text(target.name)
        or _decimal(row.cells[tpl.TARGET]) != target.target
    ):
        problems.append(
            f"the KPI does not match the plan (the plan says 「{target.raw}」); export a new template"
        )
    reports = session.exec(
        select(InitiativeSection.id).where(
            InitiativeSection.initiative_id == target.initiative_id,
            InitiativeSection.edition_id == target.edition_id,
            InitiativeSection.section_id == section.id,
        )
    ).first()
    if reports is None:
        problems.append(f"{section.name} does not report this KPI (initiative {target.initiative_id})")
    elif cell_text(row.cells[tpl.SECTIONS]) != cell_text(section.name):
        problems.append(
            f"{tpl.SECTIONS} {show_cell(row.cells[tpl.SECTIONS])!r} does not match {section.name}"
        )
    if target.fiscal_year >= current:
        problems.append(
            f"FY{target.fiscal_year} has not ended; its figures are reported in LINE, not imported"
        )
    return problems


def _decimal(value: Any) -> Decimal | None:
    if is_blank(value) or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _latest(session: Session, target: KpiTarget, section: Section, now: datetime) -> KpiReport | None:
    return session.exec(
        select(KpiReport)
        .where(
            KpiReport.kpi_target_id == target.id,
            KpiReport.section_id == section.id,
            col(KpiReport.voided_at).is_(None),
            KpiReport.reported_at <= now,
        )
        .order_by(col(KpiReport.reported_at).desc(), col(KpiReport.id).desc())
        .limit(1)
    ).first()


# --- writing ----------------------------------------------------------------------------------------


def apply(session: Session, checked: Checked, *, source: str) -> Counter:
    """Write a problem-free check: status changes with history, actuals as reports (no reporter)."""
    if checked.problems:
        raise ValueError("a workbook with problems is never written")
    written: Counter = Counter()
    for change in checked.statuses:
        set_status(
            session,
            change.item,
            change.status,
            section=change.section,
            now=change.at,
            source_message_id=IMPORT_SOURCE,
            note=f"{source}: {change.where}",
        )
        written["statuses"] += 1
    for actual in checked.actuals:
        record_report(
            session,
            target=actual.target,
            section=actual.section,
            value=actual.value,
            now=actual.at,
            source_message_id=IMPORT_SOURCE,
            source_text=f"{source}: {actual.where}: {actual.written}",
        )
        written["actuals"] += 1
    return written
