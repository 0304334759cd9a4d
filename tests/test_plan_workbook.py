"""The Excel plan template: `dxbot plan template`, a fictional city's planner filling it in, `dxbot plan import`
of the workbook, and `dxbot plan export` whose round trip (export → import) changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models import plan_template as tpl
from models.plan_format import PLAN_YAML, load_plan_file
from models.plan_workbook_read import read_plan_workbook

NO_CHANGES = (
    "0 action items added, 0 removed; 0 KPI targets added, 0 changed (earlier values kept), 0 removed"
)

# 緑ヶ丘市 (fictional): two measures, three initiatives, a KPI two sections share, FY2027–FY2029.
MEASURES = [(1, "行政手続きのオンライン化"), (2, "職員の働き方改革")]
INITIATIVES = [
    (1, "1-1", "電子申請の拡充", "市民課、子育て支援課", None, "窓口に来なくても申請できるようにする。"),
    (1, "1-2", "キャッシュレス決済の導入", "会計課", None, None),
    (2, "2-1", "テレワークの推進", "人事課、情報政策課", "情報政策課", None),
]
ACTIONS = [
    ("1-1", 2027, "対象手続きの洗い出し"),
    ("1-1", 2027, "電子申請システムの選定"),
    ("1-1", "令和10年度", "子育て関係の手続きのオンライン化"),
    ("1-1", "R11", "全手続きの運用評価"),
    ("1-2", 2027, "窓口へのキャッシュレス端末の設置"),
    ("2-1", 2028, "テレワーク規程の改正"),
]
KPIS = [  # 取組み番号, 年度, KPI名, 目標, 単位, 種類, 良い方向
    ("1-1", 2027, "電子申請率", 30, "%", "level", "higher"),
    ("1-1", 2028, "電子申請率", "40", "%", None, None),
    ("1-1", 2029, "電子申請率", "５０％", "%", None, None),
    ("1-1", 2027, "窓口での申請件数", "1,200", "件", "reduction", "lower"),
    ("2-1", 2028, "テレワーク実施回数", 300, "回", "increase", "higher"),
]


def make_template(dxbot, path: Path, years: str = "2027-2029") -> Path:
    result = dxbot("plan", "template", "--years", years, "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def columns(sheet) -> dict[str, int]:
    return {cell.value: cell.column for cell in sheet[1]}


def put(sheet, row: int, values: dict) -> None:
    """Type VALUES into ROW of SHEET by column header, as a planner does."""
    cols = columns(sheet)
    for header, value in values.items():
        sheet.cell(row=row, column=cols[header], value=value)


def fill_fictional_city(path: Path) -> Path:
    """Fill the blank template the way a planner would: visible columns only, in plain typing."""
    workbook = load_workbook(path)
    guide = workbook[tpl.INSTRUCTIONS_SHEET]
    guide["B2"] = "緑ヶ丘市DX推進計画"
    for row, (no, title) in enumerate(MEASURES, start=2):
        put(workbook[tpl.MEASURE_SHEET], row, {tpl.MEASURE_NO: no, tpl.MEASURE_TITLE: title})
    for row, (no, iid, title, sections, lead, summary) in enumerate(INITIATIVES, start=2):
        put(
            workbook[tpl.INITIATIVE_SHEET],
            row,
            {
                tpl.INITIATIVE_MEASURE: no,
                tpl.INITIATIVE_ID: iid,
                tpl.INITIATIVE_TITLE: title,
                tpl.SECTIONS: sections,
                tpl.LEAD: lead,
                tpl.SUMMARY: summary,
            },
        )
    for row, (iid, year, text) in enumerate(ACTIONS, start=2):
        put(workbook[tpl.ACTION_SHEET], row, {tpl.INITIATIVE_ID: iid, tpl.YEAR: year, tpl.ACTION_TEXT: text})
    for row, (iid, year, name, target, unit, kind, better) in enumerate(KPIS, start=2):
        put(
            workbook[tpl.KPI_SHEET],
            row,
            {
                tpl.INITIATIVE_ID: iid,
                tpl.YEAR: year,
                tpl.KPI_NAME: name,
                tpl.TARGET: target,
                tpl.UNIT: unit,
                tpl.KIND: kind,
                tpl.BETTER: better,
            },
        )
    workbook.save(path)
    return path


def shown(dxbot) -> dict:
    result = dxbot("plan", "show", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# --- the template ---------------------------------------------------------------------------------------


def test_template_has_the_sheets_dropdowns_and_hidden_columns(dxbot, tmp_path):
    path = make_template(dxbot, tmp_path / "plan.xlsx", "令和9年度-令和11年度")
    workbook = load_workbook(path)
    assert workbook.sheetnames == [tpl.INSTRUCTIONS_SHEET, *tpl.DATA_SHEETS]
    assert workbook[tpl.INSTRUCTIONS_SHEET]["C3"].value == "2027,2028,2029"
    kpi = workbook[tpl.KPI_SHEET]
    assert [c.value for c in kpi[1]] == list(tpl.KPI_HEADERS)
    cols = columns(kpi)
    hidden = {
        h for h, c in cols.items() if kpi.column_dimensions[kpi.cell(row=1, column=c).column_letter].hidden
    }
    assert hidden == {tpl.SERIES, tpl.PERIOD, tpl.NOTE, tpl.RAW}
    lists = {
        str(v.sqref).split(":")[0]: v.formula1
        for v in kpi.data_validations.dataValidation
        if v.type == "list"
    }
    letter = {h: kpi.cell(row=2, column=c).coordinate for h, c in cols.items()}
    assert lists[letter[tpl.YEAR]] == '"2027,2028,2029"'
    assert lists[letter[tpl.KIND]] == '"level,increase,reduction"'
    assert lists[letter[tpl.BETTER]] == '"higher,lower"'
    assert tpl.INITIATIVE_SHEET in lists[letter[tpl.INITIATIVE_ID]]
    strict = {v.formula1: v.showErrorMessage for v in kpi.data_validations.dataValidation if v.type == "list"}
    assert strict['"level,increase,reduction"'] and not strict['"' + ",".join(tpl.UNIT_SUGGESTIONS) + '"']
    assert kpi.cell(row=2, column=cols[tpl.INITIATIVE_ID]).number_format == "@"  # 1-1 stays text, not 1 Jan
    initiatives = workbook[tpl.INITIATIVE_SHEET]
    assert [c.value for c in initiatives[1]] == list(tpl.INITIATIVE_HEADERS)


def test_template_years_default_to_the_next_plan_period(dxbot, tmp_path):
    result = dxbot("plan", "template", "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "FY2027–FY2030" in result.output  # the clock is in FY2026
    workbook = load_workbook(tmp_path / tpl.TEMPLATE_NAME)
    assert workbook[tpl.INSTRUCTIONS_SHEET]["C3"].value == "2027,2028,2029,2030"


def test_template_refuses_bad_years_and_overwriting(dxbot, tmp_path):
    path = make_template(dxbot, tmp_path / "plan.xlsx")
    again = dxbot("plan", "template", "--output", str(path))
    assert again.exit_code == 2 and "add --force" in again.output
    assert dxbot("plan", "template", "--output", str(path), "--force").exit_code == 0
    for years in ("2030-2027", "someday", "2027-2060"):
        result = dxbot("plan", "template", "--years", years, "--output", str(tmp_path / "x.xlsx"))
        assert result.exit_code == 2, years
        assert "--years" in result.output
    assert not (tmp_path / "x.xlsx").exists()


# --- a fictional city's plan -------------------------------------------------------------------------------


def test_a_hand_filled_template_of_a_fictional_city_imports(dxbot, tmp_path):
    path = fill_fictional_city(make_template(dxbot, tmp_path / "midorigaoka.xlsx"))
    dry = dxbot("plan", "import", "--dry-run", str(path))
    assert dry.exit_code == 0, dry.output
    assert shown(dxbot)["measures"] == []
    result = dxbot("plan", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 measures, 3 initiatives, 6 action items, 5 KPI targets" in result.output

    plan = shown(dxbot)
    initiatives = {i["id"]: i for m in plan["measures"] for i in m["initiatives"]}
    assert list(initiatives) == ["1-1", "1-2", "2-1"]
    assert initiatives["1-1"]["lead_section"] == "市民課"  # 主担当 left empty: the first section
    assert initiatives["2-1"]["lead_section"] == "情報政策課"
    assert initiatives["2-1"]["sections"] == ["人事課", "情報政策課"]  # one KPI, two sections
    assert initiatives["1-2"]["summary"] == ""
    years = {y["fiscal_year"]: y for y in initiatives["1-1"]["years"]}
    assert sorted(years) == [2027, 2028, 2029]
    assert [a["text"] for a in years[2027]["actions"]] == ["対象手続きの洗い出し", "電子申請システムの選定"]
    rate = [
        (k["id"], k["target"], k["kind"], k["better"], k["raw"]) for y in years.values() for k in y["kpis"]
    ]
    assert rate == [
        ("1-1/a", 30, "level", "higher", "電子申請率： 30%"),
        ("1-1/b", 1200, "reduction", "lower", "窓口での申請件数： 1200件削減"),
        ("1-1/a", 40, "level", "higher", "電子申請率： 40%"),
        ("1-1/a", 50, "level", "higher", "電子申請率： 50%"),
    ]
    telework = initiatives["2-1"]["years"][0]["kpis"][0]
    assert (telework["id"], telework["kind"], telework["raw"]) == (
        "2-1/a",
        "increase",
        "テレワーク実施回数： 300回増",
    )
    assert "京田辺" not in json.dumps(plan, ensure_ascii=False)

    again = dxbot("plan", "import", str(path))
    assert NO_CHANGES in again.output


def test_a_filled_template_can_be_the_plan_a_new_deployment_starts_with(dxbot, tmp_path):
    """DXBOT_PLAN_FILE may name the workbook: the release step seeds it, and the next deploy keeps it."""
    path = fill_fictional_city(make_template(dxbot, tmp_path / "midorigaoka.xlsx"))
    seeded = dxbot("db", "init", env={"DXBOT_PLAN_FILE": str(path)})
    assert seeded.exit_code == 0, seeded.output
    assert "plan: 2 measures, 3 initiatives, 6 action items, 5 KPI targets" in seeded.output
    again = dxbot("db", "init", env={"DXBOT_PLAN_FILE": str(path)})
    assert "plan: already loaded (unchanged)" in again.output


def test_a_percent_cell_and_japanese_words_are_read_as_meant(dxbot, tmp_path):
    """18% typed into a % cell is 0.18 in Excel; 増加 and 低いほど良い are the dropdowns' codes in words."""
    path = fill_fictional_city(make_template(dxbot, tmp_path / "plan.xlsx"))
    workbook = load_workbook(path)
    sheet = workbook[tpl.KPI_SHEET]
    cols = columns(sheet)
    sheet.cell(row=2, column=cols[tpl.TARGET], value=0.35).number_format = "0%"
    sheet.cell(row=6, column=cols[tpl.KIND], value="増加")
    sheet.cell(row=5, column=cols[tpl.BETTER], value="低いほど良い")
    workbook.save(path)
    plan, _ = read_plan_workbook(path)
    kpis = [k for m in plan["measures"] for i in m["initiatives"] for y in i["years"] for k in y["kpis"]]
    assert kpis[0]["target"] == Decimal(35)
    assert [k["kind"] for k in kpis if k["id"] == "2-1/a"] == ["increase"]
    assert [k["better"] for k in kpis if k["id"] == "1-1/b"] == ["lower"]
    assert plan["title"] == "緑ヶ丘市DX推進計画" and plan["fiscal_years"] == [2027, 2028, 2029]


def test_a_date_excel_made_of_an_initiative_id_is_read_back(dxbot, tmp_path):
    """A General cell turns 1-1 into 1 January; the import reads it as 1-1 again."""
    path = fill_fictional_city(make_template(dxbot, tmp_path / "plan.xlsx"))
    workbook = load_workbook(path)
    sheet = workbook[tpl.ACTION_SHEET]
    from datetime import datetime

    cell = sheet.cell(row=2, column=columns(sheet)[tpl.INITIATIVE_ID], value=datetime(2027, 1, 1))
    cell.number_format = "m/d"
    workbook.save(path)
    plan, _ = read_plan_workbook(path)
    assert plan["measures"][0]["initiatives"][0]["years"][0]["actions"][0] == "対象手続きの洗い出し"


# --- round trips -------------------------------------------------------------------------------------------


def test_export_then_import_of_the_bundled_plan_changes_nothing(dxbot, plan, tmp_path):
    before = shown(dxbot)
    path = tmp_path / "plan.xlsx"
    exported = dxbot("plan", "export", "--format", "xlsx", "--output", str(path))
    assert exported.exit_code == 0, exported.output
    assert "12 measures, 42 initiatives, 449 action items, 153 KPI targets" in exported.output

    read, warnings = load_plan_file(path)  # read, then checked as a YAML plan is
    bundled, _ = load_plan_file(PLAN_YAML)
    # the plan's name too: its edition keeps it (issue 25)
    assert read == bundled  # every field of every row: ids, raw, note, period, summaries, departments, leads
    assert warnings == []

    result = dxbot("plan", "import", str(path))
    assert result.exit_code == 0, result.output
    assert NO_CHANGES in result.output
    assert "warning" not in result.output
    assert shown(dxbot) == before


def test_a_revision_made_in_the_exported_workbook_is_the_only_change(dxbot, plan, tmp_path):
    path = tmp_path / "plan.xlsx"
    assert dxbot("plan", "export", "--format", "xlsx", "--output", str(path)).exit_code == 0
    workbook = load_workbook(path)
    sheet = workbook[tpl.KPI_SHEET]
    cols = columns(sheet)
    row = next(
        r
        for r in range(2, sheet.max_row + 1)
        if sheet.cell(row=r, column=cols[tpl.SERIES]).value == "1-2/a"
        and sheet.cell(row=r, column=cols[tpl.YEAR]).value == 2026
    )
    sheet.cell(row=row, column=cols[tpl.TARGET], value=22)
    workbook.save(path)
    result = dxbot("plan", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "0 KPI targets added, 1 changed" in result.output
    assert f"warning: KPI row {row}: 計画の記載 'オンライン申請率： 20%' no longer says" in result.output
    kpi = next(
        k
        for m in shown(dxbot)["measures"]
        for i in m["initiatives"]
        for y in i["years"]
        if y["fiscal_year"] == 2026
        for k in y["kpis"]
        if k["id"] == "1-2/a"
    )
    assert (kpi["target"], kpi["raw"]) == (22, "オンライン申請率： 22%")


def test_yaml_export_is_the_bundled_plan(dxbot, plan, tmp_path):
    result = dxbot("plan", "export", "--title", "京田辺市DX推進計画 実行計画")
    assert result.exit_code == 0, result.output
    body = [line for line in result.output.splitlines() if not line.startswith("#")]
    bundled = [
        line for line in PLAN_YAML.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    assert body == bundled
    path = tmp_path / "plan.yaml"
    assert dxbot("plan", "export", "--output", str(path)).exit_code == 0
    assert NO_CHANGES in dxbot("plan", "import", str(path)).output


def test_export_without_a_plan_and_over_a_file(dxbot, plan, tmp_path):
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"keep")
    refused = dxbot("plan", "export", "--format", "xlsx", "--output", str(path))
    assert refused.exit_code == 2 and "add --force" in refused.output
    assert path.read_bytes() == b"keep"


@pytest.mark.parametrize("fmt", ["yaml", "xlsx"])
def test_export_of_an_empty_database_says_what_to_do(dxbot, tmp_path, fmt):
    result = dxbot("plan", "export", "--format", fmt, "--output", str(tmp_path / f"plan.{fmt}"))
    assert result.exit_code == 2
    assert "no plan is loaded" in result.output
