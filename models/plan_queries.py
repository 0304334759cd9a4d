"""Read the plan back out of the database, in the shape `dxbot plan show --json` promises, or as a plan
document (the YAML's shape) for `dxbot plan export`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import union
from sqlmodel import Session, col, select

from models.actions import RollUp, rollups
from models.editions import edition_of_year, latest_edition
from models.fiscal_year import fiscal_year_of
from models.rows import row_id
from models.sections import initiative_ids_for_section
from models.tables import ActionItem, Initiative, InitiativeSection, KpiTarget, Measure, PlanEdition, Section
from models.target_history import TargetHistory, history_record, target_histories

REVISION_KEYS = ("original_target", "target_revised_on", "revisions")  # shown beside a KPI, never imported


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: an int when whole, else a float."""
    return int(value) if value == value.to_integral_value() else float(value)


def kpi_as_dict(target: KpiTarget, history: TargetHistory | None = None) -> dict:
    """One yearly KPI target in the contract's shape, with its revisions (HISTORY) beside it."""
    return {
        "id": target.series_id,
        "name": target.name,
        "target": json_number(target.target),
        "unit": target.unit,
        "period": target.period,
        "kind": target.kind,
        "better": target.better,
        "note": target.note,
        "raw": target.raw,
        **history_record(history),
    }


def action_as_dict(item: ActionItem, rollup: RollUp) -> dict:
    """One action item: STATUS is the lead section's status (the roll-up rule without a lead), STATUSES each section's."""
    return {
        "id": item.id,
        "text": item.text,
        "status": rollup.status if rollup.sections else item.status,
        "statuses": {s.section: s.status for s in rollup.sections},
        "done": {"sections": rollup.done, "of": rollup.total},
    }


def plan_as_dict(
    session: Session,
    *,
    fiscal_year: int | None = None,
    section: Section | None = None,
    edition: PlanEdition | None = None,
    tz: ZoneInfo | None = None,
) -> dict:
    """One plan edition (or one year's, or one section's part of it) as plain data, in plan order.

    The edition is EDITION, else the one covering FISCAL_YEAR, else the newest; EDITION in the result names it.
    Revision days are on TZ's calendar (the clock's; UTC when not given)."""
    if edition is None:
        edition = (
            edition_of_year(session, fiscal_year) if fiscal_year is not None else latest_edition(session)
        )
    if edition is None:
        return {"edition": None, "measures": []}
    ed = edition.id
    wanted_ids = set(initiative_ids_for_section(session, section, ed)) if section is not None else None
    measures = session.exec(
        select(Measure).where(col(Measure.edition_id) == ed).order_by(col(Measure.no))
    ).all()
    initiatives = session.exec(
        select(Initiative)
        .where(Initiative.edition_id == ed)
        .order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()

    links: dict[str, list[InitiativeSection]] = defaultdict(list)
    for link in session.exec(
        select(InitiativeSection)
        .where(InitiativeSection.edition_id == ed)
        .order_by(col(InitiativeSection.position))
    ):
        links[link.initiative_id].append(link)
    actions: dict[tuple[str, int], list[ActionItem]] = defaultdict(list)
    action_query = (
        select(ActionItem)
        .where(col(ActionItem.removed_at).is_(None), col(ActionItem.edition_id) == ed)
        .order_by(col(ActionItem.position))
    )
    targets: dict[tuple[str, int], list[KpiTarget]] = defaultdict(list)
    target_query = (
        select(KpiTarget)
        .where(col(KpiTarget.removed_at).is_(None), col(KpiTarget.edition_id) == ed)
        .order_by(col(KpiTarget.position))
    )
    if fiscal_year is not None:
        action_query = action_query.where(ActionItem.fiscal_year == fiscal_year)
        target_query = target_query.where(KpiTarget.fiscal_year == fiscal_year)
    for item in session.exec(action_query):
        actions[(item.initiative_id, item.fiscal_year)].append(item)
    for target in session.exec(target_query):
        targets[(target.initiative_id, target.fiscal_year)].append(target)
    statuses = rollups(session, [a for items in actions.values() for a in items])
    histories = target_histories(session, edition_id=ed, tz=tz or ZoneInfo("UTC"), fiscal_year=fiscal_year)
    years_of: dict[str, set[int]] = defaultdict(set)
    for initiative_id, year in [*actions, *targets]:
        years_of[initiative_id].add(year)

    result = []
    for measure in measures:
        entries = []
        for initiative in initiatives:
            if initiative.measure_no != measure.no or (
                wanted_ids is not None and initiative.id not in wanted_ids
            ):
                continue
            lead = next((link.label for link in links[initiative.id] if link.is_lead), None)
            entries.append(
                {
                    "id": initiative.id,
                    "title": initiative.title,
                    "departments": list(initiative.departments),
                    "sections": [link.label for link in links[initiative.id]],
                    "lead_section": lead,
                    "summary": initiative.summary,
                    "years": [
                        {
                            "fiscal_year": year,
                            "actions": [
                                action_as_dict(a, statuses[row_id(a)]) for a in actions[(initiative.id, year)]
                            ],
                            "kpis": [
                                kpi_as_dict(t, histories.get(row_id(t)))
                                for t in targets[(initiative.id, year)]
                            ],
                        }
                        for year in sorted(years_of[initiative.id])
                    ],
                }
            )
        if entries or (wanted_ids is None):
            result.append({"no": measure.no, "title": measure.title, "initiatives": entries})
    return {"edition": edition_as_dict(edition), "measures": result}


def edition_as_dict(edition: PlanEdition) -> dict:
    """A plan edition in the contract's shape (the `edition` key beside the plan's)."""
    return {
        "id": edition.id,
        "title": edition.title,
        "fiscal_years": [edition.first_year, edition.last_year],
        "source": edition.source,
        "imported_at": edition.imported_at.isoformat(),
        "imported_by": edition.imported_by,
    }


def plan_years(session: Session) -> list[int]:
    """Fiscal years the loaded plan covers (with action items or KPI targets), ascending."""
    years = union(
        select(col(ActionItem.fiscal_year)).where(col(ActionItem.removed_at).is_(None)),
        select(col(KpiTarget.fiscal_year)).where(col(KpiTarget.removed_at).is_(None)),
    ).subquery()
    return sorted(session.exec(select(years.c.fiscal_year)).all())


def reporting_year(session: Session, now: datetime, tz=None) -> int:
    """The fiscal year status and digests report on: NOW's, or after the plan's last year that last year
    (its final actuals come in April and May, and its grades are what the city publishes)."""
    fiscal_year = fiscal_year_of(now, tz) if tz is not None else fiscal_year_of(now)
    years = plan_years(session)
    return min(fiscal_year, years[-1]) if years else fiscal_year


def plan_document(session: Session, *, title: str | None = None, edition: PlanEdition | None = None) -> dict:
    """A plan edition (the newest by default) in the plan YAML's shape (what `dxbot plan import` reads)."""
    shown = plan_as_dict(session, edition=edition)
    document: dict = {}
    chosen = title or (shown["edition"] or {}).get("title")
    if chosen:
        document["title"] = chosen
    document["fiscal_years"] = (
        list(range(shown["edition"]["fiscal_years"][0], shown["edition"]["fiscal_years"][1] + 1))
        if shown["edition"]
        else []
    )
    document["measures"] = [
        {
            "no": measure["no"],
            "title": measure["title"],
            "initiatives": [_document_initiative(initiative) for initiative in measure["initiatives"]],
        }
        for measure in shown["measures"]
    ]
    return document


def _document_initiative(shown: dict) -> dict:
    return {
        "id": shown["id"],
        "title": shown["title"],
        "summary": shown["summary"],
        "departments": list(shown["departments"]),
        "sections": list(shown["sections"]),
        "lead_section": shown["lead_section"] or (shown["sections"][0] if shown["sections"] else None),
        "years": [
            {
                "fiscal_year": year["fiscal_year"],
                "actions": [action["text"] for action in year["actions"]],
                "kpis": [
                    {
                        **{k: v for k, v in kpi.items() if k not in REVISION_KEYS},
                        "target": Decimal(str(kpi["target"])),
                    }
                    for kpi in year["kpis"]
                ],
            }
            for year in shown["years"]
        ],
    }
