"""Storing events in the inbox: all of a body's events at once, each exactly once, before any is handled.

The caller (a chat platform's edge) gives each event as an inbox row's column values (its JSON in
`body`), in the order they are to be handled; what comes back is the events to handle.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot import metrics
from bot.inbox import DATABASE_TROUBLE, InboxUnavailable, StoredEvent
from bot.inbox.dead_letter import store_as_failed
from bot.inbox.writer import InboxWriter, insert_new_events
from models.clock import Clock
from models.db import SessionFactory, transaction
from models.rows import row_id as stored_id
from models.tables import InboxEvent

# Inbox lines have always been the webhook's (operators' log queries and alerts use the name).
log = logging.getLogger("bot.webhook")

Row = dict[str, Any]  # an inbox row's column values (InboxEvent's, without id)


def store(
    rows: list[Row], *, session_factory: SessionFactory, clock: Clock, writer: InboxWriter | None = None
) -> list[StoredEvent]:
    """Write the events' ROWS to the inbox (all or none); the ones to handle, in ROWS' order.

    Events handled before (redeliveries) are counted and left out. Raises InboxUnavailable when the
    database cannot be reached: nothing of the body is stored then, and the platform's redelivery brings
    it back. Any other failure is in the events, and a redelivery would fail the same way for ever: they
    are stored one by one then, and one the database still refuses is kept as a failed row.
    """
    for attempt in (1, 2):
        try:
            return store_in_inbox(rows, session_factory=session_factory, writer=writer)
        except IntegrityError:
            # Another copy of an event was stored by a concurrent delivery first: read again and see it.
            if attempt == 2:
                break
        except DATABASE_TROUBLE as exc:
            log.exception("webhook events could not be stored", extra={"outcome": "unstored"})
            for row in rows:
                metrics.count_event(row["event_type"], "unstored")
            raise InboxUnavailable(str(exc)) from exc
        except Exception:
            log.exception("webhook events could not be stored together; storing them one by one")
            return _store_one_by_one(rows, session_factory=session_factory, clock=clock, writer=writer)
    for row in rows:
        metrics.count_event(row["event_type"], "unstored")
    raise InboxUnavailable("the inbox kept conflicting with a concurrent delivery")


def _store_one_by_one(
    rows: list[Row], *, session_factory: SessionFactory, clock: Clock, writer: InboxWriter | None
) -> list[StoredEvent]:
    """Store each event on its own; one the database refuses is kept as a failed row (its id, type and
    shape: bot/inbox/dead_letter.py) so that its redeliveries are duplicates, not 503s for ever."""
    stored: list[StoredEvent] = []
    for row in rows:
        try:
            stored += store_in_inbox([row], session_factory=session_factory, writer=writer)
        except IntegrityError:
            continue  # a concurrent delivery stored it: that one handles it
        except DATABASE_TROUBLE as exc:
            metrics.count_event(row["event_type"], "unstored")
            raise InboxUnavailable(str(exc)) from exc
        except Exception as exc:
            log.exception("webhook event could not be stored", extra={"event_type": row["event_type"]})
            store_as_failed(session_factory, row["body"], row, exc, now=clock.now())
    return stored


def store_in_inbox(
    rows: list[Row], *, session_factory: SessionFactory, writer: InboxWriter | None = None
) -> list[StoredEvent]:
    """Write (or find) an inbox row per event and commit; events handled before are left out.

    New events (nearly all of them) are written with one INSERT … ON CONFLICT DO NOTHING RETURNING —
    on the WRITER's autocommit engine when there is one (the web's), so that statement is all the
    webhook waits for. Events already in the inbox (redeliveries, concurrent copies) are read back in
    a transaction: handled ones are duplicates, unhandled ones are handled again. The raw event is kept
    until it is handled (a crash before that leaves it to the event worker's sweep), then only for
    registered members: strangers' words are not kept.
    """
    ids = [row["webhook_event_id"] for row in rows]
    new_rows = list({row["webhook_event_id"]: row for row in rows}.values())
    inserted = writer.insert_new(new_rows) if writer is not None else None
    if inserted is not None and inserted.keys() >= set(ids):
        return _stored_events(rows, inserted, {}, None)
    with transaction(session_factory) as session:
        if inserted is None:
            inserted = insert_new_events(session.connection(), new_rows) or {}
        earlier = set(ids) - set(inserted)
        found = {
            row.webhook_event_id: row
            for row in (
                session.exec(select(InboxEvent).where(col(InboxEvent.webhook_event_id).in_(earlier)))
                if earlier
                else ()
            )
        }
        return _stored_events(rows, inserted, found, session)


def _stored_events(
    rows: list[Row], inserted: dict[str, int], found: dict[str, InboxEvent], session
) -> list[StoredEvent]:
    """The events to handle: new ones (INSERTED), unhandled earlier rows (FOUND); duplicates logged and counted."""
    stored: list[StoredEvent] = []
    seen: set[str] = set()
    for values in rows:
        raw, event_id, event_type = values["body"], values["webhook_event_id"], values["event_type"]
        row = found.get(event_id)
        if event_id in seen or (row is not None and row.handled_at is not None):
            log.info(
                "webhook event already handled",
                extra={"webhook_event_id": event_id, "event_type": event_type, "outcome": "duplicate"},
            )
            metrics.count_event(event_type, "duplicate")
            continue
        seen.add(event_id)
        if event_id in inserted:
            stored.append(
                StoredEvent(inserted[event_id], raw, event_id, event_type, transport=values["transport"])
            )
            continue
        if row is None:  # a database without ON CONFLICT … RETURNING: the ORM writes it
            row = InboxEvent(**values)
        else:  # stored by a delivery not handled yet (crashed, or still at it): handle it (again)
            log.info(
                "webhook event stored earlier but not handled yet; handling it now",
                extra={"webhook_event_id": event_id, "event_type": event_type},
            )
            row.is_redelivery = row.is_redelivery or values["is_redelivery"]
            row.body = raw
            row.outcome = None
        session.add(row)
        session.flush()
        stored.append(
            StoredEvent(stored_id(row), raw, row.webhook_event_id, row.event_type, transport=row.transport)
        )
    return stored
