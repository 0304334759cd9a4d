"""LINE WORKS' callback JSON → the inbox row and the `Incoming` the conversation reads.

A callback carries one event (https://developers.worksmobile.com/en/docs/bot-callback): `type`, `source`
{userId, channelId, domainId}, `issuedTime`, and `content` (message) or `data` (postback). What becomes what:
- `message` with `content.postback` (a message action or a flex button that carries one) → a postback, as
  a `postback` event (`data`) is: a tap on LINE WORKS reaches the same handler whichever way it arrives;
- `message` with text → text; any other content (image, sticker, file, location…) → other_message;
- `join` / `leave` (the bot entered / left a room) → join / leave; `joined` / `left` (members came and went),
  and anything else → ignored.
A room is the chat `channel:{channelId}` (messages/lineworks_sender.py); a 1:1 chat has no channelId.

No event carries an id: the deduplication key is derived (event_id_of, documented in
docs/lineworks-api.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from bot.conversation.incoming import Incoming
from bot.inbox import new_row
from messages.lineworks_sender import channel_chat
from models.clock import Clock

log = logging.getLogger("bot.lineworks")

TRANSPORT = "lineworks"
EVENT_ID_PREFIX = "lw-"
# The fields that make an event the event it is: a second delivery of the same callback has them all alike.
IDENTITY_FIELDS = ("type", "source", "issuedTime", "content", "data", "members")
SIMPLE_KINDS = {"join": "join", "leave": "leave"}


def events_of(payload: dict) -> list[dict]:
    """The callback's events: LINE WORKS sends one per request (an object with a `type`)."""
    if isinstance(payload.get("type"), str):
        return [payload]
    log.warning("LINE WORKS callback without an event type", extra={"reason": "malformed_body"})
    return []


def event_id_of(raw: dict) -> str:
    """The inbox's deduplication key of a LINE WORKS event (it has no id of its own): `lw-` and the first
    61 hex digits of the SHA-256 of the canonical JSON (sorted keys, compact, UTF-8) of its type, source,
    issuedTime, content, data and members — 64 characters, the inbox column's width. The same callback
    delivered twice gets the same key; two events differ at least in issuedTime (milliseconds) or content."""
    identity = {name: raw.get(name) for name in IDENTITY_FIELDS if name in raw}
    canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return EVENT_ID_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:61]


def inbox_values(raw: dict, clock: Clock) -> dict[str, Any]:
    """An inbox row's columns for a newly received LINE WORKS event (the same columns as LINE's)."""
    return new_row(
        raw,
        clock,
        event_id=event_id_of(raw),
        transport=TRANSPORT,
        event_type=str(raw.get("type") or "unknown")[:64],
        event_timestamp=event_time(raw, clock),
        is_redelivery=False,  # LINE WORKS never resends a callback
        source_type="channel" if _channel_id(raw) else "user",
    )


def event_time(raw: dict, clock: Clock) -> datetime:
    """issuedTime (with or without milliseconds, `Z` or an offset) in the clock's zone; now when unusable."""
    value = raw.get("issuedTime")
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(clock.tz)
    return clock.now()


def _source(raw: dict) -> dict:
    source = raw.get("source")
    return source if isinstance(source, dict) else {}


def _channel_id(raw: dict) -> str | None:
    channel = _source(raw).get("channelId")
    return channel if isinstance(channel, str) and channel else None


def to_incoming(raw: dict, event_id: str, clock: Clock) -> Incoming:
    """One LINE WORKS event as the conversation's Incoming (transport lineworks)."""
    user = _source(raw).get("userId")
    channel = _channel_id(raw)
    base: dict[str, Any] = {
        "user_id": user if isinstance(user, str) and user else None,
        "at": event_time(raw, clock),
        "group_id": channel_chat(channel) if channel else None,
        "message_id": event_id,
        "transport": TRANSPORT,
    }
    kind = raw.get("type")
    if kind == "message":
        content = raw.get("content") if isinstance(raw.get("content"), dict) else {}
        postback = content.get("postback")
        if isinstance(postback, str) and postback:
            return Incoming(kind="postback", postback_data=postback, **base)
        text = content.get("text")
        if content.get("type") == "text" and isinstance(text, str):
            return Incoming(kind="text", text=text, **base)
        return Incoming(kind="other_message", **base)
    if kind == "postback":
        data = raw.get("data")
        return Incoming(kind="postback", postback_data=data if isinstance(data, str) else None, **base)
    return Incoming(kind=SIMPLE_KINDS.get(str(kind), "ignored"), **base)  # type: ignore[arg-type]
