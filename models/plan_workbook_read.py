"""Reading the Excel plan template back (`dxbot plan import plan.xlsx`) into the plan document the YAML loader
produces, which then takes the YAML's path (load_plan_file: check_plan and the schema; then apply_plan).
Every row is checked first; each problem is named as '<sheet> row <n>: <problem>' and nothing is imported
while any remains."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from models import plan_template as tpl
from models.fiscal_year import parse_fiscal_year
from models.plan_errors import PlanFormatError, PlanWorkbookError, closest
from models.sheet_cells import SheetRow, cell_text, is_blank, is_percent_format, open_workbook, show_cell

_INITIATIVE_ID = re.compile(r"(\d+)-(\d+)")


def read_plan_workbook(path: Path) -> tuple[dict, list[str]]:
    """The plan document a filled-in template holds, and warnings; PlanWorkbookError when any row has a
    problem, PlanFormatError when the file is not the template at all. load_plan_file checks the document
    as it checks a YAML plan."""
    workbook = open_workbook(path, PlanFormatError)
    try:
        title, years = _plan_cells(workbook)
        sheets = {name: _sheet_rows(workbook, name) for name in tpl.DATA_SHEETS}
    finally:
        workbook.close()
    reader = _Reader(years)
    document = reader.read(sheets, title)
    if reader.problems:
        raise PlanWorkbookError(path.name, reader.problems)
    return document, reader.warnings


def _plan_cells(workbook) -> tuple[str | None, list[int] | None]:
    """The plan's name and years from 記入方法 (None when the sheet or the cell is missing)."""
    if tpl.INSTRUCTIONS_SHEET not in workbook.sheetnames:
        return None, None
    title, years = None, None
    for row in workbook[tpl.INSTRUCTIONS_SHEET].iter_rows(min_row=1, max_row=10, max_col=3, values_only=True):
        label = cell_text(row[0]) if row else ""
        if label == tpl.TITLE_LABEL and len(row) > 1 and not is_blank(row[1]):
            title = str(row[1]).strip()
        if label == tpl.YEARS_LABEL and len(row) > 2 and not is_blank(row[2]):
            found = [int(part) for part in re.findall(r"\d{4}", cell_text(row[2]))]
            years = sorted(set(found)) or None
    return title, years


def _sheet_rows(workbook, name: str) -> list[SheetRow]:
    """The sheet's filled rows by header; a PlanFormatError when the sheet or a required column is missing."""
    if name not in workbook.sheetnames:
        raise PlanFormatError(
            f"the workbook has no sheet {name}: is it the plan template (`dxbot plan template`)?"
        )
    sheet = workbook[name]
    headers = tpl.HEADERS[name]
    header_row = [cell_text(c.value) for c in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    columns = {h: i for i, h in enumerate(header_row) if h in headers}
    missing = [h for h in headers if h not in columns and h not in tpl.OPTIONAL.get(name, ())]
    if missing:
        raise PlanFormatError(
            f"sheet {name} has no column {', '.join(missing)} in row 1: is it the plan template "
            "(`dxbot plan template`)? (make a new one)"
        )
    rows = []
    for cells in sheet.iter_rows(min_row=2):
        picked = {h: cells[i] if i < len(cells) else None for h, i in columns.items()}
        if all(c is None or is_blank(c.value) for c in picked.values()):
            continue
        rows.append(
            SheetRow(
                sheet=name,
                row=cells[0].row,
                cells={h: c.value if (c := picked.get(h)) is not None else None for h in headers},
                formats={
                    h: c.number_format if (c := picked.get(h)) is not None else "General" for h in headers
                },
            )
        )
    return rows


def _series_letters(index: int) -> str:
    """a, b, … z, aa, ab, …: the suffix of an initiative's INDEX-th KPI series."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _plain(number: Decimal) -> Decimal:
    """A Decimal without exponent or trailing zeros (30, not 3E+1 or 30.0)."""
    if number == number.to_integral_value():
        return Decimal(int(number))
    return number.normalize()


class _Reader:
    """Checks the rows of the four sheets and builds the plan document, collecting every problem."""

    def __init__(self, years: list[int] | None):
        self.years = years
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.initiative_rows: dict[str, SheetRow] = {}

    def problem(self, row: SheetRow, text: str) -> None:
        self.problems.append(f"{row.where()}: {text}")

    # --- cells ---------------------------------------------------------------------------------------

    def text(self, row: SheetRow, header: str, required: bool = True) -> str | None:
        """A name or title as typed (without surrounding spaces); a problem when required and empty."""
        value = row.cells.get(header)
        if is_blank(value):
            if required:
                self.problem(row, f"{header} is empty")
            return None
        return show_cell(value) if not isinstance(value, str) else value.strip()

    @staticmethod
    def verbatim(row: SheetRow, header: str) -> str | None:
        """A hidden column's text exactly as exported (None when empty)."""
        value = row.cells.get(header)
        if is_blank(value):
            return None
        return value if isinstance(value, str) else show_cell(value)

    def whole(self, row: SheetRow, header: str) -> int | None:
        value = row.cells.get(header)
        if is_blank(value):
            self.problem(row, f"{header} is empty")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and cell_text(value).isdigit():
            number = int(cell_text(value))
        else:
            self.problem(row, f"{header} {show_cell(value)!r} is not a whole number")
            return None
        if number < 1:
            self.problem(row, f"{header} {number} should be 1 or more")
            return None
        return number

    def initiative_id(self, row: SheetRow) -> str | None:
        """取組み番号 as 1-2 (a date Excel made of 1-2 is read back as 1-2)."""
        value = row.cells.get(tpl.INITIATIVE_ID)
        if is_blank(value):
            self.problem(row, f"{tpl.INITIATIVE_ID} is empty")
            return None
        if isinstance(value, datetime | date):
            return f"{value.month}-{value.day}"
        text = cell_text(value)
        match = _INITIATIVE_ID.fullmatch(text) if isinstance(value, str) else None
        if match is None:
            self.problem(
                row, f"{tpl.INITIATIVE_ID} {show_cell(value)!r} should look like 1-2 (施策番号-連番)"
            )
            return None
        return f"{int(match.group(1))}-{int(match.group(2))}"

    def reference(self, row: SheetRow) -> str | None:
        """The initiative a 行動計画 or KPI row belongs to; a problem when the 取組み sheet lacks it."""
        iid = self.initiative_id(row)
        if iid is not None and iid not in self.initiative_rows:
            known = list(self.initiative_rows)
            self.problem(
                row,
                f"{tpl.INITIATIVE_ID} {iid!r} is not on sheet {tpl.INITIATIVE_SHEET}{closest(iid, known)}",
            )
            return None
        return iid

    def year(self, row: SheetRow) -> int | None:
        value = row.cells.get(tpl.YEAR)
        if is_blank(value):
            self.problem(row, f"{tpl.YEAR} is empty")
            return None
        fiscal_year = None
        if isinstance(value, int) and not isinstance(value, bool):
            fiscal_year = value
        elif isinstance(value, float) and value.is_integer():
            fiscal_year = int(value)
        elif isinstance(value, str):
            try:
                fiscal_year = parse_fiscal_year(value)
            except ValueError:
                fiscal_year = None
        if fiscal_year is None or not 1900 <= fiscal_year <= 2999:
            self.problem(
                row, f"{tpl.YEAR} {show_cell(value)!r} is not a fiscal year (e.g. 2027 or 令和9年度)"
            )
            return None
        if self.years and fiscal_year not in self.years:
            span = f"{self.years[0]}–{self.years[-1]}" if len(self.years) > 1 else str(self.years[0])
            self.problem(
                row,
                f"{tpl.YEAR} {fiscal_year} is outside the plan's years {span} "
                f"({tpl.INSTRUCTIONS_SHEET} {tpl.YEARS_LABEL})",
            )
            return None
        return fiscal_year

    def target(self, row: SheetRow, unit: str | None) -> Decimal | None:
        """目標 as a number: a number cell (a % cell's 0.35 as 35) or text such as 1,200 or 35%."""
        value = row.cells.get(tpl.TARGET)
        if is_blank(value):
            self.problem(row, f"{tpl.TARGET} is empty")
            return None
        number = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = Decimal(str(value))
            if is_percent_format(row.formats.get(tpl.TARGET, "General")):
                number *= 100
        elif isinstance(value, str):
            text = cell_text(value).replace(",", "")
            if unit and text.endswith(unit):
                text = text[: -len(unit)].strip()
            try:
                number = Decimal(text)
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            self.problem(row, f"{tpl.TARGET} {show_cell(value)!r} is not a number")
            return None
        return _plain(number)

    def code(self, row: SheetRow, header: str, codes: tuple, words: dict, default: str | None) -> str | None:
        """A dropdown cell as its code (level, higher, …), also from the Japanese words; DEFAULT when empty."""
        value = row.cells.get(header)
        if is_blank(value):
            return default
        text = cell_text(value)
        if text.lower() in codes:
            return text.lower()
        if text in words:
            return words[text]
        self.problem(
            row, f"{header} {show_cell(value)!r} is not one of {', '.join(codes)}{closest(text, codes)}"
        )
        return default

    # --- sheets --------------------------------------------------------------------------------------

    def read(self, sheets: dict[str, list[SheetRow]], title: str | None) -> dict:
        measures = self.measures(sheets[tpl.MEASURE_SHEET])
        initiatives = self.initiatives(sheets[tpl.INITIATIVE_SHEET], measures)
        years: dict[str, dict[int, dict]] = defaultdict(dict)

        def entry(iid: str, fiscal_year: int) -> dict:
            return years[iid].setdefault(fiscal_year, {"fiscal_year": fiscal_year, "actions": [], "kpis": []})

        for row in sheets[tpl.ACTION_SHEET]:
            before = len(self.problems)
            iid, fiscal_year = self.reference(row), self.year(row)
            text = self.text(row, tpl.ACTION_TEXT)
            if len(self.problems) == before and iid is not None and fiscal_year is not None:
                entry(iid, fiscal_year)["actions"].append(text)
        for _row, iid, fiscal_year, kpi in self.kpis(sheets[tpl.KPI_SHEET]):
            entry(iid, fiscal_year)["kpis"].append(kpi)

        for iid, (row, initiative) in initiatives.items():
            initiative["years"] = [years[iid][fy] for fy in sorted(years[iid])]
            if not initiative["years"]:
                self.warnings.append(
                    f"{row.where()}: initiative {iid} has no {tpl.ACTION_SHEET} and no KPI rows"
                )
        for row, measure in measures.values():
            if not measure["initiatives"]:
                self.warnings.append(f"{row.where()}: measure {measure['no']} has no initiatives")
        if not measures and not self.problems:
            self.problems.append(
                f"sheet {tpl.MEASURE_SHEET} has no rows: the plan needs at least one measure"
            )
        used = sorted({fy for found in years.values() for fy in found})
        document: dict = {"title": title} if title else {}
        document["fiscal_years"] = self.years or used
        document["measures"] = [measure for _, measure in measures.values()]
        return document

    def measures(self, rows: list[SheetRow]) -> dict[int, tuple[SheetRow, dict]]:
        measures: dict[int, tuple[SheetRow, dict]] = {}
        for row in rows:
            no = self.whole(row, tpl.MEASURE_NO)
            title = self.text(row, tpl.MEASURE_TITLE)
            if no is not None and no in measures:
                self.problem(row, f"{tpl.MEASURE_NO} {no} appears twice (also row {measures[no][0].row})")
            elif no is not None:
                measures[no] = (row, {"no": no, "title": title or "", "initiatives": []})
        return measures

    def initiatives(self, rows: list[SheetRow], measures: dict) -> dict[str, tuple[SheetRow, dict]]:
        initiatives: dict[str, tuple[SheetRow, dict]] = {}
        for row in rows:
            before = len(self.problems)
            no = self.whole(row, tpl.INITIATIVE_MEASURE)
            iid = self.initiative_id(row)
            title = self.text(row, tpl.INITIATIVE_TITLE)
            written = self.text(row, tpl.SECTIONS)
            sections = tpl.split_names(written or "")
            if written is not None and not sections:
                self.problem(row, f"{tpl.SECTIONS} is empty")
            lead = self.text(row, tpl.LEAD, required=False)
            if lead is not None and sections and lead not in sections:
                self.problem(
                    row,
                    f"{tpl.LEAD} {lead!r} is not one of its {tpl.SECTIONS} ({tpl.join_names(sections)})"
                    f"{closest(lead, sections)}",
                )
            if no is not None and no not in measures:
                self.problem(
                    row,
                    f"{tpl.INITIATIVE_MEASURE} {no} is not on sheet {tpl.MEASURE_SHEET}{closest(no, list(measures))}",
                )
            elif iid is not None and no is not None and not iid.startswith(f"{no}-"):
                self.problem(row, f"{tpl.INITIATIVE_ID} {iid} does not belong to 施策 {no} (write {no}-N)")
            if iid is not None and iid in self.initiative_rows:
                self.problem(
                    row, f"{tpl.INITIATIVE_ID} {iid} appears twice (also row {self.initiative_rows[iid].row})"
                )
                continue
            if iid is not None:
                self.initiative_rows[iid] = row  # known even when the row has a problem: no echo errors
            if len(self.problems) != before or iid is None:
                continue
            initiative = {
                "id": iid,
                "title": title,
                "summary": self.verbatim(row, tpl.SUMMARY) or "",
                "departments": tpl.split_names(self.verbatim(row, tpl.DEPARTMENTS) or ""),
                "sections": sections,
                "lead_section": lead or sections[0],
            }
            initiatives[iid] = (row, initiative)
            measures[no][1]["initiatives"].append(initiative)
        return initiatives

    def kpis(self, rows: list[SheetRow]) -> list[tuple[SheetRow, str, int, dict]]:
        """The KPI rows checked, each with a series id (given, or shared by the same name in the initiative)."""
        read: list[tuple[SheetRow, str, int, dict]] = []
        for row in rows:
            before = len(self.problems)
            iid, fiscal_year = self.reference(row), self.year(row)
            name = self.text(row, tpl.KPI_NAME)
            unit = self.text(row, tpl.UNIT)
            kpi: dict[str, Any] = {
                "id": self.series(row, iid),
                "name": name,
                "target": self.target(row, unit),
                "unit": unit,
                "period": self.code(row, tpl.PERIOD, tpl.PERIODS, tpl.PERIOD_WORDS, None),
                "kind": self.code(row, tpl.KIND, tpl.KINDS, tpl.KIND_WORDS, "level"),
                "better": self.code(row, tpl.BETTER, tpl.BETTER_CHOICES, tpl.BETTER_WORDS, "higher"),
                "note": self.verbatim(row, tpl.NOTE),
                "raw": self.verbatim(row, tpl.RAW),
            }
            if len(self.problems) == before and iid is not None and fiscal_year is not None:
                read.append((row, iid, fiscal_year, kpi))
        self._assign_series(read)
        seen: dict[tuple[str, int], SheetRow] = {}
        kept = []
        for row, iid, fiscal_year, kpi in read:
            key = (kpi["id"], fiscal_year)
            if key in seen:
                if is_blank(row.cells.get(tpl.SERIES)):
                    what, hint = f"{tpl.KPI_NAME} {kpi['name']!r} of {iid}", ""
                else:
                    what = f"{tpl.SERIES} {kpi['id']}"
                    hint = f"; a copied row keeps the hidden {tpl.SERIES}: clear it for a new KPI"
                self.problem(row, f"{what} has two targets in {fiscal_year} (also row {seen[key].row}){hint}")
                continue
            seen[key] = row
            if kpi["raw"] is not None and not _still_says(kpi):
                written = _raw(kpi)
                self.warnings.append(
                    f"{row.where()}: {tpl.RAW} {kpi['raw']!r} no longer says {tpl.KPI_NAME}/{tpl.TARGET}/"
                    f"{tpl.UNIT}; written as {written!r}"
                )
                kpi["raw"] = written
            kpi["raw"] = kpi["raw"] or _raw(kpi)
            kept.append((row, iid, fiscal_year, kpi))
        return kept

    def series(self, row: SheetRow, iid: str | None) -> str | None:
        value = row.cells.get(tpl.SERIES)
        if is_blank(value) or iid is None:
            return None
        text = cell_text(value)
        if not text.startswith(f"{iid}/") or text == f"{iid}/":
            self.problem(row, f"{tpl.SERIES} {show_cell(value)!r} should start with '{iid}/' (e.g. {iid}/a)")
        return text

    @staticmethod
    def _assign_series(read: list[tuple[SheetRow, str, int, dict]]) -> None:
        """Rows without a series id join the series of the same KPI name in their initiative, or start one."""
        used: dict[str, set[str]] = defaultdict(set)
        by_name: dict[tuple[str, str], str] = {}
        for _, iid, _, kpi in read:
            if kpi["id"] is not None:
                used[iid].add(kpi["id"])
                by_name.setdefault((iid, kpi["name"]), kpi["id"])
        for _, iid, _, kpi in read:
            if kpi["id"] is not None:
                continue
            series = by_name.get((iid, kpi["name"]))
            if series is None:
                index = 0
                while f"{iid}/{_series_letters(index)}" in used[iid]:
                    index += 1
                series = f"{iid}/{_series_letters(index)}"
                used[iid].add(series)
                by_name[(iid, kpi["name"])] = series
            kpi["id"] = series


def _raw(kpi: dict[str, Any]) -> str:
    """The KPI as a plan writes it (名前： 35%, 100時間削減, 10件増/年), for a row that leaves 計画の記載 empty."""
    number = format(kpi["target"], "f")
    change = {"increase": "増", "reduction": "削減"}.get(kpi["kind"], "")
    per = {"year": "/年", "month": "/月"}.get(kpi["period"] or "", "")
    return f"{kpi['name']}： {number}{kpi['unit']}{change}{per}"


def _still_says(kpi: dict[str, Any]) -> bool:
    """Whether the plan's wording (計画の記載) still names the KPI, its target and unit (not edited since)."""
    raw = cell_text(kpi["raw"]).replace(",", "")
    number = re.escape(format(kpi["target"], "f"))
    return (
        cell_text(kpi["name"]) in raw
        and re.search(rf"(?<![\d.]){number}(?![\d]|\.\d)", raw) is not None
        and cell_text(kpi["unit"]) in raw
    )
