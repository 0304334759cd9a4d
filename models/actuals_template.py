"""The past-years template: every action item and KPI target of the years before this one, to fill in.

The bot went live in the plan's last year, so FY2023–FY2025 happened without it. An admin exports this
workbook, the sections fill in statuses and actuals, and `dxbot import-actuals` reads it back
(models/actuals_import.py). Rows carry hidden, locked ids (and what the bot knew at export) so every row
maps back to one action item or one (KPI target, reporting section), and so a stale copy cannot silently
overwrite what staff reported in LINE since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from models import status
from models.actions import rollups
from models.export import display_width, fill_sheet, local_date, unit_format
from models.fiscal_year import fiscal_year_dates, fiscal_year_of, format_fiscal_year
from models.kpi_parsing import COUNT_UNITS
from models.plan_queries import plan_years
from models.tables import ActionItem, Initiative, InitiativeSection, KpiTarget, Measure

TEMPLATE_NAME = "dxbot-actuals-template.xlsx"
INSTRUCTIONS_SHEET = "記入方法"
ACTION_SHEET = "行動計画"
KPI_SHEET = "KPI実績"
STATUS_CHOICES = ("未着手", "進行中", "完了", "遅延", "延期")
DATE_FORMAT = "yyyy-mm-dd"

# Column headers; the import finds columns by these names, so they never change.
MEASURE, INITIATIVE, SECTIONS, YEAR = "施策", "取組み", "担当課・室", "年度"
ACTION_TEXT, STATUS, CONFIRMED = "行動計画", "状況", "確認日"
KPI_NAME, TARGET, UNIT, RAW, HOW, ACTUAL, AS_OF = (
    "KPI",
    "目標",
    "単位",
    "計画の記載",
    "記入する値",
    "実績",
    "時点",
)
ACTION_ID, KNOWN_STATUS = "action_item_id", "出力時の状況"
TARGET_ID, SECTION_ID, KNOWN_ACTUAL = "kpi_target_id", "section_id", "出力時の実績"

ACTION_HEADERS = (
    MEASURE,
    INITIATIVE,
    SECTIONS,
    YEAR,
    ACTION_TEXT,
    STATUS,
    CONFIRMED,
    ACTION_ID,
    KNOWN_STATUS,
    SECTION_ID,  # whose row: a shared item has one row per section
)
KPI_HEADERS = (
    MEASURE,
    INITIATIVE,
    SECTIONS,
    YEAR,
    KPI_NAME,
    TARGET,
    UNIT,
    RAW,
    HOW,
    ACTUAL,
    AS_OF,
    TARGET_ID,
    SECTION_ID,
    KNOWN_ACTUAL,
)
ACTION_INPUTS = (STATUS, CONFIRMED)
KPI_INPUTS = (ACTUAL, AS_OF)
ACTION_HIDDEN = (ACTION_ID, KNOWN_STATUS, SECTION_ID)
KPI_HIDDEN = (TARGET_ID, SECTION_ID, KNOWN_ACTUAL)


@dataclass(frozen=True)
class TemplateAction:
    """One past action item as one section stands on it; STATUS and CONFIRMED filled in when known."""

    item_id: int
    measure: str
    initiative: str
    sections: str
    fiscal_year: int
    text: str
    status: str | None
    confirmed: date | None
    section_id: int | None = None

    def values(self) -> tuple:
        return (
            self.measure,
            self.initiative,
            self.sections,
            self.fiscal_year,
            self.text,
            self.status,
            self.confirmed,
            self.item_id,
            self.status,
            self.section_id,
        )


@dataclass(frozen=True)
class TemplateKpi:
    """One past KPI target as one reporting section stands on it; ACTUAL is its latest report, if any."""

    target_id: int
    section_id: int
    measure: str
    initiative: str
    section: str
    fiscal_year: int
    kpi: str
    target: int | float
    unit: str
    raw: str
    how: str
    actual: int | float | None
    as_of: date | None
    kind: str
    lead: bool

    def values(self) -> tuple:
        return (
            self.measure,
            self.initiative,
            self.section,
            self.fiscal_year,
            self.kpi,
            self.target,
            self.unit,
            self.raw,
            self.how,
            self.actual,
            self.as_of,
            self.target_id,
            self.section_id,
            self.actual,
        )


@dataclass(frozen=True)
class Template:
    """What the workbook holds: the years, the rows, and KPI targets no section can report (left out)."""

    years: list[int]
    actions: list[TemplateAction]
    kpis: list[TemplateKpi]
    unlisted: list[KpiTarget]
    made_at: datetime


def past_years(session: Session, now: datetime) -> list[int]:
    """The plan's fiscal years that ended before NOW's fiscal year."""
    current = fiscal_year_of(now)
    return [fy for fy in plan_years(session) if fy < current]


def how_to_fill(target: KpiTarget) -> str:
    """What number the 実績 cell wants, in the KPI's own kind, period and direction."""
    if target.kind == "increase":
        hint = f"増加分（{status.number(target.target)}{target.unit}増なら {status.number(target.target)}）"
    elif target.kind == "reduction":
        hint = "削減量"
    elif target.period == "year":
        hint = "年間の実績"
    elif target.period == "month":
        hint = "月あたりの実績"
    elif target.unit == "%":
        hint = "年度末の率（18%なら 18）"
    else:
        hint = "年度末の値"
    if target.better == "lower":
        hint += "・低いほど良い"
    return hint


def value_kind(unit: str, kind: str) -> str:
    """rate (a % from 0 to 100), count (a whole number) or other (a % increase: any number from 0)."""
    if unit == "%":
        return "other" if kind == "increase" else "rate"
    return "count" if unit in COUNT_UNITS else "other"


def _measure_titles(session: Session) -> dict[int, str]:
    return {m.no: f"({m.no}) {m.title}" for m in session.exec(select(Measure)).all()}


def _section_labels(session: Session) -> dict[str, str]:
    """Each initiative's 担当課・室 as the plan writes it (labels joined by 、)."""
    labels: dict[str, list[str]] = {}
    for link in session.exec(select(InitiativeSection).order_by(InitiativeSection.position)).all():
        labels.setdefault(link.initiative_id, []).append(link.label)
    return {initiative: "、".join(names) for initiative, names in labels.items()}


def _known(item: ActionItem, part) -> str | None:
    """The status the bot knows for the row (None when never set), the section's own if the row has one."""
    if part is None:
        return item.status if item.status_changed_at is not None else None
    return part.status if part.changed_at is not None else None


def build_template(session: Session, now: datetime) -> Template:
    """Every action item and (KPI target, reporting section) of the past years, prefilled where known."""
    years = past_years(session, now)
    measures = _measure_titles(session)
    labels = _section_labels(session)
    rows = session.exec(
        select(ActionItem, Initiative)
        .join(Initiative, Initiative.id == ActionItem.initiative_id)
        .where(col(ActionItem.fiscal_year).in_(years or [-1]), ActionItem.removed_at.is_(None))
        .order_by(ActionItem.fiscal_year, Initiative.measure_no, Initiative.position, ActionItem.position)
    ).all()
    rolled = rollups(session, [item for item, _ in rows])
    actions = [
        TemplateAction(
            item_id=item.id,
            measure=measures.get(initiative.measure_no, str(initiative.measure_no)),
            initiative=f"{initiative.id} {initiative.title}",
            sections=part.section if part is not None else labels.get(initiative.id, ""),
            fiscal_year=item.fiscal_year,
            text=item.text,
            status=_known(item, part),
            confirmed=local_date(part.changed_at if part is not None else item.status_changed_at),
            section_id=part.section_id if part is not None else None,
        )
        for item, initiative in rows
        for part in (rolled[item.id].sections or (None,))
    ]
    kpis: list[TemplateKpi] = []
    unlisted: list[KpiTarget] = []
    for fy in years:
        states = sorted(
            status.kpi_states(session, now, fiscal_year=fy),
            key=lambda s: (
                s.initiative.measure_no,
                s.initiative.position,
                s.target.position,
                not s.lead,
                s.section,
            ),
        )
        kpis.extend(
            TemplateKpi(
                target_id=s.target.id,
                section_id=s.section_id,
                measure=measures.get(s.initiative.measure_no, str(s.initiative.measure_no)),
                initiative=f"{s.initiative.id} {s.initiative.title}",
                section=s.section,
                fiscal_year=fy,
                kpi=s.target.name,
                target=status.number(s.target.target),
                unit=s.target.unit,
                raw=s.target.raw,
                how=how_to_fill(s.target),
                actual=status.number(s.value),
                as_of=local_date(s.latest.reported_at) if s.latest is not None else None,
                kind=s.target.kind,
                lead=s.lead,
            )
            for s in states
        )
        listed = {s.target.id for s in states}
        unlisted.extend(
            t
            for t in session.exec(
                select(KpiTarget)
                .where(KpiTarget.fiscal_year == fy, KpiTarget.removed_at.is_(None))
                .order_by(KpiTarget.series_id)
            ).all()
            if t.id not in listed
        )
    return Template(years=years, actions=actions, kpis=kpis, unlisted=unlisted, made_at=now)


# --- the workbook ---------------------------------------------------------------------------------------


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
        ("京田辺市DX推進計画 過年度の実績記入表", ""),
        ("作成日時", made),
        ("対象年度", f"{span}（今年度より前の年度）"),
        ("", ""),
        ("この表について", ""),
        (
            "1",
            "ボットが動いていなかった年度の行動計画の状況とKPIの実績を記入し、"
            "デジタル情報課が dxbot import-actuals で取り込みます。",
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
    guide = workbook.active
    guide.title = INSTRUCTIONS_SHEET
    for label, text in _instructions(template):
        guide.append([label, text])
    guide["A1"].font = Font(bold=True, size=14)
    guide_width = 100
    for row in guide.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        lines = -(-display_width(row[1].value) // (guide_width - 4))
        if lines > 1:  # wrapped text: a row tall enough to show it in full
            guide.row_dimensions[row[1].row].height = 15 * lines
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
        for row_no, row in enumerate(template.kpis, start=2):
            kpi_sheet.cell(row=row_no, column=actual_col).number_format = unit_format(row.unit)
            rows_of[value_kind(row.unit, row.kind)].append(row_no)
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
