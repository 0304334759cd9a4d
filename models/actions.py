"""Action items (行動計画): a section's list for a fiscal year and status changes with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.sections import initiative_ids_for_section
from models.tables import ACTION_STATUSES, ActionItem, ActionStatusChange, Initiative, Member, Section


class ActionError(ValueError):
    """An action item change that cannot be made; the message says why."""


def section_action_items(
    session: Session, section: Section, fiscal_year: int
) -> list[tuple[ActionItem, Initiative]]:
    """The section's action items of FISCAL_YEAR (its initiatives, groups included), in plan order."""
    ids = initiative_ids_for_section(session, section)
    if not ids:
        return []
    rows = session.exec(
        select(ActionItem, Initiative)
        .join(Initiative, Initiative.id == ActionItem.initiative_id)
        .where(
            col(ActionItem.initiative_id).in_(ids),
            ActionItem.fiscal_year == fiscal_year,
            ActionItem.removed_at.is_(None),
        )
        .order_by(Initiative.measure_no, Initiative.position, ActionItem.position)
    ).all()
    return list(rows)


def set_status(
    session: Session,
    item: ActionItem,
    status: str,
    *,
    now: datetime,
    by: Member | None = None,
    source_message_id: str | None = None,
    note: str | None = None,
) -> ActionStatusChange:
    """Move ITEM to STATUS and keep a history row saying who, when and from which message."""
    if status not in ACTION_STATUSES:
        raise ActionError(f"unknown status {status!r}; choose one of {'/'.join(ACTION_STATUSES)}")
    change = ActionStatusChange(
        action_item_id=item.id,
        previous_status=item.status,
        status=status,
        changed_by_member_id=by.id if by else None,
        source_message_id=source_message_id,
        note=note,
        changed_at=now,
    )
    item.status = status
    item.status_changed_at = now
    session.add(item)
    session.add(change)
    session.flush()
    return change
