"""Revised KPI targets (毎年度見直し): each target's original figure and its changes, so every view can say
「目標 45%（2026年4月1日に35%から変更）」 from the one record `dxbot plan import` keeps (kpitargetrevision)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.rows import row_id
from models.tables import KpiTarget, KpiTargetRevision


@dataclass(frozen=True)
class TargetChange:
    """One revision of a target's figure: at AT (DAY on the city's calendar) OLD became NEW."""

    day: date
    at: datetime
    old: Decimal
    old_unit: str
    new: Decimal
    new_unit: str


@dataclass(frozen=True)
class TargetHistory:
    """A KPI target's figure as first adopted and as revised since (CHANGES oldest first; none: never revised)."""

    target_id: int
    series_id: str
    fiscal_year: int
    original: Decimal
    original_unit: str
    current: Decimal
    unit: str
    kind: str
    changes: tuple[TargetChange, ...] = ()

    @property
    def revised(self) -> bool:
        return bool(self.changes)

    @property
    def latest(self) -> TargetChange | None:
        """The most recent change, or None."""
        return self.changes[-1] if self.changes else None


def _number(value: Decimal) -> int | float:
    """A Decimal as a JSON number (int when whole)."""
    return int(value) if value == value.to_integral_value() else float(value)


def history_record(history: TargetHistory | None) -> dict:
    """The JSON keys beside a target's `target`: original_target, target_revised_on (latest, or None) and
    revisions ([{"on": "2026-04-01", "from": 35, "to": 45}], oldest first)."""
    if history is None:
        return {"original_target": None, "target_revised_on": None, "revisions": []}
    latest = history.latest
    return {
        "original_target": _number(history.original),
        "target_revised_on": latest.day.isoformat() if latest is not None else None,
        "revisions": [
            {"on": c.day.isoformat(), "from": _number(c.old), "to": _number(c.new)} for c in history.changes
        ],
    }


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """MOMENT's date on the city's calendar (a naive moment is UTC, as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(tz).date()


def _history(target: KpiTarget, revisions: list[KpiTargetRevision], tz: ZoneInfo) -> TargetHistory:
    """TARGET's history from its revision rows (each holds the values a revision replaced, oldest first)."""
    figures = [(r.target, r.unit) for r in revisions] + [(target.target, target.unit)]
    changes = tuple(
        TargetChange(
            day=local_day(revision.replaced_at, tz),
            at=revision.replaced_at,
            old=old,
            old_unit=old_unit,
            new=new,
            new_unit=new_unit,
        )
        for revision, (old, old_unit), (new, new_unit) in zip(
            revisions, figures[:-1], figures[1:], strict=True
        )
        if (old, old_unit) != (new, new_unit)  # a revision of the wording alone leaves the figure as it was
    )
    return TargetHistory(
        target_id=row_id(target),
        series_id=target.series_id,
        fiscal_year=target.fiscal_year,
        original=figures[0][0],
        original_unit=figures[0][1],
        current=target.target,
        unit=target.unit,
        kind=target.kind,
        changes=changes,
    )


def target_histories(
    session: Session,
    *,
    edition_id: int | None,
    tz: ZoneInfo,
    initiative_id: str | None = None,
    fiscal_year: int | None = None,
) -> dict[int, TargetHistory]:
    """Every live KPI target of an edition (or of one initiative / fiscal year in it): target id → history.

    A revision belongs to its target, so to its edition: the next plan's 1-1 never shows this one's. Change
    days are on TZ's calendar (the clock's: DXBOT_TIMEZONE)."""
    wanted = [col(KpiTarget.edition_id) == edition_id, col(KpiTarget.removed_at).is_(None)]
    if initiative_id is not None:
        wanted.append(col(KpiTarget.initiative_id) == initiative_id)
    if fiscal_year is not None:
        wanted.append(col(KpiTarget.fiscal_year) == fiscal_year)
    targets: dict[int, KpiTarget] = {}
    revisions: dict[int, list[KpiTargetRevision]] = defaultdict(list)
    for target, revision in session.exec(  # one query: a page asks for this beside everything else
        select(KpiTarget, KpiTargetRevision)
        .outerjoin(KpiTargetRevision, col(KpiTargetRevision.kpi_target_id) == KpiTarget.id)
        .where(*wanted)
        .order_by(col(KpiTarget.id), col(KpiTargetRevision.replaced_at), col(KpiTargetRevision.id))
    ):
        targets[row_id(target)] = target
        if revision is not None:
            revisions[row_id(target)].append(revision)
    return {key: _history(t, revisions[key], tz) for key, t in targets.items()}
