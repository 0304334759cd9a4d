"""The past-years template as an Excel workbook: the instructions sheet, the two sheets to fill in with their
dropdowns, number formats and locked, hidden id columns (the content comes from actuals_template.build_template)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from models.actuals_template import (
    ACTION_HEADERS,
    ACTION_HIDDEN,
    ACTION_INPUTS,
    ACTION_SHEET,
    ACTUAL,
    AS_OF,
    CONFIRMED,
    DATE_FORMAT,
    INSTRUCTIONS_SHEET,
    KPI_HEADERS,
    KPI_HIDDEN,
    KPI_INPUTS,
    KPI_SHEET,
    STATUS,
    STATUS_CHOICES,
    TARGET,
    Template,
    value_kind,
)
from models.export import display_width, fill_sheet, unit_format
from models.fiscal_year import fiscal_year_dates, format_fiscal_year


def _excel_serial(day: date) -> int:
    """A date as Excel's day number (for data-validation bounds)."""
    return (day - date(1899, 12, 30)).days


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Ascending row numbers as (first, last) runs, so a validation covers a few ranges, not many cells."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _instructions(template: Template) -> list[tuple[str, str]]:
    first, last = template.years[0], template.years[-1]
    span = format_fiscal_year(first, "ja")
    if last != first:
        span += "〜" + format_fiscal_year(last, "ja")
    made = template.made_at.strftime("%Y-%m-%d %H:%M")
    lines = [
        (f"{template.title} 過年度の実績記入表", ""),
        ("作成日時", made),
        ("対象年度", f"{span}（今年度より前の年度）"),
        ("", ""),
        ("この表について", ""),
        (
            "1",
            "ボットが動いていなかった年度の行動計画の状況とKPIの実績を記入し、"
            "計画の管理者（DXの担当課）が dxbot import-actuals で取り込みます。",
        ),
        (
            "2",
            "記入しなかった行は「未確認」のままです（遅延扱いにはなりません）。"
            "分かるものだけ記入してください。",
        ),
        (
            "3",
            "すでにボットに登録されている状況・実績は記入済みで出力されます。変更が必要なときだけ書き換えてください。",
        ),
        (
            "4",
            "灰色の列（計画の内容）は変更できません。行の追加・削除はしないでください（フィルターで課ごとに絞り込めます）。",
        ),
        ("", ""),
        (
            f"シート「{ACTION_SHEET}」",
            f"{len(template.actions)}行（行動計画1件・担当する課1つにつき1行。各課の状況は別々です）",
        ),
        (STATUS, "一覧から選びます：" + "／".join(STATUS_CHOICES)),
        ("", "完了＝年度内に終えた、遅延＝年度内に終わらなかった、延期＝次年度以降に延ばした"),
        ("", "年度が終わっているので、未着手・進行中と記入した項目は遅延として数えられます。"),
        (CONFIRMED, "状況を確認した日（空欄なら取り込んだ日）。未来の日付は取り込めません。"),
        ("", ""),
        (f"シート「{KPI_SHEET}」", f"{len(template.kpis)}行（KPI目標1件・報告する課1つにつき1行）"),
        (ACTUAL, "数値だけを記入します（単位は表示されます）。記入する値の列に従ってください。"),
        ("", "率は100%を超えられません。件数・人数などは整数です。"),
        (AS_OF, "実績の時点（空欄なら取り込んだ日）。その年度の開始日より前や未来の日付は取り込めません。"),
        ("", "複数の課が報告するKPIは課ごとに1行です。取組みの数値は最初の課（主担当）の行です。"),
        ("", ""),
        ("取り込み方", ""),
        ("1", "dxbot import-actuals このファイル --dry-run （確認だけ。何も書き込みません）"),
        ("2", "dxbot import-actuals このファイル （取り込み）"),
        (
            "",
            "問題のある行があると「シート名 row 行番号: 内容」の形で全部表示され、"
            "そのファイルからは何も取り込まれません。直して再度取り込んでください。",
        ),
        ("", "同じファイルを何度取り込んでも、同じ記録が重複することはありません。"),
    ]
    if template.unlisted:
        lines.append(("", ""))
        lines.append(
            (
                "この表にないKPI",
                "担当課・室に課の名前がない（グループだけの）KPIは、報告する課が決まらないため含まれません：",
            )
        )
        for target in template.unlisted:
            lines.append(
                ("", f"{format_fiscal_year(target.fiscal_year, 'ja')} {target.series_id} {target.raw}")
            )
    return lines


def write_template(path: Path, template: Template) -> None:
    """The workbook: instructions, then 行動計画 and KPI実績 with dropdowns, formats and locked plan columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    guide = workbook.worksheets[0]  # a new workbook opens on one sheet
    guide.title = INSTRUCTIONS_SHEET
    for label, text in _instructions(template):
        guide.append([label, text])
    guide["A1"].font = Font(bold=True, size=14)
    guide_width = 100
    for row_no, row in enumerate(guide.iter_rows(min_row=2), start=2):
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        lines = -(-display_width(row[1].value) // (guide_width - 4))
        if lines > 1:  # wrapped text: a row tall enough to show it in full
            guide.row_dimensions[row_no].height = 15 * lines
    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["B"].width = guide_width
    guide.protection.sheet = True

    action_sheet = workbook.create_sheet(ACTION_SHEET)
    kpi_sheet = workbook.create_sheet(KPI_SHEET)
    fill_sheet(
        action_sheet,
        ACTION_HEADERS,
        (r.values() for r in template.actions),
        [{} for _ in template.actions],
    )
    fill_sheet(
        kpi_sheet,
        KPI_HEADERS,
        (r.values() for r in template.kpis),
        [{KPI_HEADERS.index(TARGET) + 1: unit_format(r.unit)} for r in template.kpis],
    )
    first_day = _excel_serial(fiscal_year_dates(template.years[0])[0])
    grey = PatternFill("solid", fgColor="F2F2F2")
    editable = PatternFill("solid", fgColor="FFF9DB")

    def prepare(sheet, headers: Sequence[str], inputs: Sequence[str], hidden: Sequence[str], count: int):
        """Inputs unlocked and tinted, plan columns grey and locked, ids hidden; the sheet protected."""
        columns = {name: headers.index(name) + 1 for name in headers}
        for row in sheet.iter_rows(min_row=2, max_row=count + 1):
            for cell in row:
                if headers[cell.column - 1] in inputs:
                    cell.protection = Protection(locked=False)
                    cell.fill = editable
                elif headers[cell.column - 1] not in hidden:
                    cell.fill = grey
        for name in hidden:
            sheet.column_dimensions[get_column_letter(columns[name])].hidden = True
        for name in inputs:
            sheet.column_dimensions[get_column_letter(columns[name])].width = 14
        sheet.protection.sheet = True
        sheet.protection.autoFilter = False  # filtering (e.g. by 担当課・室) stays possible
        sheet.protection.formatColumns = False
        sheet.protection.formatRows = False
        return columns

    def dates(sheet, column: int, count: int, title: str) -> None:
        letter = get_column_letter(column)
        check = DataValidation(
            type="date",
            operator="between",
            formula1=str(first_day),
            formula2="TODAY()",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=title,
            error="日付（例: 2025-03-31）を入力してください。未来の日付は入力できません。",
        )
        check.add(f"{letter}2:{letter}{count + 1}")
        sheet.add_data_validation(check)
        for row_no in range(2, count + 2):
            sheet.cell(row=row_no, column=column).number_format = DATE_FORMAT

    count = len(template.actions)
    columns = prepare(action_sheet, ACTION_HEADERS, ACTION_INPUTS, ACTION_HIDDEN, count)
    if count:
        letter = get_column_letter(columns[STATUS])
        choice = DataValidation(
            type="list",
            formula1='"' + ",".join(STATUS_CHOICES) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=STATUS,
            error="一覧（" + "・".join(STATUS_CHOICES) + "）から選んでください。",
            showInputMessage=True,
            promptTitle=STATUS,
            prompt="空欄のままなら「未確認」です。",
        )
        choice.add(f"{letter}2:{letter}{count + 1}")
        action_sheet.add_data_validation(choice)
        dates(action_sheet, columns[CONFIRMED], count, CONFIRMED)

    count = len(template.kpis)
    columns = prepare(kpi_sheet, KPI_HEADERS, KPI_INPUTS, KPI_HIDDEN, count)
    if count:
        actual_col = columns[ACTUAL]
        checks = {
            "rate": DataValidation(type="decimal", operator="between", formula1="0", formula2="100"),
            "count": DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0"),
            "other": DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0"),
        }
        errors = {
            "rate": "0〜100の数値を入力してください（18%なら 18）。",
            "count": "0以上の整数を入力してください。",
            "other": "0以上の数値を入力してください。",
        }
        rows_of: dict[str, list[int]] = {kind: [] for kind in checks}
        for row_no, kpi in enumerate(template.kpis, start=2):
            kpi_sheet.cell(row=row_no, column=actual_col).number_format = unit_format(kpi.unit)
            rows_of[value_kind(kpi.unit, kpi.kind)].append(row_no)
        letter = get_column_letter(actual_col)
        for kind, numbers in rows_of.items():
            for first, last in _runs(numbers):
                checks[kind].add(f"{letter}{first}:{letter}{last}" if last > first else f"{letter}{first}")
        for kind, check in checks.items():
            if not check.sqref:
                continue
            check.allow_blank = True
            check.showErrorMessage = True
            check.errorTitle = ACTUAL
            check.error = errors[kind]
            kpi_sheet.add_data_validation(check)
        dates(kpi_sheet, columns[AS_OF], count, AS_OF)
    workbook.active = 0
    workbook.save(path)
