"""The plan as an Excel workbook to fill in (`dxbot plan template`) or as exported (`dxbot plan export --format
xlsx`): the instructions, four sheets with dropdowns where the values are a fixed list, hidden exact columns.

The layout is models/plan_template.py's; models/plan_workbook_read.py reads it back. openpyxl is imported
only here, when a workbook is written, so the command line starts fast.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from models import plan_template as tpl
from models.export import display_width
from models.fiscal_year import format_fiscal_year

SPARE_ROWS = 500  # rows below the last filled one that keep their dropdowns, for a planner to add rows
MIN_ROWS = 1000
TEXT_FORMAT = "@"  # 取組み番号 1-1 typed into a General cell becomes 1 January
INPUT = "FFF9DB"
HIDDEN_HEADER = "D9D9D9"

PROMPTS = {
    tpl.MEASURE_NO: "施策の番号（1, 2, 3 …）",
    tpl.INITIATIVE_MEASURE: "シート「施策」の番号",
    tpl.INITIATIVE_ID: "施策番号-連番（施策1の2つ目は 1-2）",
    tpl.SECTIONS: "複数は「、」で区切ります（最初の課が主担当）。全所属・○○部の全所属・関係所属も書けます。",
    tpl.LEAD: "担当課・室のうちの1つ。空欄なら最初の課・室。",
    tpl.YEAR: "一覧から選びます（西暦の年度）。",
    tpl.TARGET: "数値だけ（35%なら 35。単位は「単位」列へ）。",
    tpl.UNIT: "一覧から選ぶか、直接記入します（%、件、人 …）。",
    tpl.KIND: "level＝年度末の値、increase＝増加分（5%増）、reduction＝削減量。空欄なら level。",
    tpl.BETTER: "higher＝高いほど良い、lower＝低いほど良い。空欄なら higher。",
}


def _years_text(years: list[int]) -> str:
    first, last = years[0], years[-1]
    text = format_fiscal_year(first, "ja")
    if last != first:
        text += "〜" + format_fiscal_year(last, "ja")
    return text


def instructions(years: list[int], made_at: datetime, exported: bool) -> list[tuple[str, str]]:
    """The 記入方法 sheet's lines after the plan's own cells: what each sheet wants and how it is imported."""
    made = made_at.strftime("%Y-%m-%d %H:%M")
    origin = "dxbot plan export（読み込まれている計画）" if exported else "dxbot plan template"
    return [
        ("作成", f"{made}  {origin}"),
        ("", ""),
        ("この表について", ""),
        (
            "1",
            "計画の施策・取組み・行動計画・KPI目標を4つのシートに記入し、dxbot plan import で取り込みます。",
        ),
        ("2", "1行に1件ずつ記入します。行の順番がそのまま計画の順番です。空の行は読み飛ばします。"),
        ("3", "年度・種類・良い方向などは、セルを選ぶと出る一覧（▼）から選べます。"),
        ("記入例", f"{tpl.MEASURE_SHEET}: 1 ／ 行政手続きのオンライン化"),
        (
            "",
            f"{tpl.INITIATIVE_SHEET}: 1 ／ 1-1 ／ 子育て関係の手続きのオンライン化 ／ 子育て支援課、保育課 ／ 子育て支援課",
        ),
        ("", f"{tpl.ACTION_SHEET}: 1-1 ／ {years[0]} ／ 対象となる手続きの洗い出し"),
        ("", f"{tpl.KPI_SHEET}: 1-1 ／ {years[0]} ／ オンライン申請率 ／ 30 ／ % ／ level ／ higher"),
        ("", ""),
        (f"シート「{tpl.MEASURE_SHEET}」", f"{tpl.MEASURE_NO}（1, 2, …）と{tpl.MEASURE_TITLE}。"),
        (
            f"シート「{tpl.INITIATIVE_SHEET}」",
            f"{tpl.INITIATIVE_MEASURE}（シート「{tpl.MEASURE_SHEET}」の番号）、{tpl.INITIATIVE_ID}"
            "（施策番号-連番。施策1の2つ目は 1-2）、取組み名、担当課・室、主担当、概要（任意）。",
        ),
        (
            tpl.SECTIONS,
            "複数は「、」で区切ります。「全所属」「○○部の全所属」「関係所属」も書けます。"
            "名簿にない課・室は取り込み時に追加されます（部局は dxbot section add で設定）。",
        ),
        (tpl.LEAD, "担当課・室のうち取組みを取りまとめる課・室。空欄なら最初に書いた課・室です。"),
        (
            f"シート「{tpl.ACTION_SHEET}」",
            f"{tpl.INITIATIVE_ID}・{tpl.YEAR}・{tpl.ACTION_TEXT}（1行に1件。同じ取組み・年度の行は上から順に並びます）。",
        ),
        (
            f"シート「{tpl.KPI_SHEET}」",
            f"{tpl.INITIATIVE_ID}・{tpl.YEAR}・{tpl.KPI_NAME}・{tpl.TARGET}・{tpl.UNIT}・{tpl.KIND}・{tpl.BETTER}"
            "（KPI目標1件・1年度につき1行）。",
        ),
        (tpl.TARGET, "数値だけを記入します（35%なら 35。単位は「単位」列に書きます）。"),
        (
            tpl.KIND,
            "level＝年度末の値そのもの（例: オンライン申請率 35%）、increase＝増加分（例: 5%増）、"
            "reduction＝削減量（例: 100時間削減）。空欄なら level。",
        ),
        (tpl.BETTER, "higher＝高いほど良い、lower＝低いほど良い（例: 窓口での申請率）。空欄なら higher。"),
        (
            "",
            "同じ取組みで同じKPI名の行は、年度をまたいで1つのKPIとしてつながります。"
            "年度によって名前を変えるときは、隠し列「系列ID」に同じID（例: 1-1/a）を書きます。",
        ),
        (
            "隠し列",
            f"{tpl.SERIES}・{tpl.PERIOD}・{tpl.NOTE}・{tpl.RAW}（シート「{tpl.KPI_SHEET}」）と{tpl.DEPARTMENTS}"
            f"（シート「{tpl.INITIATIVE_SHEET}」）は、書き出した計画を正確に取り込み直すための列です。"
            "新しく記入するときは空欄で構いません。",
        ),
        (
            "",
            f"{tpl.PERIOD}: year＝年間の件数など、month＝月あたり。{tpl.RAW}: 空欄なら KPI名・目標・単位から作ります。",
        ),
        ("", ""),
        ("取り込み方", ""),
        ("1", "dxbot plan import このファイル --dry-run （確認だけ。何も書き込みません）"),
        ("2", "dxbot plan import このファイル （取り込み）"),
        (
            "",
            "問題のある行があると「シート名 row 行番号: 内容」の形で全部表示され、"
            "そのファイルからは何も取り込まれません。直して再度取り込んでください。",
        ),
    ]


def template_rows(plan: dict | None) -> dict[str, list[tuple]]:
    """Each sheet's rows for PLAN (a plan document), in the order of the sheet's headers; none for a blank one."""
    rows: dict[str, list[tuple]] = {name: [] for name in tpl.DATA_SHEETS}
    for measure in (plan or {}).get("measures", []):
        rows[tpl.MEASURE_SHEET].append((measure["no"], measure["title"]))
        for initiative in measure["initiatives"]:
            iid = initiative["id"]
            rows[tpl.INITIATIVE_SHEET].append(
                (
                    measure["no"],
                    iid,
                    initiative["title"],
                    tpl.join_names(initiative["sections"]),
                    initiative.get("lead_section"),
                    initiative["summary"],
                    tpl.join_names(initiative["departments"]),
                )
            )
            for year in initiative["years"]:
                fy = year["fiscal_year"]
                rows[tpl.ACTION_SHEET].extend((iid, fy, text) for text in year["actions"])
                rows[tpl.KPI_SHEET].extend(
                    (
                        iid,
                        fy,
                        kpi["name"],
                        _number(kpi["target"]),
                        kpi["unit"],
                        kpi["kind"],
                        kpi["better"],
                        kpi["id"],
                        kpi["period"],
                        kpi["note"],
                        kpi["raw"],
                    )
                    for kpi in year["kpis"]
                )
    return rows


def _number(value):
    """A Decimal target as an Excel number (int when whole)."""
    return int(value) if value == value.to_integral_value() else float(value)


def write_plan_workbook(
    path: Path, *, years: list[int], made_at: datetime, plan: dict | None = None, title: str | None = None
) -> dict[str, int]:
    """Write the template (blank, or PLAN's content) to PATH; return each sheet's row count."""
    from openpyxl import Workbook

    workbook = Workbook()
    guide = workbook.worksheets[0]  # a new workbook opens on one sheet
    guide.title = tpl.INSTRUCTIONS_SHEET
    _write_guide(guide, years, made_at, title or (plan or {}).get("title"), exported=plan is not None)
    rows = template_rows(plan)
    for name in tpl.DATA_SHEETS:
        sheet = workbook.create_sheet(name)
        _write_sheet(sheet, name, rows[name], years)
    workbook.active = 0
    workbook.save(path)
    return {name: len(found) for name, found in rows.items()}


def _write_guide(sheet, years: list[int], made_at: datetime, title: str | None, exported: bool) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill, Protection

    sheet.append(["DX推進計画 記入用テンプレート", ""])
    sheet.append([tpl.TITLE_LABEL, title or ""])
    sheet.append([tpl.YEARS_LABEL, _years_text(years), ",".join(str(y) for y in years)])
    for label, text in instructions(years, made_at, exported):
        sheet.append([label, text])
    sheet["A1"].font = Font(bold=True, size=14)
    width = 100
    for row in sheet.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        lines = -(-display_width(row[1].value) // (width - 4))
        if lines > 1:
            sheet.row_dimensions[row[1].row].height = 15 * lines
    title_cell = sheet["B2"]
    title_cell.protection = Protection(locked=False)
    title_cell.fill = PatternFill("solid", fgColor=INPUT)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = width
    sheet.column_dimensions["C"].hidden = True
    sheet.protection.sheet = True


def _write_sheet(sheet, name: str, rows: list[tuple], years: list[int]) -> None:
    """Header, rows, widths, hidden columns, text formats and the dropdowns of one data sheet."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    headers = tpl.HEADERS[name]
    sheet.append(list(headers))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
        if cell.value in tpl.HIDDEN.get(name, ()):
            cell.fill = PatternFill("solid", fgColor=HIDDEN_HEADER)
    widths = [max(display_width(h) + 4, 10) for h in headers]
    for values in rows:
        sheet.append(list(values))
        row_no = sheet.max_row
        for col_no, value in enumerate(values, start=1):
            if isinstance(value, str) and value.startswith("="):
                sheet.cell(row=row_no, column=col_no).data_type = "s"  # text, never a formula
            widths[col_no - 1] = max(widths[col_no - 1], min(display_width(value), 60))
    last = max(len(rows) + 1 + SPARE_ROWS, MIN_ROWS)
    columns = {header: get_column_letter(i) for i, header in enumerate(headers, start=1)}
    for header, letter in columns.items():
        sheet.column_dimensions[letter].width = widths[headers.index(header)] + 2
        if header in tpl.HIDDEN.get(name, ()):
            sheet.column_dimensions[letter].hidden = True
    for header in (tpl.INITIATIVE_ID, tpl.SERIES):
        if header in columns:
            for (cell,) in sheet.iter_rows(
                min_row=2, max_row=last, min_col=headers.index(header) + 1, max_col=headers.index(header) + 1
            ):
                cell.number_format = TEXT_FORMAT
    wrap = Alignment(wrap_text=True, vertical="top")
    for header in (tpl.SUMMARY,):
        if header in columns:
            sheet.column_dimensions[columns[header]].width = 60
            for (cell,) in sheet.iter_rows(
                min_row=2,
                max_row=len(rows) + 1,
                min_col=headers.index(header) + 1,
                max_col=headers.index(header) + 1,
            ):
                cell.alignment = wrap
    _validations(sheet, name, columns, last, years)


def _validations(sheet, name: str, columns: dict[str, str], last: int, years: list[int]) -> None:
    """Dropdowns where the values are a fixed list (or another sheet's ids), number checks, input prompts."""
    from openpyxl.worksheet.datavalidation import DataValidation

    def add(header: str, check: DataValidation) -> None:
        if header not in columns:
            return
        letter = columns[header]
        check.allow_blank = True
        if header in PROMPTS:
            check.showInputMessage = True
            check.promptTitle = header
            check.prompt = PROMPTS[header]
        check.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(check)

    def choice(values, strict: bool = True) -> DataValidation:
        return DataValidation(
            type="list",
            formula1='"' + ",".join(str(v) for v in values) + '"',
            showErrorMessage=strict,
            errorTitle="一覧から選んでください",
            error="一覧（" + "・".join(str(v) for v in values) + "）から選んでください。",
        )

    def refer(sheet_name: str, headers: tuple[str, ...], header: str) -> DataValidation:
        from openpyxl.utils import get_column_letter

        letter = get_column_letter(headers.index(header) + 1)
        return DataValidation(
            type="list",
            # the filled cells of that column, however many: OFFSET(first, 0, 0, count of non-empty below the header)
            formula1=f"OFFSET('{sheet_name}'!${letter}$2,0,0,MAX(1,COUNTA('{sheet_name}'!${letter}:${letter})-1),1)",
            showErrorMessage=True,
            errorTitle=f"シート「{sheet_name}」にない{header}です",
            error=f"シート「{sheet_name}」の{header}を選んでください（先にそちらに記入します）。",
        )

    if name == tpl.MEASURE_SHEET:
        add(
            tpl.MEASURE_NO,
            DataValidation(
                type="whole",
                operator="greaterThanOrEqual",
                formula1="1",
                showErrorMessage=True,
                error="1以上の整数を入力してください。",
            ),
        )
    if name == tpl.INITIATIVE_SHEET:
        add(tpl.INITIATIVE_MEASURE, refer(tpl.MEASURE_SHEET, tpl.MEASURE_HEADERS, tpl.MEASURE_NO))
        for header in (tpl.INITIATIVE_ID, tpl.SECTIONS, tpl.LEAD):
            add(header, DataValidation())
    if name in (tpl.ACTION_SHEET, tpl.KPI_SHEET):
        add(tpl.INITIATIVE_ID, refer(tpl.INITIATIVE_SHEET, tpl.INITIATIVE_HEADERS, tpl.INITIATIVE_ID))
        add(tpl.YEAR, choice(years))
    if name == tpl.KPI_SHEET:
        add(
            tpl.TARGET,
            DataValidation(
                type="decimal",
                operator="between",
                formula1="-1000000000000",
                formula2="1000000000000",
                showErrorMessage=True,
                error="数値だけを入力してください（35%なら 35）。",
            ),
        )
        add(tpl.UNIT, choice(tpl.UNIT_SUGGESTIONS, strict=False))
        add(tpl.KIND, choice(tpl.KINDS))
        add(tpl.BETTER, choice(tpl.BETTER_CHOICES))
        add(tpl.PERIOD, choice(tpl.PERIODS))
