"""Sending a handled event's answer back to LINE: reply while the token is fresh, push otherwise."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.conversation.incoming import Incoming
from bot.line.events import is_redelivery
from messages.line_limits import MAX_MESSAGES, REPLY_TOKEN_TTL
from messages.senders import DeliveryError, Sender, SendResult, failed
from models.clock import Clock
from models.db import SessionFactory
from models.tables import OutboxMessage
from scheduler.delivery import SenderTransport, mark_sent, send_claimed

# The LINE edge's lines have always been bot.webhook's (operators' log queries and alerts use the name).
log = logging.getLogger("bot.webhook")


RETRY_KEY_NAMESPACE = uuid.UUID("5b0c3e47-8d7e-4f53-9c61-2a1f0e6d9b84")


@dataclass(frozen=True)
class Answer:
    """What the handling says: its messages, and the outbox rows committed with its writes that carry them."""

    messages: list[dict]
    rows: list[OutboxMessage]  # leased to this handling; empty when there is no chat to push to


def reply_token_usable(raw: dict, at: datetime, clock: Clock) -> bool:
    """A reply token works once and for about a minute; a redelivered event's token is already stale."""
    token = raw.get("replyToken")
    if not isinstance(token, str) or not token:
        return False
    return not is_redelivery(raw) and clock.now() - at <= REPLY_TOKEN_TTL


def send_answer(
    raw: dict,
    incoming: Incoming,
    answer: Answer,
    event_id: str,
    *,
    session_factory: SessionFactory,
    sender: Sender,
    clock: Clock,
    fields: dict[str, Any],
) -> str | None:
    """Send the committed answer at once: reply while the token is fresh, push each row otherwise.

    A failed reply (5xx, a timeout, an expired token) sends the same messages as a push with the row's
    retry key. A reply carries no retry key, and one that timed out may have arrived all the same: the
    push after it is then a duplicate, accepted (and logged) rather than risk a lost confirmation. A row
    whose push fails too stays pending for the clock's `deliver` (same retry key, its backoff). Returns
    reply | push | queued (a row waits for the clock) | None (nothing to say, or LINE refused for good).
    """
    if not answer.rows:
        return deliver_safely(
            raw, incoming, answer.messages, event_id, sender=sender, clock=clock, fields=fields
        )
    rows, how = list(answer.rows), "push"
    try:
        if reply_token_usable(raw, incoming.at, clock):
            first = answer.messages[:MAX_MESSAGES]  # rows[0]'s messages
            result = _attempt(sender.reply, raw["replyToken"], first, to=rows[0].recipients[0])
            if result.ok:
                mark_sent(session_factory, rows.pop(0), clock.now())
                how = "reply"
            else:
                log.warning(
                    "reply not answered; the answer goes as a push and may arrive twice"
                    if result.http_status is None
                    else "reply refused; the answer goes as a push",
                    extra={
                        **fields,
                        "stage": "reply",
                        "status": result.http_status,
                        "line_message": result.message,
                    },
                )
        transport = SenderTransport(sender)
        states = {send_claimed(session_factory, transport, row, clock).state for row in rows}
    except Exception:  # committed rows are not lost: the clock's deliver takes them when the lease ends
        log.exception(
            "webhook answer not sent now; the outbox sends it", extra={**fields, "stage": "deliver"}
        )
        return "queued"
    if "failed" in states:
        return None
    return "queued" if "retrying" in states else how


def _attempt(call: Callable[..., SendResult], *args, **kwargs) -> SendResult:
    """CALL's result; a sender that raises instead (DeliveryError, a request it refuses) has failed."""
    try:
        return call(*args, **kwargs)
    except DeliveryError as exc:
        return failed(exc.status, exc.message, exc.details)
    except Exception as exc:
        # The error class only: a refused request's message may quote the text it refused.
        log.warning("sender raised instead of answering", extra={"error": type(exc).__name__})
        return failed(None, type(exc).__name__)


def deliver(
    raw: dict, incoming: Incoming, messages: Sequence[dict], event_id: str, *, sender: Sender, clock: Clock
) -> str | None:
    """Send MESSAGES straight back, without an outbox row (an error notice, or no chat to push to).

    Reply while the token is fresh; push when it is stale or the reply failed (each chunk with a retry
    key of its own, so a repeated push arrives once). None when nothing could be sent.
    """
    if not messages:
        return None
    chat_id = incoming.group_id or incoming.user_id
    chunks = [list(messages[i : i + MAX_MESSAGES]) for i in range(0, len(messages), MAX_MESSAGES)]
    how, first = "push", 0
    if (
        reply_token_usable(raw, incoming.at, clock)
        and _attempt(sender.reply, raw["replyToken"], chunks[0], to=chat_id).ok
    ):
        how, first = "reply", 1
    if first < len(chunks) and not chat_id:
        log.warning("nowhere to push the answer", extra={"webhook_event_id": event_id})
        return None if how == "push" else how
    for number in range(first, len(chunks)):
        # A retry key per event and chunk: if this push is ever repeated, LINE delivers it only once.
        retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{event_id}/{number}"))
        if not _attempt(sender.push, chat_id, chunks[number], retry_key=retry_key).ok:
            return None
    return how


def deliver_safely(raw, incoming, messages, event_id, *, sender, clock, fields: dict[str, Any]) -> str | None:
    """Deliver, logging (not raising) a failure so the body's other events still get their turn."""
    try:
        return deliver(raw, incoming, messages, event_id, sender=sender, clock=clock)
    except Exception:
        log.exception("webhook answer could not be delivered", extra={**fields, "stage": "deliver"})
        return None
