"""Doubts about a figure that parsed cleanly: the same as last round's, or far outside what its KPI allows.

A doubtful figure is not recorded until the member confirms it (the conversation asks with 記録する / 修正する).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from models.fiscal_year import fiscal_quarter_of, fiscal_year_of, fraction_elapsed
from models.grades import is_prorated
from models.tables import KpiReport, KpiRequestRound, KpiTarget, Section

SAME_AS_LAST = "same_as_last"
IMPLAUSIBLE = "implausible"
TOO_HIGH, TOO_LOW = Decimal(3), Decimal("0.1")  # × the (pro-rated) target
RATE_JUMP = Decimal(50)  # percentage points from the last report
MIN_SHARE = 1 / 12  # a month: early-April counts are not judged against a target of almost nothing


def doubt(
    session: Session,
    *,
    target: KpiTarget,
    section: Section,
    value: Decimal,
    now: datetime,
    last: KpiReport | None,
) -> str | None:
    """Why VALUE for TARGET (reported by SECTION at NOW, after LAST) should be confirmed first, or None."""
    if last is not None and last.value == value and _earlier_round(session, section, last, now):
        return SAME_AS_LAST
    if _implausible(target, value, last, now):
        return IMPLAUSIBLE
    return None


def _earlier_round(session: Session, section: Section, last: KpiReport, now: datetime) -> bool:
    """Whether LAST belongs to an earlier request round than NOW: a round opened since, or (no rounds this
    year) another fiscal quarter."""
    rounds = session.exec(
        select(KpiRequestRound.requested_at).where(
            KpiRequestRound.section_id == section.id,
            col(KpiRequestRound.requested_at) <= now,
            KpiRequestRound.fiscal_year == fiscal_year_of(now),
        )
    ).all()
    if rounds:
        return any(requested > last.reported_at for requested in rounds)
    return (fiscal_year_of(last.reported_at), fiscal_quarter_of(last.reported_at)) != (
        fiscal_year_of(now),
        fiscal_quarter_of(now),
    )


def _implausible(target: KpiTarget, value: Decimal, last: KpiReport | None, now: datetime) -> bool:
    """More than 3× or under a tenth of the target (per-year counts: pro-rated to NOW), or a rate that
    moved more than 50 points since the last report."""
    if target.unit == "%" and last is not None and abs(value - last.value) > RATE_JUMP:
        return True
    expected = target.target
    if expected is None or expected <= 0:
        return False
    if is_prorated(target):
        share = max(MIN_SHARE, fraction_elapsed(now, target.fiscal_year))
        expected = expected * Decimal(str(share))
    return value > expected * TOO_HIGH or value < expected * TOO_LOW
