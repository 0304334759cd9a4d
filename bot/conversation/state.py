"""Conversation state: a named step and its data, stored per member so the next message can continue it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from models.rows import row_id
from models.tables import ConversationState, Member

AWAITING_NUMBER = "awaiting_number"  # the member chose a KPI; the next figure is for it
AWAITING_KPI_CHOICE = "awaiting_kpi_choice"  # the member wrote a figure; the bot asked which KPI
AWAITING_CONFIRMATION = "awaiting_confirmation"  # the figure looked wrong; the bot asked 記録する / 修正する
STATE_LIFETIME = timedelta(minutes=30)


def get_state(session: Session, member: Member, now: datetime) -> ConversationState | None:
    """The member's current state, or None when there is none or it has expired."""
    state = session.exec(select(ConversationState).where(ConversationState.member_id == member.id)).first()
    if state is None or state.expires_at <= now:
        return None
    return state


def set_state(session: Session, member: Member, name: str, data: dict, now: datetime) -> None:
    """Remember where the conversation stands (replacing any earlier state)."""
    state = session.exec(select(ConversationState).where(ConversationState.member_id == member.id)).first()
    if state is None:
        state = ConversationState(
            member_id=row_id(member), state=name, data=data, updated_at=now, expires_at=now + STATE_LIFETIME
        )
    else:
        state.state, state.data, state.updated_at, state.expires_at = name, data, now, now + STATE_LIFETIME
    session.add(state)
    session.flush()


def clear_state(session: Session, member: Member) -> None:
    """Forget the member's conversation state."""
    state = session.exec(select(ConversationState).where(ConversationState.member_id == member.id)).first()
    if state is not None:
        session.delete(state)
        session.flush()
