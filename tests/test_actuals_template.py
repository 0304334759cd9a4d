"""Past years' template (`dxbot export --template`) and its import (`dxbot import-actuals`), on the real plan.

The clock is in FY2026, so FY2023–FY2025 happened before the bot: the template lists them, an admin fills
some cells, the import records statuses (with history) and actuals (as reports), and the status module
and the digest stop counting those as 未確認. Bad files are refused whole, every bad row named.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, col, func, select

from models import follow_up_status, kpi_status
from models.actuals_import import IMPORT_SOURCE
from models.actuals_template import (
    ACTION_HEADERS,
    ACTION_ID,
    ACTION_SHEET,
    ACTION_TEXT,
    ACTUAL,
    AS_OF,
    CONFIRMED,
    INSTRUCTIONS_SHEET,
    KPI_HEADERS,
    KPI_NAME,
    KPI_SHEET,
    SECTION_ID,
    SECTIONS,
    STATUS,
    STATUS_CHOICES,
    TARGET,
    TARGET_ID,
)
from models.reports import record_report, void_report
from models.sections import find_section
from models.tables import ActionItem, ActionStatusChange, KpiReport, KpiTarget, Section

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
PAST = (2023, 2024, 2025)


# --- helpers --------------------------------------------------------------------------------------------


def export_template(dxbot, path: Path) -> Path:
    result = dxbot("export", "--template", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert path.exists()
    return path


def columns(sheet) -> dict[str, int]:
    return {cell.value: cell.column for cell in sheet[1]}


def action_row(sheet, item_id: int, section: int | None = None) -> int:
    """The item's row for SECTION (by default its first row: the lead section's)."""
    cols = columns(sheet)
    rows = [
        r
        for r in range(2, sheet.max_row + 1)
        if sheet.cell(row=r, column=cols[ACTION_ID]).value == item_id
        and section in (None, sheet.cell(row=r, column=cols[SECTION_ID]).value)
    ]
    assert rows and (section is None or len(rows) == 1), (item_id, section, rows)
    return rows[0]


def kpi_row(sheet, target_id: int, section_id: int) -> int:
    cols = columns(sheet)
    rows = [
        r
        for r in range(2, sheet.max_row + 1)
        if sheet.cell(row=r, column=cols[TARGET_ID]).value == target_id
        and sheet.cell(row=r, column=cols[SECTION_ID]).value == section_id
    ]
    assert len(rows) == 1, (target_id, section_id, rows)
    return rows[0]


def set_cells(path: Path, out: Path, actions=None, kpis=None, edit=None) -> dict[str, int]:
    """Fill the template at PATH like an admin would; save as OUT. Returns row numbers by label."""
    workbook = load_workbook(path)
    action_sheet, kpi_sheet = workbook[ACTION_SHEET], workbook[KPI_SHEET]
    rows: dict[str, int] = {}
    for label, (item_id, cells) in (actions or {}).items():
        row = action_row(action_sheet, item_id)
        rows[label] = row
        for header, value in cells.items():
            action_sheet.cell(row=row, column=columns(action_sheet)[header]).value = value
    for label, (target_id, section_id, cells) in (kpis or {}).items():
        row = kpi_row(kpi_sheet, target_id, section_id)
        rows[label] = row
        for header, value in cells.items():
            kpi_sheet.cell(row=row, column=columns(kpi_sheet)[header]).value = value
    if edit:
        edit(workbook, rows)
    workbook.save(out)
    return rows


def item(s: Session, initiative: str, fy: int, position: int) -> ActionItem:
    return s.exec(
        select(ActionItem).where(
            ActionItem.initiative_id == initiative,
            ActionItem.fiscal_year == fy,
            ActionItem.position == position,
        )
    ).one()


def target(s: Session, series: str, fy: int) -> KpiTarget:
    return s.exec(select(KpiTarget).where(KpiTarget.series_id == series, KpiTarget.fiscal_year == fy)).one()


def section_id(s: Session, name: str) -> int:
    return find_section(s, name).id


def counts(db) -> tuple:
    """What an import could write: status history, reports, and every action item's status."""
    with Session(db) as s:
        return (
            s.exec(select(func.count()).select_from(ActionStatusChange)).one(),
            s.exec(select(func.count()).select_from(KpiReport)).one(),
            tuple(
                s.exec(select(ActionItem.status, ActionItem.status_changed_at).order_by(ActionItem.id)).all()
            ),
        )


# --- the template ---------------------------------------------------------------------------------------


def test_template_lists_every_past_action_item_and_kpi_target_once(dxbot, plan, db, tmp_path):
    result = dxbot("export", "--template", "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    path = tmp_path / "dxbot-actuals-template.xlsx"
    assert "1141 action items and 210 KPI rows of FY2023, FY2024, FY2025" in result.output
    assert "8-9/a" in result.output  # the one KPI no section can report is named, not silently dropped
    workbook = load_workbook(path)
    assert workbook.sheetnames == [INSTRUCTIONS_SHEET, ACTION_SHEET, KPI_SHEET]

    guide = "\n".join(
        str(v) for row in workbook[INSTRUCTIONS_SHEET].iter_rows(values_only=True) for v in row if v
    )
    assert "dxbot import-actuals" in guide and "未確認" in guide and "令和5年度" in guide and "8-9/a" in guide

    with Session(db) as s:
        items = {
            i.id: i
            for i in s.exec(
                select(ActionItem).where(
                    col(ActionItem.fiscal_year).in_(PAST), ActionItem.removed_at.is_(None)
                )
            ).all()
        }
        pairs = {
            (st.target.id, st.section_id): st
            for fy in PAST
            for st in kpi_status.kpi_states(s, NOW, fiscal_year=fy)
        }
        past_targets = {
            t.id: t for t in s.exec(select(KpiTarget).where(col(KpiTarget.fiscal_year).in_(PAST))).all()
        }
        names = {sec.id: sec.name for sec in s.exec(select(Section)).all()}

    sheet = workbook[ACTION_SHEET]
    assert tuple(c.value for c in sheet[1]) == ACTION_HEADERS
    assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
    assert sheet.protection.sheet
    cols = columns(sheet)
    assert sheet.column_dimensions["H"].hidden and sheet.column_dimensions["I"].hidden  # ids and known status
    assert sheet.column_dimensions["E"].width >= 30  # the action text is readable
    seen = []
    for r in range(2, sheet.max_row + 1):
        cell = lambda h, r=r: sheet.cell(row=r, column=cols[h])  # noqa: E731
        found = items[cell(ACTION_ID).value]
        seen.append((found.id, cell(SECTION_ID).value))
        assert cell(SECTION_ID).protection.locked and cell(SECTIONS).value  # the section whose row it is
        assert (cell("年度").value, cell(ACTION_TEXT).value) == (found.fiscal_year, found.text)
        assert cell("取組み").value.startswith(f"{found.initiative_id} ")
        assert cell(STATUS).value is None and cell(CONFIRMED).value is None  # nothing known yet
        assert not cell(STATUS).protection.locked and not cell(CONFIRMED).protection.locked
        assert cell(ACTION_TEXT).protection.locked and cell(ACTION_ID).protection.locked
        assert cell(CONFIRMED).number_format == "yyyy-mm-dd"
    # one row per (item, section): a 全所属 item has a row for each section
    assert len(seen) == len(set(seen)) == 1141 and {i for i, _ in seen} == set(items) and len(items) == 349
    assert {items[i].fiscal_year for i, _ in seen} == set(PAST)
    (dropdown,) = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert dropdown.formula1 == '"' + ",".join(STATUS_CHOICES) + '"'
    assert str(dropdown.sqref) == f"F2:F{sheet.max_row}" and dropdown.showErrorMessage
    assert not dropdown.showDropDown  # (openpyxl's flag hides the arrow when set)
    assert any(
        v.type == "date" and f"G{sheet.max_row}" in v.sqref for v in sheet.data_validations.dataValidation
    )
    row_1_2 = sheet.cell(
        row=action_row(sheet, next(i for i in items.values() if i.initiative_id == "1-2").id), column=3
    )
    assert row_1_2.value == "国保医療課"

    sheet = workbook[KPI_SHEET]
    assert tuple(c.value for c in sheet[1]) == KPI_HEADERS
    assert sheet.freeze_panes == "A2" and sheet.protection.sheet
    cols = columns(sheet)
    for name in (TARGET_ID, SECTION_ID, "出力時の実績"):
        assert sheet.column_dimensions[sheet.cell(row=1, column=cols[name]).column_letter].hidden
    seen_pairs = []
    for r in range(2, sheet.max_row + 1):
        cell = lambda h, r=r: sheet.cell(row=r, column=cols[h])  # noqa: E731
        pair = (cell(TARGET_ID).value, cell(SECTION_ID).value)
        seen_pairs.append(pair)
        found = past_targets[pair[0]]
        assert cell(KPI_NAME).value == found.name and Decimal(str(cell(TARGET).value)) == found.target
        assert cell("単位").value == found.unit and cell("年度").value == found.fiscal_year
        assert cell("担当課・室").value == names[pair[1]]
        assert cell(ACTUAL).value is None and not cell(ACTUAL).protection.locked
        assert cell(ACTUAL).number_format == f'General"{found.unit}"'
        assert cell(AS_OF).number_format == "yyyy-mm-dd"
    assert len(seen_pairs) == len(set(seen_pairs)) == len(pairs) == 210
    assert set(seen_pairs) == set(pairs)
    # every past KPI target is there, with its lead section's row exactly once, except 8-9/a (no section)
    leads = [pair[0] for pair in seen_pairs if pairs[pair].lead]
    assert len(leads) == len(set(leads))
    missing = {t.series_id for tid, t in past_targets.items() if tid not in set(leads)}
    assert missing == {"8-9/a"}
    kinds = {v.type: v for v in sheet.data_validations.dataValidation}
    assert set(kinds) == {"decimal", "whole", "date"}
    with Session(db) as s:
        rate_row = kpi_row(sheet, target(s, "1-2/a", 2025).id, section_id(s, "国保医療課"))
    rates = [v for v in sheet.data_validations.dataValidation if v.type == "decimal" and v.formula2 == "100"]
    assert len(rates) == 1 and f"J{rate_row}" in rates[0].sqref


def test_import_records_statuses_and_actuals_and_the_status_follows(dxbot, plan, db, tmp_path):
    template = export_template(dxbot, tmp_path / "template.xlsx")
    with Session(db) as s:
        done, late, untouched_23 = (item(s, "8-3", 2023, p).id for p in (1, 2, 3))
        postponed, going, untouched_24 = (item(s, "8-3", 2024, p).id for p in (1, 2, 3))
        not_started = item(s, "8-3", 2025, 1).id
        zaisei, kokuho = section_id(s, "財政課"), section_id(s, "国保医療課")
        paper, rate_25, rate_24 = target(s, "8-3/a", 2024), target(s, "1-2/a", 2025), target(s, "1-2/a", 2024)

    def typed_as_percent(workbook, rows):
        """An admin typing 「9%」 into the cell: Excel stores 0.09 with a percent format."""
        cell = workbook[KPI_SHEET].cell(row=rows["rate_24"], column=KPI_HEADERS.index(ACTUAL) + 1)
        cell.value, cell.number_format = 0.09, "0%"

    filled = tmp_path / "filled.xlsx"
    set_cells(
        template,
        filled,
        actions={
            "done": (done, {STATUS: "完了", CONFIRMED: datetime(2024, 3, 15)}),
            "late": (late, {STATUS: "遅延"}),
            "postponed": (postponed, {STATUS: "延期"}),
            "going": (going, {STATUS: " 進行中 "}),
            "not_started": (not_started, {STATUS: "未着手"}),  # confirmed: never started
        },
        kpis={
            "paper": (paper.id, zaisei, {ACTUAL: 3300, AS_OF: "2025/3/31"}),
            "rate_25": (rate_25.id, kokuho, {ACTUAL: "１８％"}),
            "rate_24": (rate_24.id, kokuho, {}),
        },
        edit=typed_as_percent,
    )
    with Session(db) as s:
        before = follow_up_status.follow_ups(s, NOW, [find_section(s, "財政課")], tz=TOKYO)
    assert {done, late, untouched_23, postponed, going, untouched_24} <= {
        e.item_id for e in before.unconfirmed
    }
    assert before.overdue == [] and before.postponed == []

    result = dxbot("import-actuals", str(filled))
    assert result.exit_code == 0, result.output
    assert (
        "FY2023 令和5年度 (2023年度): 行動計画 2 new, 0 unchanged, 430 empty; KPI実績 0 new" in result.output
    )
    assert (
        "FY2024 令和6年度 (2024年度): 行動計画 2 new, 0 unchanged, 387 empty; KPI実績 2 new" in result.output
    )
    assert (
        "FY2025 令和7年度 (2025年度): 行動計画 1 new, 0 unchanged, 319 empty; KPI実績 1 new" in result.output
    )
    assert "8 new (5 action statuses, 3 KPI actuals) written" in result.output

    with Session(db) as s:
        statuses = {i: s.get(ActionItem, i).status for i in (done, late, postponed, going, untouched_23)}
        assert statuses == {
            done: "完了",
            late: "遅延",
            postponed: "延期",
            going: "進行中",
            untouched_23: "未着手",
        }
        assert s.get(ActionItem, untouched_23).status_changed_at is None
        assert s.get(ActionItem, done).status_changed_at.astimezone(TOKYO).date() == date(2024, 3, 15)
        history = s.exec(select(ActionStatusChange).order_by(ActionStatusChange.id)).all()
        # a template row speaks for every section of its item: one change per section, the same move
        assert list(dict.fromkeys((h.action_item_id, h.previous_status, h.status) for h in history)) == [
            (done, "未着手", "完了"),
            (late, "未着手", "遅延"),
            (postponed, "未着手", "延期"),
            (going, "未着手", "進行中"),
            (not_started, "未着手", "未着手"),
        ]
        assert all(h.changed_by_member_id is None and h.source_message_id == IMPORT_SOURCE for h in history)
        assert history[0].note.startswith("filled.xlsx: 行動計画 row ")
        reports = s.exec(select(KpiReport).order_by(KpiReport.id)).all()
        assert {(r.kpi_target_id, r.section_id): r.value for r in reports} == {
            (paper.id, zaisei): Decimal(3300),
            (rate_24.id, kokuho): Decimal(9),
            (rate_25.id, kokuho): Decimal(18),
        }
        assert all(r.reporter_member_id is None and r.source_message_id == IMPORT_SOURCE for r in reports)
        by_target = {r.kpi_target_id: r for r in reports}
        assert by_target[paper.id].reported_at.astimezone(TOKYO).date() == date(2025, 3, 31)
        assert by_target[rate_25.id].reported_at == NOW  # undated: as of the import

        after = follow_up_status.follow_ups(s, NOW, [find_section(s, "財政課")], tz=TOKYO)
        assert {e.item_id for e in after.unconfirmed} >= {untouched_23, untouched_24}
        assert not {done, late, postponed, going, not_started} & {e.item_id for e in after.unconfirmed}
        # 遅延, and 進行中 / 未着手 once their year has ended
        assert {e.item_id for e in after.overdue} == {late, going, not_started}
        assert {e.item_id for e in after.postponed} == {postponed}
        grades = {
            (st.target.series_id, st.target.fiscal_year, st.section): st.grade
            for fy in PAST
            for st in kpi_status.kpi_states(s, NOW, fiscal_year=fy)
        }
    assert grades[("8-3/a", 2024, "財政課")] == "S"  # 3,300 of 3,000 sheets saved: 110%
    assert grades[("1-2/a", 2025, "国保医療課")] == "S"  # 18% of 15%
    assert grades[("1-2/a", 2024, "国保医療課")] == "B"  # 9% of 10%
    assert grades[("1-2/a", 2023, "国保医療課")] == "−"

    digest = json.loads(dxbot("digest", "--section", "財政課", "--json").output)
    unconfirmed = {(e["fiscal_year"], e["item"]) for e in digest["unconfirmed"]}
    assert (2023, "試行運用開始") in unconfirmed and (2024, "運用の評価、見直し") in unconfirmed
    assert (2023, "システム選定") not in unconfirmed and (2024, "システム導入") not in unconfirmed
    assert {(e["fiscal_year"], e["item"], e["due"]) for e in digest["overdue"]} == {
        (2023, "運用方法検討", "2024-03-31"),
        (2024, "運用開始", "2025-03-31"),
        (2025, "システム利用の拡充", "2026-03-31"),
    }
    assert [(e["fiscal_year"], e["item"]) for e in digest["postponed"]] == [(2024, "システム導入")]

    # the same file again changes nothing
    state = counts(db)
    again = dxbot("import-actuals", str(filled))
    assert again.exit_code == 0, again.output
    assert "0 new (0 action statuses, 0 KPI actuals) written" in again.output
    assert "行動計画 0 new, 2 unchanged" in again.output and "行動計画 0 new, 1 unchanged" in again.output
    assert counts(db) == state

    # a fresh template is prefilled with what is now known, and importing it untouched changes nothing
    fresh = export_template(dxbot, tmp_path / "fresh.xlsx")
    workbook = load_workbook(fresh)
    sheet = workbook[ACTION_SHEET]
    row = action_row(sheet, done)
    assert sheet.cell(row=row, column=columns(sheet)[STATUS]).value == "完了"
    assert sheet.cell(row=row, column=columns(sheet)[CONFIRMED]).value == datetime(2024, 3, 15)
    assert sheet.cell(row=action_row(sheet, untouched_23), column=columns(sheet)[STATUS]).value is None
    sheet = workbook[KPI_SHEET]
    assert sheet.cell(row=kpi_row(sheet, paper.id, zaisei), column=columns(sheet)[ACTUAL]).value == 3300
    reimport = dxbot("import-actuals", str(fresh))
    assert reimport.exit_code == 0 and "0 new (0 action statuses, 0 KPI actuals)" in reimport.output
    assert counts(db) == state


def test_a_file_with_bad_rows_is_refused_whole_with_every_problem_named(dxbot, plan, db, tmp_path):
    template = export_template(dxbot, tmp_path / "template.xlsx")
    with Session(db) as s:
        ids = [item(s, "8-3", 2023, p).id for p in (1, 2, 3)] + [
            item(s, "1-2", 2023, p).id for p in (1, 2, 3)
        ]
        removed = item(s, "8-3", 2024, 1)
        zaisei, kokuho = section_id(s, "財政課"), section_id(s, "国保医療課")
        rate, paper, bids = target(s, "1-2/a", 2025), target(s, "8-3/a", 2025), target(s, "4-3/a", 2024)
        bids_section = next(
            st.section_id for st in kpi_status.kpi_states(s, NOW, fiscal_year=2024) if st.target.id == bids.id
        )
        renamed = target(s, "1-2/a", 2024)

    def by_hand(workbook, rows):
        sheet = workbook[ACTION_SHEET]
        section_column = ACTION_HEADERS.index(SECTION_ID) + 1  # the copied row claims the same section too
        sheet.cell(row=rows["twice"], column=section_column).value = sheet.cell(
            row=rows["good"], column=section_column
        ).value
        sheet.cell(
            row=rows["text"], column=ACTION_HEADERS.index(ACTION_TEXT) + 1
        ).value = "書き換えた行動計画"
        sheet.cell(row=rows["unknown"], column=ACTION_HEADERS.index(ACTION_ID) + 1).value = 999999
        sheet.cell(row=rows["twice"], column=ACTION_HEADERS.index(ACTION_ID) + 1).value = ids[0]
        sheet.append(["(8) 手で足した行", "", "", 2023, "手で足した行動計画", "完了"])

    bad = tmp_path / "bad.xlsx"
    rows = set_cells(
        template,
        bad,
        actions={
            "good": (ids[0], {STATUS: "完了"}),
            "word": (ids[1], {STATUS: "済み"}),
            "future": (ids[2], {STATUS: "完了", CONFIRMED: datetime(2027, 1, 5)}),
            "text": (ids[3], {STATUS: "完了"}),
            "unknown": (ids[4], {STATUS: "完了"}),
            "twice": (ids[5], {STATUS: "進行中"}),
            "removed": (removed.id, {STATUS: "完了"}),
        },
        kpis={
            "over": (rate.id, kokuho, {ACTUAL: 150}),
            "no_number": (paper.id, zaisei, {ACTUAL: "たくさん"}),
            "fraction": (bids.id, bids_section, {ACTUAL: 3.5, AS_OF: datetime(2023, 5, 1)}),
            "renamed": (renamed.id, kokuho, {ACTUAL: 9}),
        },
        edit=by_hand,
    )
    with Session(db) as s:  # a plan revision after the export: one item dropped, one KPI renamed
        dropped = s.get(ActionItem, removed.id)
        dropped.removed_at = NOW
        changed = s.get(KpiTarget, renamed.id)
        changed.name, changed.raw = "オンライン申請の割合", "オンライン申請の割合： 10%"
        s.add_all([dropped, changed])
        s.commit()
    before = counts(db)

    result = dxbot("import-actuals", str(bad))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    expected = [
        f"行動計画 row {rows['word']}: 状況 '済み' is not one of 未着手/進行中/完了/遅延/延期",
        f"行動計画 row {rows['future']}: 確認日 2027-01-05 is in the future (today is 2026-11-24)",
        f"行動計画 row {rows['text']}: 行動計画 does not match the plan (the plan says 「方針、運用方法検討」);"
        " export a new template",
        f"行動計画 row {rows['unknown']}: unknown action_item_id 999999: not an action item of the plan",
        f"行動計画 row {rows['twice']}: 行動計画 does not match the plan (the plan says 「システム選定」)",
        f"行動計画 row {max(rows['twice'], rows['good'])}: the same action item as row"
        f" {min(rows['twice'], rows['good'])}",
        f"行動計画 row {rows['removed']}: this action item was removed from the plan by a revision",
        "行動計画 row 1143: no action_item_id: rows cannot be added by hand (use the rows the template has)",
        f"KPI実績 row {rows['over']}: 実績 150 is over 100% for a rate (オンライン申請率)",
        f"KPI実績 row {rows['no_number']}: 実績 'たくさん' is not a number",
        f"KPI実績 row {rows['fraction']}: 実績 3.5 is not a whole number of 件 (入札件数)",
        f"KPI実績 row {rows['fraction']}: 時点 2023-05-01 is before FY2024 began (2024-04-01)",
        f"KPI実績 row {rows['renamed']}: the KPI does not match the plan (the plan says 「オンライン申請の割合： 10%」)",
    ]
    for line in expected:
        assert any(actual.startswith(line) for actual in lines), (line, lines)
    assert len(lines) == len(expected) + 1, "\n".join(lines)
    assert (
        lines[-1]
        == f"error: nothing imported from bad.xlsx: {len(expected)} problems (fix the rows above and import again)"
    )
    assert counts(db) == before  # the good row was not written either

    dry = dxbot("import-actuals", str(bad), "--dry-run")
    assert dry.exit_code == 2 and counts(db) == before


def test_dry_run_writes_nothing_and_says_what_would_change(dxbot, plan, db, tmp_path):
    template = export_template(dxbot, tmp_path / "template.xlsx")
    with Session(db) as s:
        done = item(s, "8-3", 2025, 1).id
        paper, zaisei = target(s, "8-3/a", 2025), section_id(s, "財政課")
    filled = tmp_path / "filled.xlsx"
    set_cells(
        template, filled, {"done": (done, {STATUS: "完了"})}, {"paper": (paper.id, zaisei, {ACTUAL: 5200})}
    )
    before = counts(db)
    dry = dxbot("import-actuals", str(filled), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("dry run, nothing written: filled.xlsx")
    assert "FY2025 令和7年度 (2025年度): 行動計画 1 new" in dry.output and "KPI実績 1 new" in dry.output
    assert "2 new (1 action statuses, 1 KPI actuals) would be written" in dry.output
    assert counts(db) == before
    real = dxbot("import-actuals", str(filled))
    assert real.exit_code == 0 and "2 new (1 action statuses, 1 KPI actuals) written" in real.output
    assert counts(db) != before


def test_a_stale_template_never_overrides_what_staff_reported_since(dxbot, plan, db, tmp_path):
    with Session(db, expire_on_commit=False) as s:
        paper, zaisei = target(s, "8-3/a", 2025), find_section(s, "財政課")
        record_report(
            s, target=paper, section=zaisei, value=Decimal(4000), now=datetime(2026, 4, 20, tzinfo=TOKYO)
        )
        s.commit()
        zaisei_id, rate, kokuho = zaisei.id, target(s, "1-2/a", 2025), section_id(s, "国保医療課")
    template = export_template(dxbot, tmp_path / "template.xlsx")  # prefilled with 4,000
    untouched, changed = tmp_path / "untouched.xlsx", tmp_path / "changed.xlsx"
    set_cells(template, untouched, kpis={"rate": (rate.id, kokuho, {ACTUAL: 12})})
    set_cells(template, changed, kpis={"paper": (paper.id, zaisei_id, {ACTUAL: 4500})})
    with Session(db, expire_on_commit=False) as s:  # after the export, the final figure arrives in LINE
        record_report(
            s,
            target=paper,
            section=find_section(s, "財政課"),
            value=Decimal(5100),
            now=datetime(2026, 5, 20, tzinfo=TOKYO),
        )
        s.commit()

    ok = dxbot("import-actuals", str(untouched))
    assert ok.exit_code == 0, ok.output
    assert "KPI実績 1 new, 1 unchanged" in ok.output  # the prefilled 4,000 was left alone
    conflict = dxbot("import-actuals", str(changed))
    assert conflict.exit_code == 2
    assert (
        "実績 was reported in the bot since the template was exported (now 5100枚, 2026-05-20)"
        in conflict.output
    )
    with Session(db) as s:
        (state,) = [
            st
            for st in kpi_status.kpi_states(s, NOW, fiscal_year=2025)
            if st.target.id == paper.id and st.section == "財政課"
        ]
    assert state.value == 5100


def test_a_figure_voided_since_the_export_gives_way_to_the_template(dxbot, plan, db, tmp_path):
    with Session(db, expire_on_commit=False) as s:
        paper, zaisei = target(s, "8-3/a", 2025), find_section(s, "財政課")
        report = record_report(
            s, target=paper, section=zaisei, value=Decimal(4000), now=datetime(2026, 4, 20, tzinfo=TOKYO)
        )
        s.commit()
        zaisei_id = zaisei.id
    template = export_template(dxbot, tmp_path / "template.xlsx")  # prefilled with 4,000
    changed = tmp_path / "changed.xlsx"
    set_cells(template, changed, kpis={"paper": (paper.id, zaisei_id, {ACTUAL: 4500})})
    with Session(db, expire_on_commit=False) as s:  # after the export, the 4,000 is taken back in LINE
        void_report(
            s, s.get(KpiReport, report.id), by=None, now=datetime(2026, 5, 1, tzinfo=TOKYO), reason="誤り"
        )
        s.commit()

    result = dxbot("import-actuals", str(changed))
    assert result.exit_code == 0, result.output
    assert "KPI実績 1 new" in result.output
    with Session(db) as s:
        (state,) = [
            st
            for st in kpi_status.kpi_states(s, NOW, fiscal_year=2025)
            if st.target.id == paper.id and st.section == "財政課"
        ]
    assert state.value == 4500


def test_wrong_files_and_options_are_one_line_errors(dxbot, plan, db, tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook", encoding="utf-8")
    for path, words in (
        (text, "is not an Excel workbook"),
        (tmp_path / "missing.xlsx", "no such file"),
    ):
        result = dxbot("import-actuals", str(path))
        assert result.exit_code == 2 and words in result.output and result.output.count("\n") == 1
    other = tmp_path / "other.xlsx"
    assert dxbot("export", "--fiscal-year", "2026", "--output", str(other)).exit_code == 0
    result = dxbot("import-actuals", str(other))
    assert result.exit_code == 2 and "dxbot export --template" in result.output

    assert dxbot("export", "--template", "--fiscal-year", "2025").exit_code == 2
    assert dxbot("export", "--template", "--format", "csv").exit_code == 2
    early = dxbot(
        "export", "--template", "--output", str(tmp_path), env={"DXBOT_NOW": "2023-06-01T09:00:00+09:00"}
    )
    assert early.exit_code == 2 and "no past years" in early.output


@pytest.mark.parametrize(
    ("cell", "number_format", "unit", "kind", "value", "problem"),
    [
        (18, 'General"%"', "%", "level", Decimal(18), None),
        (0.185, "0.0%", "%", "level", Decimal("18.5"), None),
        ("約 18 %", "General", "%", "level", Decimal(18), None),
        (105, 'General"%"', "%", "increase", Decimal(105), None),
        ("7,200枚", "General", "枚", "reduction", Decimal(7200), None),
        (-3, "General", "件", "level", None, "is negative"),
        ("41人", "General", "%", "level", None, "is not in %"),
        ("1,05", "General", "件", "level", None, "is not a well-formed number"),
        ("300件以上", "General", "件", "level", None, "a bound or a change"),
        (datetime(2025, 3, 1), "yyyy-mm-dd", "件", "level", None, "is not a number"),
    ],
)
def test_actual_cells_are_read_like_figures_sent_in_line(cell, number_format, unit, kind, value, problem):
    from models.actuals_cells import read_actual

    kpi = KpiTarget(
        series_id="x-1/a",
        initiative_id="x-1",
        fiscal_year=2025,
        position=1,
        name="件数",
        target=Decimal(10),
        unit=unit,
        kind=kind,
        raw="",
    )
    read, why = read_actual(cell, number_format, kpi)
    assert read == value
    assert (why is None) if problem is None else (problem in why)


def test_each_section_fills_its_own_row_of_a_shared_item(dxbot, plan, db, tmp_path):
    from models.actions import rollups

    template = export_template(dxbot, tmp_path / "template.xlsx")
    with Session(db) as s:
        shared = item(s, "8-3", 2023, 1).id  # 財政課 (lead) and デジタル情報課
        zaisei, digital = section_id(s, "財政課"), section_id(s, "デジタル情報課")
    workbook = load_workbook(template)
    sheet = workbook[ACTION_SHEET]
    for section, value in ((zaisei, "遅延"), (digital, "完了")):
        sheet.cell(row=action_row(sheet, shared, section), column=columns(sheet)[STATUS]).value = value
    workbook.save(tmp_path / "filled.xlsx")
    result = dxbot("import-actuals", str(tmp_path / "filled.xlsx"))
    assert result.exit_code == 0, result.output
    with Session(db) as s:
        rolled = rollups(s, [s.get(ActionItem, shared)])[shared]
        assert {p.section: p.status for p in rolled.sections} == {"財政課": "遅延", "デジタル情報課": "完了"}
        assert s.get(ActionItem, shared).status == "遅延"  # the lead's
