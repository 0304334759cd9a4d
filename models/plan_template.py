"""The Excel plan template's layout (sheets, columns, choices), shared by its writer and its reader.

A planner fills the visible columns; the hidden ones carry what the import compares but a planner need not
write (series ids, period, note, the plan's own wording, departments), so an exported plan reads back as
exactly the plan it came from. The import finds columns by these headers, so they never change.
"""

from __future__ import annotations

from collections.abc import Iterable

from models.fiscal_year import fiscal_year_of, parse_fiscal_year

TEMPLATE_NAME = "dxbot-plan-template.xlsx"
EXPORT_NAME = "dxbot-plan.xlsx"

INSTRUCTIONS_SHEET = "記入方法"
MEASURE_SHEET = "施策"
INITIATIVE_SHEET = "取組み"
ACTION_SHEET = "行動計画"
KPI_SHEET = "KPI"
DATA_SHEETS = (MEASURE_SHEET, INITIATIVE_SHEET, ACTION_SHEET, KPI_SHEET)

# 記入方法: the plan's own cells, found by the label in column A (value in B; the years also in C, hidden).
TITLE_LABEL = "計画の名前"
YEARS_LABEL = "対象年度"

# Column headers.
MEASURE_NO, MEASURE_TITLE = "番号", "施策名"
INITIATIVE_MEASURE, INITIATIVE_ID, INITIATIVE_TITLE = "施策番号", "取組み番号", "取組み名"
SECTIONS, LEAD, SUMMARY, DEPARTMENTS = "担当課・室", "主担当", "概要", "部局"
YEAR, ACTION_TEXT = "年度", "行動計画"
KPI_NAME, TARGET, UNIT, KIND, BETTER = "KPI名", "目標", "単位", "種類", "良い方向"
SERIES, PERIOD, NOTE, RAW = "系列ID", "期間", "注記", "計画の記載"

MEASURE_HEADERS = (MEASURE_NO, MEASURE_TITLE)
INITIATIVE_HEADERS = (
    INITIATIVE_MEASURE,
    INITIATIVE_ID,
    INITIATIVE_TITLE,
    SECTIONS,
    LEAD,
    SUMMARY,
    DEPARTMENTS,
)
ACTION_HEADERS = (INITIATIVE_ID, YEAR, ACTION_TEXT)
KPI_HEADERS = (INITIATIVE_ID, YEAR, KPI_NAME, TARGET, UNIT, KIND, BETTER, SERIES, PERIOD, NOTE, RAW)
HEADERS = {
    MEASURE_SHEET: MEASURE_HEADERS,
    INITIATIVE_SHEET: INITIATIVE_HEADERS,
    ACTION_SHEET: ACTION_HEADERS,
    KPI_SHEET: KPI_HEADERS,
}
HIDDEN = {INITIATIVE_SHEET: (DEPARTMENTS,), KPI_SHEET: (SERIES, PERIOD, NOTE, RAW)}
OPTIONAL = {INITIATIVE_SHEET: (LEAD, SUMMARY, DEPARTMENTS), KPI_SHEET: (KIND, BETTER, *HIDDEN[KPI_SHEET])}

KINDS = ("level", "increase", "reduction")
BETTER_CHOICES = ("higher", "lower")
PERIODS = ("year", "month")
# What a planner may type instead of the codes (the dropdowns offer the codes).
KIND_WORDS = {"水準": "level", "増加": "increase", "増": "increase", "削減": "reduction", "減少": "reduction"}
BETTER_WORDS = {"高い": "higher", "高いほど良い": "higher", "低い": "lower", "低いほど良い": "lower"}
PERIOD_WORDS = {"年": "year", "年間": "year", "月": "month", "月あたり": "month"}
UNIT_SUGGESTIONS = ("%", "人", "件", "回", "校", "か所", "課", "枚")
LIST_SEPARATORS = "、,，\n"  # between names in 担当課・室 and 部局
DEFAULT_YEAR_COUNT = 4


def default_years(now) -> list[int]:
    """The years a new template covers when none are given: the next fiscal year and the three after it
    (a plan is drawn up the year before it starts)."""
    first = fiscal_year_of(now) + 1
    return list(range(first, first + DEFAULT_YEAR_COUNT))


def parse_years(text: str) -> list[int]:
    """--years as a list: 2027-2030, 2027–2030, 2027,2028 or one year; a ValueError when unreadable."""
    cleaned = text.replace("〜", "-").replace("～", "-").replace("–", "-").strip()
    if "," in cleaned:
        years = [parse_fiscal_year(part) for part in cleaned.split(",") if part.strip()]
    elif "-" in cleaned:
        first, _, last = cleaned.partition("-")
        start, end = parse_fiscal_year(first), parse_fiscal_year(last)
        if end < start:
            raise ValueError(f"{text!r}: the last year comes before the first")
        years = list(range(start, end + 1))
    else:
        years = [parse_fiscal_year(cleaned)]
    if not years or len(years) > 20:
        raise ValueError(f"{text!r}: give between 1 and 20 fiscal years, e.g. 2027-2030")
    return sorted(set(years))


def join_names(names: Iterable[str]) -> str:
    """Names in one cell, the way the plan writes them (輝くこども未来室、子育て支援課)."""
    return "、".join(names)


def split_names(text: str) -> list[str]:
    """The names of a 担当課・室 or 部局 cell (separated by 、 , or line breaks)."""
    names = [text]
    for separator in LIST_SEPARATORS:
        names = [part for name in names for part in name.split(separator)]
    return [name.strip() for name in names if name.strip()]
