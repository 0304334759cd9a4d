"""Cells of the workbooks people fill in (the past-years template, the plan template): a row by header,
and a cell as text to compare, as typed for an error message, blank or not, percent-formatted or not."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SheetRow:
    """One data row of a template sheet: its cells by header, and each cell's number format."""

    sheet: str
    row: int
    cells: dict[str, Any]
    formats: dict[str, str]

    def where(self) -> str:
        return f"{self.sheet} row {self.row}"


def open_workbook(path: Path, error: type[Exception]) -> Any:
    """PATH's workbook with its computed values; ERROR (the reader's own) says plainly when it is none."""
    from openpyxl import load_workbook

    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        return load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a file that is not xlsx
        raise error(
            f"{path.name} is not an Excel workbook (.xlsx) that can be read: {exc.__class__.__name__}"
        ) from exc


def is_blank(value: Any) -> bool:
    """An empty cell: nothing, or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any) -> str:
    """A cell as text to compare (NFKC: full-width digits and spaces as typed in Excel)."""
    return "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()


def show_cell(value: Any) -> str:
    """A cell as the person typed it, for an error message (Excel's 3.0 back to 3, dates as ISO)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_percent_format(number_format: str) -> bool:
    """Whether a cell's format is Excel's percent (18% typed into a cell is stored as 0.18)."""
    unquoted = re.sub(r'"[^"]*"|\\.', "", number_format or "")
    return "%" in unquoted
