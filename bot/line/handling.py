"""Handling one stored LINE event: to_incoming → respond → render → claim → deliver.

The conversation runs, its intents become LINE messages, and the inbox row is claimed — with the
answer's outbox rows — in the one transaction of the conversation's own writes; the answer leaves after
that commit (bot/line/delivery.py). One event's failure never stops the rest of its body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from bot import metrics
from bot.conversation.incoming import Incoming, Response
from bot.inbox import DATABASE_TROUBLE, InboxUnavailable, StoredEvent, claim, mark
from bot.inbox.dead_letter import give_back_attempt, record_failure
from bot.inbox.store import store
from bot.inbox.writer import InboxWriter
from bot.line.delivery import Answer, deliver_safely, send_answer
from bot.line.events import events_of, inbox_values, to_incoming
from bot.line.render import render
from bot.lineworks.events import to_incoming as lineworks_incoming
from messages.builders import build
from messages.intents import Notice
from messages.lineworks_render import render as lineworks_render
from messages.sending import Sender, sender_for
from models.clock import Clock
from models.config import Config
from models.db import SessionFactory, transaction
from models.members import LINEWORKS_ADDRESS, get_member
from models.privacy import pseudonym
from models.tables import ANSWER_KIND, OutboxMessage
from scheduler.delivery import LEASE
from scheduler.outbox import OutboxError, build_rows

# The LINE edge's lines have always been bot.webhook's (operators' log queries and alerts use the name).
log = logging.getLogger("bot.webhook")


@dataclass(frozen=True)
class EventResult:
    """What became of one event: its inbox id, the outcome word and how the answer left (reply/push)."""

    webhook_event_id: str
    event_type: str
    outcome: str  # respond()'s outcome, or duplicate | error
    # reply | push | queued (the outbox's deliver sends the rest) | None (nothing to say, or refused for good)
    delivered: str | None = None


# A LINE id in a log line: a tag that correlates lines (the same in every module), never a piece of the id.
short = pseudonym


def handle_payload(
    payload: dict,
    *,
    session_factory: SessionFactory,
    sender: Sender,
    clock: Clock,
    config: Config,
    writer: InboxWriter | None = None,
) -> list[EventResult]:
    """Store the body's events, then handle each in timestamp order; one event's failure never stops the rest.

    Raises InboxUnavailable (after trying every stored event) when the events could not be stored, or
    some could not be handled for database trouble: they stay unhandled in the inbox for a redelivery.
    """
    stored = accept_payload(payload, session_factory=session_factory, clock=clock, writer=writer)
    results: list[EventResult] = []
    unhandled = 0
    for event in stored:
        result = handle_stored(
            event, session_factory=session_factory, sender=sender, clock=clock, config=config
        )
        if result is None:
            unhandled += 1
        else:
            results.append(result)
    if unhandled:
        raise InboxUnavailable(f"{unhandled} event(s) could not be handled")
    return results


def accept_payload(
    payload: dict, *, session_factory: SessionFactory, clock: Clock, writer: InboxWriter | None = None
) -> list[StoredEvent]:
    """Write the body's events to the inbox (all or none); the ones to handle, in timestamp order.

    Events handled before (LINE's redeliveries) are counted and left out. Raises InboxUnavailable when
    the database cannot be reached: nothing of the body is stored then, and LINE's redelivery brings it
    back. Any other failure is in the events, and a redelivery would fail the same way for ever: they
    are stored one by one then, and one the database still refuses is kept as a failed row.
    """
    ordered = events_of(payload)
    if not ordered:
        return []
    rows = [inbox_values(raw, clock) for raw in ordered]
    return store(rows, session_factory=session_factory, clock=clock, writer=writer)


def handle_stored(
    stored: StoredEvent, *, session_factory: SessionFactory, sender: Sender, clock: Clock, config: Config
) -> EventResult | None:
    """Handle one stored event, count it and never raise; None when database trouble left it unhandled."""
    try:
        result = handle_event(
            stored, session_factory=session_factory, sender=sender, clock=clock, config=config
        )
    except InboxUnavailable:
        metrics.count_event(stored.event_type, "unhandled")
        return None
    except Exception:  # a bug on our side: the row stays unhandled (outcome error), the other events go on
        log.exception(
            "webhook event failed",
            extra={"webhook_event_id": stored.webhook_event_id, "reason": "unexpected", "outcome": "error"},
        )
        metrics.count_event(stored.event_type, "error")
        return EventResult(stored.webhook_event_id, stored.event_type, "error")
    metrics.count_event(result.event_type, result.outcome)
    return result


def handle_event(
    stored: StoredEvent, *, session_factory: SessionFactory, sender: Sender, clock: Clock, config: Config
) -> EventResult:
    """Respond to a stored event and deliver the answer (unless another delivery of it was handled first)."""
    raw, event_id, event_type = stored.raw, stored.webhook_event_id, stored.event_type
    fields = {"webhook_event_id": event_id, "event_type": event_type}
    incoming: Incoming | None = None
    transport = stored.transport
    sender = sender_for(sender, transport)  # answered on the platform the event came from
    try:
        incoming = INCOMING[transport](raw, event_id, clock)
        if incoming.user_id and incoming.kind == "text":
            incoming = replace(
                incoming, name_lookup=_name_lookup(sender, incoming.user_id, incoming.group_id)
            )
        handled = respond_and_mark(
            incoming, stored.row_id, session_factory=session_factory, clock=clock, config=config
        )
        if handled is None:
            log.info(
                "webhook event handled by a concurrent delivery", extra={**fields, "outcome": "duplicate"}
            )
            return EventResult(event_id, event_type, "duplicate")
        response, answer = handled
    except DATABASE_TROUBLE as exc:
        # Rolled back and unhandled: a redelivery (inline) or the event worker's sweep handles it later.
        log.exception(
            "webhook event could not be handled: database unavailable",
            extra={**fields, "stage": "respond", "outcome": "unhandled"},
        )
        if stored.attempt:  # not the event's fault: the sweep's take does not count towards failing it
            give_back_attempt(session_factory, stored.row_id)
        raise InboxUnavailable(str(exc)) from exc
    except Exception as exc:
        # Rolled back: nothing was recorded and handled_at stays empty, so the next sweep tries again,
        # up to MAX_ATTEMPTS; then the row is set aside and the person told once that nothing was recorded.
        log.exception(
            "webhook event handling failed", extra={**fields, "stage": "respond", "outcome": "error"}
        )
        set_aside = record_failure(
            session_factory, stored.row_id, raw, exc, counted=stored.attempt > 0, now=clock.now()
        )
        messages: list[dict] = []
        if set_aside and incoming is not None:
            messages = _error_notice(
                incoming, _locale_of(session_factory, incoming.user_id, incoming.transport)
            )
        delivered = deliver_safely(
            raw, incoming, messages, event_id, sender=sender, clock=clock, fields=fields
        )
        return EventResult(event_id, event_type, "error", delivered)

    messages = answer.messages
    delivered = send_answer(
        raw,
        incoming,
        answer,
        event_id,
        session_factory=session_factory,
        sender=sender,
        clock=clock,
        fields=fields,
    )
    outcome = response.outcome
    if messages and delivered is None:
        outcome = "error"  # handled (handled_at stays set: never applied twice) but the answer did not arrive
        mark(session_factory, stored.row_id, outcome=outcome)
    log.info(
        "webhook event handled",
        extra={
            **fields,
            "kind": incoming.kind,
            "outcome": outcome,
            "delivered": delivered,
            "messages": len(messages),
            "user": short(incoming.user_id),
            "group": short(incoming.group_id),
        },
    )
    return EventResult(event_id, event_type, outcome, delivered)


def _name_lookup(sender: Sender, user_id: str, group_id: str | None) -> Callable[[], str | None]:
    """Ask the sender's platform for the person's display name, only if registration needs it."""

    def lookup() -> str | None:
        profile = sender.profile(user_id, group_id)
        return profile.display_name if profile is not None else None

    return lookup


def respond_and_mark(
    incoming: Incoming, row_id: int, *, session_factory: SessionFactory, clock: Clock, config: Config
) -> tuple[Response, Answer] | None:
    """Run the conversation, build its messages, queue them and mark the inbox row handled — one transaction.

    The row is claimed last, with a conditional UPDATE of handled_at: when LINE's copies of one event
    race, the later ones wait on the row's lock, find it handled and roll their own writes back (None).
    Claiming last keeps SQLite's single write lock short: the conversation's reads happen before it.
    The answer's outbox rows are added after the claim (so they are written once), already leased to
    this handling, which sends them as soon as this commits; should it die first, the clock's `deliver`
    pushes them when the lease runs out. The raw event stays on the row only when it came from a
    registered member.
    """
    from bot.conversation.respond import respond  # imported late: the conversation imports a lot

    try:
        with transaction(session_factory) as session:
            response = respond(session, incoming, clock=clock, config=config)
            messages = RENDER[incoming.transport](response.intents, response.locale, plain=response.plain)
            rows = _answer_rows(incoming, messages, row_id, clock)
            member = response.member
            values: dict[str, Any] = {"handled_at": clock.now(), "outcome": response.outcome}
            if member is None or not member.active:
                values["body"] = None
            if not claim(session, row_id, values):
                raise _HandledElsewhere
            session.add_all(rows)
    except _HandledElsewhere:
        return None
    return response, Answer(messages, rows)


def _answer_rows(incoming: Incoming, messages: list[dict], row_id: int, clock: Clock) -> list[OutboxMessage]:
    """The answer as outbox rows (≤ 5 messages each) leased to this handling; none without a chat to push to."""
    chat_id = incoming.group_id or incoming.user_id
    if not messages or not isinstance(chat_id, str) or not chat_id.strip():
        return []
    if incoming.transport == "lineworks":
        chat_id = LINEWORKS_ADDRESS + chat_id  # rows of LINE WORKS bodies, one per chat (scheduler/outbox.py)
    now = clock.now()
    try:
        rows = build_rows(
            job="webhook",
            kind=ANSWER_KIND,
            dedup_key=f"answer:{row_id}",
            recipients=[chat_id],
            messages=messages,
            not_before=now,
            now=now,
            validate=False,  # the sender checks LINE's limits as it sends; tests validate every answer
        )
    except OutboxError as exc:
        # LINE's spec refuses a message or the chat id: sent straight, as before, not lost with the report.
        log.error("webhook answer could not be queued", extra={"stage": "queue", "error": type(exc).__name__})
        return []
    for row in rows:
        row.attempts, row.next_attempt_at = 1, now + LEASE
    return rows


def render_lineworks(intents: Iterable[object], locale: str | None, *, plain: bool = False) -> list[dict]:
    """Every intent's messages as LINE WORKS send bodies, in order (what a LINE WORKS outbox row holds)."""
    return lineworks_render([m for intent in intents for m in build(intent, locale, plain=plain)])


# Per transport: its events → Incoming, and the bot's messages → what its outbox rows and sender take.
INCOMING: dict[str, Callable[[dict, str, Clock], Incoming]] = {
    "line": to_incoming,
    "lineworks": lineworks_incoming,
}
RENDER: dict[str, Callable[..., list[dict]]] = {"line": render, "lineworks": render_lineworks}


class _HandledElsewhere(Exception):
    """Another delivery of the same event committed first: this one's writes are rolled back."""


def _locale_of(session_factory: SessionFactory, user_id: str | None, transport: str = "line") -> str:
    """The member's language for a notice; Japanese when they are not a member or cannot be looked up."""
    if not user_id:
        return "ja"
    try:
        with session_factory() as session:
            member = get_member(session, user_id, transport)
            return member.locale if member is not None else "ja"
    except Exception as exc:
        log.warning("member's language could not be looked up", extra={"error": type(exc).__name__})
        return "ja"


def _error_notice(incoming: Incoming, locale: str) -> list[dict]:
    """Tell a person in a 1:1 chat that nothing was recorded; stay quiet in groups (never spam them)."""
    if incoming.group_id is not None or incoming.kind not in ("text", "postback"):
        return []
    try:
        return RENDER[incoming.transport]([Notice("error")], locale)
    except Exception:
        log.exception("error notice could not be built")
        return []
