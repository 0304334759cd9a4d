"""Reading the past-years template's cells (`dxbot import-actuals`): the workbook's rows, and each cell as
an id, a date, an actual or a status — or the problem with it, in words for the person who filled it in."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from models import actuals_template as tpl
from models.kpi_parsing import (
    IMPOSSIBLE_VALUE,
    MALFORMED_NUMBER,
    NO_FIGURE,
    SEVERAL_FIGURES,
    UNCLEAR_VALUE,
    UNIT_MISMATCH,
    OpenKpi,
    parse_reply,
)
from models.sheet_cells import SheetRow, cell_text, is_blank, is_percent_format, open_workbook, show_cell
from models.tables import KpiTarget


class TemplateError(ValueError):
    """The file as a whole cannot be read as the template (not a workbook, a sheet or column missing)."""


# --- reading the workbook ---------------------------------------------------------------------------


def read_workbook(path: Path) -> dict[str, list[SheetRow]]:
    """The rows of the 行動計画 and KPI実績 sheets, by header; a TemplateError when it is not the template."""
    workbook = open_workbook(path, TemplateError)
    try:
        return {
            tpl.ACTION_SHEET: _sheet_rows(
                workbook, tpl.ACTION_SHEET, tpl.ACTION_HEADERS, optional=(tpl.SECTION_ID,)
            ),
            tpl.KPI_SHEET: _sheet_rows(workbook, tpl.KPI_SHEET, tpl.KPI_HEADERS),
        }
    finally:
        workbook.close()


def _sheet_rows(
    workbook, name: str, headers: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[SheetRow]:
    """The sheet's filled rows by header; OPTIONAL headers may be absent (templates made before them)."""
    if name not in workbook.sheetnames:
        raise TemplateError(
            f"the workbook has no sheet {name}: is it a template from `dxbot export --template`?"
        )
    sheet = workbook[name]
    header_row = [cell_text(c.value) for c in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    columns = {h: i for i, h in enumerate(header_row) if h}
    missing = [h for h in headers if h not in columns and h not in optional]
    if missing:
        raise TemplateError(
            f"sheet {name} has no column {', '.join(missing)} in row 1: "
            "is it a template from `dxbot export --template`? (export a new one)"
        )
    rows = []
    for cells in sheet.iter_rows(min_row=2):
        if all(is_blank(c.value) for c in cells):
            continue
        picked = {h: None for h in optional} | {
            h: cells[i] if i < len(cells) else None for h, i in columns.items() if h in headers
        }
        rows.append(
            SheetRow(
                sheet=name,
                row=cells[0].row,
                cells={h: (c.value if c is not None else None) for h, c in picked.items()},
                formats={h: (c.number_format if c is not None else "General") for h, c in picked.items()},
            )
        )
    return rows


# --- cell values ------------------------------------------------------------------------------------


def read_id(value: Any, header: str) -> tuple[int | None, str | None]:
    """An id cell as an int, or the problem with it."""
    if is_blank(value):
        return None, f"no {header}: rows cannot be added by hand (use the rows the template has)"
    if isinstance(value, bool):
        return None, f"{header} {value} is not an id"
    if isinstance(value, int):
        return value, None
    if isinstance(value, float) and value.is_integer():
        return int(value), None
    text = cell_text(value)
    if text.isdigit():
        return int(text), None
    return None, f"{header} {show_cell(value)!r} is not an id"


_JAPANESE_DATE = re.compile(r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?$")


def read_date(value: Any, header: str) -> tuple[date | None, str | None]:
    """A date cell (a real date, or text like 2025-03-31, 2025/3/31, 2025年3月31日), or the problem."""
    if is_blank(value):
        return None, None
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, str):
        match = _JAPANESE_DATE.match(cell_text(value))
        if match:
            try:
                return date(*(int(part) for part in match.groups())), None
            except ValueError:
                pass
    return None, f"{header} {show_cell(value)!r} is not a date (e.g. 2025-03-31)"


def read_actual(value: Any, number_format: str, target: KpiTarget) -> tuple[Decimal | None, str | None]:
    """An 実績 cell as the KPI's value, checked like a figure sent in LINE (kpi_parsing), or the problem."""
    if isinstance(value, bool | datetime | date):
        return None, f"{tpl.ACTUAL} {show_cell(value)!r} is not a number"
    if isinstance(value, int | float | Decimal):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None, f"{tpl.ACTUAL} {show_cell(value)!r} is not a number"
        if is_percent_format(number_format):
            amount *= 100
        text = format(amount.normalize(), "f")
    else:
        text = str(value).strip()
    kpi = OpenKpi(
        key=target.series_id, series_id=target.series_id, name=target.name, unit=target.unit, kind=target.kind
    )
    outcome = parse_reply(text, [kpi])
    if outcome.is_report and len(outcome.reports) == 1:
        return outcome.reports[0].value, None
    question = outcome.questions[0] if outcome.questions else None
    reason = question.reason if question else NO_FIGURE
    figure = question.figure if question else None
    shown = text if len(text) <= 40 else text[:39] + "…"
    unit = target.unit
    if reason == IMPOSSIBLE_VALUE and figure is not None:
        if figure.negative or figure.value < 0:
            return None, f"{tpl.ACTUAL} {shown} is negative"
        if unit == "%" and figure.value > 100:
            return None, f"{tpl.ACTUAL} {shown} is over 100% for a rate ({target.name})"
        return None, f"{tpl.ACTUAL} {shown} is not a whole number of {unit} ({target.name})"
    messages = {
        MALFORMED_NUMBER: f"{tpl.ACTUAL} {shown!r} is not a well-formed number",
        UNIT_MISMATCH: f"{tpl.ACTUAL} {shown!r} is not in {unit}, the unit of {target.name}",
        NO_FIGURE: f"{tpl.ACTUAL} {shown!r} is not a number",
        SEVERAL_FIGURES: f"{tpl.ACTUAL} {shown!r} holds several figures; write one",
        UNCLEAR_VALUE: f"{tpl.ACTUAL} {shown!r} is a bound or a change, not the figure itself",
    }
    return None, messages.get(reason, f"{tpl.ACTUAL} {shown!r} cannot be read as a figure of {target.name}")


def read_status(value: Any) -> tuple[str | None, str | None]:
    """A 状況 cell as one of the five statuses, or the problem."""
    if is_blank(value):
        return None, None
    text = cell_text(value)
    if text in tpl.STATUS_CHOICES:
        return text, None
    return None, f"{tpl.STATUS} {show_cell(value)!r} is not one of {'/'.join(tpl.STATUS_CHOICES)}"
