"""Sending a handled event's answer back to LINE: the event's Origin (with its reply token while fresh) to answer()."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.conversation.incoming import Incoming
from bot.line.events import is_redelivery
from messages.line_limits import MAX_MESSAGES, REPLY_TOKEN_TTL
from messages.sending import DeliveryError, Origin, Sender, SendResult, failed
from models.clock import Clock
from models.db import SessionFactory
from models.tables import OutboxMessage
from scheduler.delivery import answer_claimed, send_claimed

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


def origin_of(raw: dict, chat_id: str | None, at: datetime, clock: Clock) -> Origin:
    """Where the event's answer goes: CHAT_ID, and the reply token while it is usable."""
    return Origin(chat_id, raw["replyToken"] if reply_token_usable(raw, at, clock) else None)


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
    first, *rest = answer.rows
    origin = origin_of(raw, first.recipients[0], incoming.at, clock)
    try:
        answered = answer_claimed(session_factory, sender, origin, first, clock)
        _log_failed_reply(answered.reply, fields)
        states = {answered.state} | {send_claimed(session_factory, sender, row, clock).state for row in rest}
    except Exception:  # committed rows are not lost: the clock's deliver takes them when the lease ends
        log.exception(
            "webhook answer not sent now; the outbox sends it", extra={**fields, "stage": "deliver"}
        )
        return "queued"
    if "failed" in states:
        return None
    replied = answered.reply is not None and answered.reply.ok
    return "queued" if "retrying" in states else ("reply" if replied else "push")


def _log_failed_reply(reply: SendResult | None, fields: dict[str, Any]) -> None:
    """Say why an answer went as a push: its reply was refused, or never answered (it may arrive twice)."""
    if reply is None or reply.ok:
        return
    log.warning(
        "reply not answered; the answer goes as a push and may arrive twice"
        if reply.http_status is None
        else "reply refused; the answer goes as a push",
        extra={**fields, "stage": "reply", "status": reply.http_status, "line_message": reply.message},
    )


def _attempt(call, *args, **kwargs) -> SendResult:
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
    origin = origin_of(raw, chat_id, incoming.at, clock)
    if origin.reply_token is None and not chat_id:
        log.warning("nowhere to push the answer", extra={"webhook_event_id": event_id})
        return None
    chunks = [list(messages[i : i + MAX_MESSAGES]) for i in range(0, len(messages), MAX_MESSAGES)]
    how = None
    for number, chunk in enumerate(chunks):
        # A retry key per event and chunk: if this push is ever repeated, LINE delivers it only once.
        retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{event_id}/{number}"))
        if number == 0:
            result = _attempt(sender.answer, origin, chunk, key=retry_key)
            _log_failed_reply(result.reply, {"webhook_event_id": event_id})
            how = "reply" if result.replied else "push"
        elif not chat_id:
            log.warning("nowhere to push the answer", extra={"webhook_event_id": event_id})
            return how
        else:
            result = _attempt(sender.send, chat_id, chunk, key=retry_key)
        if not result.ok:
            return None
    return how


def deliver_safely(raw, incoming, messages, event_id, *, sender, clock, fields: dict[str, Any]) -> str | None:
    """Deliver, logging (not raising) a failure so the body's other events still get their turn."""
    try:
        return deliver(raw, incoming, messages, event_id, sender=sender, clock=clock)
    except Exception:
        log.exception("webhook answer could not be delivered", extra={**fields, "stage": "deliver"})
        return None
