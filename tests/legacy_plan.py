"""Load a plan into a database migrated only as far as before plan editions (d4e6b8a0c2f1), as the old code did.

Migration tests start from such a database; the models describe the newest schema, so this writes plain rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, column, insert, select, table

from models.plan_seed import group_of
from models.sections import ensure_section
from models.types import AwareDateTime, ExactDecimal

MEASURE = table("measure", column("no"), column("title"))
INITIATIVE = table(
    "initiative",
    *map(column, ("id", "measure_no", "position", "title", "summary")),
    column("departments", JSON),
)
LINK = table(
    "initiativesection",
    *map(
        column,
        ("initiative_id", "position", "label", "section_id", "group_kind", "group_department", "is_lead"),
    ),
)
ACTION = table(
    "actionitem", *map(column, ("id", "initiative_id", "fiscal_year", "position", "text", "status"))
)
TARGET = table(
    "kpitarget",
    *map(
        column,
        (
            "id",
            "series_id",
            "initiative_id",
            "fiscal_year",
            "position",
            "name",
            "unit",
            "period",
            "kind",
            "better",
            "note",
            "raw",
        ),
    ),
    column("target", ExactDecimal()),
    column("updated_at", AwareDateTime()),
)
PLANIMPORT = table(
    "planimport",
    column("source"),
    column("digest"),
    column("imported_at", AwareDateTime()),
    column("summary", JSON),
)


def load_plan_before_editions(session, plan: dict, now: datetime) -> None:
    """Write PLAN's measures, initiatives, links, action items and KPI targets as rows of the old schema."""
    for measure in plan["measures"]:
        session.execute(insert(MEASURE).values(no=measure["no"], title=measure["title"]))
        for position, data in enumerate(measure["initiatives"], start=1):
            session.execute(
                insert(INITIATIVE).values(
                    id=data["id"],
                    measure_no=measure["no"],
                    position=position,
                    title=data["title"],
                    summary=data["summary"],
                    departments=list(data["departments"]),
                )
            )
            for n, label in enumerate(data["sections"], start=1):
                group = group_of(label)
                section_id = None if group else ensure_section(session, label)[0].id
                session.flush()
                session.execute(
                    insert(LINK).values(
                        initiative_id=data["id"],
                        position=n,
                        label=label,
                        section_id=section_id,
                        group_kind=group[0] if group else None,
                        group_department=group[1] if group else None,
                        is_lead=label == data["lead_section"],
                    )
                )
            for year in data["years"]:
                for n, text in enumerate(year["actions"], start=1):
                    session.execute(
                        insert(ACTION).values(
                            initiative_id=data["id"],
                            fiscal_year=year["fiscal_year"],
                            position=n,
                            text=text,
                            status="未着手",
                        )
                    )
                for n, kpi in enumerate(year["kpis"], start=1):
                    session.execute(
                        insert(TARGET).values(
                            series_id=kpi["id"],
                            initiative_id=data["id"],
                            fiscal_year=year["fiscal_year"],
                            position=n,
                            name=kpi["name"],
                            target=kpi["target"],
                            unit=kpi["unit"],
                            period=kpi["period"],
                            kind=kpi["kind"],
                            better=kpi["better"],
                            note=kpi["note"],
                            raw=kpi["raw"],
                            updated_at=now,
                        )
                    )
    session.execute(
        insert(PLANIMPORT).values(source="plan.yaml", digest="0" * 16, imported_at=now, summary={})
    )


def action_id(session, initiative: str, fiscal_year: int, text: str) -> int:
    """The id of an action item in the old schema."""
    return session.execute(
        select(ACTION.c.id).where(
            ACTION.c.initiative_id == initiative, ACTION.c.fiscal_year == fiscal_year, ACTION.c.text == text
        )
    ).scalar_one()


def target_id(session, series: str, fiscal_year: int) -> int:
    """The id of a KPI target in the old schema."""
    return session.execute(
        select(TARGET.c.id).where(TARGET.c.series_id == series, TARGET.c.fiscal_year == fiscal_year)
    ).scalar_one()
