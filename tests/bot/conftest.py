"""Fixtures for the web edge: `line` signs bodies with the test channel secret and posts them to /callback."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest

import bot.conversation.respond as conversation_module
from bot.app import close_app
from bot.services import services
from messages.validator import validate_webhook_body
from tests.app_services import swap_services
from tests.bot.chat import TRANSPORTS, Platform
from tests.lineworks.conftest import lineworks, lineworks_keys  # noqa: F401 (fixtures: LINE WORKS tests)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = PROJECT_ROOT.parent / "shared" / "line-webhook-samples"
BOT_ID = "U" + "f0" * 16  # a destination that passes webhook.yml's pattern (the samples' "U123" does not)
_serial = itertools.count(1)


def new_event_id() -> str:
    """A fresh 26-character id in the shape of LINE's ULID webhookEventIds."""
    return f"01TEST{next(_serial):020d}"


def millis(moment: datetime) -> int:
    """LINE's timestamp: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


class Line:
    """Play the LINE platform: build bodies like LINE's, sign them with the channel secret, POST them."""

    def __init__(self, client, secret: str, clock, sender):
        self.client, self.secret, self.clock, self.sender = client, secret, clock, sender

    def sign(self, body: bytes, secret: str | None = None) -> str:
        """X-Line-Signature for BODY: base64 of HMAC-SHA256 with the channel secret."""
        digest = hmac.new((secret or self.secret).encode("utf-8"), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")

    def post(
        self,
        body: dict | bytes | str,
        *,
        signature: str | None = "sign",
        validate: bool = True,
        **kwargs,
    ):
        """POST BODY to /callback signed correctly (or with SIGNATURE as given; None sends no header)."""
        if isinstance(body, dict):
            if validate:
                problems = validate_webhook_body(body)
                assert problems == [], f"the test body is not what LINE sends: {problems}"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        else:
            data = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signature == "sign":
            headers["X-Line-Signature"] = self.sign(data)
        elif signature is not None:
            headers["X-Line-Signature"] = signature
        response = self.client.post("/callback", data=data, headers=headers, **kwargs)
        # /callback answers before the event worker has handled the events: wait for it, as LINE's
        # user would wait for the answer, so the test sees what the worker did.
        assert services(self.client.application).events.drain(timeout=30)
        return response

    def body(self, *events: dict) -> dict:
        """A webhook body around EVENTS."""
        return {"destination": BOT_ID, "events": list(events)}

    def sample(self, name: str, *, fresh: bool = True) -> dict:
        """A real body from LINE's SDK tests; FRESH gives each event a new id and the clock's time."""
        path = SAMPLES / name
        if not path.exists():
            pytest.skip(f"LINE webhook samples not found at {SAMPLES}")
        body = json.loads(path.read_text(encoding="utf-8"))
        body["destination"] = BOT_ID
        if fresh:
            for event in body["events"]:
                if "webhookEventId" in event:
                    event["webhookEventId"] = new_event_id()
                event["timestamp"] = millis(self.clock.now())
        return body

    def sample_event(self, name: str, **changes) -> dict:
        """The first event of a sample body (fresh), with CHANGES applied on top."""
        event = copy.deepcopy(self.sample(name)["events"][0])
        event.update(changes)
        return event

    def event(self, kind: str, user: str, *, at: datetime | None = None, group: str | None = None, **fields):
        """An event as LINE sends it: message (text=…), follow, unfollow, postback (data=…), join, leave."""
        source = (
            {"type": "group", "groupId": group, "userId": user} if group else {"type": "user", "userId": user}
        )
        event = {
            "type": kind,
            "mode": "active",
            "timestamp": millis(at or self.clock.now()),
            "source": source,
            "webhookEventId": new_event_id(),
            "deliveryContext": {"isRedelivery": False},
        }
        if kind not in ("unfollow", "leave"):
            event["replyToken"] = f"reply-token-{next(_serial)}"
        if kind == "message":
            event["message"] = {
                "id": str(next(_serial)),
                "type": "text",
                "text": fields.pop("text"),
                "quoteToken": "q",
                **fields,
            }
        elif kind == "postback":
            event["postback"] = {"data": fields.pop("data")}
        elif kind == "follow":
            event["follow"] = {"isUnblocked": fields.pop("unblocked", False)}
        return event

    def text(self, user: str, text: str, **kwargs) -> dict:
        """A text message event."""
        return self.event("message", user, text=text, **kwargs)


def pytest_generate_tests(metafunc):
    """A test using `platform` (the conversation suite's chats and members) runs once per transport, LINE
    and LINE WORKS (issue 27); one marked line_only runs on LINE alone (the mark gives the reason)."""
    if "platform" in metafunc.fixturenames:
        only_line = metafunc.definition.get_closest_marker("line_only") is not None
        metafunc.parametrize("platform", ["line"] if only_line else list(TRANSPORTS), indirect=True)


@pytest.fixture
def platform(request) -> Platform:
    """The platform the test's people are on (parametrised by pytest_generate_tests)."""
    return Platform(request.param)


@pytest.fixture
def conversation():
    """The conversation module (tests monkeypatch its respond() to simulate failures)."""
    return conversation_module


@pytest.fixture
def line(app, client, config, clock, sender, conversation):
    """Sign and post webhook bodies; the app's sender is the recording fake (line.sender)."""
    swap_services(app, sender=sender)
    yield Line(client, config.effective_channel_secret, clock, sender)
    close_app(app)  # the event thread, then the app's own pool: closed here, not by the garbage collector
