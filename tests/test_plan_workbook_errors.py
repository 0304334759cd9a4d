"""Every problem the Excel plan template's import can find: named by sheet and row, all at once, and nothing is
written while any remains (exit code 2), like `dxbot import-actuals`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models import plan_template as tpl
from models.plan_errors import PlanFormatError, PlanWorkbookError
from models.plan_workbook_read import read_plan_workbook
from tests.test_plan_workbook import columns, fill_fictional_city, make_template, shown

# The filled template's bytes, made by the first test that asks (`dxbot plan template` on an empty database,
# then filled): every test edits its own copy, and making it ~30 times cost more than the tests themselves.
_FILLED: dict[str, bytes] = {}


@pytest.fixture
def filled(dxbot, tmp_path) -> Path:
    """The fictional city's hand-filled template (施策 rows 2–3, 取組み 2–4, 行動計画 2–7, KPI 2–6), a fresh copy."""
    path = tmp_path / "plan.xlsx"
    if "xlsx" not in _FILLED:
        _FILLED["xlsx"] = fill_fictional_city(make_template(dxbot, path)).read_bytes()
    else:
        path.write_bytes(_FILLED["xlsx"])
    return path


def edit(path: Path, *changes: tuple[str, int, str, object]) -> Path:
    """Set (sheet, row, header) cells to values, as a planner's mistake would."""
    workbook = load_workbook(path)
    for sheet_name, row, header, value in changes:
        sheet = workbook[sheet_name]
        sheet.cell(row=row, column=columns(sheet)[header]).value = value
    workbook.save(path)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PlanWorkbookError) as caught:
        read_plan_workbook(path)
    return caught.value.problems


ROW_ERRORS = {
    "measure number": (
        tpl.MEASURE_SHEET,
        3,
        tpl.MEASURE_NO,
        "二",
        "施策 row 3: 番号 '二' is not a whole number",
    ),
    "measure zero": (tpl.MEASURE_SHEET, 3, tpl.MEASURE_NO, 0, "施策 row 3: 番号 0 should be 1 or more"),
    "measure twice": (
        tpl.MEASURE_SHEET,
        3,
        tpl.MEASURE_NO,
        1,
        "施策 row 3: 番号 1 appears twice (also row 2)",
    ),
    "measure title": (tpl.MEASURE_SHEET, 2, tpl.MEASURE_TITLE, " ", "施策 row 2: 施策名 is empty"),
    "unknown measure": (
        tpl.INITIATIVE_SHEET,
        4,
        tpl.INITIATIVE_MEASURE,
        3,
        "取組み row 4: 施策番号 3 is not on sheet 施策",
    ),
    "initiative id form": (
        tpl.INITIATIVE_SHEET,
        3,
        tpl.INITIATIVE_ID,
        "1の2",
        "取組み row 3: 取組み番号 '1の2' should look like 1-2 (施策番号-連番)",
    ),
    "initiative of another measure": (
        tpl.INITIATIVE_SHEET,
        3,
        tpl.INITIATIVE_ID,
        "2-2",
        "取組み row 3: 取組み番号 2-2 does not belong to 施策 1 (write 1-N)",
    ),
    "initiative twice": (
        tpl.INITIATIVE_SHEET,
        3,
        tpl.INITIATIVE_ID,
        "1-1",
        "取組み row 3: 取組み番号 1-1 appears twice (also row 2)",
    ),
    "initiative title": (
        tpl.INITIATIVE_SHEET,
        2,
        tpl.INITIATIVE_TITLE,
        None,
        "取組み row 2: 取組み名 is empty",
    ),
    "no sections": (tpl.INITIATIVE_SHEET, 2, tpl.SECTIONS, "、", "取組み row 2: 担当課・室 is empty"),
    "lead elsewhere": (
        tpl.INITIATIVE_SHEET,
        4,
        tpl.LEAD,
        "情報政策室",
        "取組み row 4: 主担当 '情報政策室' is not one of its 担当課・室 (人事課、情報政策課) (did you mean '情報政策課'?)",
    ),
    "unknown initiative": (
        tpl.ACTION_SHEET,
        6,
        tpl.INITIATIVE_ID,
        "1-3",
        "行動計画 row 6: 取組み番号 '1-3' is not on sheet 取組み (did you mean '1-2'?)",
    ),
    "no year": (tpl.ACTION_SHEET, 2, tpl.YEAR, None, "行動計画 row 2: 年度 is empty"),
    "not a year": (
        tpl.ACTION_SHEET,
        2,
        tpl.YEAR,
        "来年度",
        "行動計画 row 2: 年度 '来年度' is not a fiscal year (e.g. 2027 or 令和9年度)",
    ),
    "year outside the plan": (
        tpl.ACTION_SHEET,
        3,
        tpl.YEAR,
        "令和12年度",
        "行動計画 row 3: 年度 2030 is outside the plan's years 2027–2029 (記入方法 対象年度)",
    ),
    "no action text": (tpl.ACTION_SHEET, 4, tpl.ACTION_TEXT, None, "行動計画 row 4: 行動計画 is empty"),
    "target in words": (tpl.KPI_SHEET, 3, tpl.TARGET, "約30", "KPI row 3: 目標 '約30' is not a number"),
    "no target": (tpl.KPI_SHEET, 3, tpl.TARGET, None, "KPI row 3: 目標 is empty"),
    "kpi name": (tpl.KPI_SHEET, 4, tpl.KPI_NAME, None, "KPI row 4: KPI名 is empty"),
    "no unit": (tpl.KPI_SHEET, 2, tpl.UNIT, None, "KPI row 2: 単位 is empty"),
    "kind": (
        tpl.KPI_SHEET,
        2,
        tpl.KIND,
        "levels",
        "KPI row 2: 種類 'levels' is not one of level, increase, reduction (did you mean 'level'?)",
    ),
    "better": (
        tpl.KPI_SHEET,
        2,
        tpl.BETTER,
        "良い",
        "KPI row 2: 良い方向 '良い' is not one of higher, lower",
    ),
    "period": (tpl.KPI_SHEET, 2, tpl.PERIOD, "weekly", "KPI row 2: 期間 'weekly' is not one of year, month"),
    "series of another initiative": (
        tpl.KPI_SHEET,
        2,
        tpl.SERIES,
        "2-1/a",
        "KPI row 2: 系列ID '2-1/a' should start with '1-1/' (e.g. 1-1/a)",
    ),
    "same KPI twice in a year": (
        tpl.KPI_SHEET,
        3,
        tpl.YEAR,
        2027,
        "KPI row 3: KPI名 '電子申請率' of 1-1 has two targets in 2027 (also row 2)",
    ),
}


@pytest.mark.parametrize("case", ROW_ERRORS)
def test_each_kind_of_row_error_is_named(filled, case):
    """The mistake is named first (rows that refer to a row it spoilt may follow)."""
    sheet, row, header, value, message = ROW_ERRORS[case]
    assert problems(edit(filled, (sheet, row, header, value)))[0] == message


def test_a_copied_row_keeps_its_hidden_series_id(filled):
    edit(filled, (tpl.KPI_SHEET, 2, tpl.SERIES, "1-1/a"), (tpl.KPI_SHEET, 5, tpl.SERIES, "1-1/a"))
    assert problems(filled) == [
        "KPI row 5: 系列ID 1-1/a has two targets in 2027 (also row 2); a copied row keeps the hidden 系列ID:"
        " clear it for a new KPI"
    ]


def test_every_problem_is_listed_exit_2_and_nothing_is_written(dxbot, filled):
    edit(
        filled,
        (tpl.KPI_SHEET, 3, tpl.TARGET, "約30"),
        (tpl.ACTION_SHEET, 7, tpl.YEAR, 2031),
        (tpl.INITIATIVE_SHEET, 3, tpl.SECTIONS, None),
    )
    result = dxbot("plan", "import", str(filled))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "取組み row 3: 担当課・室 is empty",
        "行動計画 row 7: 年度 2031 is outside the plan's years 2027–2029 (記入方法 対象年度)",
        "KPI row 3: 目標 '約30' is not a number",
        "error: nothing imported from plan.xlsx: 3 problems (fix the rows above and import again)",
    ]
    assert shown(dxbot)["measures"] == []


def test_an_empty_template_is_refused(dxbot, tmp_path):
    path = make_template(dxbot, tmp_path / "empty.xlsx")
    assert problems(path) == ["sheet 施策 has no rows: the plan needs at least one measure"]


def test_a_missing_sheet_or_column_is_named(filled):
    workbook = load_workbook(filled)
    sheet = workbook[tpl.KPI_SHEET]
    sheet.cell(row=1, column=columns(sheet)[tpl.TARGET], value="目標値")
    workbook.save(filled)
    with pytest.raises(PlanFormatError, match="sheet KPI has no column 目標 in row 1"):
        read_plan_workbook(filled)
    del workbook[tpl.KPI_SHEET]
    workbook.save(filled)
    with pytest.raises(PlanFormatError, match="the workbook has no sheet KPI"):
        read_plan_workbook(filled)


def test_hidden_columns_may_be_deleted(filled):
    """A planner who deletes the hidden columns loses nothing they filled in."""
    workbook = load_workbook(filled)
    sheet = workbook[tpl.KPI_SHEET]
    sheet.delete_cols(columns(sheet)[tpl.SERIES], 4)
    workbook.save(filled)
    plan, _ = read_plan_workbook(filled)
    assert plan["measures"][0]["initiatives"][0]["years"][0]["kpis"][0]["id"] == "1-1/a"


def test_a_file_that_is_not_a_workbook(dxbot, tmp_path):
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    result = dxbot("plan", "import", str(broken))
    assert result.exit_code == 2
    assert "broken.xlsx is not an Excel workbook (.xlsx) that can be read" in result.output
    assert len(result.output.strip().splitlines()) == 1
