"""Load a plan into the database: add what is new, update what changed, keep reports and history."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from models.editions import edition_for_plan, find_initiative, forget_editions
from models.plan_seed import group_of
from models.rows import row_id
from models.sections import current_name, ensure_section
from models.tables import (
    ActionItem,
    Initiative,
    InitiativeSection,
    KpiTarget,
    KpiTargetRevision,
    Measure,
    PlanEdition,
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
    edition: int | None = None  # the edition the plan went into
    edition_added: bool = False  # a new edition (new fiscal years) rather than a revision
    # the diff of a revision: "+ …" added, "~ … old → new" changed, "- …" removed (empty for a new edition)
    changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def plan_digest(plan: dict) -> str:
    """A fingerprint of the plan's content (same plan, same digest)."""
    text = json.dumps(plan, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_sections_table(session: Session, rows: list[dict]) -> list[str]:
    """Add the sections of the section→department table that are missing; never overwrite edits (renames too)."""
    added = []
    for row in rows:
        section, created = ensure_section(session, current_name(session, row["name"]), row.get("department"))
        if created:
            added.append(section.name)
        elif section.department is None and row.get("department"):
            section.department = row["department"]
    return added


def plan_fiscal_years(plan: dict) -> list[int]:
    """The fiscal years a plan covers: its fiscal_years, else every year its initiatives name."""
    named = plan.get("fiscal_years") or [
        y["fiscal_year"] for m in plan["measures"] for i in m["initiatives"] for y in i["years"]
    ]
    return sorted(set(named))


def apply_plan(
    session: Session, plan: dict, *, now: datetime, source: str, imported_by: str | None = None
) -> ImportSummary:
    """Bring the edition of PLAN's fiscal years in line with it (a new edition for new years); the caller commits.

    Raises EditionConflict (models.editions) when the years only partly overlap an edition's.
    """
    summary = ImportSummary()
    years = plan_fiscal_years(plan)
    edition = edition_for_plan(session, years)
    title = plan.get("title") or "実行計画"
    if edition is None:
        edition = PlanEdition(
            title=title, first_year=years[0], last_year=years[-1], source=source, imported_at=now
        )
        edition.imported_by = imported_by
        session.add(edition)
        session.flush()
        forget_editions(session)
        summary.edition_added = True
    else:
        if plan.get("title") and edition.title != plan["title"]:
            summary.changes.append(f"~ title: {edition.title} → {plan['title']}")
            edition.title = plan["title"]
    summary.edition = edition.id
    existing_measures = {
        m.no: m for m in session.exec(select(Measure).where(Measure.edition_id == edition.id)).all()
    }
    seen_initiatives: set[str] = set()
    for measure_data in plan["measures"]:
        summary.measures += 1
        measure = existing_measures.get(measure_data["no"])
        if measure is None:
            measure = Measure(edition_id=row_id(edition), no=measure_data["no"], title=measure_data["title"])
            session.add(measure)
        elif measure.title != measure_data["title"]:
            summary.changes.append(f"~ measure ({measure.no}): {measure.title} → {measure_data['title']}")
            measure.title = measure_data["title"]
        session.flush()
        for position, data in enumerate(measure_data["initiatives"], start=1):
            summary.initiatives += 1
            seen_initiatives.add(data["id"])
            _apply_initiative(session, row_id(edition), measure.no, position, data, now, summary)

    for initiative in session.exec(select(Initiative).where(Initiative.edition_id == edition.id)).all():
        if initiative.id not in seen_initiatives:
            summary.warnings.append(
                f"initiative {initiative.id} is not in this plan; it is kept with its reports"
            )
            summary.changes.append(f"- initiative {initiative.id} {initiative.title} (kept with its reports)")
    if summary.edition_added:
        summary.changes = []  # a new edition is all additions: the counts say it
    session.add(
        PlanImport(
            edition_id=edition.id,
            source=source,
            digest=plan_digest(plan),
            imported_at=now,
            summary=summary.as_dict(),
        )
    )
    session.flush()
    return summary


def _apply_initiative(
    session: Session,
    edition_id: int,
    measure_no: int,
    position: int,
    data: dict,
    now: datetime,
    summary: ImportSummary,
) -> None:
    initiative = find_initiative(session, edition_id, data["id"])
    if initiative is None:
        initiative = Initiative(
            edition_id=edition_id,
            id=data["id"],
            measure_no=measure_no,
            position=position,
            title="",
            summary="",
        )
        session.add(initiative)
        summary.changes.append(f"+ initiative {data['id']} {data['title']}")
    elif initiative.title != data["title"]:
        summary.changes.append(f"~ initiative {data['id']}: {initiative.title} → {data['title']}")
    initiative.measure_no = measure_no
    initiative.position = position
    initiative.title = data["title"]
    initiative.summary = data["summary"]
    initiative.departments = list(data["departments"])
    session.flush()
    _apply_sections(session, initiative, data, summary)
    for year in data["years"]:
        _apply_actions(session, initiative, year["fiscal_year"], year["actions"], now, summary)
    _apply_kpis(session, initiative, data["years"], now, summary)


def _apply_sections(session: Session, initiative: Initiative, data: dict, summary: ImportSummary) -> None:
    data = {**data, "sections": [current_name(session, label) for label in data["sections"]]}
    if data.get("lead_section"):
        data["lead_section"] = current_name(session, data["lead_section"])
    old_links = session.exec(
        select(InitiativeSection)
        .where(
            InitiativeSection.edition_id == initiative.edition_id,
            InitiativeSection.initiative_id == initiative.id,
        )
        .order_by(col(InitiativeSection.position))
    ).all()
    lead = data.get("lead_section") or data["sections"][0]
    old_labels = [link.label for link in old_links]
    old_lead = next((link.label for link in old_links if link.is_lead), None)
    if old_links and (old_labels != list(data["sections"]) or old_lead != lead):
        summary.changes.append(
            f"~ initiative {initiative.id} sections: {'、'.join(old_labels)} (lead {old_lead}) → "
            f"{'、'.join(data['sections'])} (lead {lead})"
        )
    for link in old_links:
        session.delete(link)
    session.flush()
    for position, label in enumerate(data["sections"], start=1):
        link = InitiativeSection(
            edition_id=initiative.edition_id,
            initiative_id=initiative.id,
            position=position,
            label=label,
            is_lead=label == lead,
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
    initiative: Initiative,
    fiscal_year: int,
    texts: list[str],
    now: datetime,
    summary: ImportSummary,
) -> None:
    existing = session.exec(
        select(ActionItem).where(
            ActionItem.edition_id == initiative.edition_id,
            ActionItem.initiative_id == initiative.id,
            ActionItem.fiscal_year == fiscal_year,
        )
    ).all()
    by_text: dict[str, list[ActionItem]] = {}
    for row in sorted(existing, key=lambda a: (a.removed_at is not None, a.position)):
        by_text.setdefault(row.text, []).append(row)
    kept: set[int] = set()
    for position, text in enumerate(texts, start=1):
        summary.action_items += 1
        candidates = by_text.get(text) or []
        item = candidates.pop(0) if candidates else None
        if item is None:
            item = ActionItem(
                edition_id=initiative.edition_id,
                initiative_id=initiative.id,
                fiscal_year=fiscal_year,
                position=position,
                text=text,
            )
            session.add(item)
            summary.actions_added += 1
            summary.changes.append(f"+ action {initiative.id} FY{fiscal_year}: {text}")
        item.position = position
        item.removed_at = None
        session.flush()
        kept.add(row_id(item))
    for item in existing:
        if item.id not in kept and item.removed_at is None:
            item.removed_at = now
            summary.actions_removed += 1
            summary.changes.append(f"- action {initiative.id} FY{fiscal_year}: {item.text}")


def _apply_kpis(
    session: Session, initiative: Initiative, years: list[dict], now: datetime, summary: ImportSummary
) -> None:
    existing = {
        (t.series_id, t.fiscal_year): t
        for t in session.exec(
            select(KpiTarget).where(
                KpiTarget.edition_id == initiative.edition_id, KpiTarget.initiative_id == initiative.id
            )
        ).all()
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
                        edition_id=initiative.edition_id,
                        series_id=kpi["id"],
                        initiative_id=initiative.id,
                        fiscal_year=year["fiscal_year"],
                        position=position,
                        updated_at=now,
                        **values,
                    )
                )
                summary.targets_added += 1
                summary.changes.append(f"+ KPI {kpi['id']} FY{year['fiscal_year']}: {values['raw']}")
                continue
            changed = any(getattr(target, f) != values[f] for f in KPI_FIELDS)
            if changed:
                summary.changes.append(
                    f"~ KPI {kpi['id']} FY{year['fiscal_year']}: {target.raw} → {values['raw']}"
                    + ("" if target.raw != values["raw"] else f" ({_changed_fields(target, values)})")
                )
                session.add(
                    KpiTargetRevision(
                        kpi_target_id=row_id(target),
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
            summary.changes.append(f"- KPI {target.series_id} FY{target.fiscal_year}: {target.raw}")
    session.flush()


def _changed_fields(target: KpiTarget, values: dict) -> str:
    """The fields a revision changes besides the wording, as field old→new."""
    return ", ".join(
        f"{f} {getattr(target, f)}→{values[f]}" for f in KPI_FIELDS if getattr(target, f) != values[f]
    )


def plan_is_loaded(session: Session) -> bool:
    """Whether any plan has been loaded into this database."""
    return session.exec(select(PlanImport.id).limit(1)).first() is not None


def section_names(session: Session) -> list[str]:
    """Every section's name, sorted."""
    return sorted(s.name for s in session.exec(select(Section)).all())
