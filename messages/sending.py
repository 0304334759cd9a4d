"""The Sender protocol and its result contract: what every outbound call offers and says back.

A Sender answers an event (`answer`: reply while its token is fresh, else send), sends to one chat with a
key that makes a repeat arrive once (`send`), says who someone is (`profile`) and what is left of the
month's quota (`quota_left`), and offers multicast only if its platform has it (`multicaster`). Every
call returns a SendResult. Code outside messages/ speaks only this protocol (docs/architecture.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from messages.model import Message

Status = Literal["accepted", "accepted-before", "failed"]

# What a sender takes: the bot's messages (messages/model.py) or their LINE JSON (as the outbox stores it).
OutMessage = Message | dict


def answered(platform: str, status: int | None) -> str:
    """'LINE answered 500' / 'LINE WORKS could not be reached': whose answer an operator is reading."""
    return f"{platform} answered {status}" if status is not None else f"{platform} could not be reached"


class DeliveryError(RuntimeError):
    """LINE (or PLATFORM) refused or never answered a request: the HTTP status (None: no answer) and the
    platform's own message.

    LineSender returns a failed SendResult instead; a sender of another kind that raises this is read
    the same way by the webhook and the outbox delivery.
    """

    def __init__(
        self,
        kind: str,
        status: int | None,
        message: str,
        details: Sequence[str] = (),
        *,
        platform: str = "LINE",
    ):
        self.kind, self.status, self.message, self.details = kind, status, message, tuple(details)
        self.platform = platform
        extra = f" ({'; '.join(self.details)})" if self.details else ""
        super().__init__(f"{kind} failed: {answered(platform, status)}: {message}{extra}")


class MessageLimitError(ValueError):
    """A request LINE would refuse (400), caught before it leaves the bot."""


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
    # Who answered, for the texts operators read ("LINE WORKS answered 429"); not part of equality.
    platform: str = field(default="LINE", compare=False)

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
        extra = f" ({'; '.join(self.details)})" if self.details else ""
        return f"{answered(self.platform, self.http_status)}: {self.message}{extra}"


ACCEPTED = SendResult("accepted", 200)
ACCEPTED_BEFORE = SendResult("accepted-before", 409, "The retry key is already accepted")


def failed(
    http_status: int | None, message: str, details: Sequence[str] = (), *, platform: str = "LINE"
) -> SendResult:
    """A failed result (HTTP_STATUS None: PLATFORM never answered)."""
    return SendResult("failed", http_status, message, tuple(details), platform=platform)


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


class TransportSenders:
    """A sender per chat platform (DXBOT_TRANSPORT): itself a Sender that speaks for the first one, and
    `for_transport()` hands out the one a member, event or outbox row belongs to."""

    def __init__(self, senders: Mapping[str, Sender]):
        if not senders:
            raise ValueError("TransportSenders needs at least one sender")
        self.senders = dict(senders)
        self.default = next(iter(self.senders.values()))

    def for_transport(self, transport: str) -> Sender:
        """The sender of TRANSPORT; MessageLimitError when the bot does not speak it (refused, not retried)."""
        try:
            return self.senders[transport]
        except KeyError:
            raise MessageLimitError(f"no sender for transport {transport!r} (DXBOT_TRANSPORT)") from None

    def answer(self, origin: Origin, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        return self.default.answer(origin, messages, key=key)

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        return self.default.send(to, messages, key=key)

    def profile(self, user_id: str, group_id: str | None = None) -> Profile | None:
        return self.default.profile(user_id, group_id)

    def quota_left(self) -> int | None:
        return self.default.quota_left()

    @property
    def multicaster(self) -> Multicaster | None:
        return self.default.multicaster


def sender_for(sender: Sender, transport: str) -> Sender:
    """The sender that speaks TRANSPORT: picked from a TransportSenders; any other sender speaks for all
    (the console, a test's recorder)."""
    if isinstance(sender, TransportSenders):
        return sender.for_transport(transport)
    return sender


class SendAnswers:
    """answer() on a platform without reply tokens (LINE WORKS): every answer is a send to the event's chat."""

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        raise NotImplementedError

    def answer(self, origin: Origin, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Send to ORIGIN's chat (a reply token, if any, is of no use)."""
        if not origin.chat_id:
            raise MessageLimitError("an answer on LINE WORKS needs a chat to send to")
        return self.send(origin.chat_id, messages, key=key)
