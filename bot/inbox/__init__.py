"""The inbox: every chat event is stored (InboxEvent) before it is handled, and handled at most once.

Transport-neutral: a chat platform's edge (bot/line/) turns its events into inbox rows and hands them to
`bot.inbox.store`; the handling claims a row in the transaction of its own writes (`claim`), a worker
thread (`bot.inbox.worker`) handles what is queued and sweeps up what was left, and `bot.inbox.dead_letter`
sets aside what keeps failing. This module holds what all of them share; it imports none of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, col, select

from models.clock import Clock
from models.db import SessionFactory, transaction
from models.tables import InboxEvent
from models.types import utcnow

# Inbox lines have always been the webhook's (operators' log queries and alerts use the name).
log = logging.getLogger("bot.webhook")

MAX_EVENT_ID = 64  # InboxEvent.webhook_event_id's column width
SWEEP_BATCH = 100
# swept_by of rows a stopping process left queued: the next sweep takes them at once, not a minute later
# (by then their reply tokens have expired, and a push costs the city message quota where a reply is free).
RELEASED = "released"


class InboxUnavailable(RuntimeError):
    """An event could not be written to the inbox or handled (database trouble): LINE should deliver it again."""


# The database is down, gone away, locked too long or out of pooled connections: worth LINE's redelivery.
DATABASE_TROUBLE = (OperationalError, InterfaceError, PoolTimeout)


@dataclass(frozen=True)
class StoredEvent:
    """An event written to the inbox and not yet handled: its row, LINE's JSON and how it is known."""

    row_id: int
    raw: dict
    webhook_event_id: str
    event_type: str
    attempt: int = 0  # the row's attempts as a sweep's take counted them; 0: not counted (from /callback)
    transport: str = "line"  # whose callback stored it: line | lineworks (the format of raw)


def claim(session: Session, row_id: int, values: dict[str, Any]) -> bool:
    """Set VALUES (handled_at among them) on ROW_ID unless it is handled already; False when it was.

    A conditional UPDATE: when copies of one event race, the later ones wait on the row's lock, find it
    handled and roll their own writes back.
    """
    claimed = session.execute(
        update(InboxEvent)
        .where(col(InboxEvent.id) == row_id, col(InboxEvent.handled_at).is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def mark(session_factory: SessionFactory, row_id: int, *, outcome: str) -> None:
    """Record an outcome on an inbox row (best effort: the log already has the story)."""
    try:
        with transaction(session_factory) as session:
            session.execute(
                update(InboxEvent)
                .where(col(InboxEvent.id) == row_id)
                .values(outcome=outcome)
                .execution_options(synchronize_session=False)
            )
    except Exception:
        log.exception("inbox row could not be marked", extra={"outcome": outcome})


def unhandled_events(received_by: datetime | None, stored_by: datetime | None = None):
    """The oldest SWEEP_BATCH inbox rows nobody has handled (nor set aside as failed) that arrived by
    RECEIVED_BY by the app's clock, or were stored by STORED_BY by the real one (None and None: whenever
    they arrived), or that a stopping process or a failed handling released; and that no sweep took after
    STORED_BY (when given). A row whose handling raised is among them until bot/inbox/dead_letter.py sets
    it aside.

    handled_at IS NULL matches ix_inboxevent_unhandled, a partial index of exactly those rows.
    """
    query = select(InboxEvent).where(col(InboxEvent.handled_at).is_(None), col(InboxEvent.body).is_not(None))
    arrived = []
    if received_by is not None:
        arrived.append(InboxEvent.received_at <= received_by)
    if stored_by is not None:
        arrived.append(col(InboxEvent.stored_at) <= stored_by)
        query = query.where(not_swept_since(stored_by))
    if arrived:
        query = query.where(or_(*arrived, col(InboxEvent.swept_by) == RELEASED))
    return query.order_by(col(InboxEvent.id)).limit(SWEEP_BATCH)


def not_swept_since(moment: datetime):
    return or_(col(InboxEvent.swept_at).is_(None), col(InboxEvent.swept_at) <= moment)


def inbox_backlog(session) -> tuple[int, datetime | None]:
    """How many acknowledged events wait to be handled (or handled again after an error), and when the
    oldest arrived. Events set aside as failed are not waiting: their handled_at is set."""
    return session.exec(
        select(func.count(), func.min(col(InboxEvent.received_at))).where(
            col(InboxEvent.handled_at).is_(None)
        )
    ).one()


def failed_count(session: Session) -> int:
    """How many webhook events are set aside as failed (ix_inboxevent_failed)."""
    return session.exec(
        select(func.count()).select_from(InboxEvent).where(col(InboxEvent.failed_at).is_not(None))
    ).one()


def new_row(
    raw: dict,
    clock: Clock,
    *,
    event_id: str,
    transport: str,
    event_type: str,
    event_timestamp: datetime,
    is_redelivery: bool,
    source_type: str | None,
) -> dict[str, Any]:
    """The columns of a newly received event's inbox row, whichever platform sent it (its JSON kept until
    it is handled); each edge says what its own wire format makes of the first seven."""
    return {
        "webhook_event_id": event_id,
        "transport": transport,
        "event_type": event_type,
        "event_timestamp": event_timestamp,
        "is_redelivery": is_redelivery,
        "source_type": source_type,
        "received_at": clock.now(),
        "stored_at": utcnow(),
        "handled_at": None,
        "swept_at": None,
        "swept_by": None,
        "body": raw,
        "outcome": None,
        "attempts": 0,
        "failed_at": None,
        "error_class": None,
    }
