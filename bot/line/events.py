"""LINE's webhook JSON → the inbox row and the `Incoming` the conversation reads, parsed once: plain text
messages and postbacks directly, every other event by line-bot-sdk (imported only then).

Everything here reads LINE's wire format and nothing else does: the inbox stores rows, the handling
reads `Incoming`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.conversation.incoming import Incoming
from bot.inbox import MAX_EVENT_ID, new_row
from models.clock import Clock

if TYPE_CHECKING:
    from linebot.v3.webhooks import Event, TextMessageContent

# The LINE edge's lines have always been bot.webhook's (operators' log queries and alerts use the name).
log = logging.getLogger("bot.webhook")

# The SDK's event classes (by name) that become an Incoming of that kind as they are.
SIMPLE_KINDS: dict[str, str] = {
    "PostbackEvent": "postback",
    "FollowEvent": "follow",
    "UnfollowEvent": "unfollow",
    "JoinEvent": "join",
    "LeaveEvent": "leave",
}

# What a plain event may hold to be read without the SDK (see plain_incoming); anything else is parsed by it.
PLAIN_EVENT_KEYS = frozenset(
    {
        "type",
        "mode",
        "timestamp",
        "source",
        "webhookEventId",
        "deliveryContext",
        "replyToken",
        "message",
        "postback",
    }
)
PLAIN_SOURCE_KEYS = {
    "user": frozenset({"type", "userId"}),
    "group": frozenset({"type", "groupId", "userId"}),
    "room": frozenset({"type", "roomId", "userId"}),
}
PLAIN_TEXT_KEYS = frozenset({"type", "id", "text", "quoteToken", "markAsReadToken", "quotedMessageId"})
CHAT_KEYS = {"group": "groupId", "room": "roomId"}


def events_of(payload: dict) -> list[dict]:
    """The body's event objects in timestamp order (what is not an object is skipped, and logged)."""
    events = payload.get("events")
    if not isinstance(events, list):
        log.warning("webhook body has no events list", extra={"reason": "malformed_body"})
        return []
    objects = [e for e in events if isinstance(e, dict)]
    if len(objects) < len(events):
        log.warning("webhook events that are not objects were skipped", extra={"reason": "malformed_event"})
    return sorted(objects, key=_timestamp_order)


def inbox_values(raw: dict, clock: Clock) -> dict[str, Any]:
    """An inbox row's columns for a newly received event (its JSON kept until it is handled)."""
    source_type = _source(raw).get("type")
    return new_row(
        raw,
        clock,
        event_id=event_id_of(raw),
        transport="line",
        event_type=_event_type(raw),
        event_timestamp=event_time(raw, clock),
        is_redelivery=is_redelivery(raw),
        source_type=str(source_type)[:16] if source_type else None,
    )


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


def is_redelivery(raw: dict) -> bool:
    context = raw.get("deliveryContext")
    return isinstance(context, dict) and context.get("isRedelivery") is True


def parse_event(raw: dict) -> Event | None:
    """Parse one event with line-bot-sdk; legacy bodies get the fields later versions made required."""
    from linebot.v3.webhooks import Event  # imported here: it costs ~0.5 s of CPU, most of `dxbot say`

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
    plain = plain_incoming(raw, event_id, clock)
    return plain if plain is not None else parsed_incoming(raw, event_id, clock)


def plain_incoming(raw: dict, event_id: str, clock: Clock) -> Incoming | None:
    """A person's plain text message or postback read directly, without importing line-bot-sdk; None otherwise.

    Only shapes the SDK accepts as they are take this path (every field of the type the SDK demands, no
    mention, emoji or postback params, no key it does not know); the rest, including anything it would refuse
    and log, goes to parsed_incoming. tests/bot/test_webhook.py checks both give the same Incoming."""
    kind = raw.get("type")
    if kind not in ("message", "postback") or not _plain_envelope(raw, kind):
        return None
    source, content = raw["source"], raw[kind]
    chat_key = CHAT_KEYS.get(source["type"])
    base = {
        "user_id": source["userId"],
        "at": event_time(raw, clock),
        "group_id": source[chat_key] if chat_key else None,
        "message_id": event_id,
    }
    if kind == "postback":
        if content.keys() != {"data"}:
            return None
        return Incoming(kind="postback", postback_data=content["data"], **base)
    if content.get("type") != "text" or not {"id", "text"} <= content.keys() <= PLAIN_TEXT_KEYS:
        return None
    base["message_id"] = content["id"] or event_id
    return Incoming(kind="text", text=content["text"], mentioned_bot=False, **base)


def _plain_envelope(raw: dict, kind: str) -> bool:
    """Whether the event around its content is one the SDK takes as it is: the types it demands, keys it knows."""
    context = raw.get("deliveryContext", {"isRedelivery": False})  # parse_event's default for legacy bodies
    content = raw.get(kind)
    timestamp = raw.get("timestamp")
    return (
        raw.keys() <= PLAIN_EVENT_KEYS
        and not (raw.keys() & {"message", "postback"}) - {kind}
        and raw.get("mode") == "active"
        and isinstance(timestamp, int)
        and not _is_bool(timestamp)
        and all(isinstance(raw.get(key, ""), str) for key in ("webhookEventId", "replyToken"))
        and isinstance(context, dict)
        and context.keys() == {"isRedelivery"}
        and _is_bool(context["isRedelivery"])
        and isinstance(content, dict)
        and _all_str(content)
        and _plain_source(raw.get("source"))
    )


def _plain_source(source: object) -> bool:
    """A person (userId), alone or in a group or room whose id is given; every value a string."""
    if not isinstance(source, dict) or not _all_str(source):
        return False
    allowed = PLAIN_SOURCE_KEYS.get(source.get("type"))
    chat_key = CHAT_KEYS.get(source.get("type"))
    return (
        allowed is not None
        and "userId" in source
        and source.keys() <= allowed
        and (chat_key is None or chat_key in source)
    )


def _is_bool(value: object) -> bool:
    return value is True or value is False


def _all_str(values: dict) -> bool:
    return all(isinstance(value, str) for value in values.values())


def parsed_incoming(raw: dict, event_id: str, clock: Clock) -> Incoming:
    """Any event, parsed by line-bot-sdk (what it refuses or does not know is logged and ignored)."""
    from linebot.v3.webhooks import GroupSource, MessageEvent, RoomSource, TextMessageContent

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
    base: dict[str, Any] = {"user_id": user_id, "at": at, "group_id": group_id, "message_id": event_id}
    if event is None or getattr(event, "mode", None) == "standby":
        return Incoming(kind="ignored", **base)  # standby: another channel answers this chat
    if isinstance(event, MessageEvent) and event.message is not None:
        base["message_id"] = event.message.id or event_id
        if isinstance(event.message, TextMessageContent):
            return Incoming(
                kind="text", text=event.message.text, mentioned_bot=_mentions_bot(event.message), **base
            )
        return Incoming(kind="other_message", **base)
    kind = SIMPLE_KINDS.get(type(event).__name__, "ignored")
    if kind == "postback":
        return Incoming(kind=kind, postback_data=event.postback.data if event.postback else None, **base)
    return Incoming(kind=kind, **base)


def _mentions_bot(message: TextMessageContent) -> bool:
    """True when one of the text's mentionees is the bot itself (isSelf)."""
    mentionees = message.mention.mentionees if message.mention else None
    return any(getattr(m, "is_self", False) is True for m in mentionees or ())
