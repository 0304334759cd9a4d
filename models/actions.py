"""Action items (行動計画): a section's list for a fiscal year and status changes with who and when.

A shared item (e.g. 5-1 for 全所属) has one status per section: each section closes its own part. The item's
own STATUS column is the roll-up kept for readers that show one word per item — the lead section's status
where the plan names a lead, else the one status all sections share, else 遅延 if any section is late,
else 進行中 (some moved, some not)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.editions import edition_id_of_year, in_edition
from models.rows import row_id
from models.sections import initiative_ids_for_section, sections_by_initiative
from models.tables import (
    ACTION_STATUSES,
    ActionItem,
    ActionSectionStatus,
    ActionStatusChange,
    Initiative,
    InitiativeSection,
    Member,
    Section,
)

NOT_STARTED, LATE, IN_PROGRESS, DONE = "未着手", "遅延", "進行中", "完了"


class ActionError(ValueError):
    """An action item change that cannot be made; the message says why."""


@dataclass(frozen=True)
class SectionStatus:
    """One section's status of an item (未着手 and no date when the section never touched it)."""

    section_id: int
    section: str
    status: str
    changed_at: datetime | None
    lead: bool = False


@dataclass(frozen=True)
class RollUp:
    """An item's statuses over every section it belongs to, the lead section first."""

    sections: tuple[SectionStatus, ...]

    @property
    def status(self) -> str:
        """One word for the item (see the module docstring for the rule)."""
        return rollup_status(self.sections)

    @property
    def done(self) -> int:
        return sum(1 for s in self.sections if s.status == DONE)

    @property
    def total(self) -> int:
        return len(self.sections)

    @property
    def open_sections(self) -> list[str]:
        """Sections whose part is not 完了, lead first."""
        return [s.section for s in self.sections if s.status != DONE]


def rollup_status(sections: Iterable[SectionStatus]) -> str:
    """The lead's status, else the common one, else 遅延 if any is late, else 進行中 (未着手 when none)."""
    sections = list(sections)
    if not sections:
        return NOT_STARTED
    lead = next((s for s in sections if s.lead), None)
    if lead is not None:
        return lead.status
    statuses = {s.status for s in sections}
    if len(statuses) == 1:
        return statuses.pop()
    return LATE if LATE in statuses else IN_PROGRESS


def section_statuses(session: Session, item_ids: Iterable[int]) -> dict[tuple[int, int], ActionSectionStatus]:
    """The stored status of each (item, section) among ITEM_IDS that a section has set."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = session.exec(select(ActionSectionStatus).where(col(ActionSectionStatus.action_item_id).in_(ids)))
    return {(r.action_item_id, r.section_id): r for r in rows}


def status_for(
    statuses: dict[tuple[int, int], ActionSectionStatus], item: ActionItem, section_id: int
) -> tuple[str, datetime | None]:
    """SECTION_ID's status of ITEM and when it was set (未着手, None when never)."""
    row = statuses.get((row_id(item), section_id))
    return (row.status, row.status_changed_at) if row is not None else (NOT_STARTED, None)


def rollups(
    session: Session,
    items: Iterable[ActionItem],
    sections: Iterable[Section] | None = None,
    links: Iterable[InitiativeSection] | None = None,
) -> dict[int, RollUp]:
    """Each item's statuses over the sections its initiative resolves to, lead first (SECTIONS: all, if known)."""
    items = list(items)
    if not items:
        return {}
    statuses = section_statuses(session, [row_id(i) for i in items])
    resolved, leads = sections_by_edition(session, sections, links)
    result: dict[int, RollUp] = {}
    for item in items:
        parts = []
        key = (item.edition_id, item.initiative_id)
        for section in resolved.get(key, []):
            status, at = status_for(statuses, item, row_id(section))
            lead = leads.get(key) == section.id
            parts.append(SectionStatus(row_id(section), section.name, status, at, lead))
        result[row_id(item)] = RollUp(tuple(parts))
    return result


def sections_by_edition(
    session: Session,
    sections: Iterable[Section] | None = None,
    links: Iterable[InitiativeSection] | None = None,
) -> tuple[dict[tuple[int, str], list[Section]], dict[tuple[int, str], int]]:
    """sections_by_initiative keyed by (edition id, initiative id): 1-1 of two plan editions may differ."""
    if links is None:
        links = session.exec(select(InitiativeSection)).all()
    sections = list(session.exec(select(Section)).all()) if sections is None else list(sections)
    by_edition: dict[int, list[InitiativeSection]] = {}
    for link in links:
        by_edition.setdefault(link.edition_id, []).append(link)
    resolved: dict[tuple[int, str], list[Section]] = {}
    leads: dict[tuple[int, str], int] = {}
    for edition_id, group in by_edition.items():
        found, lead = sections_by_initiative(session, sections, group)
        resolved.update({(edition_id, code): value for code, value in found.items()})
        leads.update({(edition_id, code): value for code, value in lead.items()})
    return resolved, leads


def section_action_items(
    session: Session, section: Section, fiscal_year: int
) -> list[tuple[ActionItem, Initiative]]:
    """The section's action items of FISCAL_YEAR (its initiatives, groups included), in plan order."""
    edition_id = edition_id_of_year(session, fiscal_year)
    ids = initiative_ids_for_section(session, section, edition_id)
    if not ids:
        return []
    rows = session.exec(
        select(ActionItem, Initiative)
        .join(Initiative, in_edition(ActionItem))
        .where(
            col(ActionItem.initiative_id).in_(ids),
            ActionItem.edition_id == edition_id,
            ActionItem.fiscal_year == fiscal_year,
            col(ActionItem.removed_at).is_(None),
        )
        .order_by(col(Initiative.measure_no), col(Initiative.position), col(ActionItem.position))
    ).all()
    return list(rows)


def section_status(session: Session, item: ActionItem, section: Section) -> tuple[str, datetime | None]:
    """SECTION's own status of ITEM and when it was set (未着手, None when never)."""
    return status_for(section_statuses(session, [row_id(item)]), item, row_id(section))


def set_status(
    session: Session,
    item: ActionItem,
    status: str,
    *,
    now: datetime,
    section: Section | None = None,
    by: Member | None = None,
    source_message_id: str | None = None,
    note: str | None = None,
) -> list[ActionStatusChange]:
    """Move SECTION's part of ITEM (every section's when None) to STATUS, keeping who, when and from where."""
    if status not in ACTION_STATUSES:
        raise ActionError(f"unknown status {status!r}; choose one of {'/'.join(ACTION_STATUSES)}")
    targets = (
        [section]
        if section is not None
        else sections_by_edition(session)[0].get((item.edition_id, item.initiative_id), [])
    )
    current = section_statuses(session, [row_id(item)])
    changes = []
    for target in tuple(targets) or (
        None,
    ):  # an item no section resolves to keeps its history on the item alone
        row = None
        if target is not None:
            row = current.get((row_id(item), row_id(target))) or ActionSectionStatus(
                action_item_id=row_id(item),
                section_id=row_id(target),
                status=NOT_STARTED,
                status_changed_at=now,
            )
        change = ActionStatusChange(
            action_item_id=row_id(item),
            section_id=target.id if target is not None else None,
            previous_status=row.status if row is not None else item.status,
            status=status,
            changed_by_member_id=by.id if by else None,
            source_message_id=source_message_id,
            note=note,
            changed_at=now,
        )
        if row is not None:
            row.status, row.status_changed_at = status, now
            session.add(row)
        session.add(change)
        changes.append(change)
    session.flush()
    item.status = rollups(session, [item])[row_id(item)].status if targets else status
    item.status_changed_at = now
    session.add(item)
    session.flush()
    return changes
