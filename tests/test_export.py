"""`dxbot export`: the KPI achievement workbook and CSVs, and open-data KPI results, re-read cell by cell."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from models.export import ACTION_HEADERS, KPI_HEADERS, OPEN_DATA_COLUMNS, OPEN_DATA_JSON_KEYS

USER = "U" + "7" * 32
NAME = "山田花子"


@pytest.fixture
def reported(dxbot, plan):
    """The plan, and 国保医療課 reporting オンライン申請率 18% (target 20%) on 2026-11-24."""
    added = dxbot("member", "add", USER, "--name", NAME, "--section", "国保医療課", "--role", "staff")
    assert added.exit_code == 0, added.output
    assert dxbot("say", "--as", USER, "オンライン申請率 18%").exit_code == 0
    return plan


def _row_of(rows, kpi_initiative: str, section: str):
    matches = [r for r in rows if str(r[1]).startswith(kpi_initiative) and r[2] == section]
    assert len(matches) == 1, matches
    return matches[0]


def test_xlsx_has_both_sheets_with_numbers_dates_and_grades(dxbot, reported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shokuin = "U" + "e5" * 16
    assert (
        dxbot("member", "add", shokuin, "--name", "職員", "--section", "職員課", "--role", "staff").exit_code
        == 0
    )
    assert "未着手 → 完了" in dxbot("say", "--as", shokuin, "2 完了").output  # 3-1's 評価、見直し, for 職員課
    result = dxbot("export", "--fiscal-year", "R8", "--format", "xlsx")
    assert result.exit_code == 0, result.output
    path = tmp_path / "dx-kpi-2026.xlsx"
    assert path.exists()
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["KPI達成状況", "行動計画"]

    sheet = workbook["KPI達成状況"]
    assert tuple(c.value for c in sheet[1]) == KPI_HEADERS
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width > 10

    rows = list(sheet.iter_rows(min_row=2))
    values = [tuple(c.value for c in row) for row in rows]
    row = _row_of(values, "1-2 ", "国保医療課")
    cells = rows[values.index(row)]
    measure, initiative, section, kpi, target, actual, rate, grade, reported_on, original, changes = row
    assert measure == "(1) 行政手続きのオンライン化"
    assert initiative == "1-2 国民健康保険関係の手続きのオンライン化"
    assert kpi == "オンライン申請率"
    assert target == 20 and isinstance(target, int | float)
    assert actual == 18 and isinstance(actual, int | float)
    assert rate == pytest.approx(0.9)
    assert "%" in cells[6].number_format
    assert grade == "B"
    assert isinstance(reported_on, datetime) and reported_on.date() == date(2026, 11, 24)
    assert cells[8].is_date
    assert (original, changes) == (20, None)  # never revised: the original is the target, no changes

    unreported = [v for v in values if v[5] is None]
    assert unreported and all(v[7] == "−" and v[6] is None and v[8] is None for v in unreported)

    actions = workbook["行動計画"]
    assert tuple(c.value for c in actions[1]) == ACTION_HEADERS
    assert actions.freeze_panes == "A2" and all(c.font.bold for c in actions[1])
    action_rows = [tuple(c.value for c in r) for r in actions.iter_rows(min_row=2)]
    assert (
        "(1) 行政手続きのオンライン化",
        "1-2 国民健康保険関係の手続きのオンライン化",
        2026,
        "運用の評価、見直し",
    ) in [r[:4] for r in action_rows]
    assert all(r[2] == 2026 and r[4] for r in action_rows)
    # a shared item has one row per section, the lead's first: 3-1 is 総務室's, 職員課's and デジタル情報課's
    shared = [(r[6], r[4]) for r in action_rows if r[1].startswith("3-1 ") and r[3] == "評価、見直し"]
    assert shared == [("総務室", "未着手"), ("デジタル情報課", "未着手"), ("職員課", "完了")]


def test_csv_writes_two_utf8_files_bom_only_when_asked(dxbot, reported, tmp_path):
    plain, with_bom = tmp_path / "plain", tmp_path / "bom"
    assert dxbot("export", "--fiscal-year", "2026", "--format", "csv", "--output", str(plain)).exit_code == 0
    result = dxbot("export", "--fiscal-year", "2026", "--format", "csv", "--output", str(with_bom), "--bom")
    assert result.exit_code == 0, result.output
    for directory, bom in ((plain, False), (with_bom, True)):
        kpi_path, action_path = directory / "dx-kpi-2026.csv", directory / "dx-actions-2026.csv"
        for path in (kpi_path, action_path):
            assert path.read_bytes().startswith(b"\xef\xbb\xbf") is bom
        with kpi_path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[0]) == KPI_HEADERS
        row = _row_of(rows[1:], "1-2 ", "国保医療課")
        assert row[3:] == ["オンライン申請率", "20", "18", "0.9", "B", "2026-11-24", "20", ""]
        with action_path.open(encoding="utf-8-sig", newline="") as handle:
            actions = list(csv.reader(handle))
        assert tuple(actions[0]) == ACTION_HEADERS and len(actions) > 1


def test_open_data_has_stable_columns_every_year_and_no_personal_data(dxbot, reported, tmp_path):
    result = dxbot("export", "--open-data", "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    csv_path, json_path = tmp_path / "kpi-results.csv", tmp_path / "kpi-results.json"
    for path in (csv_path, json_path):
        text = path.read_text(encoding="utf-8")
        assert NAME not in text and USER not in text and "山田" not in text

    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == OPEN_DATA_COLUMNS
        rows = list(reader)
    records = json.loads(json_path.read_text(encoding="utf-8"))
    assert len(rows) == len(records) == 153
    assert all(tuple(r) == OPEN_DATA_JSON_KEYS for r in records)
    assert {r["fiscal_year"] for r in records} == {2023, 2024, 2025, 2026}
    assert len({(r["kpi_id"], r["fiscal_year"]) for r in records}) == 153

    [current] = [r for r in records if r["kpi_id"] == "1-2/a" and r["fiscal_year"] == 2026]
    assert current["measure_no"] == 1 and current["initiative_id"] == "1-2"
    assert (current["target"], current["unit"], current["kind"], current["better"]) == (
        20,
        "%",
        "level",
        "higher",
    )
    assert (current["actual"], current["achievement_rate"], current["grade"]) == (18, 90, "B")
    assert current["last_reported_on"] == "2026-11-24"
    [earlier] = [r for r in records if r["kpi_id"] == "1-2/a" and r["fiscal_year"] == 2025]
    assert earlier["actual"] is None and earlier["grade"] is None and earlier["last_reported_on"] is None
    [csv_row] = [r for r in rows if r["kpi_id"] == "1-2/a" and r["fiscal_year"] == "2026"]
    assert (csv_row["actual"], csv_row["achievement_rate"], csv_row["last_reported_on"]) == (
        "18",
        "90",
        "2026-11-24",
    )


def test_dates_are_calendar_days_in_the_configured_timezone(dxbot, reported, tmp_path):
    result = dxbot(
        "export", "--open-data", "--output", str(tmp_path), env={"DXBOT_TIMEZONE": "America/Los_Angeles"}
    )
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "kpi-results.json").read_text(encoding="utf-8"))
    [current] = [r for r in records if r["kpi_id"] == "1-2/a" and r["fiscal_year"] == 2026]
    assert current["last_reported_on"] == "2026-11-23"  # 10:00 JST on the 24th is still the 23rd there


def test_errors_are_one_line_with_exit_2(dxbot, plan, tmp_path):
    bad_year = dxbot(
        "export", "--fiscal-year", "2030", "--format", "xlsx", "--output", str(tmp_path / "x.xlsx")
    )
    assert bad_year.exit_code == 2 and bad_year.output.strip().count("\n") == 0
    assert "2030" in bad_year.output
    assert dxbot("export", "--fiscal-year", "next year").exit_code == 2

    blocker = tmp_path / "file"
    blocker.write_text("")
    unwritable = dxbot("export", "--fiscal-year", "2026", "--output", str(blocker / "out.xlsx"))
    assert unwritable.exit_code == 2 and unwritable.output.strip().count("\n") == 0
    as_dir = dxbot("export", "--open-data", "--output", str(blocker))
    assert as_dir.exit_code == 2 and "error:" in as_dir.output
    assert not (tmp_path / "x.xlsx").exists()


def test_an_existing_file_is_kept_unless_forced(dxbot, plan, tmp_path):
    workbook = tmp_path / "kpi.xlsx"
    workbook.write_text("last year's hand-made notes")
    refused = dxbot("export", "--fiscal-year", "2026", "--output", str(workbook))
    assert refused.exit_code == 2 and refused.output.strip().count("\n") == 0
    assert "--force" in refused.output and str(workbook) in refused.output
    assert workbook.read_text() == "last year's hand-made notes"
    (tmp_path / "dx-actions-2026.csv").write_text("kept")
    assert (
        dxbot("export", "--fiscal-year", "2026", "--format", "csv", "--output", str(tmp_path)).exit_code == 2
    )
    assert not (tmp_path / "dx-kpi-2026.csv").exists()  # nothing half-written
    (tmp_path / "kpi-results.json").write_text("kept")
    assert dxbot("export", "--open-data", "--output", str(tmp_path)).exit_code == 2
    template = tmp_path / "template.xlsx"
    template.write_text("kept")
    assert dxbot("export", "--template", "--output", str(template)).exit_code == 2
    assert template.read_text() == "kept"

    forced = dxbot("export", "--fiscal-year", "2026", "--output", str(workbook), "--force")
    assert forced.exit_code == 0, forced.output
    assert load_workbook(workbook).sheetnames
    assert dxbot("export", "--open-data", "--output", str(tmp_path), "--force").exit_code == 0
    assert json.loads((tmp_path / "kpi-results.json").read_text(encoding="utf-8")) != "kept"
