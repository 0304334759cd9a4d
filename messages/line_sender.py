"""The real Sender: line-bot-sdk's MessagingApi behind the Sender protocol, and the factory that picks a sender."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    Message,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)

from messages.senders import ConsoleSender, MessageLimitError, Sender, check_request
from messages.transcript import transcript_recorder
from models.clock import Clock, SystemClock
from models.db import SessionFactory
from models.privacy import pseudonym

log = logging.getLogger(__name__)

RETRY_KEY_ACCEPTED = 409  # LINE: a request with this X-Line-Retry-Key was already accepted


class DeliveryError(RuntimeError):
    """LINE refused or never answered a request: the HTTP status (None: no answer) and LINE's own message."""

    def __init__(self, kind: str, status: int | None, message: str, details: Sequence[str] = ()):
        self.kind, self.status, self.message, self.details = kind, status, message, tuple(details)
        where = f"LINE answered {status}" if status is not None else "LINE could not be reached"
        extra = f" ({'; '.join(self.details)})" if self.details else ""
        super().__init__(f"{kind} failed: {where}: {message}{extra}")


# A LINE id in a log line: the tag bot.webhook's lines carry too, never a piece of the id.
_short = pseudonym


def line_error(exc: ApiException) -> tuple[str, list[str]]:
    """LINE's error body ({"message", "details": [{"message", "property"}]}) as plain words."""
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
    try:
        data = json.loads(body) if body else {}
    except json.JSONDecodeError:
        return (body or exc.reason or "no message")[:300], []
    if not isinstance(data, dict):
        return str(data)[:300], []
    details = [
        f"{d.get('property')}: {d.get('message')}" if d.get("property") else str(d.get("message"))
        for d in data.get("details") or []
        if isinstance(d, dict)
    ]
    return str(data.get("message") or exc.reason or "no message"), details


class _SerialisedInOnePass:
    """A request that turns itself into LINE's JSON in one pydantic pass.

    line-bot-sdk's generated to_dict() serialises a model and then every nested model again through its
    own to_dict(), so a Flex bubble's innermost texts are serialised once per level above them (0.6 ms
    for a KPI confirmation, 20 ms for a full digest). `dict(by_alias=True, exclude_none=True)` is what
    those to_dict()s add up to for message requests (the one exception in the SDK, an explicitly null
    memberLimit, is not in them); tests/messages/test_senders.py checks the two agree on every message
    the bot builds, and the contract tests send these classes to Prism.
    """

    def to_dict(self) -> dict:
        return self.dict(by_alias=True, exclude_none=True)


class WireReplyMessageRequest(_SerialisedInOnePass, ReplyMessageRequest):
    """ReplyMessageRequest, serialised in one pass."""


class WirePushMessageRequest(_SerialisedInOnePass, PushMessageRequest):
    """PushMessageRequest, serialised in one pass."""


class WireMulticastRequest(_SerialisedInOnePass, MulticastRequest):
    """MulticastRequest, serialised in one pass."""


class LineSender:
    """Deliver through LINE's Messaging API: replies without a retry key, pushes and multicasts with one."""

    def __init__(self, api: MessagingApi, clock: Clock | None = None):
        self.api = api
        self.clock: Clock = clock or SystemClock()

    def display_name(self, user_id: str, group_id: str | None = None) -> str | None:
        """The person's LINE display name (for registration); None when LINE will not say."""
        try:
            if group_id and group_id.startswith("C"):
                profile = self.api.get_group_member_profile(group_id, user_id)
            elif group_id:
                profile = self.api.get_room_member_profile(group_id, user_id)
            else:
                profile = self.api.get_profile(user_id)
        except ApiException as exc:
            log.info("profile lookup failed", extra={"user": _short(user_id), "status": exc.status})
            return None
        return getattr(profile, "display_name", None)

    def reply(self, reply_token: str, messages: Sequence[Message], *, to: str | None = None) -> None:
        """Answer an event with its reply token (never with X-Line-Retry-Key: LINE answers 400 to that)."""
        if not reply_token:
            raise MessageLimitError("reply token is empty")
        check_request("reply", to, messages, reply_token=reply_token)
        request = WireReplyMessageRequest(reply_token=reply_token, messages=list(messages))
        self._call(
            "reply", lambda: self.api.reply_message_with_http_info(request), [to] if to else [], messages
        )

    def push(self, to: str, messages: Sequence[Message], *, retry_key: str | None = None) -> None:
        """Send to one user, group or room; the retry key lets a repeated push arrive only once."""
        retry_key = retry_key or str(uuid.uuid4())
        check_request("push", to, messages, retry_key=retry_key)
        request = WirePushMessageRequest(to=to, messages=list(messages))
        self._call(
            "push",
            lambda: self.api.push_message_with_http_info(request, x_line_retry_key=retry_key),
            [to],
            messages,
            retry_key,
        )

    def multicast(
        self, to: Sequence[str], messages: Sequence[Message], *, retry_key: str | None = None
    ) -> None:
        """Send the same messages to up to 500 users in one request."""
        retry_key = retry_key or str(uuid.uuid4())
        check_request("multicast", to, messages, retry_key=retry_key)
        request = WireMulticastRequest(to=list(to), messages=list(messages))
        self._call(
            "multicast",
            lambda: self.api.multicast_with_http_info(request, x_line_retry_key=retry_key),
            list(to),
            messages,
            retry_key,
        )

    def _call(
        self,
        kind: str,
        send: Callable[[], object],
        to: list[str],
        messages: Sequence[Message],
        retry_key: str | None = None,
    ) -> None:
        """Make the request; log what left (never the token) and turn LINE's refusals into DeliveryError."""
        fields = {
            "kind": kind,
            "to": [_short(r) for r in to[:3]],
            "recipients": len(to),
            "message_types": [m.type for m in messages],
            "retry_key": retry_key,
        }
        try:
            response = send()
        except ApiException as exc:
            if exc.status == RETRY_KEY_ACCEPTED and retry_key is not None:
                log.info("LINE had already accepted this request (same retry key)", extra=fields)
                return
            message, details = line_error(exc)
            log.warning(
                "LINE refused a request",
                extra={**fields, "status": exc.status, "line_message": message, "details": details},
            )
            raise DeliveryError(kind, exc.status, message, details) from exc
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # no connection, timeouts, too many retries
            log.warning("LINE could not be reached", extra={**fields, "error": type(exc).__name__})
            raise DeliveryError(kind, None, str(exc) or type(exc).__name__) from exc
        headers = getattr(response, "headers", None) or {}
        log.info(
            "sent to LINE",
            extra={
                **fields,
                "status": getattr(response, "status_code", None),
                "line_request_id": headers.get("x-line-request-id"),
            },
        )


def make_sender(config, session_factory: SessionFactory, clock: Clock) -> Sender:
    """The sender the configuration asks for: the console (with a database transcript) or LINE itself."""
    if config.sender == "console":
        return ConsoleSender(clock=clock, record=transcript_recorder(session_factory))
    if config.sender == "line":
        configuration = Configuration(
            access_token=config.channel_access_token,
            host=(config.line_api_base_url or "").rstrip("/") or None,  # None: LINE's own hosts
        )
        return LineSender(MessagingApi(ApiClient(configuration)), clock)
    raise ValueError(f"unknown sender {config.sender!r}; expected console or line")
