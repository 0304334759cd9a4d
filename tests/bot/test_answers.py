"""The answer to an event is never silently lost: written to the outbox with the report, sent at once.

The handling writes its answer as an outbox row in the transaction that records the report and claims
the inbox row, then sends it itself: a reply while the token is fresh, a push with the row's retry key
when the reply fails; only a push that fails too waits for the clock's `deliver`. No test here runs the
clock unless it says so: the answer leaves without it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

import bot.line.render as render
from messages.line_limits import REPLY_TOKEN_TTL
from messages.line_sender import make_sender
from messages.model import Text
from models.clock import FrozenClock
from models.db import session_factory
from models.tables import InboxEvent, KpiReport, OutboxMessage
from scheduler.delivery import LEASE, deliver_due
from tests.app_services import swap_services
from tests.bot.conftest import Line
from tests.conftest import NOW, TOKYO
from tests.scheduler.test_delivery import TOKEN, FakeLine

REPORT = "オンライン申請率 41%"


def outbox(db) -> list[OutboxMessage]:
    with Session(db) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def reports(db) -> int:
    with Session(db) as s:
        return s.exec(select(func.count()).select_from(KpiReport)).one()


def inbox_outcome(db, event: dict) -> str | None:
    with Session(db) as s:
        return s.exec(
            select(InboxEvent.outcome).where(InboxEvent.webhook_event_id == event["webhookEventId"])
        ).one()


def handled_logs(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "webhook event handled"]


def test_a_normal_reply_leaves_at_once_and_its_outbox_row_is_sent(line, db, staff, clock):
    line.post(line.body(line.text(staff, REPORT)))
    [reply] = line.sender.sent
    assert reply.kind == "reply" and reply.retry_key is None and "記録しました" in reply.texts()[0]
    [row] = outbox(db)
    assert (row.job, row.kind, row.status, row.sent_at, row.attempts) == (
        "webhook",
        "answer",
        "sent",
        clock.now(),
        1,
    )
    assert row.recipients == [staff] and row.messages == list(reply.messages)
    assert reports(db) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "Internal server error"),
        (None, "Read timed out. (read timeout=15)"),
        (400, "Invalid reply token"),
    ],
    ids=["5xx", "timeout", "expired-token"],
)
def test_a_failed_reply_arrives_by_push_with_the_rows_retry_key_and_the_report_is_kept_once(
    line, db, staff, clock, caplog, status, message
):
    caplog.set_level(logging.INFO, logger="bot.webhook")
    line.sender.fail_next("reply", status, message)
    event = line.text(staff, REPORT)
    line.post(line.body(event))
    [refused] = line.sender.refused
    [push] = line.sender.sent
    assert refused.kind == "reply" and push.kind == "push"
    assert push.to == (staff,) and push.messages == refused.messages  # the same confirmation
    [row] = outbox(db)
    assert push.retry_key == row.retry_key
    assert (row.status, row.sent_at) == ("sent", clock.now())
    assert reports(db) == 1 and inbox_outcome(db, event) == "recorded"
    [handled] = handled_logs(caplog)
    assert (handled.outcome, handled.delivered) == ("recorded", "push")


def test_a_sender_without_reply_tokens_answers_with_a_push_carrying_the_rows_retry_key(
    line, db, staff, clock, caplog
):
    """A platform without reply tokens (LINE WORKS) gets every answer as a send, through the same row."""
    caplog.set_level(logging.INFO, logger="bot.webhook")
    line.sender.replies = False
    line.post(line.body(line.text(staff, REPORT)))
    [push] = line.sender.sent
    [row] = outbox(db)
    assert (push.kind, push.to, push.retry_key) == ("push", (staff,), row.retry_key)
    assert "記録しました" in push.texts()[0]
    assert (row.status, row.sent_at) == ("sent", clock.now())
    [handled] = handled_logs(caplog)
    assert (handled.outcome, handled.delivered) == ("recorded", "push")


def test_a_reply_that_timed_out_but_arrived_is_followed_by_a_logged_duplicate(line, db, staff, caplog):
    """Nobody can tell a lost reply from a late one: the push goes anyway (a duplicate beats a loss)."""
    caplog.set_level(logging.INFO, logger="bot.webhook")
    line.sender.fail_next("reply", None, "Read timed out.", arrived=True)
    line.post(line.body(line.text(staff, REPORT)))
    assert [r.kind for r in line.sender.sent] == ["reply", "push"]
    assert any("may arrive twice" in r.getMessage() for r in caplog.records)
    assert reports(db) == 1


def test_a_failed_push_waits_in_the_outbox_and_the_clock_sends_it_with_the_same_retry_key(
    line, db, staff, clock, caplog
):
    caplog.set_level(logging.INFO, logger="bot.webhook")
    line.sender.fail_next("reply", 502, "Bad gateway")
    line.sender.fail_next("push", 503, "Service unavailable")
    event = line.text(staff, REPORT)
    line.post(line.body(event))
    assert line.sender.sent == []
    [row] = outbox(db)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        clock.now() + timedelta(minutes=1),
    )
    assert "503" in row.error
    assert reports(db) == 1 and inbox_outcome(db, event) == "recorded"  # recorded; the answer is on its way
    assert handled_logs(caplog)[0].delivered == "queued"

    later = FrozenClock(NOW + timedelta(minutes=1), TOKYO)
    report = deliver_due(session_factory(db), line.sender, later)
    assert report.sent == [row.id]
    [push] = line.sender.sent
    assert (push.kind, push.to, push.retry_key) == ("push", (staff,), row.retry_key)
    assert "記録しました" in push.texts()[0]
    assert outbox(db)[0].status == "sent"


def test_a_push_line_had_accepted_before_is_not_delivered_twice(line, db, staff):
    """The push timed out after LINE took it; the clock's retry gets 409 and the row counts as sent."""
    line.sender.fail_next("reply", 500, "Internal server error")
    line.sender.fail_next("push", None, "Read timed out.", arrived=True)
    line.post(line.body(line.text(staff, REPORT)))
    [row] = outbox(db)
    assert row.status == "pending"
    report = deliver_due(session_factory(db), line.sender, FrozenClock(NOW + timedelta(minutes=1), TOKYO))
    assert report.sent == report.already_accepted == [row.id]
    assert outbox(db)[0].status == "sent"
    assert [(r.kind, r.retry_key) for r in line.sender.sent] == [("push", row.retry_key)]  # once


def test_an_old_event_is_pushed_at_once_with_the_rows_retry_key(line, db, staff, clock):
    line.post(line.body(line.text(staff, REPORT, at=clock.now() - REPLY_TOKEN_TTL - timedelta(seconds=1))))
    [push] = line.sender.sent
    [row] = outbox(db)
    assert (push.kind, push.retry_key, row.status) == ("push", row.retry_key, "sent")


def test_the_answer_is_stored_before_it_is_sent_and_the_clock_leaves_it_to_the_handling(
    line, db, staff, monkeypatch
):
    """A clock run while the reply is in flight finds the row committed but leased: it sends nothing."""
    factory, runs = session_factory(db), []
    real_reply = line.sender.reply

    def reply_while_the_clock_runs(*args, **kwargs):
        runs.append([r.status for r in outbox(db)])
        clock = FrozenClock(NOW + LEASE - timedelta(seconds=1), TOKYO)
        runs.append(deliver_due(factory, line.sender, clock).sent)
        return real_reply(*args, **kwargs)

    monkeypatch.setattr(line.sender, "reply", reply_while_the_clock_runs)
    line.post(line.body(line.text(staff, REPORT)))
    assert runs == [["pending"], []]
    assert [r.kind for r in line.sender.sent] == ["reply"] and outbox(db)[0].status == "sent"


def test_a_reply_refused_by_the_mock_line_with_500_arrives_by_push_through_the_real_client(
    app, client, config, clock, db, staff
):
    fake = FakeLine().start()
    sender = make_sender(
        replace(config, sender="line", channel_access_token=TOKEN, line_api_base_url=fake.url),
        session_factory(db),
        clock,
    )
    try:
        swap_services(app, sender=sender)
        line = Line(client, config.effective_channel_secret, clock, sender)
        fake.script = [(500, {"message": "Internal server error"})]
        line.post(line.body(line.text(staff, REPORT)))
        paths = [(c.path, c.status) for c in fake.calls]
        assert paths == [("/v2/bot/message/reply", 500), ("/v2/bot/message/push", 200)]
        [row] = outbox(db)
        assert fake.calls[1].retry_key == row.retry_key and row.status == "sent"
        assert fake.calls[1].body["messages"] == fake.calls[0].body["messages"] == row.messages
        assert reports(db) == 1 and fake.deliveries() == 1
    finally:
        sender.api.api_client.close()
        fake.stop()


@pytest.mark.parametrize("reply_fails", [False, True], ids=["reply", "reply-fails"])
def test_an_answer_of_seven_messages_is_two_rows_the_reply_takes_the_first_five(
    line, db, staff, monkeypatch, reply_fails
):
    monkeypatch.setattr(render, "build", lambda *args, **kwargs: [Text(f"{n}/7") for n in range(1, 8)])
    if reply_fails:
        line.sender.fail_next("reply", 500)
    line.post(line.body(line.text(staff, REPORT)))
    first, second = outbox(db)
    assert [len(first.messages), len(second.messages)] == [5, 2]
    assert first.retry_key != second.retry_key and {first.status, second.status} == {"sent"}
    expected = [("push", first.retry_key)] if reply_fails else [("reply", None)]
    assert [(r.kind, r.retry_key) for r in line.sender.sent] == [*expected, ("push", second.retry_key)]
    assert line.sender.texts() == [f"{n}/7" for n in range(1, 8)]
