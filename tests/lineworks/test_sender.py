"""LineWorksSender against the stand-in LINE WORKS: what arrives, the shared access token, and the failures."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from messages.lineworks_sender import LineWorksSender, channel_chat
from messages.model import Button, Card, Carousel, Fact, Line, Text
from messages.sending import MessageLimitError, Origin, Profile
from models.config import Config
from models.db import session_factory
from models.tables import LineWorksToken
from tests.lineworks.conftest import BOT_ID
from tests.lineworks.signing import KeyPair

USER = "userf7da-f82c-4284-13e7-030f3b4c756x"  # the reference's example user ID
CHANNEL = "12345a12-b12c-12d3-e123fghijkl"  # the reference's example channel ID
CARD = Carousel(
    cards=(
        Card(
            rows=(Line("オンライン申請率", bold=True), Fact("実績", "41%")),
            buttons=(Button("修正する", data="kpi=1&action=fix", display_text="修正する"),),
        ),
    ),
    alt_text="KPI報告を受け付けました",
)


def settings_for(lineworks, keys: KeyPair, **extra: str):
    """The LINE WORKS settings pointing at the stand-in, read the way a process reads them."""
    settings = Config.from_env(
        {**lineworks.env(), "LINEWORKS_PRIVATE_KEY": keys.private_pem, **extra}
    ).lineworks
    assert settings is not None
    return settings


@pytest.fixture
def make_sender(lineworks, lineworks_keys, db):
    """A new LineWorksSender (as another process would make) on the test database and the stand-in."""

    def make(**extra: str) -> LineWorksSender:
        return LineWorksSender(settings_for(lineworks, lineworks_keys, **extra), session_factory(db))

    return make


def token_requests(lineworks) -> int:
    return sum(1 for seen in lineworks.seen if seen.path.endswith("/token"))


def statuses(lineworks) -> list[int]:
    return [seen.status for seen in lineworks.seen if seen.path.startswith("/v1.0/")]


def test_a_text_and_a_card_arrive_for_the_user_as_valid_bodies(lineworks, make_sender):
    result = make_sender().send(USER, [Text("受け付けました"), CARD])
    assert result.ok and result.status == "accepted" and result.http_status == 201
    assert lineworks.refused == []
    assert [(s.bot_id, s.kind, s.target) for s in lineworks.sent] == [(BOT_ID, "users", USER)] * 2
    assert lineworks.sent[0].content == {"type": "text", "text": "受け付けました"}
    flex = lineworks.sent[1].content
    assert flex["type"] == "flex" and flex["altText"] == "KPI報告を受け付けました"
    assert "41%" in str(flex["contents"]) and "kpi=1&action=fix" in str(flex["contents"])


def test_a_chat_marked_as_a_channel_goes_to_that_room(lineworks, make_sender):
    assert make_sender().send(channel_chat(CHANNEL), [Text("全体連絡")]).ok
    assert [(s.kind, s.target) for s in lineworks.sent] == [("channels", CHANNEL)]


def test_an_answer_is_a_send_since_there_are_no_reply_tokens(lineworks, make_sender):
    result = make_sender().answer(Origin(USER, reply_token="ignored"), [Text("はい")])
    assert result.ok and result.reply is None and not result.replied
    assert [s.content["text"] for s in lineworks.sent] == ["はい"]


def test_no_multicast_no_quota_and_no_display_names(make_sender):
    sender = make_sender()
    assert sender.multicaster is None
    assert sender.quota_left() is None
    assert sender.profile(USER) == Profile(USER, None)


def test_line_json_is_refused_before_anything_leaves(lineworks, make_sender):
    with pytest.raises(MessageLimitError):
        make_sender().send(USER, [{"type": "text", "text": "LINE's JSON"}])
    with pytest.raises(MessageLimitError):
        make_sender().send(USER, [])
    assert lineworks.seen == []


def test_a_rendered_lineworks_body_is_sent_as_it_is(lineworks, make_sender):
    body = {"content": {"type": "text", "text": "保存された本文"}}
    assert make_sender().send(USER, [body]).ok
    assert lineworks.sent[0].body == body


def test_a_long_text_goes_as_several_bodies_with_japanese_unescaped(lineworks, make_sender):
    long = "\n".join(f"{n}. 住民票の写しのオンライン申請" for n in range(300))  # over 4,000 characters
    assert make_sender().send(USER, [Text(long)]).ok
    parts = [s.content["text"] for s in lineworks.sent]
    assert len(parts) == 3 and "\n".join(parts) == long


# -- the access token ---------------------------------------------------------------------------------


def test_a_token_that_expires_mid_run_is_renewed_before_it_is_refused(lineworks, make_sender):
    lineworks.token_lifetime = 2
    sender = make_sender()
    assert sender.send(USER, [Text("一通目")]).ok
    time.sleep(2.2)
    assert sender.send(USER, [Text("二通目")]).ok
    assert [s.content["text"] for s in lineworks.sent] == ["一通目", "二通目"]
    assert token_requests(lineworks) == 2
    assert 401 not in statuses(lineworks)  # renewed ahead of expiry, not after a refusal


def test_a_token_revoked_by_lineworks_is_replaced_and_the_send_retried_once(lineworks, make_sender):
    sender = make_sender()
    assert sender.send(USER, [Text("一通目")]).ok
    lineworks.expire_tokens()
    result = sender.send(USER, [Text("二通目")])
    assert result.ok
    assert [s.content["text"] for s in lineworks.sent] == ["一通目", "二通目"]
    assert statuses(lineworks) == [201, 401, 201]
    assert token_requests(lineworks) == 2


def test_a_403_unauthorized_counts_as_an_expired_token(lineworks, make_sender):
    """The official sample renews its token on 403 with code UNAUTHORIZED (docs/lineworks-api.md)."""
    original, answered = lineworks._api, []

    def forbidden_once(method, path, headers, raw):
        if not answered:
            answered.append(path)
            return 403, {"code": "UNAUTHORIZED", "description": "Authentication failed"}, {}
        return original(method, path, headers, raw)

    lineworks._api = forbidden_once
    assert make_sender().send(USER, [Text("届く")]).ok
    assert len(lineworks.sent) == 1 and token_requests(lineworks) == 2


def test_a_403_for_another_reason_does_not_renew_the_token(lineworks, make_sender):
    sender = make_sender()
    lineworks.fail_next(1, 403)
    result = sender.send(USER, [Text("x")])
    assert not result.ok and result.http_status == 403
    assert token_requests(lineworks) == 1 and lineworks.sent == []


def test_a_token_refused_twice_is_a_failed_send_not_a_loop(lineworks, make_sender):
    original = lineworks._api

    def always_unauthorized(method, path, headers, raw):
        return 401, {"code": "UNAUTHORIZED", "description": "no"}, {}

    lineworks._api = always_unauthorized
    result = make_sender().send(USER, [Text("x")])
    lineworks._api = original
    assert not result.ok and result.http_status == 401 and "UNAUTHORIZED" in result.message
    assert token_requests(lineworks) == 2 and statuses(lineworks) == [401, 401]


def test_two_senders_on_one_database_share_the_token(lineworks, make_sender, db):
    assert make_sender().send(USER, [Text("ウェブから")]).ok
    assert make_sender().send(USER, [Text("時計から")]).ok  # another process: reads the stored token
    assert token_requests(lineworks) == 1 and len(lineworks.sent) == 2
    with Session(db) as session:
        (row,) = session.exec(select(LineWorksToken)).all()
    assert row.expires_at.tzinfo is not None
    assert abs(row.expires_at - (datetime.now(UTC) + timedelta(days=1))) < timedelta(minutes=1)


def test_a_token_renewed_by_another_process_is_taken_after_a_refusal(lineworks, make_sender):
    web, clock = make_sender(), make_sender()
    assert web.send(USER, [Text("1")]).ok and clock.send(USER, [Text("2")]).ok
    lineworks.expire_tokens()
    assert web.send(USER, [Text("3")]).ok  # refused, renews the stored token
    assert clock.send(USER, [Text("4")]).ok  # refused too, then finds the new stored token
    assert token_requests(lineworks) == 2
    assert [s.content["text"] for s in lineworks.sent] == ["1", "2", "3", "4"]


def test_processes_renewing_at_once_all_end_with_a_valid_token(lineworks, make_sender, db):
    senders = [make_sender() for _ in range(4)]
    results: list = []
    start = threading.Barrier(len(senders))

    def send(sender: LineWorksSender, n: int) -> None:
        start.wait()
        results.append(sender.send(USER, [Text(f"同時{n}")]))

    threads = [threading.Thread(target=send, args=(s, n)) for n, s in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4 and all(r.ok for r in results)
    assert len(lineworks.sent) == 4
    if db.dialect.name == "postgresql":  # the row lock: one renewal, the others wait and take its token
        assert token_requests(lineworks) == 1
    with Session(db) as session:
        assert len(session.exec(select(LineWorksToken)).all()) == 1


def test_the_token_and_the_secrets_never_reach_the_log(lineworks, make_sender, caplog):
    caplog.set_level(logging.INFO)  # urllib3's own DEBUG lines show request paths (user ids): see the notes
    caplog.set_level(logging.DEBUG, logger="messages")
    caplog.set_level(logging.DEBUG, logger="models")
    sender = make_sender()
    assert sender.send(USER, [Text("x")]).ok
    lineworks.expire_tokens()
    assert sender.send(USER, [Text("y")]).ok
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert len(lineworks.tokens) == 2
    for secret in (*lineworks.tokens, lineworks.client_secret, USER):
        assert secret not in logged


def test_wrong_client_credentials_fail_the_send_with_the_token_endpoint_s_answer(lineworks, make_sender):
    result = make_sender(LINEWORKS_CLIENT_SECRET="wrong").send(USER, [Text("x")])
    assert not result.ok and result.http_status == 401
    assert "invalid_client" in result.message and lineworks.sent == []


def test_a_key_lineworks_does_not_know_fails_the_send(lineworks, db):
    other = KeyPair.generate()
    sender = LineWorksSender(settings_for(lineworks, other), session_factory(db))
    result = sender.send(USER, [Text("x")])
    assert not result.ok and result.http_status == 400 and "invalid_grant" in result.message
    assert lineworks.sent == []


# -- rate limits, LINE WORKS' own errors, no answer ---------------------------------------------------


def test_a_rate_limited_send_fails_with_the_reset_time_and_nothing_arrives(lineworks, make_sender):
    lineworks.fail_next(1, 429, reset=7)
    result = make_sender().send(USER, [Text("x")])
    assert not result.ok and result.http_status == 429
    assert "TOO_MANY_REQUESTS" in result.message
    assert "rateLimit-reset: 7" in result.details and "rateLimit-remaining: 0" in result.details
    assert lineworks.sent == []


def test_a_server_error_fails_the_send_with_its_status(lineworks, make_sender):
    lineworks.fail_next(1, 503)
    result = make_sender().send(USER, [Text("x")])
    assert not result.ok and result.http_status == 503 and lineworks.sent == []


def test_no_answer_at_all_fails_with_no_status(lineworks, make_sender):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = make_sender(LINEWORKS_API_BASE_URL=f"http://127.0.0.1:{port}/v1.0").send(USER, [Text("x")])
    assert not result.ok and result.http_status is None and lineworks.sent == []


def test_a_message_of_several_bodies_stops_at_the_first_refusal(lineworks, make_sender):
    long = "\n".join(f"{n}. 住民票の写しのオンライン申請" for n in range(300))  # three bodies
    lineworks.rate_per_minute = 1
    result = make_sender().send(USER, [Text(long)])
    assert not result.ok and result.http_status == 429
    assert "1 of 3 bodies were accepted before this one" in result.details
    assert len(lineworks.sent) == 1 and statuses(lineworks) == [201, 429]


def test_a_database_without_the_token_table_fails_the_send_instead_of_raising(
    lineworks, lineworks_keys, tmp_path
):
    from models.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}")
    try:
        sender = LineWorksSender(settings_for(lineworks, lineworks_keys), session_factory(engine))
        result = sender.send(USER, [Text("x")])
    finally:
        engine.dispose()
    assert not result.ok and result.http_status is None and "access token" in result.message
    assert lineworks.sent == []
