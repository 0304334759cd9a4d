"""Intent lines (KpiLine, RoundLine, …) made from domain rows: shared by the chat, the jobs and the dashboard."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from messages.intents import ActionLine, KpiLine, ParticipationLine, RoundLine, RoundRate
from models import participation
from models.reports import OpenTarget, achievement
from models.rows import known, row_id
from models.section_status import SectionState
from models.tables import ActionItem, Initiative, KpiReport, KpiTarget, Section


def kpi_line(target: KpiTarget, initiative: Initiative, latest: KpiReport | None = None, due=None) -> KpiLine:
    """A KPI target with its latest value and achievement, as builders expect it."""
    value = latest.value if latest is not None else None
    return KpiLine(
        key=str(target.id),
        series_id=target.series_id,
        name=target.name,
        initiative_title=initiative.title,
        unit=target.unit,
        target=target.target,
        fiscal_year=target.fiscal_year,
        kind=target.kind,
        better=target.better,
        last_value=value,
        last_reported_at=latest.reported_at if latest is not None else None,
        achievement=achievement(target, value),
        due=due,
    )


def open_line(open_target: OpenTarget) -> KpiLine:
    """An OpenTarget as a KpiLine."""
    return kpi_line(open_target.target, open_target.initiative, open_target.latest)


def action_line(
    no: int,
    item: ActionItem,
    initiative: Initiative,
    *,
    section: Section | None = None,
    status: str | None = None,
) -> ActionLine:
    """An action item numbered as the member sees it, with SECTION's own STATUS (the roll-up without one)."""
    return ActionLine(
        no=no,
        id=row_id(item),
        text=item.text,
        status=status if status is not None else item.status,
        initiative_title=initiative.title,
        section_id=section.id if section is not None else None,
    )


def round_line(found: SectionState, tz: ZoneInfo) -> RoundLine:
    """A section's state and open round (models/section_status.py) as builders expect it; TZ dates the snooze."""
    open_round = found.open_round
    if open_round is None:
        return RoundLine(state=found.state, unconfirmed=found.unconfirmed)
    snoozed = open_round.snoozed_until
    return RoundLine(
        state=found.state,
        period=open_round.period,
        due=open_round.due,
        days_late=open_round.days_late,
        snoozed_until=snoozed.astimezone(tz).date() if snoozed is not None else None,
        reported=open_round.reported,
        expected=open_round.expected,
        unconfirmed=found.unconfirmed,
    )


def participation_line(found: participation.Participation) -> ParticipationLine:
    """A scope's participation (models/participation.py) as builders expect it."""
    return ParticipationLine(
        current=_rate(found.current), previous=_rate(found.previous), grades=tuple(found.grades)
    )


def _rate(found: participation.RoundRate | None) -> RoundRate | None:
    if found is None:
        return None
    hours = known(participation.rate_json(found), "a round rate's JSON")["median_hours_to_first_figure"]
    return RoundRate(
        fiscal_year=found.fiscal_year,
        period=found.period,
        recorded=found.recorded,
        sections_answered=found.sections_answered,
        sections_asked=found.sections_asked,
        people_answered=found.people_answered,
        people_asked=found.people_asked,
        section_rate=found.section_rate,
        people_rate=found.people_rate,
        median_hours=hours,
    )
