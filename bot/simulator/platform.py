"""The LINE platform, played by the simulator: profiles, a movable clock, and signed webhook calls.

LINE would sign a webhook body with the channel secret and POST it to /callback; the simulator does exactly
that (through the app's own WSGI stack, so the signature check, the inbox and the handling run unchanged).
The secret stays on the server. Display names come from the "profile API", i.e. what the page typed
(the sender's profiles, shared with Platform.profiles).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.say import SIMULATED_BOT_ID, lineworks_event, simulated_event
from bot.services import services
from messages import line_limits
from models.clock import Clock, FrozenClock
from models.config import DEVELOPMENT_CHANNEL_SECRET
from models.db import SessionFactory
from models.simulator_clock import save_simulator_clock

log = logging.getLogger(__name__)

MAX_DISPLAY_NAME = line_limits.MAX_DISPLAY_NAME  # LINE display names are at most 20 characters


class SimulatedClock:
    """The app's clock plus an offset the simulator can move (to play a month in minutes).

    With DXBOT_NOW the base is frozen, so the simulated time stays where it was put; with the real clock
    it keeps running from there.
    """

    def __init__(self, base: Clock, remember: Callable[[datetime, bool], None] | None = None):
        self.base = base
        self.tz: ZoneInfo = base.tz
        self._offset = timedelta(0)
        self._remember = remember
        self.runs = not isinstance(base, FrozenClock)

    def now(self) -> datetime:
        return (self.base.now() + self._offset).astimezone(self.tz)

    def move_to(self, moment: datetime) -> None:
        """Make now() say MOMENT (and run on from there if the base clock runs)."""
        self._offset = moment - self.base.now()
        self.remember()

    def remember(self) -> None:
        """Keep the simulated time in the database, where `dxbot say` (another process) finds it."""
        if self._remember is not None:
            self._remember(self.now(), self.runs)


@dataclass
class Platform:
    """What the simulated LINE platform knows: the display names of people the page made up.

    The app's console sender is made with the same PROFILES dict (bot/app.py), so the webhook's profile
    look-up at registration finds the names the page typed.
    """

    profiles: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # People on LINE WORKS the page made up: their names label them on the page only (LINE WORKS' `bot`
    # scope reads no profiles, so the bot never learns them; it names a new member as on LINE WORKS).
    lineworks_people: dict[str, str] = field(default_factory=dict)

    def new_user(self, name: str, platform: str = "line") -> str:
        """A fresh user id whose profile says NAME: LINE-shaped (U + 32 hex digits), or on LINE WORKS a
        UUID, the shape of LINE WORKS' user ids (e.g. c72af563-0f21-4736-11e4-045237113344)."""
        if platform == "lineworks":
            user_id = str(uuid.uuid4())
            with self.lock:
                self.lineworks_people[user_id] = name
            return user_id
        user_id = "U" + secrets.token_hex(16)
        with self.lock:
            self.profiles[user_id] = name
        return user_id


def platform_of(app: Flask) -> Platform:
    """The app's simulated platform (made by bot.simulator.init_app)."""
    return app.extensions["simulator"]


def simulated_clock(app: Flask) -> SimulatedClock:
    """The app's movable clock (the app factory makes one whenever the simulator is on)."""
    clock = services(app).clock
    if not isinstance(clock, SimulatedClock):
        raise TypeError("the app's clock is not the simulator's: build the app with the simulator on")
    return clock


def remembering(
    session_factory: SessionFactory, wall_clock: Callable[[], datetime]
) -> Callable[[datetime, bool], None]:
    """Write the simulated time to the app's database (best effort: a database without tables is told)."""

    def remember(moment: datetime, runs: bool) -> None:
        real_now = wall_clock()
        try:
            with session_factory() as session:
                save_simulator_clock(session, moment=moment, runs=runs, real_now=real_now)
                session.commit()
        except SQLAlchemyError as exc:
            log.warning("the simulated clock could not be kept for `dxbot say`: %s", type(exc).__name__)

    return remember


def sign(body: bytes, channel_secret: str) -> str:
    """X-Line-Signature: base64 of the body's HMAC-SHA256 under the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_body(
    *, user_id: str, at: datetime, text: str | None = None, postback: str | None = None
) -> bytes:
    """One LINE webhook body (a text message or a postback from USER_ID) as the exact bytes to sign."""
    event = simulated_event(user_id=user_id, at=at, text=text, postback_data=postback)
    payload = {"destination": SIMULATED_BOT_ID, "events": [event]}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post_to_callback(app: Flask, body: bytes) -> tuple[int, dict]:
    """POST a signed BODY to the app's /callback as LINE would; the answer's status and JSON."""
    config = services(app).config
    response = app.test_client().post(
        "/callback",
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": sign(body, config.effective_channel_secret),
        },
    )
    # The app answers LINE first and handles the event after: the simulator shows the answer, so wait.
    services(app).events.drain(timeout=30)
    return response.status_code, response.get_json(silent=True) or {}


def lineworks_secret(app: Flask) -> str:
    """What LINE WORKS signs callbacks with: LINEWORKS_BOT_SECRET, else (development) the edge's stand-in."""
    config = services(app).config
    return config.lineworks_bot_secret or DEVELOPMENT_CHANNEL_SECRET


def lineworks_callback_body(
    *,
    user_id: str,
    at: datetime,
    text: str | None = None,
    postback: str | None = None,
    message_postback: str | None = None,
) -> bytes:
    """One LINE WORKS callback body, the event `dxbot say --transport lineworks` makes: a text message, a
    `postback` event (a button or quick reply), or with MESSAGE_POSTBACK a text message carrying
    `content.postback` (what a message action sends)."""
    event = lineworks_event(user_id=user_id, at=at, text=text, postback_data=postback, channel_id=None)
    if message_postback is not None:
        event["content"]["postback"] = message_postback
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post_to_lineworks_callback(app: Flask, body: bytes) -> tuple[int, dict]:
    """POST a signed BODY to the app's /lineworks/callback as LINE WORKS would; the answer's status and JSON."""
    settings = services(app).config.lineworks
    response = app.test_client().post(
        "/lineworks/callback",
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-WORKS-Signature": sign(body, lineworks_secret(app)),
            "X-WORKS-BotId": str(settings.bot_id) if settings is not None else "",
        },
    )
    services(app).events.drain(timeout=30)
    return response.status_code, response.get_json(silent=True) or {}
