"""Webhook events that cannot be handled: counted, then set aside as failed (dead-lettered), not retried for ever.

An inbox row counts its unfinished handlings in `attempts`: a sweep that takes it adds one (in its
conditional UPDATE, by row id), and so does a handling that raised when no sweep had counted it. Both
writes go by row id only, never by anything the event says, so they cannot fail on its content. A
handling that raised leaves the row for the next sweep (outcome "error", released to be taken at once);
the MAX_ATTEMPTS-th failure — or a sweep finding a row whose last MAX_ATTEMPTS handlings never finished
(the process died, or even the marking failed) — sets it aside: failed_at and handled_at set (no sweep,
backlog gauge or doctor check counts it as waiting again), outcome "failed", the error's class and the
body without its text. The admins are told (once a day at most, however many fail) and the person once
(bot/line/handling.py). An event the inbox itself refuses (not for the database being away) is stored as such
a row at once (store_as_failed). `dxbot inbox failed` lists them, `dxbot inbox retry ID` puts one back.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import metrics
from bot.inbox import RELEASED, InboxUnavailable
from models.db import SessionFactory, transaction
from models.rows import row_id as stored_id
from models.tables import InboxEvent

log = logging.getLogger("bot.dead_letter")  # its name before the inbox became a package

MAX_ATTEMPTS = 3
UNFINISHED = "unfinished"  # error_class of a row whose handlings never finished (nothing was raised to us)
ADMIN_TOPIC = "inbox-failed"  # notify_admins tells the admins once a day per topic
ADMIN_TEXT = (
    "LINEから受け取ったイベントを処理できなかったため、失敗として保存しました（本文は残していません）。"
    "`dxbot inbox failed` で一覧を確認し、原因を直したあと `dxbot inbox retry ID` で処理し直せます。"
)
# What a failed event keeps for inspection: its kind, ids and shape, never what anyone wrote or tapped.
KEPT_FIELDS = ("type", "mode", "timestamp", "webhookEventId")
KEPT_SOURCE = ("type", "userId", "groupId", "roomId")
KEPT_MESSAGE = ("type", "id")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def inspection_copy(raw: object) -> dict[str, Any]:
    """The event without its text: type, mode, time, ids, redelivery flag, message type and id."""
    if not isinstance(raw, dict):
        return {}
    kept: dict[str, Any] = {key: _scalar(raw[key]) for key in KEPT_FIELDS if key in raw}
    for key, fields in (
        ("source", KEPT_SOURCE),
        ("message", KEPT_MESSAGE),
        ("deliveryContext", ("isRedelivery",)),
    ):
        part = raw.get(key)
        if isinstance(part, dict):
            kept[key] = {name: _scalar(part[name]) for name in fields if name in part}
    return kept


def _scalar(value: object) -> object:
    """A JSON scalar as kept: strings cut to an id's length (and storable), containers dropped."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value[:64])
    return value if isinstance(value, bool | int | float) or value is None else None


def record_failure(
    factory: SessionFactory, row_id: int, raw: object, error: BaseException, *, counted: bool, now: datetime
) -> bool:
    """Count a handling of ROW_ID that raised ERROR (unless a sweep COUNTED it); True when it was set aside now.

    Below MAX_ATTEMPTS the row is released for the next sweep (outcome "error"). Never raises: a row that
    could not even be marked is bounded by the sweeps' count.
    """
    try:
        with transaction(factory) as session:
            attempts = session.execute(
                update(InboxEvent)
                .where(col(InboxEvent.id) == row_id, col(InboxEvent.handled_at).is_(None))
                .values(
                    attempts=InboxEvent.attempts + (0 if counted else 1),
                    outcome="error",
                    error_class=type(error).__name__[:100],
                    swept_at=None,
                    swept_by=RELEASED,
                )
                .returning(InboxEvent.attempts)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if attempts is None or attempts < MAX_ATTEMPTS:
                return False  # None: handled meanwhile by another delivery
            set_aside = _set_aside(session, row_id, raw, now=now)
    except Exception:
        log.exception("failed webhook event could not be counted", extra={"inbox_row": row_id})
        return False
    if set_aside:
        _after_set_aside(factory, raw, now=now, attempts=attempts)
    return set_aside


def store_as_failed(
    factory: SessionFactory, raw: dict, values: dict, error: BaseException, *, now: datetime
) -> None:
    """Keep an event the inbox refused as a failed row (VALUES: its new row's columns), without its text.

    Raises InboxUnavailable (LINE redelivers) when even that row cannot be written.
    """
    row = {
        **values,
        "body": inspection_copy(raw) or None,
        "failed_at": now,
        "handled_at": now,
        "outcome": "failed",
        "error_class": type(error).__name__[:100],
    }
    try:
        with transaction(factory) as session:
            session.add(InboxEvent(**row))
    except IntegrityError:
        return  # stored meanwhile by a concurrent delivery
    except Exception as exc:
        raise InboxUnavailable(str(exc)) from exc
    _after_set_aside(factory, raw, now=now, attempts=0)


def set_aside_unfinished(factory: SessionFactory, row: InboxEvent, *, now: datetime) -> bool:
    """Set aside a row whose last MAX_ATTEMPTS handlings never finished; True when this call did it."""
    try:
        with transaction(factory) as session:
            done = _set_aside(session, stored_id(row), row.body, now=now, unless_class=UNFINISHED)
    except Exception:
        log.exception("unfinished webhook event could not be set aside", extra={"inbox_row": row.id})
        return False
    if done:
        _after_set_aside(factory, row.body, now=now, attempts=row.attempts)
    return done


def _set_aside(
    session: Session, row_id: int, raw: object, *, now: datetime, unless_class: str | None = None
) -> bool:
    """Mark ROW_ID failed if nobody handled (or set aside) it meanwhile; True when this statement did."""
    values: dict[str, Any] = {
        "failed_at": now,
        "handled_at": now,
        "outcome": "failed",
        "body": inspection_copy(raw) or None,
        "swept_at": None,
        "swept_by": None,
    }
    if unless_class is not None:  # keep the class of an error recorded earlier
        values["error_class"] = func.coalesce(InboxEvent.error_class, unless_class)
    return (
        session.execute(
            update(InboxEvent)
            .where(col(InboxEvent.id) == row_id, col(InboxEvent.handled_at).is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _after_set_aside(factory: SessionFactory, raw: object, *, now: datetime, attempts: int) -> None:
    """Count and log a row just set aside, and tell the admins (best effort, after its own commit)."""
    event_type = raw.get("type") if isinstance(raw, dict) else None
    metrics.count_event(event_type, "failed")
    log.error(
        "webhook event set aside as failed",
        extra={"event_type": str(event_type)[:64], "attempts": attempts, "outcome": "failed"},
    )
    from scheduler.outbox import notify_admins

    try:
        with transaction(factory) as session:
            notify_admins(session, topic=ADMIN_TOPIC, text=ADMIN_TEXT, now=now, job="webhook")
    except Exception:
        log.exception("admins could not be told about a failed webhook event")


def give_back_attempt(factory: SessionFactory, row_id: int) -> None:
    """Uncount a sweep's take whose handling met database trouble (not the event's fault); best effort."""
    try:
        with transaction(factory) as session:
            session.execute(
                update(InboxEvent)
                .where(
                    col(InboxEvent.id) == row_id,
                    col(InboxEvent.handled_at).is_(None),
                    col(InboxEvent.attempts) > 0,
                )
                .values(attempts=InboxEvent.attempts - 1)
                .execution_options(synchronize_session=False)
            )
    except Exception as exc:
        log.warning(
            "attempt could not be given back", extra={"inbox_row": row_id, "error": type(exc).__name__}
        )


def failed_events(session: Session) -> list[InboxEvent]:
    """The rows set aside as failed, oldest first."""
    return list(
        session.exec(
            select(InboxEvent).where(col(InboxEvent.failed_at).is_not(None)).order_by(col(InboxEvent.id))
        ).all()
    )


class NotFailed(LookupError):
    """The id names no row, or a row that is not set aside (nothing to retry)."""


def retry_failed(session: Session, row_id: int) -> InboxEvent:
    """Put a failed row back for the next sweep (attempts from zero); NotFailed when it is not one."""
    row = session.get(InboxEvent, row_id)
    if row is None:
        raise NotFailed(f"no webhook event with id {row_id}")
    if row.failed_at is None:
        state = "waiting to be handled" if row.handled_at is None else f"handled ({row.outcome})"
        raise NotFailed(f"webhook event {row_id} is not failed: it is {state}")
    if not isinstance(row.body, dict):
        raise NotFailed(
            f"webhook event {row_id} kept no body to handle again (it failed before this version)"
        )
    row.failed_at = row.handled_at = None
    row.outcome = row.error_class = None
    row.attempts = 0
    row.swept_at, row.swept_by = None, RELEASED  # the next sweep anywhere takes it at once
    session.add(row)
    return row
