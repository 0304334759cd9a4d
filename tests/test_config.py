"""Configuration comes from the environment, with the documented defaults and clear errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date, datetime

import pytest

from models.config import PROJECT_ROOT, Config, ConfigError


def test_defaults_without_any_variable():
    config = Config.from_env({})
    assert config.database_url.startswith("sqlite:///")
    assert config.database_url.endswith("instance/dxbot.sqlite3")
    assert config.environment == "production" and not config.development
    assert config.sender == "line"  # a missing token never means "console": the processes that send refuse
    assert not config.simulator_enabled
    assert config.webhook_handling == "background"
    assert config.clock().tz.key == "Asia/Tokyo"
    assert (
        config.base_url is None and config.live_since is None
    )  # dashboard links: localhost; go-live: first import
    assert config.closure_days == (((12, 29), (1, 3)),)  # 年末年始
    assert [label for label, _minimum in config.grade_scale] == ["S", "A", "B", "C"]


def test_the_domain_settings_are_read_once_into_the_config():
    config = Config.from_env(
        {
            "DXBOT_BASE_URL": "https://dx.example.jp",
            "DXBOT_CLOSURE_DAYS": "12-29..01-03,08-15",
            "DXBOT_GRADE_SCALE": "A:100, B:60, C:0",
            "DXBOT_LIVE_SINCE": " 2025-04-01 ",
        }
    )
    assert config.base_url == "https://dx.example.jp"
    assert config.closure_days == (((12, 29), (1, 3)), ((8, 15), (8, 15)))
    assert [(label, int(minimum)) for label, minimum in config.grade_scale] == [
        ("A", 100),
        ("B", 60),
        ("C", 0),
    ]
    assert config.live_since == date(2025, 4, 1)


def test_development_mode_is_asked_for_and_then_talks_to_the_console():
    config = Config.from_env({"DXBOT_ENV": "Development"})
    assert config.development and config.sender == "console" and config.simulator_enabled
    assert config.uses_development_secret
    assert Config.from_env({"DXBOT_ENV": "production"}).sender == "line"
    with pytest.raises(ConfigError, match="DXBOT_ENV='dev'"):
        Config.from_env({"DXBOT_ENV": "dev"})


def test_token_is_not_in_repr():
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
        ({"DXBOT_WEBHOOK_HANDLING": "later"}, "DXBOT_WEBHOOK_HANDLING"),
        ({"DXBOT_CLOSURE_DAYS": "12/29"}, "DXBOT_CLOSURE_DAYS"),
        ({"DXBOT_GRADE_SCALE": "S=110"}, "DXBOT_GRADE_SCALE"),
        ({"DXBOT_GRADE_SCALE": "S:lots"}, "DXBOT_GRADE_SCALE"),
        ({"DXBOT_LIVE_SINCE": "April 2026"}, "DXBOT_LIVE_SINCE"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)


PRODUCTION = {
    "LINE_CHANNEL_SECRET": "channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "channel-token",
    "DXBOT_SECRET_KEY": "0123456789abcdef0123456789abcdef",
}


@pytest.mark.parametrize(
    ("unset", "extra", "named"),
    [
        ("LINE_CHANNEL_SECRET", {}, "LINE_CHANNEL_SECRET is not set"),
        ("DXBOT_SECRET_KEY", {}, "DXBOT_SECRET_KEY is not set"),
        ("LINE_CHANNEL_ACCESS_TOKEN", {}, "LINE_CHANNEL_ACCESS_TOKEN is not set"),
        (
            "LINE_CHANNEL_ACCESS_TOKEN",
            {"DXBOT_SENDER": "line", "DXBOT_ENV": "development"},
            "LINE_CHANNEL_ACCESS_TOKEN",
        ),
        ("LINE_CHANNEL_SECRET", {"DXBOT_SENDER": "console"}, "LINE_CHANNEL_SECRET is not set"),
        ("DXBOT_SECRET_KEY", {"DXBOT_SENDER": "console"}, "DXBOT_SECRET_KEY is not set"),
    ],
)
def test_the_web_refuses_to_start_without_a_secret_it_uses(database_url, unset, extra, named):
    """A web process without the channel secret would take bodies signed with the public development secret,
    and one without DXBOT_SECRET_KEY sessions signed with a public key: neither may start."""
    from bot.app import close_app, create_app

    env = {"DXBOT_DATABASE_URL": database_url, **PRODUCTION, **extra}
    env.pop(unset)
    config = Config.from_env(env)  # reading the settings is fine: `dxbot db`, `plan`, … need no secrets
    with pytest.raises(ConfigError, match=named) as refused:
        close_app(create_app(config))
    assert "\n" not in str(refused.value)


def test_the_console_development_mode_starts_and_warns_loudly(database_url, caplog):
    from bot.app import close_app, create_app

    with caplog.at_level(logging.WARNING):
        app = create_app(Config.from_env({"DXBOT_DATABASE_URL": database_url, "DXBOT_ENV": "development"}))
    try:
        assert "LINE_CHANNEL_SECRET is not set" in caplog.text
        assert "development mode" in caplog.text
        client = app.test_client()
        assert client.get("/healthz").json == {"status": "ok"}
        assert client.get("/simulator/").status_code == 200
        assert app.secret_key and app.secret_key != "dev-only-secret-key"  # a fresh random key per process
    finally:
        close_app(app)  # not a testing config: its event thread started at once


def test_gunicorn_refuses_to_start_without_the_channel_secret_in_one_line(database_url, tmp_path):
    """What an operator sees when `web` is deployed without LINE_CHANNEL_SECRET: one line, a non-zero exit."""
    env = {**os.environ, "DXBOT_DATABASE_URL": database_url, **PRODUCTION, "PORT": "0"}
    for name in ("LINE_CHANNEL_SECRET", "DXBOT_ENV", "DXBOT_SENDER", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:bot.gunicorn_conf",
            "-b",
            "127.0.0.1:0",
            "bot.app:create_app()",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    errors = [line for line in started.stderr.splitlines() if "LINE_CHANNEL_SECRET" in line]
    assert len(errors) == 1, started.stderr
    assert "Traceback" not in started.stderr + started.stdout


def test_commands_that_send_nothing_need_no_secrets(dxbot, tmp_path):
    """`dxbot db`, `plan`, `say`, `kpi`, `digest` and `export` work with no LINE_* variable, no secret key
    and no DXBOT_ENV (an operator's shell on the server)."""
    bare = {
        "DXBOT_SENDER": "",
        "DXBOT_ENV": "",
        "LINE_CHANNEL_ACCESS_TOKEN": "",
        "LINE_CHANNEL_SECRET": "",
        "DXBOT_SECRET_KEY": "",
    }
    for args in (
        ("db", "init"),
        ("plan", "show", "--json"),
        ("member", "add", "U" + "a1" * 16, "--name", "山田", "--section", "国保医療課", "--role", "staff"),
        ("say", "--as", "U" + "a1" * 16, "オンライン申請率 18%"),
        ("kpi", "list", "--json"),
        ("digest", "--section", "国保医療課"),
        ("export", "--fiscal-year", "2026", "--output", str(tmp_path / "kpi.xlsx")),
    ):
        result = dxbot(*args, env=bare)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.parametrize("mode", ["background", "inline", "worker"])
def test_each_webhook_handling_mode_is_accepted_in_any_case(mode):
    assert Config.from_env({"DXBOT_WEBHOOK_HANDLING": mode.upper()}).webhook_handling == mode
