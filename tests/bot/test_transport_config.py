"""DXBOT_TRANSPORT: which platforms the processes speak, and what each refuses to start without."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.app import close_app, create_app
from messages.line_sender import make_sender
from messages.model import Text
from messages.sending import TransportSenders
from models.config import Config, ConfigError
from models.db import session_factory
from models.members import add_member
from models.sections import find_section
from models.tables import OutboxMessage, TranscriptEntry
from scheduler.delivery import deliver_due
from scheduler.outbox import enqueue

PRODUCTION = {
    "LINE_CHANNEL_SECRET": "channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "channel-token",
    "DXBOT_SECRET_KEY": "0123456789abcdef0123456789abcdef",
}
LW_USER = "userf7da-f82c-4284-13e7-030f3b4c756x"


def lineworks_env(lineworks, keys) -> dict[str, str]:
    return {**lineworks.env(), "LINEWORKS_PRIVATE_KEY": keys.private_pem}


@pytest.mark.parametrize(
    ("value", "transports"),
    [
        (None, ("line",)),
        ("line", ("line",)),
        ("LINEWORKS", ("lineworks",)),
        ("lineworks, line", ("line", "lineworks")),
    ],
)
def test_the_transports_are_read_once(value, transports):
    env = {} if value is None else {"DXBOT_TRANSPORT": value}
    assert Config.from_env(env).transports == transports


@pytest.mark.parametrize("value", ["fax", "line,line", "line;lineworks", ","])
def test_a_bad_transport_names_the_variable(value):
    with pytest.raises(ConfigError, match="DXBOT_TRANSPORT"):
        Config.from_env({"DXBOT_TRANSPORT": value})


def test_production_refuses_lineworks_without_its_settings(database_url):
    config = Config.from_env(
        {"DXBOT_DATABASE_URL": database_url, **PRODUCTION, "DXBOT_TRANSPORT": "line,lineworks"}
    )
    with pytest.raises(ConfigError, match="LINEWORKS_"):
        close_app(create_app(config))


def test_production_refuses_the_lineworks_callback_without_its_bot_secret(
    database_url, lineworks, lineworks_keys
):
    env = {**PRODUCTION, **lineworks_env(lineworks, lineworks_keys), "DXBOT_TRANSPORT": "lineworks"}
    env.pop("LINEWORKS_BOT_SECRET")
    config = Config.from_env({"DXBOT_DATABASE_URL": database_url, **env})
    with pytest.raises(ConfigError, match="LINEWORKS_BOT_SECRET is not set"):
        close_app(create_app(config))


def test_lineworks_alone_needs_no_line_secrets_and_serves_no_line_callback(
    database_url, lineworks, lineworks_keys
):
    env = {
        "DXBOT_DATABASE_URL": database_url,
        "DXBOT_SECRET_KEY": PRODUCTION["DXBOT_SECRET_KEY"],
        "DXBOT_TRANSPORT": "lineworks",
        **lineworks_env(lineworks, lineworks_keys),
    }
    app = create_app(Config.from_env(env, testing=True))
    try:
        client = app.test_client()
        assert client.post("/callback", data=b"{}").status_code == 404
        assert client.post("/lineworks/callback", data=b"{}").status_code == 400  # unsigned
    finally:
        close_app(app)


def test_development_mode_runs_lineworks_without_secrets(database_url):
    env = {
        "DXBOT_DATABASE_URL": database_url,
        "DXBOT_ENV": "development",
        "DXBOT_TRANSPORT": "line,lineworks",
    }
    app = create_app(Config.from_env(env))
    try:
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        close_app(app)


def test_the_console_prints_and_records_a_lineworks_member_s_messages(db, plan, clock, capsys):
    config = Config.from_env(
        {"DXBOT_DATABASE_URL": "sqlite://", "DXBOT_ENV": "development", "DXBOT_TRANSPORT": "line,lineworks"}
    )
    factory = session_factory(db)
    sender = make_sender(config, factory, clock)
    assert isinstance(sender, TransportSenders)
    with Session(db) as s:
        member, _ = add_member(
            s,
            line_user_id=LW_USER,
            name="高橋",
            sections=[find_section(s, "国保医療課")],
            role="staff",
            now=clock.now(),
            transport="lineworks",
        )
        enqueue(
            s,
            job="test",
            kind="notice",
            dedup_key="notice:lw",
            recipients=[f"lineworks:{LW_USER}"],
            messages=[Text("お知らせです")],
            not_before=clock.now(),
            now=clock.now(),
        )
        s.commit()
    deliver_due(factory, sender, clock)
    printed = capsys.readouterr().out
    assert "LINE WORKS" in printed and "お知らせです" in printed
    with Session(db) as s:
        entry = s.exec(select(TranscriptEntry)).one()
        row = s.exec(select(OutboxMessage)).one()
    assert entry.transport == "lineworks" and entry.recipients == [LW_USER]
    assert entry.messages == [{"content": {"type": "text", "text": "お知らせです"}}]
    assert (row.transport, row.status) == ("lineworks", "sent")
