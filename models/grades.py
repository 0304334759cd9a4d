"""The grade scale and how a KPI figure becomes an achievement rate, a grade and a year-end projection."""

from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from models.fiscal_year import fraction_elapsed
from models.reports import achievement
from models.tables import KpiReport, KpiTarget

GRADE_SCALE_ENV = "DXBOT_GRADE_SCALE"
DEFAULT_GRADE_SCALE = "S:110,A:100,B:80,C:0"
NO_GRADE = "−"


@lru_cache(maxsize=8)
def parse_grade_scale(text: str) -> tuple[tuple[str, Decimal], ...]:
    """Read a scale like "S:110,A:100,B:80,C:0" into (grade, minimum %) pairs, highest first."""
    pairs = []
    for part in text.split(","):
        label, sep, minimum = part.strip().partition(":")
        if not sep or not label.strip():
            raise ValueError(f"{GRADE_SCALE_ENV}: {part!r} is not GRADE:PERCENT (e.g. {DEFAULT_GRADE_SCALE})")
        try:
            pairs.append((label.strip(), Decimal(minimum.strip())))
        except ArithmeticError as exc:
            raise ValueError(f"{GRADE_SCALE_ENV}: {minimum!r} is not a number") from exc
    return tuple(sorted(pairs, key=lambda p: p[1], reverse=True))


def grade_scale() -> tuple[tuple[str, Decimal], ...]:
    """The scale in force (DXBOT_GRADE_SCALE or the default S/A/B/C)."""
    return parse_grade_scale(os.environ.get(GRADE_SCALE_ENV, "").strip() or DEFAULT_GRADE_SCALE)


def grade_of(rate: Decimal | float | None, scale: tuple[tuple[str, Decimal], ...] | None = None) -> str:
    """The grade of an achievement rate (percent); "−" when there is no report."""
    if rate is None:
        return NO_GRADE
    scale = scale or grade_scale()
    rate = Decimal(str(rate))
    for label, minimum in scale:
        if rate >= minimum:
            return label
    return scale[-1][0]


def achievement_rate(target: KpiTarget, value: Decimal | None) -> Decimal | None:
    """Percent of target reached: level, increase (the increase reported), reduction, lower-is-better."""
    return achievement(target, value)


def is_prorated(target: KpiTarget) -> bool:
    """Whether the KPI is a per-year count (pro-rated); levels, rates, increases and monthly counts are not."""
    return target.period == "year" and target.unit != "%" and target.kind != "increase"


def projected_value(target: KpiTarget, report: KpiReport | None) -> Decimal | None:
    """The year-end value the latest report points to (per-year counts pro-rated to the report's date)."""
    if report is None:
        return None
    value = report.value
    if not is_prorated(target):
        return value
    share = fraction_elapsed(report.reported_at, target.fiscal_year)
    if share <= 0 or share >= 1:
        return value
    return (value / Decimal(str(share))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def below_target(target: KpiTarget, value: Decimal | None) -> bool:
    """Whether VALUE falls short of the target in the KPI's own direction."""
    if value is None:
        return False
    if target.better == "lower":
        return value > target.target
    return value < target.target
