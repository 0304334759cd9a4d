"""The grade scale and how a KPI figure becomes an achievement rate, a grade and a year-end projection."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from models.fiscal_year import fraction_elapsed
from models.grade_scale import DEFAULT_SCALE, GradeScale
from models.reports import achievement
from models.tables import KpiReport, KpiTarget

NO_GRADE = "−"


def grade_of(rate: Decimal | float | None, scale: GradeScale | None = None) -> str:
    """The grade of an achievement rate (percent) on SCALE (Config.grade_scale; None: the default S/A/B/C);
    "−" when there is no report."""
    if rate is None:
        return NO_GRADE
    scale = scale or DEFAULT_SCALE
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
