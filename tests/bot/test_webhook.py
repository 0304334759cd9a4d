"""POST /callback as LINE calls it: signatures, the inbox (dedup, crash recovery), ordering and delivery."""

from __future__ import annotations

import copy
import io
import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi
from sqlmodel import Session, select

from bot.app import close_app
from bot.line.edge import MAX_BODY_BYTES
from bot.line.events import event_id_of, parsed_incoming, plain_incoming, to_incoming
from bot.services import services
from messages.line_sender import LineSender, make_sender
from messages.model import Text
from messages.senders import ConsoleSender
from models.tables import InboxEvent
from tests.app_services import swap_services
from tests.bot.conftest import millis, new_event_id

USER = "U206d25c2ea6bd87c17655609a1c37cb8"  # the samples' user
STAFF = "U" + "a1" * 16
OTHER = "U" + "b2" * 16
GROUP = "C" + "c3" * 16


def rows(db) -> list[InboxEvent]:
    with Session(db) as s:
        return list(s.exec(select(InboxEvent).order_by(InboxEvent.id)).all())


def row_for(db, event_id: str) -> InboxEvent:
    with Session(db) as s:
        return s.exec(select(InboxEvent).where(InboxEvent.webhook_event_id == event_id)).one()


# --- the signature ------------------------------------------------------------------------------


def test_known_signature_vector_is_accepted_by_the_check():
    from bot.line.edge import signature_is_valid

    assert signature_is_valid(
        "channel_secret", b"bodybodybodybody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
    )
    assert not signature_is_valid(
        "channel_secret", b"bodybodybodyXody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="
    )


def test_a_signed_body_is_accepted_stored_and_handled(line, db):
    body = line.sample("follow.json")
    response = line.post(body)
    assert response.status_code == 200
    [row] = rows(db)
    event = body["events"][0]
    assert row.webhook_event_id == event["webhookEventId"]
    assert (row.event_type, row.source_type, row.is_redelivery) == ("follow", "user", False)
    assert row.event_timestamp == line.clock.now()
    assert row.handled_at is not None and row.outcome == "help"


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm9wZQ==", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="],
    ids=["missing", "empty", "garbage", "someone-elses"],
)
def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_stored(line, db, signature):
    response = line.post(line.sample("follow.json"), signature=signature)
    assert response.status_code == 400
    assert rows(db) == [] and line.sender.sent == []


def test_a_body_signed_with_another_secret_or_changed_after_signing_is_refused(line, db):
    data = json.dumps(line.sample("follow.json")).encode()
    assert line.post(data, signature=line.sign(data, secret="another-secret")).status_code == 400
    assert line.post(data.replace(b"follow", b"unfollow", 1), signature=line.sign(data)).status_code == 400
    assert rows(db) == []


# --- bodies that are not what LINE sends --------------------------------------------------------


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2]", b'{"destination": "U0"}'])
def test_malformed_signed_bodies_get_200_and_a_log_line(line, db, caplog, data):
    caplog.set_level(logging.WARNING, logger="bot.webhook")
    response = line.post(data)
    assert response.status_code == 200
    assert rows(db) == []
    assert any(getattr(r, "reason", None) in ("malformed_json", "malformed_body") for r in caplog.records)


def test_an_unknown_event_type_is_acknowledged_logged_and_ignored(line, db, caplog):
    caplog.set_level(logging.INFO, logger="bot.webhook")
    event = {**line.sample_event("follow.json"), "type": "somethingNew", "somethingNew": {"x": 1}}
    event.pop("follow")
    response = line.post(line.body(event), validate=False)
    assert response.status_code == 200
    [row] = rows(db)
    assert row.outcome == "ignored" and row.handled_at is not None
    assert any(getattr(r, "reason", None) == "unknown_event" for r in caplog.records)
    assert line.sender.sent == []


def test_every_event_of_the_sdk_sample_is_taken_without_an_error(line, db):
    body = line.sample("sdk-v3-webhook-all-events.json")
    response = line.post(body, validate=False)  # its "undefined" event is not in webhook.yml, on purpose
    assert response.status_code == 200
    stored = rows(db)
    assert len(stored) == len(body["events"]) == 28
    assert all(r.handled_at is not None for r in stored)
    assert "error" not in {r.outcome for r in stored}


def test_each_single_event_sample_validates_and_is_handled(line, db):
    names = [
        "message-text-user.json",
        "message-text-group.json",
        "message-text-redelivery.json",
        "follow.json",
        "unfollow.json",
        "postback-date.json",
        "postback-datetime.json",
    ]
    for name in names:
        assert line.post(line.sample(name)).status_code == 200, name
    assert len(rows(db)) == len(names)
    assert all(r.handled_at is not None for r in rows(db))


def test_a_legacy_body_without_webhook_event_id_gets_a_stable_synthetic_id(line, db):
    body = line.sample("legacy-message-text-no-webhookEventId.json", fresh=False)
    assert line.post(body, validate=False).status_code == 200
    assert line.post(body, validate=False).status_code == 200  # the same bytes again: same id, not re-applied
    [row] = rows(db)
    assert row.webhook_event_id == event_id_of(body["events"][0]) and row.webhook_event_id.startswith(
        "sha256-"
    )
    assert row.outcome == "refused"  # an unregistered user's text: registration instructions
    assert len(line.sender.sent) == 1
    assert line.sender.sent[0].kind == "push"  # 2016's reply token expired long ago


# --- replies ------------------------------------------------------------------------------------


def test_follow_is_answered_with_the_greeting_by_reply(line):
    body = line.sample("follow.json")
    line.post(body)
    [request] = line.sender.sent
    assert request.kind == "reply"
    assert request.reply_token == body["events"][0]["replyToken"]
    assert request.retry_key is None
    assert "登録" in request.texts()[0]


def test_an_unregistered_users_text_gets_registration_instructions(line):
    line.post(line.body(line.text(OTHER, "オンライン申請率 18%")))
    assert "登録" in line.sender.texts()[0]


def test_a_redelivered_event_that_was_handled_is_not_answered_again(line, db):
    body = line.sample("follow.json")
    assert line.post(body).status_code == 200
    body["events"][0]["deliveryContext"]["isRedelivery"] = True
    assert line.post(body).status_code == 200
    assert len(line.sender.sent) == 1
    [row] = rows(db)
    assert row.is_redelivery is False  # the row is the first delivery's; the second was only acknowledged


def test_an_event_stored_but_never_handled_is_handled_when_redelivered(line, db, clock):
    event = line.sample_event("follow.json")
    with Session(db) as s:  # what a crash between storing and handling leaves behind
        s.add(
            InboxEvent(
                webhook_event_id=event["webhookEventId"],
                event_type="follow",
                event_timestamp=clock.now(),
                source_type="user",
                received_at=clock.now(),
            )
        )
        s.commit()
    event["deliveryContext"]["isRedelivery"] = True
    assert line.post(line.body(event)).status_code == 200
    [row] = rows(db)
    assert row.handled_at is not None and row.outcome == "help" and row.is_redelivery is True
    [request] = line.sender.sent
    assert request.kind == "push" and request.to == (USER,)  # a redelivered event's reply token is stale
    assert request.retry_key is not None


def test_events_in_one_body_are_handled_in_timestamp_order(line, db, clock):
    now = clock.now()
    users = ["U" + f"{n:032x}" for n in (1, 2, 3)]
    events = [
        line.event("follow", users[2], at=now - timedelta(seconds=1)),
        line.event("follow", users[0], at=now - timedelta(seconds=3)),
        line.event("follow", users[1], at=now - timedelta(seconds=2)),
    ]
    assert line.post(line.body(*events)).status_code == 200
    assert [r.to for r in line.sender.sent] == [(u,) for u in users]
    assert [r.event_timestamp for r in rows(db)] == sorted(r.event_timestamp for r in rows(db))


@pytest.mark.parametrize(("age", "kind"), [(0, "reply"), (45, "reply"), (61, "push"), (3600, "push")])
def test_an_old_event_is_pushed_not_replied(line, clock, age, kind):
    line.post(line.body(line.event("follow", OTHER, at=clock.now() - timedelta(seconds=age))))
    [request] = line.sender.sent
    assert request.kind == kind
    if kind == "push":
        assert request.to == (OTHER,) and request.reply_token is None


def test_a_group_answer_goes_to_the_group(line, clock):
    line.post(line.body(line.event("join", USER, group=GROUP, at=clock.now() - timedelta(minutes=5))))
    [request] = line.sender.sent
    assert (request.kind, request.to) == ("push", (GROUP,))


def test_one_failing_event_does_not_lose_the_others(line, db, monkeypatch, conversation):
    real = conversation.respond

    def flaky(session, incoming, *, clock, config):
        if incoming.user_id == OTHER:
            raise RuntimeError("boom")
        return real(session, incoming, clock=clock, config=config)

    monkeypatch.setattr(conversation, "respond", flaky)
    bad, good = line.text(OTHER, "こんにちは"), line.event("follow", USER)
    assert line.post(line.body(bad, good)).status_code == 200
    failed, handled = row_for(db, bad["webhookEventId"]), row_for(db, good["webhookEventId"])
    assert failed.outcome == "error" and failed.handled_at is None  # tried again (bot/inbox/dead_letter.py)
    assert handled.outcome == "help" and handled.handled_at is not None
    assert [r.to for r in line.sender.sent] == [(USER,)]  # no apology yet: the next try may record it
    monkeypatch.setattr(conversation, "respond", real)
    bad["deliveryContext"]["isRedelivery"] = True
    line.post(line.body(bad))
    assert row_for(db, bad["webhookEventId"]).outcome == "refused"


def test_an_answer_line_refuses_for_good_is_logged_and_the_event_is_not_applied_twice(line, db, caplog):
    line.sender.fail_next("reply", 400, "Invalid reply token")
    line.sender.fail_next("push", 400, "The property, 'to', in the request body is invalid")
    body = line.sample("follow.json")
    assert line.post(body).status_code == 200
    [row] = rows(db)
    assert row.outcome == "error" and row.handled_at is not None
    assert any(getattr(r, "stage", None) == "reply" for r in caplog.records)
    body["events"][0]["deliveryContext"]["isRedelivery"] = True
    line.post(body)
    assert len(rows(db)) == 1 and line.sender.sent == [] and len(line.sender.refused) == 2


def test_a_body_that_cannot_be_stored_asks_line_to_redeliver_and_nothing_of_it_is_kept(line, db, app):
    from sqlalchemy import event as sa_event
    from sqlalchemy.exc import OperationalError

    engines = services(app).engine, services(app).inbox_writer.engine

    def inbox_down(conn, cursor, statement, parameters, context, executemany):
        if statement.lower().startswith("insert into inboxevent"):
            raise OperationalError(statement, parameters, Exception("database is locked"))

    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", inbox_down)
    first, second = line.event("follow", OTHER), line.event("follow", USER)
    try:
        assert line.post(line.body(first, second)).status_code == 503  # LINE redelivers the body
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", inbox_down)
    assert rows(db) == [] and line.sender.sent == []
    for event in (first, second):
        event["deliveryContext"]["isRedelivery"] = True
    assert line.post(line.body(first, second)).status_code == 200
    assert {r.webhook_event_id: r.outcome for r in rows(db)} == {
        first["webhookEventId"]: "help",
        second["webhookEventId"]: "help",
    }
    assert [r.to for r in line.sender.sent] == [(OTHER,), (USER,)]


def database_fails_for(user_id: str, monkeypatch):
    """Make the conversation's member lookup fail like a locked database for USER_ID; a function that mends it."""
    from sqlalchemy.exc import OperationalError

    import bot.conversation.respond as conversation

    real = conversation.get_member

    def flaky(session, who):
        if who == user_id:
            raise OperationalError("SELECT …", {}, Exception("database is locked"))
        return real(session, who)

    monkeypatch.setattr(conversation, "get_member", flaky)
    return lambda: monkeypatch.setattr(conversation, "get_member", real)


def test_an_event_the_database_fails_to_handle_stays_in_the_inbox_until_the_sweep(line, db, app, monkeypatch):
    """Acknowledged means kept: database trouble while handling leaves the row for the worker's sweep."""
    mend = database_fails_for(OTHER, monkeypatch)
    lost, kept = line.event("follow", OTHER), line.event("follow", USER)
    assert line.post(line.body(lost, kept)).status_code == 200
    assert [r.to for r in line.sender.sent] == [(USER,)]
    waiting = row_for(db, lost["webhookEventId"])
    assert waiting.handled_at is None and waiting.outcome is None and waiting.body is not None

    mend()
    events = services(app).events
    assert events.sweep() == 0  # not stale yet: it may still be queued in another process
    assert events.sweep(stale_after=timedelta(0)) == 1
    assert events.drain(timeout=30)
    assert row_for(db, lost["webhookEventId"]).outcome == "help"
    assert row_for(db, lost["webhookEventId"]).body is None  # a stranger's event is not kept once handled
    assert [r.to for r in line.sender.sent] == [(USER,), (OTHER,)]
    assert events.sweep(stale_after=timedelta(0)) == 0  # handled once, never again


def test_inline_handling_answers_503_when_the_database_fails_while_handling(config, db, line, monkeypatch):
    """DXBOT_WEBHOOK_HANDLING=inline: the answer waits for the handling, so trouble there asks for redelivery."""
    from dataclasses import replace

    from bot.app import create_app

    app = create_app(replace(config, webhook_handling="inline"))
    swap_services(app, sender=line.sender)
    mend = database_fails_for(OTHER, monkeypatch)
    line.client = app.test_client()
    lost, kept = line.event("follow", OTHER), line.event("follow", USER)
    assert line.post(line.body(lost, kept)).status_code == 503
    assert [r.to for r in line.sender.sent] == [(USER,)]
    mend()
    for event in (lost, kept):
        event["deliveryContext"]["isRedelivery"] = True
    assert line.post(line.body(lost, kept)).status_code == 200
    assert [r.to for r in line.sender.sent] == [(USER,), (OTHER,)]
    assert services(app).events.pending() == 0  # nothing went through the worker
    close_app(app)


# --- what is kept -------------------------------------------------------------------------------


def test_an_unregistered_users_body_is_not_stored(line, db):
    line.post(line.body(line.text(OTHER, "山田です 電話 075-000-0000")))
    [row] = rows(db)
    assert row.body is None
    assert (row.event_type, row.webhook_event_id) != ("", "")
    assert row.handled_at is not None


def test_a_members_body_is_stored_and_answered(line, db, staff):
    event = line.text(staff, "ヘルプ")
    line.post(line.body(event))
    [row] = rows(db)
    assert row.body == event
    assert line.sender.sent and line.sender.sent[0].kind == "reply"


def test_the_message_that_registers_someone_is_kept_and_a_block_from_a_member_is_not(line, db, plan, clock):
    """The inbox keeps a body when the sender is a member once the event is handled: a stranger who
    registers with that very message counts as one; a member who blocks the bot no longer does."""
    from datetime import timedelta

    from models.invites import create_invite
    from models.sections import find_section

    with Session(db) as s:
        code = create_invite(
            s,
            section=find_section(s, "国保医療課"),
            role="staff",
            now=clock.now(),
            valid_for=timedelta(days=7),
        ).code
        s.commit()
    registration = line.text(OTHER, f"登録 {code}")
    line.post(line.body(registration))
    assert "登録しました" in line.sender.texts()[0]
    assert row_for(db, registration["webhookEventId"]).body == registration
    block = line.event("unfollow", OTHER)
    line.post(line.body(block))
    row = row_for(db, block["webhookEventId"])
    assert row.outcome == "command" and row.body is None


def test_a_kpi_reply_is_handled_in_nine_statements_without_reading_its_target_twice(line, app, staff):
    """The handling transaction of 「オンライン申請率 41%」: the member, their sections, the conversation state,
    the open KPIs (one query), the report, the state cleared, the inbox row, the answer's outbox row; then
    the row marked sent once the reply is accepted. The KPI target and its initiative come with the open
    KPIs and are not selected again to record the report."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    line.post(line.body(line.text(staff, "ヘルプ")))  # the event thread is started (its first sweep is done)
    line.sender.clear()
    engine = services(app).engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        line.post(line.body(line.text(staff, "オンライン申請率 41%")))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert "記録しました" in line.sender.texts()[0]
    assert len(statements) <= 9, statements
    outbox = [" ".join(s.split()[:3]) for s in statements if "outboxmessage" in s]
    assert outbox == ["INSERT INTO outboxmessage", "UPDATE outboxmessage SET"]  # queued, then marked sent
    assert not [s for s in statements if s.startswith("SELECT") and "FROM kpitarget WHERE kpitarget.id" in s]
    assert not [
        s for s in statements if s.startswith("SELECT") and "FROM initiative WHERE initiative.id" in s
    ]
    assert sum(s.startswith("SELECT") and "FROM member WHERE" in s for s in statements) == 1


# --- size ---------------------------------------------------------------------------------------


def test_an_oversize_body_is_refused_with_413_before_anything_is_stored(line, db):
    data = b"{" + b" " * MAX_BODY_BYTES + b"}"
    assert line.post(data).status_code == 413
    assert rows(db) == []


def test_an_oversize_chunked_body_is_refused_while_it_is_read(line, db):
    data = b" " * (MAX_BODY_BYTES + 10)
    response = line.client.post(
        "/callback",
        input_stream=io.BytesIO(data),
        headers={"X-Line-Signature": line.sign(data), "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert rows(db) == []


# --- LINE's format → Incoming -------------------------------------------------------------------


def test_sample_events_become_the_right_incoming_kinds(line, clock):
    events = line.sample("sdk-v3-webhook-all-events.json")["events"]
    kinds = [to_incoming(e, "x", clock).kind for e in events]
    assert kinds[:11] == [
        "text",
        "other_message",
        "other_message",
        "other_message",
        "other_message",
        "other_message",
        "follow",
        "unfollow",
        "join",
        "leave",
        "postback",
    ]
    assert kinds[11:14] == ["ignored"] * 3  # beacons, account link
    assert kinds[-1] == "ignored"  # the undefined type
    room_image = to_incoming(events[1], "x", clock)
    assert room_image.group_id == events[1]["source"]["roomId"]
    postback = to_incoming(events[10], "x", clock)
    assert postback.postback_data == events[10]["postback"]["data"]


def test_a_mention_of_the_bot_is_seen_and_others_are_not(line, clock):
    event = line.sample_event("message-text-group.json")
    incoming = to_incoming(event, "x", clock)
    assert (incoming.kind, incoming.group_id, incoming.mentioned_bot) == (
        "text",
        event["source"]["groupId"],
        False,
    )
    event["message"]["text"] = "@DXbot 18%"
    event["message"]["mention"] = {
        "mentionees": [{"index": 0, "length": 6, "type": "user", "userId": USER, "isSelf": True}]
    }
    assert to_incoming(event, "x", clock).mentioned_bot is True
    event["message"]["mention"]["mentionees"][0]["isSelf"] = False
    event["message"]["mention"]["mentionees"].append({"index": 0, "length": 4, "type": "all"})
    assert to_incoming(event, "x", clock).mentioned_bot is False


ODD_VALUES = (None, 0, 1.5, True, "", "x", [], {}, {"isRedelivery": True})


def one_change_variants(event: dict):
    """EVENT with one field changed: each value (nested ones too) replaced by an odd value or dropped, and an
    unknown key added to each object."""

    def walk(node: dict, path: tuple):
        for key, value in list(node.items()):
            for odd in ODD_VALUES:
                yield path + (key,), odd
            yield path + (key,), DROP
            if isinstance(value, dict):
                yield from walk(value, path + (key,))
        yield path + ("somethingNew",), "x"

    for path, odd in walk(event, ()):
        changed = copy.deepcopy(event)
        node = changed
        for key in path[:-1]:
            node = node[key]
        if odd is DROP:
            node.pop(path[-1])
        else:
            node[path[-1]] = odd
        yield changed


DROP = object()


def test_plain_events_read_without_the_sdk_are_what_the_sdk_reads(line, clock):
    """The common events skip line-bot-sdk (its import is most of `dxbot say`); whatever takes that path is
    what the SDK makes of it, and whatever the SDK would refuse or read differently does not take it."""
    from bot.cli.say import simulated_event

    room = line.text(STAFF, "18%")
    room["source"] = {"type": "room", "roomId": "R" + "d4" * 16, "userId": STAFF}
    common = [
        line.text(STAFF, "オンライン申請率 18%"),
        line.text(STAFF, "18%", group=GROUP),
        room,
        line.event("postback", STAFF, data="action=undo"),
        line.sample_event("message-text-user.json"),
        line.sample_event("message-text-group.json"),
        line.sample_event("message-text-redelivery.json"),
        line.sample_event("legacy-message-text-no-webhookEventId.json"),
        simulated_event(user_id=STAFF, at=clock.now(), text="状況"),
        simulated_event(user_id=STAFF, at=clock.now(), postback_data="action=undo"),
        simulated_event(user_id=STAFF, at=clock.now(), text="18%", group_id=GROUP),
    ]
    for event in common:
        plain = plain_incoming(event, "x", clock)
        assert plain is not None and plain == parsed_incoming(event, "x", clock), event
    taken = 0
    for event in [e for seed in common for e in one_change_variants(seed)]:
        plain = plain_incoming(event, "x", clock)
        if plain is not None:
            taken += 1
            assert plain == parsed_incoming(event, "x", clock), event
            assert to_incoming(event, "x", clock) == plain
    assert taken > len(common)  # some changes keep an event plain (a redelivery, another text), most do not
    for event in line.sample("sdk-v3-webhook-all-events.json")["events"]:
        plain = plain_incoming(event, "x", clock)
        assert plain is None or plain == parsed_incoming(event, "x", clock), event


def test_a_standby_event_is_acknowledged_but_not_answered(line, db):
    event = {**line.text(OTHER, "ヘルプ"), "mode": "standby"}
    event.pop("replyToken")
    line.post(line.body(event))
    assert rows(db)[0].outcome == "ignored" and line.sender.sent == []


# --- the senders --------------------------------------------------------------------------------


def test_the_app_uses_the_console_sender_unless_told_otherwise(app):
    assert isinstance(services(app).sender, ConsoleSender)


def test_make_sender_builds_the_line_client_from_the_configuration(config, engine, clock):
    from dataclasses import replace

    from models.db import session_factory

    line_config = replace(
        config, sender="line", channel_access_token="token", line_api_base_url="http://127.0.0.1:9/"
    )
    sender = make_sender(line_config, session_factory(engine), clock)
    assert isinstance(sender, LineSender)
    assert sender.api.api_client.configuration.host == "http://127.0.0.1:9"
    sender.api.api_client.close()


class FakeLine(BaseHTTPRequestHandler):
    """A loopback stand-in for api.line.me that records requests and answers as told."""

    requests: list = []
    answer: tuple[int, dict] = (200, {})

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        FakeLine.requests.append((self.path, dict(self.headers), json.loads(self.rfile.read(length))))
        status, body = FakeLine.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-line-request-id", "req-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_line():
    FakeLine.requests, FakeLine.answer = [], (200, {})
    server = HTTPServer(("127.0.0.1", 0), FakeLine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api_client = ApiClient(Configuration(host=f"http://127.0.0.1:{server.server_port}", access_token="t0ken"))
    try:
        yield MessagingApi(api_client)
    finally:
        server.shutdown()
        server.server_close()
        api_client.close()


def test_line_sender_replies_without_a_retry_key_and_pushes_with_one(fake_line, clock):
    sender = LineSender(fake_line, clock)
    FakeLine.answer = (200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
    sender.reply("reply-token", [Text("はい")], to=USER)
    sender.push(USER, [Text("お知らせ")])
    sender.multicast([USER, STAFF], [Text("皆さんへ")], retry_key="123e4567-e89b-12d3-a456-426614174000")
    (reply_path, reply_headers, reply_body), (push_path, push_headers, _), (_, multi_headers, multi_body) = (
        FakeLine.requests
    )
    lower = [{k.lower(): v for k, v in h.items()} for h in (reply_headers, push_headers, multi_headers)]
    assert reply_path == "/v2/bot/message/reply" and "x-line-retry-key" not in lower[0]
    assert reply_body["replyToken"] == "reply-token"
    assert reply_body["messages"] == [{"type": "text", "text": "はい"}]
    assert push_path == "/v2/bot/message/push" and len(lower[1]["x-line-retry-key"]) == 36
    assert lower[2]["x-line-retry-key"] == "123e4567-e89b-12d3-a456-426614174000"
    assert multi_body["to"] == [USER, STAFF]


def test_line_sender_answers_refusals_with_failed_results(fake_line, clock, caplog):
    sender = LineSender(fake_line, clock)
    FakeLine.answer = (400, {"message": "Invalid reply token"})
    refused = sender.reply("stale-token", [Text("はい")])
    assert (refused.status, refused.http_status, refused.message) == ("failed", 400, "Invalid reply token")
    assert "stale-token" not in caplog.text
    FakeLine.answer = (409, {"message": "The retry key is already accepted"})
    again = sender.push(USER, [Text("もう一度")], retry_key="123e4567-e89b-12d3-a456-426614174000")
    assert again.status == "accepted-before"


def test_line_sender_checks_requests_before_they_leave(fake_line, clock):
    from messages.senders import MessageLimitError

    sender = LineSender(fake_line, clock)
    with pytest.raises(MessageLimitError):
        sender.push(USER, [Text("x")] * 6)
    assert FakeLine.requests == []


def test_unknown_ids_in_logs_are_shortened(line, caplog):
    caplog.set_level(logging.INFO, logger="bot.webhook")
    line.post(line.body(line.event("follow", OTHER)))
    assert OTHER not in caplog.text and all(
        OTHER not in json.dumps(r.__dict__, default=str) for r in caplog.records
    )


def test_the_test_bodies_use_the_clock(line, clock):
    assert line.event("follow", USER)["timestamp"] == millis(clock.now())
    assert len(new_event_id()) == 26
