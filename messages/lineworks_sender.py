"""The LINE WORKS sender: the bot's messages rendered for LINE WORKS and posted with the shared access token.

What differs from LINE (docs/lineworks-api.md):
- No reply tokens: answer() is a send (its result's `reply` is None). No multicast: `multicaster` is None,
  so a round is one send per person. No monthly quota: quota_left() is None. The `bot` scope cannot read
  profiles: profile() knows the id only (display names come from the invite or the roster).
- A chat is a user id, or a room written `channel:{channelId}` (channel_chat()): LINE WORKS' ids do not say
  which they are, and the two are sent to at different paths.
- One model message may render into several bodies (one request each). They are posted in order and the
  send stops at the first refusal, reporting it with how many went before. LINE WORKS documents no retry
  key, so `key` is not sent: a retry of a failed send repeats the bodies already accepted, and a crash
  between a send and marking it sent repeats it all once.
- 401, or 403 with code UNAUTHORIZED (the official sample's case): the token is renewed once and the
  body posted again. With a throttle (messages/lineworks_throttle.py, as make_lineworks_sender builds
  it) every request waits its turn, and a 429 waits `rateLimit-reset` and posts the same body once more.
  A 429 after that (or without a throttle): a failed result carrying the rateLimit-* headers in its
  details (the outbox tries again later). 5xx: failed with the status; no answer, or the token not readable from the
  database: failed with status None.
Bodies go as `lineworks_limits.wire_json` bytes: the size the renderer measured is the size sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import urllib3
from sqlalchemy.exc import SQLAlchemyError

from messages.lineworks_auth import SCOPE, TokenRequestFailed, request_token
from messages.lineworks_limits import wire_json
from messages.lineworks_render import render
from messages.lineworks_throttle import Throttle
from messages.model import Carousel, Text
from messages.sending import (
    MessageLimitError,
    Multicaster,
    OutMessage,
    Profile,
    SendAnswers,
    SendResult,
    failed,
)
from models.db import SessionFactory
from models.line_network import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
from models.lineworks_config import LineWorksConfig
from models.lineworks_token import TokenCache, token_key
from models.privacy import pseudonym
from models.types import utcnow

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "channel:"
PLATFORM = "LINE WORKS"  # who a failed result says answered ("LINE WORKS answered 429: …")
# The rate-limit headers of https://developers.worksmobile.com/en/docs/rate-limits (reset: seconds left).
RATE_LIMIT_HEADERS = ("rateLimit-reset", "rateLimit-remaining", "rateLimit-limit", "Retry-After")

JSON = dict[str, Any]


def channel_chat(channel_id: str) -> str:
    """The chat id of a LINE WORKS room (a group), as send() and Origin take it."""
    return CHANNEL_PREFIX + channel_id


def message_path(bot_id: str, chat: str) -> str:
    """The send path for CHAT: a room (`channel:` …) or a user."""
    if chat.startswith(CHANNEL_PREFIX):
        return (
            f"/bots/{quote(bot_id, safe='')}/channels/{quote(chat[len(CHANNEL_PREFIX) :], safe='')}/messages"
        )
    return f"/bots/{quote(bot_id, safe='')}/users/{quote(chat, safe='')}/messages"


def send_bodies(messages: Sequence[OutMessage]) -> list[JSON]:
    """MESSAGES as LINE WORKS send bodies: the model rendered; a stored body (`{"content": …}`) as it is.

    LINE's message JSON (what LINE's outbox rows hold) cannot be sent here: MessageLimitError.
    """
    if not messages:
        raise MessageLimitError("no messages to send")
    bodies: list[JSON] = []
    pending: list[Text | Carousel] = []
    for message in messages:
        if isinstance(message, Text | Carousel):
            pending.append(message)
            continue
        if not (isinstance(message, dict) and isinstance(message.get("content"), dict)):
            raise MessageLimitError(
                "LINE WORKS takes the bot's messages or LINE WORKS bodies ({'content': …}), not LINE's JSON"
            )
        bodies += render(pending)
        pending = []
        bodies.append(message)
    return bodies + render(pending)


class LineWorksSender(SendAnswers):
    """Deliver through LINE WORKS' Bot API 2.0 with a database-shared access token (see the module's notes)."""

    def __init__(
        self,
        settings: LineWorksConfig,
        session_factory: SessionFactory,
        *,
        timeout: tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT),
        http: urllib3.PoolManager | None = None,
        now: Callable[[], datetime] = utcnow,
        throttle: Throttle | None = None,
    ) -> None:
        self.settings = settings
        self.throttle = throttle  # None: every request at once, a 429 is a failed result straight away
        self.timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self.http = http or urllib3.PoolManager(retries=False)  # the outbox retries, never the client
        self.tokens = TokenCache(
            session_factory,
            token_key(settings.auth_url, settings.client_id, settings.service_account, SCOPE),
            lambda: request_token(settings, self.http, self.timeout, now()),
            now=now,
        )

    # -- the Sender protocol ----------------------------------------------------------------------------

    def send(self, to: str, messages: Sequence[OutMessage], *, key: str | None = None) -> SendResult:
        """Post every body to TO in order, stopping at the first refusal (KEY: not sent, LINE WORKS has none)."""
        if not to:
            raise MessageLimitError("a send needs a user or channel id")
        bodies = send_bodies(messages)
        path = message_path(self.settings.bot_id, to)
        fields = {
            "to": pseudonym(to),
            "chat": "channel" if to.startswith(CHANNEL_PREFIX) else "user",
            "bodies": len(bodies),
            "content_types": [body["content"].get("type") for body in bodies],
            "retry_key": key,
        }
        for index, body in enumerate(bodies):
            result = self._post(path, wire_json(body))
            if not result.ok:
                if index:
                    before = f"{index} of {len(bodies)} bodies were accepted before this one"
                    result = replace(result, details=(*result.details, before))
                log.warning(
                    "LINE WORKS did not take a send",
                    extra={**fields, "body": index, "status": result.http_status, "error": result.message},
                )
                return result
        log.info("sent to LINE WORKS", extra=fields)
        return SendResult("accepted", 201)

    def profile(self, user_id: str, group_id: str | None = None) -> Profile | None:
        """The id only: the `bot` scope cannot read a user's profile (names come from invites or the roster)."""
        return Profile(user_id, None)

    def quota_left(self) -> int | None:
        """None: LINE WORKS has no monthly message quota (only requests per minute)."""
        return None

    @property
    def multicaster(self) -> Multicaster | None:
        """None: LINE WORKS has no multicast; a round is one send per person."""
        return None

    # -- other Bot API calls (the persistent menu) ------------------------------------------------------

    def call(self, method: str, path: str, body: JSON | None = None) -> tuple[int | None, JSON]:
        """One Bot API call at API_BASE_URL + PATH, as a send is made: the shared token (renewed once when
        refused), the throttle's turn, one more try after a 429. (status, the answer's JSON object); status
        None when LINE WORKS never answered. TokenRequestFailed when no token could be had."""
        data = None if body is None else wire_json(body)
        status, answer, headers = self._call_once(method, path, data)
        if status == 429 and self.throttle is not None:
            self.throttle.back_off(headers)
            status, answer, headers = self._call_once(method, path, data)
        return status, answer

    # -- HTTP -----------------------------------------------------------------------------------------

    def _post(self, path: str, data: bytes) -> SendResult:
        """Post one body; renew the token once when LINE WORKS says it is not (or no longer) valid."""
        try:
            status, answer, headers = self._post_once(path, data)
            if status == 429 and self.throttle is not None:
                waited = self.throttle.back_off(headers)
                log.info("LINE WORKS rate limit reached; trying once more", extra={"waited_seconds": waited})
                status, answer, headers = self._post_once(path, data)
        except TokenRequestFailed as exc:
            log.warning("no LINE WORKS access token", extra={"status": exc.http_status, "error": exc.message})
            return failed(exc.http_status, exc.message, platform=PLATFORM)
        except SQLAlchemyError as exc:  # the shared token could not be read or stored: nothing was sent
            log.warning("the LINE WORKS access token is not in reach", extra={"error": type(exc).__name__})
            return failed(
                None, f"the access token could not be read or stored: {type(exc).__name__}", platform=PLATFORM
            )
        if status is None:
            return failed(None, str(answer.get("error", "no answer")), platform=PLATFORM)
        if 200 <= status < 300:
            return SendResult("accepted", status)
        message = f"{answer.get('code') or 'no error code'}: {str(answer.get('description') or '')[:300]}"
        details = [f"{name}: {headers[name]}" for name in RATE_LIMIT_HEADERS if name in headers]
        return failed(status, message.rstrip(": "), details if status == 429 else (), platform=PLATFORM)

    def _post_once(self, path: str, data: bytes) -> tuple[int | None, JSON, dict[str, str]]:
        """One POST with the current token, and once more with a new one if LINE WORKS refused it."""
        return self._call_once("POST", path, data)

    def _call_once(
        self, method: str, path: str, data: bytes | None
    ) -> tuple[int | None, JSON, dict[str, str]]:
        """One request with the current token, and once more with a new one if LINE WORKS refused it."""
        self._wait_turn()  # before taking the token: a wait must not outlast it
        token = self.tokens.current()
        status, answer, headers = self._request(token, path, data, method)
        if status is not None and _token_refused(status, answer):
            log.info("LINE WORKS refused the access token; renewing it", extra={"status": status})
            self._wait_turn()
            token = self.tokens.renew(refused=token)
            status, answer, headers = self._request(token, path, data, method)
        return status, answer, headers

    def _wait_turn(self) -> None:
        """Every request counts against the rate limit: wait for this one's turn (no throttle: at once)."""
        if self.throttle is not None:
            self.throttle.wait()

    def _request(
        self, token: str, path: str, data: bytes | None, method: str = "POST"
    ) -> tuple[int | None, JSON, dict[str, str]]:
        """(status, answer body, headers) of one request; status None when LINE WORKS never answered."""
        headers = {"Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(
                method,
                self.settings.api_base_url + path,
                body=data,
                headers=headers,
                timeout=self.timeout,
                retries=False,
            )
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # no connection, timeouts, the proxy refused
            return None, {"error": f"LINE WORKS could not be reached: {type(exc).__name__}"}, {}
        headers = {name: response.headers[name] for name in RATE_LIMIT_HEADERS if name in response.headers}
        return response.status, _json(response.data), headers


def _token_refused(status: int, answer: JSON) -> bool:
    """401, or 403 with code UNAUTHORIZED (what the official sample renews its token on)."""
    return status == 401 or (status == 403 and answer.get("code") == "UNAUTHORIZED")


def _json(data: bytes) -> JSON:
    """An answer's JSON object ({} for none: 201 has no body, a proxy's error page is HTML)."""
    try:
        value = json.loads(data.decode("utf-8")) if data else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
