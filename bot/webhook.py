"""LINE's door into the bot: POST /callback (CallbackEdge) checks the signature, events go through the inbox.

The inbox (InboxEvent) is written and committed before an event is handled, and marked handled in the
same transaction as the conversation's own writes, so an event is applied at most once and a crash before
that commit leaves it to be handled when LINE redelivers it. `dxbot say` feeds events through
`handle_payload` too: only the signature step is the web's own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from linebot.v3 import SignatureValidator
from linebot.v3.messaging import Message
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    GroupSource,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    TextMessageContent,
    UnfollowEvent,
)
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import col, select
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length, get_input_stream

from bot import logging_setup, metrics
from bot.conversation.incoming import Incoming, Response
from bot.dead_letter import give_back_attempt, record_failure, store_as_failed
from bot.inbox_writer import InboxWriter, insert_new_events
from bot.ops import REQUEST_ID, REQUEST_ID_HEADER
from messages.builders import build
from messages.intents import Notice
from messages.line_sender import DeliveryError
from messages.senders import MAX_MESSAGES, Sender, SendResult, failed
from models.clock import Clock
from models.db import SessionFactory, transaction
from models.members import get_member
from models.privacy import pseudonym
from models.tables import ANSWER_KIND, InboxEvent, OutboxMessage
from models.types import utcnow
from scheduler.delivery import LEASE, SenderTransport, mark_sent, send_claimed
from scheduler.outbox import OutboxError, build_rows

log = logging.getLogger(__name__)

# LINE documents no cap on a webhook body; one text is at most 5,000 characters (~15 KB as JSON), so
# 1 MiB holds any realistic batch of events and keeps a stranger from making us buffer megabytes.
MAX_BODY_BYTES = 1024 * 1024
# Reply tokens are single-use and LINE lets them expire after about a minute; keep a safety margin.
REPLY_TOKEN_TTL = timedelta(seconds=50)
MAX_EVENT_ID = 64  # InboxEvent.webhook_event_id's column width
RETRY_KEY_NAMESPACE = uuid.UUID("5b0c3e47-8d7e-4f53-9c61-2a1f0e6d9b84")

SIMPLE_KINDS: dict[type, str] = {
    PostbackEvent: "postback",
    FollowEvent: "follow",
    UnfollowEvent: "unfollow",
    JoinEvent: "join",
    LeaveEvent: "leave",
}


class InboxUnavailable(RuntimeError):
    """An event could not be written to the inbox or handled (database trouble): LINE should deliver it again."""


# The database is down, gone away, locked too long or out of pooled connections: worth LINE's redelivery.
DATABASE_TROUBLE = (OperationalError, InterfaceError, PoolTimeout)


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


# --- the web edge -------------------------------------------------------------------------------


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """Check X-Line-Signature (base64 HMAC-SHA256 of the exact body bytes) with line-bot-sdk's validator."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Not LINE's JSON at all; still check the bytes so a correctly signed oddity gets a 200, not a 400.
        digest = base64.b64encode(hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest())
        return hmac.compare_digest(digest, signature.encode("utf-8"))
    return SignatureValidator(channel_secret).validate(text, signature)


class CallbackEdge:
    """POST /callback, answered in front of Flask's request machinery (a WSGI layer around the app).

    LINE's webhook is the web's one hot path: every staff reply is a request, and a burst of them (a
    KPI deadline) is what the web must keep up with. Its answer needs no routing, session, template or
    cookie, so this layer reads the body, checks the signature, stores the events and answers — and it
    does the request id, the latency metric and the logs the app's hooks (bot/ops.py) do for every
    other path, which go to Flask as before.

    400 unsigned, 413 oversize, 503 unstored (LINE redelivers), otherwise 200 once stored. In the
    default background mode the events are handled after the answer, by the process's event worker
    (LINE recommends handling webhooks asynchronously: its next request does not wait on ours);
    DXBOT_WEBHOOK_HANDLING=inline handles them before answering, and =worker leaves them to the
    `dxbot events` process.
    """

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/callback":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = logging_setup.request_id.set(request_id)
        status, answer, headers = 500, {"error": "internal error"}, [("Content-Type", "application/json")]
        try:
            if environ.get("REQUEST_METHOD") == "POST":
                status, answer = self.answer(environ)
            else:
                status, answer = 405, {"error": "method not allowed: LINE POSTs its webhook"}
                headers.append(("Allow", "POST"))
        except Exception:
            log.exception("webhook request failed", extra={"outcome": "error"})
        finally:
            metrics.observe_webhook(status, time.perf_counter() - started)
            logging_setup.request_id.reset(token)
        body = _ANSWERS.get((status, *answer.items())) or _json_answer(answer)
        headers += [("Content-Length", str(len(body))), (REQUEST_ID_HEADER, request_id)]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [body]

    def answer(self, environ: dict) -> tuple[int, dict[str, str]]:
        """Read, check and store one webhook request; its status and JSON answer."""
        dxbot = self.app.extensions["dxbot"]
        length = get_content_length(environ)
        if length is not None and length > MAX_BODY_BYTES:
            log.warning("webhook body too large", extra={"reason": "too_large", "bytes": length})
            return 413, {"error": "request body too large"}
        # A chunked body has no Content-Length: read at most one byte past the limit (Werkzeug stops a
        # stream at the limit without an error), and refuse it if that byte came.
        body = get_input_stream(environ, max_content_length=MAX_BODY_BYTES + 1).read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            log.warning("webhook body too large", extra={"reason": "too_large", "bytes": len(body)})
            return 413, {"error": "request body too large"}

        signature = environ.get("HTTP_X_LINE_SIGNATURE", "")
        config = dxbot["config"]
        if not signature or not signature_is_valid(config.effective_channel_secret, body, signature):
            log.warning(
                "webhook signature rejected",
                extra={
                    "reason": "missing_signature" if not signature else "bad_signature",
                    "bytes": len(body),
                },
            )
            return 400, {"error": "invalid signature"}

        payload = parse_body(body)
        if payload is None:
            return 200, {"status": "ignored"}
        # From here LINE's request is genuine: the process's event thread waits while it is answered (a
        # slow or unsigned request, still being read or refused, never holds the handling back).
        with dxbot["events"].answering():
            return self._store(payload, config, dxbot)

    def _store(self, payload: dict, config, dxbot: dict) -> tuple[int, dict[str, str]]:
        """Store (inline: and handle) a signed body's events; the status and JSON answer."""
        try:
            if config.webhook_handling == "inline":
                with self.app.app_context():  # the conversation may look at the app (dashboard links)
                    handle_payload(
                        payload,
                        session_factory=dxbot["session_factory"],
                        sender=dxbot["sender"],
                        clock=dxbot["clock"],
                        writer=dxbot["inbox_writer"],
                    )
            else:
                stored = accept_payload(
                    payload,
                    session_factory=dxbot["session_factory"],
                    clock=dxbot["clock"],
                    writer=dxbot["inbox_writer"],
                )
                if config.webhook_handling == "background":
                    dxbot["events"].submit(stored)  # worker mode: `dxbot events` picks them up from the inbox
        except InboxUnavailable:
            # Nothing about the unstored events is lost if LINE tries again: stored ones are deduplicated.
            return 503, {"error": "storage unavailable, please redeliver"}
        return 200, {"status": "ok"}


def _json_answer(answer: dict[str, str]) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


# The answers LINE gets nearly every time, encoded once.
_ANSWERS = {(200, ("status", "ok")): _json_answer({"status": "ok"})}


# A \u0000 escape in JSON text: preceded by an even number of backslashes (not an escaped backslash).
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
# A \uD800–\uDFFF escape: the only way a lone surrogate gets into the decoded text (UTF-8 bytes cannot).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_body(body: bytes) -> dict | None:
    """Decode a signed body as JSON; None (and a log line) when it is not a JSON object.

    What JSON text may hold but no database can store is made storable, so that a signed body is never
    refused for ever (LINE's redeliveries of it all failing): NUL characters (\\u0000) are dropped from
    every string (PostgreSQL's text cannot hold them); NaN, Infinity, numbers too large for a float and
    integers of more than 4,300 digits (Python will not convert them) become null, as JavaScript's
    JSON.stringify writes them (PostgreSQL's json refuses them); lone surrogates (\\ud800 not part of a
    pair) become U+FFFD in every string and key (no UTF-8 exists for them). The same on every delivery,
    so a redelivery keeps its event id.
    """
    try:
        text = body.decode("utf-8")
        if "\\u0000" in text:
            text = _JSON_NUL.sub(r"\1", text)
        payload = _DECODER.decode(text)
        if isinstance(payload, dict) and _SURROGATE_ESCAPE.search(text):
            _replace_lone_surrogates(payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        log.warning("webhook body is not JSON", extra={"reason": "malformed_json", "error": str(exc)[:200]})
        return None
    if not isinstance(payload, dict):
        log.warning("webhook body is not a JSON object", extra={"reason": "malformed_body"})
        return None
    return payload


def _no_constant(name: str) -> None:
    """NaN, Infinity and -Infinity: not JSON, though Python's json reads them; null instead."""
    return None


def _finite_float(text: str) -> float | None:
    """A JSON number with a fraction or exponent; null when it overflows a float (1e400 is inf)."""
    value = float(text)
    return value if math.isfinite(value) else None


def _bounded_int(text: str) -> int | None:
    """A JSON integer; null when it has more digits than Python converts (4,300: a ValueError)."""
    try:
        return int(text)
    except ValueError:
        return None


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)


def _replace_lone_surrogates(payload: dict) -> None:
    """Put U+FFFD for each lone surrogate in PAYLOAD's strings and keys, in place (no recursion: a deeply
    nested body that json.loads took must not overflow the stack here)."""
    stack: list[dict | list] = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _LONE_SURROGATE.sub("\ufffd", item)
                elif isinstance(item, dict | list):
                    stack.append(item)
            continue
        items = [(_LONE_SURROGATE.sub("\ufffd", key), value) for key, value in node.items()]
        node.clear()  # keys too: the dict is rebuilt in its order
        for key, value in items:
            if isinstance(value, str):
                value = _LONE_SURROGATE.sub("\ufffd", value)
            elif isinstance(value, dict | list):
                stack.append(value)
            node[key] = value


# --- the shared part: inbox, respond, deliver ---------------------------------------------------


@dataclass(frozen=True)
class StoredEvent:
    """An event written to the inbox and not yet handled: its row, LINE's JSON and how it is known."""

    row_id: int
    raw: dict
    webhook_event_id: str
    event_type: str
    attempt: int = 0  # the row's attempts as a sweep's take counted them; 0: not counted (from /callback)


def handle_payload(
    payload: dict,
    *,
    session_factory: SessionFactory,
    sender: Sender,
    clock: Clock,
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
        result = handle_stored(event, session_factory=session_factory, sender=sender, clock=clock)
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
    events = payload.get("events")
    if not isinstance(events, list):
        log.warning("webhook body has no events list", extra={"reason": "malformed_body"})
        return []
    objects = [e for e in events if isinstance(e, dict)]
    if len(objects) < len(events):
        log.warning("webhook events that are not objects were skipped", extra={"reason": "malformed_event"})
    if not objects:
        return []
    ordered = sorted(objects, key=_timestamp_order)
    for attempt in (1, 2):
        try:
            return store_in_inbox(ordered, session_factory=session_factory, clock=clock, writer=writer)
        except IntegrityError:
            # Another copy of an event was stored by a concurrent delivery first: read again and see it.
            if attempt == 2:
                break
        except DATABASE_TROUBLE as exc:
            log.exception("webhook events could not be stored", extra={"outcome": "unstored"})
            for raw in ordered:
                metrics.count_event(raw.get("type"), "unstored")
            raise InboxUnavailable(str(exc)) from exc
        except Exception:
            log.exception("webhook events could not be stored together; storing them one by one")
            return _store_one_by_one(ordered, session_factory=session_factory, clock=clock, writer=writer)
    for raw in ordered:
        metrics.count_event(raw.get("type"), "unstored")
    raise InboxUnavailable("the inbox kept conflicting with a concurrent delivery")


def _store_one_by_one(
    ordered: list[dict], *, session_factory: SessionFactory, clock: Clock, writer: InboxWriter | None
) -> list[StoredEvent]:
    """Store each event on its own; one the database refuses is kept as a failed row (its id, type and
    shape: bot/dead_letter.py) so that its redeliveries are duplicates, not 503s for ever."""
    stored: list[StoredEvent] = []
    for raw in ordered:
        try:
            stored += store_in_inbox([raw], session_factory=session_factory, clock=clock, writer=writer)
        except IntegrityError:
            continue  # a concurrent delivery stored it: that one handles it
        except DATABASE_TROUBLE as exc:
            metrics.count_event(raw.get("type"), "unstored")
            raise InboxUnavailable(str(exc)) from exc
        except Exception as exc:
            log.exception("webhook event could not be stored", extra={"event_type": _event_type(raw)})
            values = _inbox_values(raw, event_id_of(raw), clock)
            store_as_failed(session_factory, raw, values, exc, now=clock.now())
    return stored


def store_in_inbox(
    ordered: list[dict], *, session_factory: SessionFactory, clock: Clock, writer: InboxWriter | None = None
) -> list[StoredEvent]:
    """Write (or find) an inbox row per event and commit; events handled before are left out.

    New events (nearly all of them) are written with one INSERT … ON CONFLICT DO NOTHING RETURNING —
    on the WRITER's autocommit engine when there is one (the web's), so that statement is all the
    webhook waits for. Events already in the inbox (LINE's redeliveries, concurrent copies) are read
    back in a transaction: handled ones are duplicates, unhandled ones are handled again. The raw event
    is kept until it is handled (a crash before that leaves it to the event worker's sweep), then only
    for registered members: strangers' words are not kept.
    """
    ids = [event_id_of(raw) for raw in ordered]
    new_rows = list(
        {
            event_id: _inbox_values(raw, event_id, clock) for raw, event_id in zip(ordered, ids, strict=True)
        }.values()
    )
    inserted = writer.insert_new(new_rows) if writer is not None else None
    if inserted is not None and inserted.keys() >= set(ids):
        return _stored_events(ordered, ids, inserted, {}, None, clock)
    with transaction(session_factory) as session:
        if inserted is None:
            inserted = insert_new_events(session.connection(), new_rows) or {}
        earlier = set(ids) - set(inserted)
        rows = {
            row.webhook_event_id: row
            for row in (
                session.exec(select(InboxEvent).where(col(InboxEvent.webhook_event_id).in_(earlier)))
                if earlier
                else ()
            )
        }
        return _stored_events(ordered, ids, inserted, rows, session, clock)


def _stored_events(
    ordered: list[dict], ids: list[str], inserted: dict[str, int], rows: dict[str, InboxEvent], session, clock
) -> list[StoredEvent]:
    """The events to handle: new ones (INSERTED), unhandled earlier ROWS; duplicates logged and counted."""
    stored: list[StoredEvent] = []
    seen: set[str] = set()
    for raw, event_id in zip(ordered, ids, strict=True):
        event_type = _event_type(raw)
        row = rows.get(event_id)
        if event_id in seen or (row is not None and row.handled_at is not None):
            log.info(
                "webhook event already handled",
                extra={"webhook_event_id": event_id, "event_type": event_type, "outcome": "duplicate"},
            )
            metrics.count_event(event_type, "duplicate")
            continue
        seen.add(event_id)
        if event_id in inserted:
            stored.append(StoredEvent(inserted[event_id], raw, event_id, event_type))
            continue
        if row is None:  # a database without ON CONFLICT … RETURNING: the ORM writes it
            row = InboxEvent(**_inbox_values(raw, event_id, clock))
        else:  # stored by a delivery not handled yet (crashed, or still at it): handle it (again)
            log.info(
                "webhook event stored earlier but not handled yet; handling it now",
                extra={"webhook_event_id": event_id, "event_type": event_type},
            )
            row.is_redelivery = row.is_redelivery or _is_redelivery(raw)
            row.body = raw
            row.outcome = None
        session.add(row)
        session.flush()
        stored.append(StoredEvent(row.id, raw, row.webhook_event_id, row.event_type))
    return stored


def _inbox_values(raw: dict, event_id: str, clock: Clock) -> dict[str, Any]:
    """An inbox row's columns for a newly received event (its JSON kept until it is handled)."""
    source_type = _source(raw).get("type")
    return {
        "webhook_event_id": event_id,
        "event_type": _event_type(raw),
        "event_timestamp": event_time(raw, clock),
        "is_redelivery": _is_redelivery(raw),
        "source_type": str(source_type)[:16] if source_type else None,
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


def _event_type(raw: dict) -> str:
    return str(raw.get("type") or "unknown")[:64]


def _timestamp_order(raw: dict) -> tuple[bool, int]:
    """Sort key: LINE's millisecond timestamp; events without one go last (sorted() keeps their order)."""
    ts = _timestamp_ms(raw)
    return (ts is None, ts or 0)


def _timestamp_ms(raw: dict) -> int | None:
    ts = raw.get("timestamp")
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
        return None  # json.loads takes Infinity and NaN, which int() refuses
    return int(ts)


def event_id_of(raw: dict) -> str:
    """LINE's webhookEventId; for legacy bodies (or an oversized id) a stable id from the event's JSON."""
    given = raw.get("webhookEventId")
    if isinstance(given, str) and given and len(given) <= MAX_EVENT_ID:
        return given
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:48]


def event_time(raw: dict, clock: Clock) -> datetime:
    """When LINE says the event happened (the clock's timezone); now when the body gives no usable time."""
    ts = _timestamp_ms(raw)
    if ts is not None:
        try:
            return datetime.fromtimestamp(ts / 1000, tz=clock.tz)
        except (OverflowError, OSError, ValueError):
            pass
    return clock.now()


def _source(raw: dict) -> dict:
    source = raw.get("source")
    return source if isinstance(source, dict) else {}


def _is_redelivery(raw: dict) -> bool:
    context = raw.get("deliveryContext")
    return isinstance(context, dict) and context.get("isRedelivery") is True


def handle_stored(
    stored: StoredEvent, *, session_factory: SessionFactory, sender: Sender, clock: Clock
) -> EventResult | None:
    """Handle one stored event, count it and never raise; None when database trouble left it unhandled."""
    try:
        result = handle_event(stored, session_factory=session_factory, sender=sender, clock=clock)
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
    stored: StoredEvent, *, session_factory: SessionFactory, sender: Sender, clock: Clock
) -> EventResult:
    """Respond to a stored event and deliver the answer (unless another delivery of it was handled first)."""
    raw, event_id, event_type = stored.raw, stored.webhook_event_id, stored.event_type
    fields = {"webhook_event_id": event_id, "event_type": event_type}
    incoming: Incoming | None = None
    try:
        incoming = to_incoming(raw, event_id, clock)
        lookup = getattr(sender, "display_name", None)
        if lookup is not None and incoming.user_id and incoming.kind == "text":
            user_id, group_id = incoming.user_id, incoming.group_id
            incoming = replace(incoming, name_lookup=lambda: lookup(user_id, group_id))
        handled = respond_and_mark(incoming, stored.row_id, session_factory=session_factory, clock=clock)
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
        messages: list[Message] = []
        if set_aside and incoming is not None:
            messages = _error_notice(incoming, _locale_of(session_factory, incoming.user_id))
        delivered = _deliver_safely(
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
        _mark(session_factory, stored.row_id, outcome=outcome)
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


@dataclass(frozen=True)
class Answer:
    """What the handling says: its messages, and the outbox rows committed with its writes that carry them."""

    messages: list[Message]
    rows: list[OutboxMessage]  # leased to this handling; empty when there is no chat to push to


def respond_and_mark(
    incoming: Incoming, row_id: int, *, session_factory: SessionFactory, clock: Clock
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
            response = respond(session, incoming, clock=clock)
            messages = [
                m for intent in response.intents for m in build(intent, response.locale, plain=response.plain)
            ]
            rows = _answer_rows(incoming, messages, row_id, clock)
            member = response.member
            values: dict[str, Any] = {"handled_at": clock.now(), "outcome": response.outcome}
            if member is None or not member.active:
                values["body"] = None
            claimed = session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row_id, InboxEvent.handled_at.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                raise _HandledElsewhere
            session.add_all(rows)
    except _HandledElsewhere:
        return None
    return response, Answer(messages, rows)


def _answer_rows(
    incoming: Incoming, messages: list[Message], row_id: int, clock: Clock
) -> list[OutboxMessage]:
    """The answer as outbox rows (≤ 5 messages each) leased to this handling; none without a chat to push to."""
    chat_id = incoming.group_id or incoming.user_id
    if not messages or not isinstance(chat_id, str) or not chat_id.strip():
        return []
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


class _HandledElsewhere(Exception):
    """Another delivery of the same event committed first: this one's writes are rolled back."""


def _mark(session_factory: SessionFactory, row_id: int, *, outcome: str) -> None:
    """Record an outcome on an inbox row (best effort: the log already has the story)."""
    try:
        with transaction(session_factory) as session:
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row_id)
                .values(outcome=outcome)
                .execution_options(synchronize_session=False)
            )
    except Exception:
        log.exception("inbox row could not be marked", extra={"outcome": outcome})


def _locale_of(session_factory: SessionFactory, user_id: str | None) -> str:
    """The member's language for a notice; Japanese when they are not a member or cannot be looked up."""
    if not user_id:
        return "ja"
    try:
        with session_factory() as session:
            member = get_member(session, user_id)
            return member.locale if member is not None else "ja"
    except Exception as exc:
        log.warning("member's language could not be looked up", extra={"error": type(exc).__name__})
        return "ja"


def _error_notice(incoming: Incoming, locale: str) -> list[Message]:
    """Tell a person in a 1:1 chat that nothing was recorded; stay quiet in groups (never spam them)."""
    if incoming.group_id is not None or incoming.kind not in ("text", "postback"):
        return []
    try:
        return build(Notice("error"), locale)
    except Exception:
        log.exception("error notice could not be built")
        return []


# --- LINE's wire format → Incoming --------------------------------------------------------------


def parse_event(raw: dict) -> Event | None:
    """Parse one event with line-bot-sdk; legacy bodies get the fields later versions made required."""
    event = dict(raw)
    event.setdefault("webhookEventId", event_id_of(raw))
    event.setdefault("deliveryContext", {"isRedelivery": False})
    message = event.get("message")
    if isinstance(message, dict) and message.get("type") in ("text", "image", "video", "sticker"):
        event["message"] = {"quoteToken": "", **message}
    try:
        return Event.from_dict(event)
    except Exception as exc:  # unknown type, or a shape the SDK refuses: acknowledged and ignored
        log.info(
            "webhook event not understood",
            extra={"reason": "unknown_event", "event_type": _word(raw.get("type")), **parse_problem(exc)},
        )
        return None


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}")


def _word(value: object) -> str:
    """VALUE when it is a plain identifier (a field name, an event type, an error kind), else '?'."""
    return value if isinstance(value, str) and _WORD.fullmatch(value) else "?"


def parse_problem(exc: Exception) -> dict[str, Any]:
    """Why the SDK refused an event, for the log: the error class, and for a validation error the model,
    the fields' locations and the kinds of error — never the values (pydantic's text quotes the input)."""
    problem: dict[str, Any] = {"error": type(exc).__name__}
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return problem
    try:
        found = list(errors())
    except Exception:
        found = []
    model = getattr(getattr(exc, "model", None), "__name__", None) or getattr(exc, "title", None)
    problem["model"] = _word(model)
    problem["problems"] = [
        ".".join(str(part) if isinstance(part, int) else _word(part) for part in error.get("loc") or ())
        + f": {_word(error.get('type'))}"
        for error in found[:10]
        if isinstance(error, dict)
    ]
    return problem


def to_incoming(raw: dict, event_id: str, clock: Clock) -> Incoming:
    """Strip LINE's wire format: who, where, when, and what was said or tapped."""
    source = _source(raw)
    user_id = source.get("userId") if isinstance(source.get("userId"), str) else None
    group_id = None
    if source.get("type") in ("group", "room"):
        chat = source.get("groupId") or source.get("roomId")
        group_id = chat if isinstance(chat, str) else None  # LINE's ids are strings; a number is no chat
    at = event_time(raw, clock)
    event = parse_event(raw)
    if event is not None and event.source is not None:
        user_id = getattr(event.source, "user_id", None) or user_id
        if isinstance(event.source, GroupSource):
            group_id = event.source.group_id
        elif isinstance(event.source, RoomSource):
            group_id = event.source.room_id
    base = {"user_id": user_id, "at": at, "group_id": group_id, "message_id": event_id}
    if event is None or getattr(event, "mode", None) == "standby":
        return Incoming(kind="ignored", **base)  # standby: another channel answers this chat
    if isinstance(event, MessageEvent) and event.message is not None:
        base["message_id"] = event.message.id or event_id
        if isinstance(event.message, TextMessageContent):
            return Incoming(
                kind="text", text=event.message.text, mentioned_bot=_mentions_bot(event.message), **base
            )
        return Incoming(kind="other_message", **base)
    kind = SIMPLE_KINDS.get(type(event), "ignored")
    if kind == "postback":
        return Incoming(kind=kind, postback_data=event.postback.data if event.postback else None, **base)
    return Incoming(kind=kind, **base)


def _mentions_bot(message: TextMessageContent) -> bool:
    """True when one of the text's mentionees is the bot itself (isSelf)."""
    mentionees = message.mention.mentionees if message.mention else None
    return any(getattr(m, "is_self", False) is True for m in mentionees or ())


# --- delivery -----------------------------------------------------------------------------------


def reply_token_usable(raw: dict, at: datetime, clock: Clock) -> bool:
    """A reply token works once and for about a minute; a redelivered event's token is already stale."""
    token = raw.get("replyToken")
    if not isinstance(token, str) or not token:
        return False
    return not _is_redelivery(raw) and clock.now() - at <= REPLY_TOKEN_TTL


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
        return _deliver_safely(
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
    raw: dict, incoming: Incoming, messages: Sequence[Message], event_id: str, *, sender: Sender, clock: Clock
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


def _deliver_safely(
    raw, incoming, messages, event_id, *, sender, clock, fields: dict[str, Any]
) -> str | None:
    """Deliver, logging (not raising) a failure so the body's other events still get their turn."""
    try:
        return deliver(raw, incoming, messages, event_id, sender=sender, clock=clock)
    except Exception:
        log.exception("webhook answer could not be delivered", extra={**fields, "stage": "deliver"})
        return None
