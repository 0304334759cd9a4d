"""The processes that answer people (web, events) wait at most ANSWER_MAX_WAIT after a LINE WORKS 429, so a
burst does not hold answers for a minute; the clock's rounds keep the full minute (issue 27)."""

from __future__ import annotations

from bot.app import close_app, create_app
from bot.services import services
from messages.line_sender import make_sender
from messages.lineworks_throttle import ANSWER_MAX_WAIT, MAX_WAIT
from messages.sending import sender_for
from models.config import Config
from models.db import session_factory

PRODUCTION = {
    "LINE_CHANNEL_SECRET": "channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "channel-token",
    "DXBOT_SECRET_KEY": "0123456789abcdef0123456789abcdef",
    "DXBOT_SENDER": "line",
    "DXBOT_TRANSPORT": "line,lineworks",
}


def test_the_web_s_lineworks_sender_waits_seconds_the_clock_s_a_minute(
    lineworks, lineworks_keys, db, database_url, clock
):
    config = Config.from_env(
        {
            "DXBOT_DATABASE_URL": database_url,
            **PRODUCTION,
            **lineworks.env(),
            "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem,
        }
    )
    assert ANSWER_MAX_WAIT == 5 and MAX_WAIT == 60
    app = create_app(config)
    try:
        web = sender_for(services(app).sender, "lineworks")
        assert web.throttle is not None and web.throttle.max_wait == ANSWER_MAX_WAIT
    finally:
        close_app(app)
    rounds = sender_for(
        make_sender(config, session_factory(db), clock), "lineworks"
    )  # as the clock builds it
    assert rounds.throttle is not None and rounds.throttle.max_wait == MAX_WAIT
