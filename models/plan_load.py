"""Load a plan into the database: add what is new, update what changed, keep reports and history."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from models.plan_seed import group_of
from models.sections import ensure_section
from models.tables import (
    ActionItem,
    Initiative,
    InitiativeSection,
    KpiTarget,
    KpiTargetRevision,
    Measure,
    PlanImport,
    Section,
)

KPI_FIELDS = ("name", "target", "unit", "period", "kind", "better", "note", "raw")


@dataclass
class ImportSummary:
    """What a plan load did, for the CLI's summary and the import record."""

    measures: int = 0
    initiatives: int = 0
    action_items: int = 0
    kpi_targets: int = 0
    sections_added: list[str] = field(default_factory=list)
    actions_added: int = 0
    actions_removed: int = 0
    targets_added: int = 0
    targets_changed: int = 0
    targets_removed: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def plan_digest(plan: dict) -> str:
    """A fingerprint of the plan's content (same plan, same digest)."""
    text = json.dumps(plan, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_sections_table(session: Session, rows: list[dict]) -> list[str]:
    """Add the sections of the section→department table that are missing; never overwrite edits."""
    added = []
    for row in rows:
        section, created = ensure_section(session, row["name"], row.get("department"))
        if created:
            added.append(section.name)
        elif section.department is None and row.get("department"):
            section.department = row["department"]
    return added


def apply_plan(session: Session, plan: dict, *, now: datetime, source: str) -> ImportSummary:
    """Bring the database in line with PLAN (already checked); the caller commits or rolls back."""
    summary = ImportSummary()
    existing_measures = {m.no: m for m in session.exec(select(Measure)).all()}
    seen_initiatives: set[str] = set()
    for measure_data in plan["measures"]:
        summary.measures += 1
        measure = existing_measures.get(measure_data["no"])
        if measure is None:
            measure = Measure(no=measure_data["no"], title=measure_data["title"])
            session.add(measure)
        else:
            measure.title = measure_data["title"]
        session.flush()
        for position, data in enumerate(measure_data["initiatives"], start=1):
            summary.initiatives += 1
            seen_initiatives.add(data["id"])
            _apply_initiative(session, measure.no, position, data, now, summary)

    for initiative in session.exec(select(Initiative)).all():
        if initiative.id not in seen_initiatives:
            summary.warnings.append(
                f"initiative {initiative.id} is not in this plan; it is kept with its reports"
            )
    session.add(
        PlanImport(source=source, digest=plan_digest(plan), imported_at=now, summary=summary.as_dict())
    )
    session.flush()
    return summary


def _apply_initiative(
    session: Session, measure_no: int, position: int, data: dict, now: datetime, summary: ImportSummary
) -> None:
    initiative = session.get(Initiative, data["id"])
    if initiative is None:
        initiative = Initiative(id=data["id"], measure_no=measure_no, position=position, title="", summary="")
        session.add(initiative)
    initiative.measure_no = measure_no
    initiative.position = position
    initiative.title = data["title"]
    initiative.summary = data["summary"]
    initiative.departments = list(data["departments"])
    session.flush()
    _apply_sections(session, initiative, data, summary)
    for year in data["years"]:
        _apply_actions(session, initiative.id, year["fiscal_year"], year["actions"], now, summary)
    _apply_kpis(session, initiative.id, data["years"], now, summary)


def _apply_sections(session: Session, initiative: Initiative, data: dict, summary: ImportSummary) -> None:
    for link in session.exec(
        select(InitiativeSection).where(InitiativeSection.initiative_id == initiative.id)
    ):
        session.delete(link)
    session.flush()
    lead = data.get("lead_section") or data["sections"][0]
    for position, label in enumerate(data["sections"], start=1):
        link = InitiativeSection(
            initiative_id=initiative.id, position=position, label=label, is_lead=label == lead
        )
        group = group_of(label)
        if group:
            link.group_kind, link.group_department = group
        else:
            section, created = ensure_section(session, label)
            if created:
                summary.sections_added.append(label)
                summary.warnings.append(
                    f"section {label!r} ({initiative.id}) is not in the section table; added without a "
                    f"department (set one with `dxbot section add {label!r} --department …`)"
                )
            link.section_id = section.id
        session.add(link)
    session.flush()


def _apply_actions(
    session: Session,
    initiative_id: str,
    fiscal_year: int,
    texts: list[str],
    now: datetime,
    summary: ImportSummary,
) -> None:
    existing = session.exec(
        select(ActionItem).where(
            ActionItem.initiative_id == initiative_id, ActionItem.fiscal_year == fiscal_year
        )
    ).all()
    by_text: dict[str, list[ActionItem]] = {}
    for item in sorted(existing, key=lambda a: (a.removed_at is not None, a.position)):
        by_text.setdefault(item.text, []).append(item)
    kept: set[int] = set()
    for position, text in enumerate(texts, start=1):
        summary.action_items += 1
        candidates = by_text.get(text) or []
        item = candidates.pop(0) if candidates else None
        if item is None:
            item = ActionItem(
                initiative_id=initiative_id, fiscal_year=fiscal_year, position=position, text=text
            )
            session.add(item)
            summary.actions_added += 1
        item.position = position
        item.removed_at = None
        session.flush()
        kept.add(item.id)
    for item in existing:
        if item.id not in kept and item.removed_at is None:
            item.removed_at = now
            summary.actions_removed += 1


def _apply_kpis(
    session: Session, initiative_id: str, years: list[dict], now: datetime, summary: ImportSummary
) -> None:
    existing = {
        (t.series_id, t.fiscal_year): t
        for t in session.exec(select(KpiTarget).where(KpiTarget.initiative_id == initiative_id)).all()
    }
    seen: set[tuple[str, int]] = set()
    for year in years:
        for position, kpi in enumerate(year["kpis"], start=1):
            summary.kpi_targets += 1
            key = (kpi["id"], year["fiscal_year"])
            seen.add(key)
            target = existing.get(key)
            values = {f: kpi.get(f) for f in KPI_FIELDS}
            if target is None:
                session.add(
                    KpiTarget(
                        series_id=kpi["id"],
                        initiative_id=initiative_id,
                        fiscal_year=year["fiscal_year"],
                        position=position,
                        updated_at=now,
                        **values,
                    )
                )
                summary.targets_added += 1
                continue
            changed = any(getattr(target, f) != values[f] for f in KPI_FIELDS)
            if changed:
                session.add(
                    KpiTargetRevision(
                        kpi_target_id=target.id,
                        replaced_at=now,
                        **{f: getattr(target, f) for f in KPI_FIELDS},
                    )
                )
                for f in KPI_FIELDS:
                    setattr(target, f, values[f])
                target.updated_at = now
                summary.targets_changed += 1
            if target.removed_at is not None:
                target.removed_at = None
                summary.targets_changed += 1
            target.position = position
    for key, target in existing.items():
        if key not in seen and target.removed_at is None:
            target.removed_at = now
            summary.targets_removed += 1
    session.flush()


def plan_is_loaded(session: Session) -> bool:
    """Whether any plan has been loaded into this database."""
    return session.exec(select(PlanImport.id).limit(1)).first() is not None


def section_names(session: Session) -> list[str]:
    """Every section's name, sorted."""
    return sorted(s.name for s in session.exec(select(Section)).all())
