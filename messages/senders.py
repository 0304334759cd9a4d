"""The Sender protocol: one narrow door for everything the bot says, with a console and a test sender.

A Sender answers an event (`answer`: reply while its token is fresh, else send), sends to one chat with a
key that makes a repeat arrive once (`send`), says who someone is (`profile`) and what is left of the
month's quota (`quota_left`), and offers multicast only if the platform has it (`multicaster`). Every
call returns a SendResult. LINE's own three requests (reply, push, multicast) stay on the LINE-shaped
senders below; code outside messages/ speaks only the protocol.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol, TextIO

from messages.line_limits import MAX_MESSAGES, MAX_MULTICAST_RECIPIENTS, MAX_TEXT_UTF16, utf16_length
from messages.line_render import is_message, line_json
from messages.model import Carousel, Message, Text
from messages.validator import check_request_body
from models.clock import Clock, SystemClock

Kind = Literal["reply", "push", "multicast"]
KINDS: tuple[Kind, ...] = ("reply", "push", "multicast")
Status = Literal["accepted", "accepted-before", "failed"]

TEXT_TYPES = ("text", "textV2")
_RETRY_KEY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# What a sender takes: the bot's messages (messages/model.py) or their LINE JSON (as the outbox stores it).
OutMessage = Message | dict


class DeliveryError(RuntimeError):
    """LINE refused or never answered a request: the HTTP status (None: no answer) and LINE's own message.

    LineSender returns a failed SendResult instead; a sender of another kind that raises this is read
    the same way by the webhook and the outbox delivery.
    """

    def __init__(self, kind: str, status: int | None, message: str, details: Sequence[str] = ()):
        self.kind, self.status, self.message, self.details = kind, status, message, tuple(details)
        where = f"LINE answered {status}" if status is not None else "LINE could not be reached"
        extra = f" ({'; '.join(self.details)})" if self.details else ""
        super().__init__(f"{kind} failed: {where}: {message}{extra}")


class MessageLimitError(ValueError):
    """A request LINE would refuse (400), caught before it leaves the bot."""


@dataclass(frozen=True)
class SentRequest:
    """One request as LINE would receive it, kept for transcripts and test assertions."""

    kind: Kind
    to: tuple[str, ...]
    reply_token: str | None
    messages: tuple[dict, ...]
    retry_key: str | None
    at: datetime

    def texts(self) -> list[str]:
        """What a reader sees first in each message: the text, or the alt text of a Flex message."""
        return [t for t in (message_text(m) for m in self.messages) if t is not None]


@dataclass(frozen=True)
class SendResult:
    """What became of one request: accepted, accepted before (LINE's 409 for a used retry key), or failed.

    A failed result carries LINE's HTTP status (None: no answer — refused, reset or timed out, so the
    request may or may not have arrived) and LINE's message with its details.
    """

    status: Status
    http_status: int | None = None
    message: str = ""
    details: tuple[str, ...] = ()
    # answer(): the reply's own result when it tried one (None: no fresh token); not part of equality.
    reply: SendResult | None = field(default=None, compare=False)

    @property
    def replied(self) -> bool:
        """True when answer() got it there with the reply token (False: it went as a send, or failed)."""
        return self.reply is not None and self.reply.ok

    @property
    def ok(self) -> bool:
        """True when LINE has the request (now or from an earlier try with the same retry key)."""
        return self.status != "failed"

    def __str__(self) -> str:
        if self.ok:
            return self.status
        where = (
            f"LINE answered {self.http_status}"
            if self.http_status is not None
            else "LINE could not be reached"
        )
        extra = f" ({'; '.join(self.details)})" if self.details else ""
        return f"{where}: {self.message}{extra}"


ACCEPTED = SendResult("accepted", 200)
ACCEPTED_BEFORE = SendResult("accepted-before", 409, "The retry key is already accepted")


def failed(http_status: int | None, message: str, details: Sequence[str] = ()) -> SendResult:
    """A failed result (HTTP_STATUS None: LINE never answered)."""
    return SendResult("failed", http_status, message, tuple(details))


# Keys of the sends a request to several people becomes on a platform without multicast.
PER_RECIPIENT_KEYS = uuid.UUID("0f3d7c52-6a1e-4b8f-9d27-5c41e8a0b6f3")


@dataclass(frozen=True)
class Origin:
    """Where an answer goes: the chat an event came from, and its reply token while that is still fresh.

    The transport's edge decides freshness (LINE: about a minute, never for a redelivered event); a
    platform without reply tokens leaves reply_token None and every answer is a send.
    """

    chat_id: str | None  # the group or room, else the person
    reply_token: str | None = None


@dataclass(frozen=True)
class Profile:
    """What the platform says about a person, asked at registration."""

    user_id: str
    display_name: str | None


class Multicaster(Protocol):
    """The optional capability of sending one request to many people (LINE: up to 500)."""

    max_recipients: int

    def multicast(
        self, to: Sequence[str], messages: Sequence[OutMessage], *, retry_key: str | None = None
    ) -> SendResult: ...


class Sender(Protocol):
    """Anything that can deliver the bot's messages: LINE itself, the console, or a test recorder.

    Every call says what became of the request; the platform refusing or not answering is a failed
    result, not an exception. A request the bot should never have built (MessageLimitError) still raises.
    KEY makes a repeated send arrive once (LINE's X-Line-Retry-Key) where the platform supports it.
    """

    def answer(self, origin: Origin, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Reply while ORIGIN's token is fresh; else, or when the reply fails, send to its chat with KEY."""
        ...

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Send to one person, group or room."""
        ...

    def profile(self, user_id: str, group_id: str | None = None) -> Profile | None:
        """Who USER_ID is (in GROUP_ID, where a group hides profiles otherwise); None when unknown."""
        ...

    def quota_left(self) -> int | None:
        """Messages the channel may still send this month; None: no quota, unlimited, or not known now."""
        ...

    @property
    def multicaster(self) -> Multicaster | None:
        """The sender's multicast, or None when its platform has none (then: one send per person)."""
        ...


def send_to_all(
    sender: Sender, to: Sequence[str], messages: Sequence[OutMessage], *, key: str | None
) -> SendResult:
    """Send MESSAGES to everyone in TO: one send, one multicast, or one send each where there is none.

    One send each gets a key of its own made from KEY and the person, so a repeat of the whole round
    reaches nobody twice; it stops at the first failure (a retry sends the rest, the keys dedupe the others).
    """
    recipients = list(to)
    if len(recipients) == 1:
        return sender.send(recipients[0], messages, key=key)
    multicaster = sender.multicaster
    if multicaster is not None and len(recipients) <= multicaster.max_recipients:
        return multicaster.multicast(recipients, messages, retry_key=key)
    fresh = False
    for recipient in recipients:
        own_key = str(uuid.uuid5(PER_RECIPIENT_KEYS, f"{key}/{recipient}")) if key else None
        result = sender.send(recipient, messages, key=own_key)
        if not result.ok:
            return result
        fresh = fresh or result.status == "accepted"
    return ACCEPTED if fresh else ACCEPTED_BEFORE


class ReplyThenSend:
    """answer() in terms of LINE-shaped reply and push: reply while the token is fresh, else push."""

    def reply(self, reply_token: str, messages: Sequence[OutMessage], *, to: str | None = None) -> SendResult:
        raise NotImplementedError

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        raise NotImplementedError

    def answer(self, origin: Origin, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Reply while ORIGIN's token is fresh; a failed reply (or none) goes as a send with KEY.

        A reply carries no retry key, and one that timed out may have arrived all the same: the send
        after it is then a duplicate, accepted rather than risk a lost confirmation. The result's
        `reply` is the reply's own result, so the caller can say why an answer went as a send.
        """
        if origin.reply_token:
            reply = self.reply(origin.reply_token, messages, to=origin.chat_id)
            if reply.ok or not origin.chat_id:
                return replace(reply, reply=reply)
            return replace(self.send(origin.chat_id, messages, key=key), reply=reply)
        if not origin.chat_id:
            raise MessageLimitError("an answer needs a fresh reply token or a chat to send to")
        return self.send(origin.chat_id, messages, key=key)


def _recipients(kind: str, to: str | Sequence[str] | None) -> tuple[str, ...]:
    if to is None:
        return ()
    if isinstance(to, str):
        if kind == "multicast":
            raise TypeError("multicast takes a list of user ids, not a single string")
        return (to,)
    return tuple(to)


def check_request(
    kind: str,
    to: str | Sequence[str] | None,
    messages: Sequence[OutMessage],
    *,
    reply_token: str | None = None,
    retry_key: str | None = None,
) -> None:
    """Raise MessageLimitError for a request LINE's request-level limits would reject.

    A reply token is checked when given (the senders always give it); Flex validation lives elsewhere.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}; expected one of: {', '.join(KINDS)}")
    if isinstance(messages, Text | Carousel | dict | str | bytes) or not isinstance(messages, Sequence):
        raise TypeError("messages must be a list of messages (the bot's model, or LINE JSON)")
    recipients = _recipients(kind, to)

    if kind == "reply":
        if reply_token is not None and not reply_token.strip():
            raise MessageLimitError("reply token is empty")
        if retry_key is not None:
            raise MessageLimitError("a reply cannot carry a retry key (LINE answers 400 to X-Line-Retry-Key)")
    elif kind == "push":
        if len(recipients) != 1:
            raise MessageLimitError(f"push needs exactly one recipient, got {len(recipients)}")
        if not recipients[0].strip():
            raise MessageLimitError("push recipient id is empty")
    else:
        if not 1 <= len(recipients) <= MAX_MULTICAST_RECIPIENTS:
            raise MessageLimitError(
                f"multicast needs 1 to {MAX_MULTICAST_RECIPIENTS} recipients, got {len(recipients)}"
            )
        if any(not r.strip() for r in recipients):
            raise MessageLimitError("multicast recipient list contains an empty id")
        duplicates = sorted(r for r, n in Counter(recipients).items() if n > 1)
        if duplicates:
            raise MessageLimitError(f"multicast recipients are duplicated: {', '.join(duplicates)}")
    if retry_key is not None and not _RETRY_KEY.fullmatch(retry_key):
        raise MessageLimitError(
            f"retry key {retry_key!r} is not a UUID like 123e4567-e89b-12d3-a456-426614174000"
        )

    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise MessageLimitError(f"a {kind} takes 1 to {MAX_MESSAGES} messages, got {len(messages)}")
    for number, message in enumerate(messages, start=1):
        if not is_message(message):
            raise TypeError(f"message {number} is a {type(message).__name__}, not a message of the bot's")
        data = line_json(message)
        if data.get("type") in TEXT_TYPES:
            text = data.get("text") or ""
            if not text:
                raise MessageLimitError(f"message {number}: text is empty")
            units = utf16_length(text)
            if units > MAX_TEXT_UTF16:
                raise MessageLimitError(
                    f"message {number}: text is {units} UTF-16 units long; LINE allows at most {MAX_TEXT_UTF16}"
                )


def build_request(
    kind: Kind,
    messages: Sequence[OutMessage],
    *,
    clock: Clock,
    to: str | Sequence[str] | None = None,
    reply_token: str | None = None,
    retry_key: str | None = None,
) -> SentRequest:
    """Check a request and freeze it as LINE's JSON, so every sender records the same thing."""
    if kind == "reply" and not reply_token:
        raise MessageLimitError("reply token is empty")
    check_request(kind, to, messages, reply_token=reply_token, retry_key=retry_key)
    return SentRequest(
        kind=kind,
        to=_recipients(kind, to),
        reply_token=reply_token,
        messages=tuple(line_json(m) for m in messages),
        retry_key=retry_key,
        at=clock.now(),
    )


def message_text(message: dict) -> str | None:
    """The words a message shows (text, or a Flex alt text), None for stickers, images and the like."""
    if message.get("type") in TEXT_TYPES:
        return message.get("text")
    if message.get("type") == "flex":
        return message.get("altText")
    return None


def render_text(message: dict) -> str:
    """Show one message (LINE JSON) as plain lines, for the console, the simulator and the CLI."""
    kind = message.get("type", "?")
    if kind in TEXT_TYPES:
        lines = [message.get("text", "")]
    elif kind == "flex":
        lines = [f"[Flex] {message.get('altText', '')}"]
    elif message.get("altText"):
        lines = [f"[{kind}] {message['altText']}"]
    else:
        lines = [f"[{kind}]"]
    items = (message.get("quickReply") or {}).get("items") or []
    if items:
        labels = []
        for item in items:
            action = item.get("action") or {}
            labels.append(f"[{action.get('label') or action.get('type') or '?'}]")
        lines.append("  (選択肢) " + " ".join(labels))
    return "\n".join(lines)


def render_request(request: SentRequest) -> str:
    """Show a whole request: who it goes to, then each message."""
    if request.kind == "reply":
        header = f"→ reply to {request.to[0]}" if request.to else "→ reply"
    elif request.kind == "push":
        header = f"→ push to {request.to[0]}"
    else:
        count = len(request.to)
        header = f"→ multicast to {count} recipient{'' if count == 1 else 's'}"
    return "\n".join([header, *(render_text(m) for m in request.messages)])


def _write(stream: TextIO, text: str) -> None:
    """Write even to a stream that cannot encode Japanese (escaped rather than crashing the bot)."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


class _CheckingSender(ReplyThenSend):
    """Shared plumbing: check each request, freeze it, hand it to _send (by default: _deliver, accepted).

    PROFILES (user id → display name) stands in for a platform's profile API; MAX_RECIPIENTS 1 or
    REPLIES False make a sender without multicast or reply tokens, as LINE WORKS is.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        profiles: Mapping[str, str] | None = None,
        max_recipients: int = MAX_MULTICAST_RECIPIENTS,
        replies: bool = True,
    ):
        self.clock: Clock = clock or SystemClock()
        self.profiles: Mapping[str, str] = profiles if profiles is not None else {}
        self.max_recipients = max_recipients
        self.replies = replies

    def answer(self, origin: Origin, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Reply while ORIGIN's token is fresh (if this sender has reply tokens), else send with KEY."""
        return super().answer(
            origin if self.replies else replace(origin, reply_token=None), messages, key=key
        )

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Send to one chat (a push)."""
        return self.push(to, messages, retry_key=key)

    def profile(self, user_id: str, group_id: str | None = None) -> Profile | None:
        """The name the profiles source gives USER_ID, None for a person it does not know."""
        name = self.profiles.get(user_id)
        return Profile(user_id, name) if name else None

    def quota_left(self) -> int | None:
        """No quota: nothing is sent to a platform that counts."""
        return None

    @property
    def multicaster(self) -> Multicaster | None:
        """This sender, unless it was made without multicast."""
        return self if self.max_recipients > 1 else None

    def reply(self, reply_token: str, messages: Sequence[OutMessage], *, to: str | None = None) -> SendResult:
        """LINE's reply request."""
        return self._send(build_request("reply", messages, clock=self.clock, to=to, reply_token=reply_token))

    def push(self, to: str, messages: Sequence[OutMessage], *, retry_key: str | None = None) -> SendResult:
        """LINE's push request."""
        return self._send(build_request("push", messages, clock=self.clock, to=to, retry_key=retry_key))

    def multicast(
        self, to: Sequence[str], messages: Sequence[OutMessage], *, retry_key: str | None = None
    ) -> SendResult:
        """LINE's multicast request."""
        return self._send(build_request("multicast", messages, clock=self.clock, to=to, retry_key=retry_key))

    def _send(self, request: SentRequest) -> SendResult:
        self._deliver(request)
        return ACCEPTED

    def _deliver(self, request: SentRequest) -> None:
        raise NotImplementedError


class ConsoleSender(_CheckingSender):
    """Prints what the bot would send, so it can run without a LINE channel."""

    def __init__(
        self,
        stream: TextIO | None = None,
        clock: Clock | None = None,
        record: Callable[[SentRequest], None] | None = None,
        *,
        profiles: Mapping[str, str] | None = None,
    ):
        super().__init__(clock, profiles=profiles)
        self.stream = stream
        self.record = record

    def _deliver(self, request: SentRequest) -> None:
        # sys.stdout is looked up at print time so redirection (and pytest's capture) is honoured.
        _write(self.stream or sys.stdout, render_request(request) + "\n")
        if self.record is not None:
            self.record(request)


def line_request_body(request: SentRequest) -> dict:
    """The JSON body LINE's API receives for REQUEST (the retry key travels as a header, not here)."""
    messages = [dict(m) for m in request.messages]
    if request.kind == "reply":
        return {"replyToken": request.reply_token, "messages": messages}
    if request.kind == "push":
        return {"to": request.to[0], "messages": messages}
    return {"to": list(request.to), "messages": messages}


class RecordingSender(_CheckingSender):
    """The test fake: keeps every (checked) request so tests can assert on what users would see.

    Every request is also validated against LINE's OpenAPI spec with its discriminators resolved and
    LINE's documented limits (messages.validator); an invalid one raises LineValidationError and is not kept.
    Like LINE, a retry key it has accepted is accepted-before (409) the next time and reaches nobody again;
    fail_next() makes a coming request fail, as LINE answering 5xx or not answering would.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        profiles: Mapping[str, str] | None = None,
        max_recipients: int = MAX_MULTICAST_RECIPIENTS,
        replies: bool = True,
    ):
        super().__init__(clock, profiles=profiles, max_recipients=max_recipients, replies=replies)
        self.sent: list[SentRequest] = []
        self.refused: list[
            SentRequest
        ] = []  # requests a failure was queued for (kept in sent too if arrived)
        self._failures: dict[str, list[tuple[SendResult, bool]]] = {}
        self._retry_keys: set[str] = set()

    def fail_next(
        self,
        kind: Kind,
        status: int | None = 500,
        message: str = "Internal server error",
        *,
        arrived: bool = False,
    ) -> None:
        """Make the next KIND request fail with STATUS (None: a timeout); ARRIVED: it reached the user anyway."""
        self._failures.setdefault(kind, []).append((failed(status, message), arrived))

    def _send(self, request: SentRequest) -> SendResult:
        queued = self._failures.get(request.kind)
        if queued:
            result, arrived = queued.pop(0)
            if arrived:
                self._accept(request)
            else:
                check_request_body(request.kind, line_request_body(request))
            self.refused.append(request)
            return result
        if request.retry_key is not None and request.retry_key in self._retry_keys:
            return ACCEPTED_BEFORE
        self._accept(request)
        return ACCEPTED

    def _accept(self, request: SentRequest) -> None:
        self._deliver(request)
        if request.retry_key is not None:
            self._retry_keys.add(request.retry_key)

    def _deliver(self, request: SentRequest) -> None:
        check_request_body(request.kind, line_request_body(request))
        self.sent.append(request)

    @property
    def last(self) -> SentRequest | None:
        """The most recent request, or None when nothing was sent."""
        return self.sent[-1] if self.sent else None

    def texts(self) -> list[str]:
        """Every text (and Flex alt text) sent so far, in order."""
        return [text for request in self.sent for text in request.texts()]

    def to(self, user_id: str) -> list[SentRequest]:
        """The requests addressed to USER_ID, including replies whose recipient was named."""
        return [request for request in self.sent if user_id in request.to]

    def clear(self) -> None:
        """Forget what was sent (between the steps of a test); like LINE, used retry keys stay used."""
        self.sent.clear()
        self.refused.clear()
