"""What the reply parser takes and gives: open KPIs in; figures, reports and questions out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

UNITS = ("%", "人", "件", "回", "校", "か所", "課", "枚")
COUNT_UNITS = frozenset(UNITS) - {"%"}

WHICH_KPI = "which_kpi"
UNIT_MISMATCH = "unit_mismatch"
IMPOSSIBLE_VALUE = "impossible_value"
MALFORMED_NUMBER = "malformed_number"
NO_FIGURE = "no_figure"
SEVERAL_FIGURES = "several_figures"
UNCLEAR_VALUE = "unclear_value"  # a bound (300件以上) or a change (10件増) where a level is wanted
REASONS = (
    WHICH_KPI,
    UNIT_MISMATCH,
    IMPOSSIBLE_VALUE,
    MALFORMED_NUMBER,
    NO_FIGURE,
    SEVERAL_FIGURES,
    UNCLEAR_VALUE,
)


@dataclass(frozen=True)
class OpenKpi:
    """A KPI a member may report now (one yearly target of one initiative)."""

    key: str
    series_id: str
    name: str
    unit: str
    kind: str = "level"
    initiative_id: str = ""
    initiative_title: str = ""


@dataclass(frozen=True)
class Figure:
    """A number someone wrote, with its unit."""

    value: Decimal
    unit: str | None  # canonical unit, or None: bare number (unit_as_written None) or unknown counter
    unit_as_written: str | None
    start: int
    end: int
    approximate: bool = False
    negative: bool = False
    malformed: bool = False  # e.g. "1,05": value is only the digits run together, never to be recorded
    bound: str | None = None  # "以上", "未満", ... written after the figure: not the figure itself
    change: str | None = None  # "increase" (増, +) or "decrease" (減, 削減) written with the figure


@dataclass(frozen=True)
class ParsedReport:
    """One figure to record for one KPI."""

    kpi: OpenKpi
    value: Decimal
    unit_as_written: str | None
    text: str
    figure: Figure | None = None


@dataclass(frozen=True)
class Question:
    """Why nothing was recorded for (part of) the message, with what the bot should offer."""

    reason: str
    candidates: tuple[OpenKpi, ...]
    figure: Figure | None
    text: str
    options: tuple[Figure, ...] = ()  # several_figures: each figure the member may have meant


@dataclass(frozen=True)
class ParseOutcome:
    """What a reply yields: figures to record and questions to ask back."""

    reports: tuple[ParsedReport, ...]
    questions: tuple[Question, ...]

    @property
    def is_report(self) -> bool:
        """True when everything in the message could be recorded without asking."""
        return bool(self.reports) and not self.questions
