"""LINE-shaped senders: LINE's request checks, and the console and test senders behind the Sender protocol.

The protocol and its results live in messages/sending.py and are re-exported here. LINE's own three
requests (reply, push, multicast) stay on these senders and LineSender; code outside messages/ speaks
only the protocol.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, TextIO
from zoneinfo import ZoneInfo

from messages.line_limits import MAX_MESSAGES, MAX_MULTICAST_RECIPIENTS, MAX_TEXT_UTF16, utf16_length
from messages.line_render import is_message, line_json
from messages.lineworks_checks import body_problems
from messages.lineworks_sender import send_bodies
from messages.model import Carousel, Text
from messages.sending import (
    ACCEPTED,
    ACCEPTED_BEFORE,
    PER_RECIPIENT_KEYS,
    DeliveryError,
    MessageLimitError,
    Multicaster,
    Origin,
    OutMessage,
    Profile,
    ReplyThenSend,
    SendAnswers,
    Sender,
    SendResult,
    Status,
    failed,
    send_to_all,
)
from messages.validator import check_request_body
from models.clock import Clock, SystemClock

__all__ = [  # the protocol's names, so that callers import one module
    "ACCEPTED",
    "ACCEPTED_BEFORE",
    "PER_RECIPIENT_KEYS",
    "DeliveryError",
    "MessageLimitError",
    "Multicaster",
    "Origin",
    "OutMessage",
    "Profile",
    "ReplyThenSend",
    "Sender",
    "SendResult",
    "Status",
    "failed",
    "send_to_all",
    "ConsoleSender",
    "RecordingSender",
    "SentRequest",
    "build_request",
    "check_request",
    "line_request_body",
    "message_text",
    "render_request",
    "render_text",
]

Kind = Literal["reply", "push", "multicast"]
KINDS: tuple[Kind, ...] = ("reply", "push", "multicast")

TEXT_TYPES = ("text", "textV2")
_RETRY_KEY = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class SentRequest:
    """One request as LINE would receive it, kept for transcripts and test assertions."""

    kind: Kind
    to: tuple[str, ...]
    reply_token: str | None
    messages: tuple[dict, ...]
    retry_key: str | None
    at: datetime
    transport: str = "line"  # line: LINE's message JSON; lineworks: LINE WORKS send bodies

    def texts(self) -> list[str]:
        """What a reader sees first in each message: the text, or the alt text of a Flex message."""
        return [t for t in (message_text(m) for m in self.messages) if t is not None]


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
    if isinstance(message.get("content"), dict):  # a LINE WORKS body: its content is shaped like LINE's
        message = message["content"]
    if message.get("type") in TEXT_TYPES:
        return message.get("text")
    if message.get("type") == "flex":
        return message.get("altText")
    return None


def render_text(message: dict) -> str:
    """Show one message (LINE JSON, or a LINE WORKS body) as plain lines, for the console, the simulator and the CLI."""
    if isinstance(message.get("content"), dict):
        message = message["content"]
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
    if request.transport != "line":
        header += f" (on {TRANSPORT_NAMES.get(request.transport, request.transport)})"
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
        self.clock: Clock = clock or SystemClock(
            ZoneInfo("UTC")
        )  # stamps moments only: any zone tells the same time
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


TRANSPORT_NAMES = {"line": "LINE", "lineworks": "LINE WORKS"}


class LineWorksConsoleSender(SendAnswers):
    """Prints what the bot would send to LINE WORKS (its rendered bodies, checked against LINE WORKS' limits)
    and records it like ConsoleSender, marked transport lineworks. No reply tokens, no multicast, no names."""

    def __init__(
        self,
        stream: TextIO | None = None,
        clock: Clock | None = None,
        record: Callable[[SentRequest], None] | None = None,
    ):
        self.stream = stream
        self.clock: Clock = clock or SystemClock(ZoneInfo("UTC"))
        self.record = record

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        if not to:
            raise MessageLimitError("a send needs a user or channel id")
        bodies = send_bodies(messages)
        for number, body in enumerate(bodies, start=1):
            problems = body_problems(body)
            if problems:
                raise MessageLimitError(f"LINE WORKS body {number}: {'; '.join(problems)}")
        request = SentRequest(
            "push", (to,), None, tuple(bodies), key, self.clock.now(), transport="lineworks"
        )
        _write(self.stream or sys.stdout, render_request(request) + "\n")
        if self.record is not None:
            self.record(request)
        return ACCEPTED

    def profile(self, user_id: str, group_id: str | None = None) -> Profile | None:
        return Profile(user_id, None)

    def quota_left(self) -> int | None:
        return None

    @property
    def multicaster(self) -> Multicaster | None:
        return None


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
