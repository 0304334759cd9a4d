"""Configuration comes from the environment, with the documented defaults and clear errors."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from bot.config import Config, ConfigError


def test_defaults_without_any_variable():
    config = Config.from_env({})
    assert config.database_url.startswith("sqlite:///")
    assert config.database_url.endswith("instance/dxbot.sqlite3")
    assert config.sender == "console"
    assert config.webhook_handling == "background"
    assert config.uses_development_secret
    assert config.clock().tz.key == "Asia/Tokyo"


def test_token_switches_to_the_line_sender_and_is_not_in_repr():
    config = Config.from_env({"LINE_CHANNEL_ACCESS_TOKEN": "tok-secret", "LINE_CHANNEL_SECRET": "sec"})
    assert config.sender == "line"
    assert "tok-secret" not in repr(config)
    assert not config.uses_development_secret


def test_dxbot_now_freezes_the_clock():
    clock = Config.from_env({"DXBOT_NOW": "2026-03-31T23:59:00+09:00"}).clock()
    assert clock.now() == datetime.fromisoformat("2026-03-31T23:59:00+09:00")
    assert clock.now() == clock.now()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DXBOT_NOW": "2026-04-01T09:00:00"}, "DXBOT_NOW"),
        ({"DXBOT_NOW": "tomorrow"}, "DXBOT_NOW"),
        ({"DXBOT_TIMEZONE": "Asia/Tokio"}, "DXBOT_TIMEZONE"),
        ({"DXBOT_SENDER": "fax"}, "DXBOT_SENDER"),
        ({"DXBOT_SENDER": "line"}, "LINE_CHANNEL_ACCESS_TOKEN"),
        ({"DXBOT_WEBHOOK_HANDLING": "later"}, "DXBOT_WEBHOOK_HANDLING"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)


def test_app_without_channel_secret_warns_loudly(database_url, caplog):
    from bot.app import close_app, create_app

    with caplog.at_level(logging.WARNING):
        app = create_app(Config.from_env({"DXBOT_DATABASE_URL": database_url}))
    try:
        assert "LINE_CHANNEL_SECRET is not set" in caplog.text
        assert app.test_client().get("/healthz").json == {"status": "ok"}
    finally:
        close_app(app)  # not a testing config: its event thread started at once


@pytest.mark.parametrize("mode", ["background", "inline", "worker"])
def test_each_webhook_handling_mode_is_accepted_in_any_case(mode):
    assert Config.from_env({"DXBOT_WEBHOOK_HANDLING": mode.upper()}).webhook_handling == mode
