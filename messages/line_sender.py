"""The real Sender: line-bot-sdk's MessagingApi behind the Sender protocol, and the factory that picks a sender."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol
from zoneinfo import ZoneInfo

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

from messages.line_limits import MAX_MULTICAST_RECIPIENTS
from messages.line_render import line_json
from messages.lineworks_client import make_lineworks_sender
from messages.lineworks_throttle import MAX_WAIT
from messages.senders import (
    ConsoleSender,
    DeliveryError,
    LineWorksConsoleSender,
    MessageLimitError,
    Multicaster,
    OutMessage,
    Profile,
    ReplyThenSend,
    Sender,
    SendResult,
    check_request,
    failed,
)
from messages.sending import TransportSenders
from messages.transcript import transcript_recorder
from models.clock import Clock, SystemClock
from models.db import SessionFactory
from models.line_network import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
from models.privacy import pseudonym

log = logging.getLogger(__name__)

__all__ = ["DeliveryError", "LineSender", "make_sender", "sdk_messages"]

RETRY_KEY_ACCEPTED = 409  # LINE: a request with this X-Line-Retry-Key was already accepted


# A LINE id in a log line: the tag bot.webhook's lines (bot/line/) carry too, never a piece of the id.
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


class _PydanticModel(Protocol):
    def dict(self, *, by_alias: bool, exclude_none: bool) -> dict: ...


class _SerialisedInOnePass:
    """A request that turns itself into LINE's JSON in one pydantic pass.

    line-bot-sdk's generated to_dict() serialises a model and then every nested model again through its
    own to_dict(), so a Flex bubble's innermost texts are serialised once per level above them (0.6 ms
    for a KPI confirmation, 20 ms for a full digest). `dict(by_alias=True, exclude_none=True)` is what
    those to_dict()s add up to for message requests (the one exception in the SDK, an explicitly null
    memberLimit, is not in them); tests/messages/test_senders.py checks the two agree on every message
    the bot builds, and the contract tests send these classes to Prism.
    """

    def to_dict(self: _PydanticModel) -> dict:
        return self.dict(by_alias=True, exclude_none=True)


class WireReplyMessageRequest(_SerialisedInOnePass, ReplyMessageRequest):
    """ReplyMessageRequest, serialised in one pass."""


class WirePushMessageRequest(_SerialisedInOnePass, PushMessageRequest):
    """PushMessageRequest, serialised in one pass."""


class WireMulticastRequest(_SerialisedInOnePass, MulticastRequest):
    """MulticastRequest, serialised in one pass."""


def sdk_messages(messages: Sequence[OutMessage]) -> list[Message]:
    """line-bot-sdk's objects for the bot's messages or their LINE JSON: made here, where the SDK sends them."""
    return [Message.from_dict(line_json(m)) for m in messages]


class TimedApiClient(ApiClient):
    """An ApiClient whose every call has a (connect, read) timeout unless the call gives its own.

    line-bot-sdk passes no timeout unless asked (urllib3 then waits for ever); this covers every API the
    client serves (messages, profiles, quota, rich menus, blobs), not only the calls LineSender makes.
    """

    def __init__(self, configuration: Configuration, timeout: tuple[float, float]):
        super().__init__(configuration)
        self.timeout = timeout

    def call_api(self, *args, _request_timeout=None, **kwargs):
        return super().call_api(*args, _request_timeout=_request_timeout or self.timeout, **kwargs)


def line_api_client(config) -> TimedApiClient:
    """A client for LINE's APIs as configured: token, host, proxy (credentials in a header), timeouts.

    The HTTP client itself never retries (retries=0), so a call takes at most the connect plus the read
    timeout: a failed push is retried by the outbox with its retry key, a failed reply becomes a push.
    """
    network = config.line_network
    configuration = Configuration(
        access_token=config.channel_access_token,
        host=(config.line_api_base_url or "").rstrip("/") or None,  # None: LINE's own hosts
    )
    configuration.retries = 0
    configuration.proxy = network.proxy_url()
    credentials = network.proxy_credentials()
    if credentials is not None:
        configuration.proxy_headers = urllib3.make_headers(proxy_basic_auth=credentials)
    return TimedApiClient(configuration, network.timeout)


class LineSender(ReplyThenSend):
    """Deliver through LINE's Messaging API: replies without a retry key, pushes and multicasts with one.

    Every call passes TIMEOUT (connect, read) and returns a SendResult: LINE refusing, timing out or not
    being reachable is a failed result (logged here), never an exception.
    """

    max_recipients = MAX_MULTICAST_RECIPIENTS

    def __init__(
        self,
        api: MessagingApi,
        clock: Clock | None = None,
        *,
        timeout: tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT),
    ):
        self.api = api
        self.clock: Clock = clock or SystemClock(
            ZoneInfo("UTC")
        )  # stamps moments only: any zone tells the same time
        self.timeout = timeout

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Push to one user, group or room (KEY: the retry key; a fresh one when not given)."""
        return self.push(to, messages, retry_key=key)

    @property
    def multicaster(self) -> Multicaster:
        """LINE has multicast: up to 500 users in one request."""
        return self

    def profile(self, user_id: str, group_id: str | None = None) -> Profile | None:
        """The person's LINE profile (for registration); None when LINE will not say or not answer."""
        try:
            if group_id and group_id.startswith("C"):
                profile = self.api.get_group_member_profile(group_id, user_id, _request_timeout=self.timeout)
            elif group_id:
                profile = self.api.get_room_member_profile(group_id, user_id, _request_timeout=self.timeout)
            else:
                profile = self.api.get_profile(user_id, _request_timeout=self.timeout)
        except ApiException as exc:
            log.info("profile lookup failed", extra={"user": _short(user_id), "status": exc.status})
            return None
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # no connection, timeouts
            log.info("profile lookup failed", extra={"user": _short(user_id), "error": type(exc).__name__})
            return None
        return Profile(user_id, profile.display_name)

    def quota_left(self) -> int | None:
        """Messages the channel may still send this month; None when unlimited or LINE does not say now."""
        try:
            quota = self.api.get_message_quota(_request_timeout=self.timeout)
            if quota.type != "limited" or quota.value is None:
                return None
            used = self.api.get_message_quota_consumption(_request_timeout=self.timeout).total_usage or 0
        except QUOTA_ERRORS as exc:
            log.warning("could not read LINE's message quota", extra={"error": type(exc).__name__})
            return None
        return max(int(quota.value) - int(used), 0)

    def reply(self, reply_token: str, messages: Sequence[OutMessage], *, to: str | None = None) -> SendResult:
        """Answer an event with its reply token (never with X-Line-Retry-Key: LINE answers 400 to that)."""
        if not reply_token:
            raise MessageLimitError("reply token is empty")
        check_request("reply", to, messages, reply_token=reply_token)
        messages = sdk_messages(messages)
        request = WireReplyMessageRequest(reply_token=reply_token, messages=messages)
        return self._call(
            "reply",
            lambda: self.api.reply_message_with_http_info(request, _request_timeout=self.timeout),
            [to] if to else [],
            messages,
        )

    def push(self, to: str, messages: Sequence[OutMessage], *, retry_key: str | None = None) -> SendResult:
        """Send to one user, group or room; the retry key lets a repeated push arrive only once."""
        retry_key = retry_key or str(uuid.uuid4())
        check_request("push", to, messages, retry_key=retry_key)
        messages = sdk_messages(messages)
        request = WirePushMessageRequest(to=to, messages=messages)
        return self._call(
            "push",
            lambda: self.api.push_message_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self.timeout
            ),
            [to],
            messages,
            retry_key,
        )

    def multicast(
        self, to: Sequence[str], messages: Sequence[OutMessage], *, retry_key: str | None = None
    ) -> SendResult:
        """Send the same messages to up to 500 users in one request."""
        retry_key = retry_key or str(uuid.uuid4())
        check_request("multicast", to, messages, retry_key=retry_key)
        messages = sdk_messages(messages)
        request = WireMulticastRequest(to=list(to), messages=messages)
        return self._call(
            "multicast",
            lambda: self.api.multicast_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self.timeout
            ),
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
    ) -> SendResult:
        """Make the request, log what left (never the token) and say what LINE made of it."""
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
                return SendResult("accepted-before", RETRY_KEY_ACCEPTED, "The retry key is already accepted")
            message, details = line_error(exc)
            status = exc.status or None  # the SDK reports a TLS failure as status 0: no answer from LINE
            log.warning(
                "LINE refused a request",
                extra={**fields, "status": status, "line_message": message, "details": details},
            )
            return failed(status, message, details)
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # no connection, timeouts, the proxy refused
            log.warning("LINE could not be reached", extra={**fields, "error": type(exc).__name__})
            return failed(None, (str(exc) or type(exc).__name__)[:300])
        status = getattr(response, "status_code", None)
        headers = getattr(response, "headers", None) or {}
        log.info(
            "sent to LINE",
            extra={**fields, "status": status, "line_request_id": headers.get("x-line-request-id")},
        )
        return SendResult("accepted", status)


# What a quota look-up may raise: LINE refusing, no connection, timeouts.
QUOTA_ERRORS = (ApiException, OSError, urllib3.exceptions.HTTPError)


def make_sender(
    config,
    session_factory: SessionFactory,
    clock: Clock,
    *,
    profiles: Mapping[str, str] | None = None,
    lineworks_max_wait: float = MAX_WAIT,
) -> Sender:
    """The sender the configuration asks for: the console (with a database transcript) or LINE itself.

    PROFILES (user id → display name) is the console's stand-in for LINE's profile API (the simulator's).
    LINEWORKS_MAX_WAIT bounds the LINE WORKS sender's wait after a 429 (the processes that answer people
    pass ANSWER_MAX_WAIT; the clock's rounds keep the minute).
    """
    transports = tuple(getattr(config, "transports", ("line",)))
    if config.sender == "console":
        console = ConsoleSender(clock=clock, record=transcript_recorder(session_factory), profiles=profiles)
        if "lineworks" not in transports:
            return console
        lineworks_console = LineWorksConsoleSender(clock=clock, record=transcript_recorder(session_factory))
        return TransportSenders({"line": console, "lineworks": lineworks_console})
    if config.sender != "line":
        raise ValueError(f"unknown sender {config.sender!r}; expected console or line")
    if transports == ("line",):
        return LineSender(MessagingApi(line_api_client(config)), clock, timeout=config.line_network.timeout)
    senders: dict[str, Sender] = {}
    if "line" in transports:
        senders["line"] = LineSender(
            MessagingApi(line_api_client(config)), clock, timeout=config.line_network.timeout
        )
    if config.lineworks is not None:  # with the proxy, timeouts and LINEWORKS_RATE_PER_MINUTE throttle
        senders["lineworks"] = make_lineworks_sender(config, session_factory, max_wait=lineworks_max_wait)
    return TransportSenders(senders)
