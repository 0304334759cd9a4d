"""An event that cannot be handled is tried a bounded number of times, then set aside as failed: kept
without its text, never taken again by itself, the person told once, the admins once, counted in
/metrics, listed by `dxbot doctor` and `dxbot inbox failed`, and put back by `dxbot inbox retry`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

import bot.line.handling as handling
from bot.inbox.dead_letter import MAX_ATTEMPTS
from bot.services import services
from models.tables import InboxEvent, OutboxMessage
from tests.bot.conftest import new_event_id

ADMIN = "U" + "ad" * 16
STRANGER = "U" + "b2" * 16
LONE = "\ud800"  # a lone surrogate: no UTF-8 for it, so no database driver can send it


@pytest.fixture
def admin(db, plan, clock):
    """An active admin (who hears about failed events)."""
    from models.members import add_member
    from models.sections import find_section

    with Session(db) as s:
        add_member(
            s,
            line_user_id=ADMIN,
            name="管理者",
            sections=[find_section(s, "国保医療課")],
            role="admin",
            now=clock.now(),
        )
        s.commit()
    return ADMIN


def row(db, row_id: int = 1) -> InboxEvent:
    with Session(db) as s:
        return s.get(InboxEvent, row_id)


def admin_notices(db) -> list[OutboxMessage]:
    with Session(db) as s:
        return [m for m in s.exec(select(OutboxMessage)).all() if m.kind == "notice"]


def store_as_an_earlier_version_did(db, clock, event: dict) -> int:
    """An inbox row written before bodies were cleaned: its JSON may hold what no driver can send."""
    with Session(db) as s:
        stored = InboxEvent(
            webhook_event_id=event["webhookEventId"],
            event_type=event["type"],
            event_timestamp=clock.now(),
            source_type="user",
            received_at=clock.now(),
            body=event,
        )
        s.add(stored)
        s.commit()
        return stored.id


def sweep(app, times: int) -> list[int]:
    """Sweep (every row counts as stale) TIMES, letting the worker handle what each sweep took."""
    events = services(app).events
    taken = []
    for _ in range(times):
        taken.append(events.sweep(stale_after=timedelta(0)))
        assert events.drain(timeout=30)
    return taken


def test_the_issues_event_a_lone_surrogate_user_id_is_set_aside_after_three_attempts(
    line, app, db, clock, admin
):
    """The issue's case: source.userId "\\ud800" raised while handling *and* while marking the row, so every
    sweep took it again (36 retries in 35 minutes, an error push each time)."""
    event = line.text(STRANGER, "オンライン申請率 18%")
    event["source"]["userId"] = LONE
    row_id = store_as_an_earlier_version_did(db, clock, event)

    assert sweep(app, 5) == [1, 1, 1, 0, 0]  # three attempts, then never taken again
    failed = row(db, row_id)
    assert failed.attempts == MAX_ATTEMPTS and failed.outcome == "failed"
    assert failed.failed_at == clock.now() and failed.handled_at == clock.now()
    assert failed.error_class == "UnicodeEncodeError"  # on SQLite and PostgreSQL alike
    # Kept for inspection without its text: what it was and whose, not what was said.
    assert failed.body["message"] == {"type": "text", "id": event["message"]["id"]}
    assert failed.body["source"] == {"type": "user", "userId": "\ufffd"}
    assert failed.body["webhookEventId"] == event["webhookEventId"]
    assert "オンライン申請率" not in json.dumps(failed.body, ensure_ascii=False)
    assert len(line.sender.sent) <= 1  # the error notice at most once, not on every retry
    [notice] = admin_notices(db)
    assert notice.recipients == [ADMIN] and "dxbot inbox failed" in notice.messages[0]["text"]


def test_a_handling_that_keeps_raising_tells_the_person_once_when_it_gives_up(
    line, app, db, staff, admin, monkeypatch, conversation
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(conversation, "respond", broken)
    event = line.text(staff, "オンライン申請率 44%")
    assert line.post(line.body(event)).status_code == 200
    first = row(db)
    assert (first.outcome, first.attempts, first.error_class, first.handled_at) == (
        "error",
        1,
        "RuntimeError",
        None,
    )
    assert line.sender.sent == []  # not yet: the next sweep tries again, and may well record it

    assert sweep(app, 3) == [1, 1, 0]
    failed = row(db)
    assert (failed.outcome, failed.attempts, failed.error_class) == ("failed", 3, "RuntimeError")
    [notice] = line.sender.sent  # the person is told once that nothing was recorded
    assert notice.to == (staff,) and "記録できませんでした" in notice.texts()[0]
    assert "44%" not in json.dumps(failed.body, ensure_ascii=False)

    # A second failure the same day: set aside too, the admins are not told again.
    line.post(line.body(line.text(staff, "オンライン申請率 45%")))
    assert sweep(app, 3) == [1, 1, 0]
    assert row(db, 2).outcome == "failed" and len(admin_notices(db)) == 1

    # LINE delivering a failed event again does not start it over: only `dxbot inbox retry` does.
    event["deliveryContext"]["isRedelivery"] = True
    line.post(line.body(event))
    assert row(db).outcome == "failed" and len(line.sender.sent) == 2


def test_a_transient_error_is_retried_and_recorded_without_an_error_notice(
    line, app, db, staff, monkeypatch, conversation
):
    real, calls = conversation.respond, []

    def once_broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a race another writer won")
        return real(*args, **kwargs)

    monkeypatch.setattr(conversation, "respond", once_broken)
    line.post(line.body(line.text(staff, "オンライン申請率 44%")))
    events = services(app).events
    assert events.sweep() == 1  # released by the failure: the next sweep takes it, not a minute later
    assert events.drain(timeout=30)
    assert events.sweep(stale_after=timedelta(0)) == 0
    handled = row(db)
    assert handled.outcome == "recorded" and handled.failed_at is None
    [answer] = line.sender.sent
    assert "記録しました" in answer.texts()[0]


def test_an_event_whose_marking_fails_too_is_set_aside_by_the_sweeps_count(
    line, app, db, admin, monkeypatch, conversation
):
    """Even when nothing can be written about a failed handling (or the process dies in it), the sweeps'
    count, kept by row id in their own UPDATE, bounds the retries."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(conversation, "respond", broken)
    monkeypatch.setattr(handling, "record_failure", lambda *args, **kwargs: False)  # marking lost
    line.post(line.body(line.event("follow", STRANGER)))
    assert row(db).attempts == 0 and row(db).outcome is None

    assert sweep(app, 5) == [1, 1, 1, 0, 0]
    failed = row(db)
    assert (failed.outcome, failed.attempts, failed.error_class) == ("failed", 3, "unfinished")
    assert line.sender.sent == [] and len(admin_notices(db)) == 1


def test_database_trouble_while_handling_does_not_count_towards_failing(line, app, db, monkeypatch):
    import bot.conversation.respond as conversation

    real = conversation.get_member

    def locked(session, who):
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    monkeypatch.setattr(conversation, "get_member", locked)
    line.post(line.body(line.event("follow", STRANGER)))
    assert sweep(app, 4) == [1, 1, 1, 1]  # each time the database, never the event
    waiting = row(db)
    assert waiting.attempts == 0 and waiting.failed_at is None and waiting.handled_at is None

    monkeypatch.setattr(conversation, "get_member", real)
    assert sweep(app, 2) == [1, 0]
    assert row(db).outcome == "help"


# --- seen from outside: /metrics, doctor, `dxbot inbox` ---------------------------------------------


def fail_one(line, app, monkeypatch, conversation, user: str = STRANGER) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(conversation, "respond", broken)
    line.post(line.body(line.text(user, "秘密の内容")))
    sweep(app, MAX_ATTEMPTS)
    monkeypatch.undo()


def metric(text: str, name: str, **labels) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_failed_events_are_counted_in_the_metrics_and_not_as_waiting(
    line, app, client, db, monkeypatch, conversation
):
    before = client.get("/metrics").get_data(as_text=True)
    fail_one(line, app, monkeypatch, conversation)
    after = client.get("/metrics").get_data(as_text=True)
    assert metric(after, "dxbot_inbox_failed_events") == 1
    assert metric(after, "dxbot_inbox_unhandled_events") == 0
    grew = (metric(after, "dxbot_webhook_events_total", type="message", outcome="failed") or 0) - (
        metric(before, "dxbot_webhook_events_total", type="message", outcome="failed") or 0
    )
    assert grew == 1


def test_doctor_warns_about_failed_events_and_does_not_fail_the_inbox_for_them(
    line, app, db, dxbot, monkeypatch, conversation
):
    fail_one(line, app, monkeypatch, conversation)
    result = dxbot("doctor", "--json")
    inbox = [f for f in json.loads(result.output)["findings"] if f["area"] == "inbox"]
    assert [f["level"] for f in inbox] == ["OK", "WARN"]
    assert inbox[0]["what"] == "no webhook event waiting to be handled"
    assert inbox[1]["what"] == "1 webhook event(s) could not be handled and were set aside as failed"
    assert "`dxbot inbox failed`" in inbox[1]["fix"] and "`dxbot inbox retry ID`" in inbox[1]["fix"]


def test_inbox_failed_lists_them_in_the_citys_time_and_retry_puts_one_back(
    line, app, db, dxbot, clock, monkeypatch, conversation
):
    assert dxbot("inbox", "failed").output == "no failed webhook events\n"
    fail_one(line, app, monkeypatch, conversation)
    [event_id] = [r.webhook_event_id for r in [row(db)]]
    listed = json.loads(dxbot("inbox", "failed", "--json").output)["events"]
    assert listed == [
        {
            "id": 1,
            "webhook_event_id": event_id,
            "type": "message",
            "attempts": 3,
            "error_class": "RuntimeError",
            "failed_at": "2026-11-24T10:00:00+09:00",
            "received_at": "2026-11-24T10:00:00+09:00",
        }
    ]
    text = dxbot("inbox", "failed").output
    assert text.startswith("1\t2026-11-24T10:00:00+09:00\tmessage\t3 attempts\tRuntimeError\t")
    assert "秘密" not in text

    result = dxbot("inbox", "retry", "1")
    assert result.exit_code == 0 and "queued again" in result.output and "text was not kept" in result.output
    assert sweep(app, 2) == [
        1,
        0,
    ]  # the fixed handling takes it; its text is gone, so it is only acknowledged
    handled = row(db)
    assert handled.failed_at is None and handled.handled_at is not None and handled.outcome == "ignored"
    assert dxbot("inbox", "failed").output == "no failed webhook events\n"


@pytest.mark.parametrize(
    ("row_id", "said"), [("99", "no webhook event with id 99"), ("1", "webhook event 1 is not failed")]
)
def test_inbox_retry_refuses_an_unknown_or_not_failed_id(line, db, dxbot, row_id, said):
    line.post(line.body(line.event("follow", STRANGER)))
    result = dxbot("inbox", "retry", row_id)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {said}") and len(result.output.splitlines()) == 1


# --- the migration ----------------------------------------------------------------------------------


def test_rows_an_earlier_version_marked_error_are_set_aside_not_replayed(database_url, tmp_path):
    """Before, a raised handling left outcome 'error' and no sweep took it again; this version's sweep
    would, so the migration sets such rows aside (and drops their bodies, which may hold text)."""
    from sqlalchemy import JSON, Boolean, String, column, insert, table

    from models import migrate
    from models.db import make_engine
    from models.types import AwareDateTime
    from tests.databases import fresh_database

    times = ("event_timestamp", "received_at", "stored_at", "handled_at")
    inbox = table(
        "inboxevent",
        *(column(name, AwareDateTime()) for name in times),
        *(column(name, String()) for name in ("webhook_event_id", "event_type", "outcome")),
        column("is_redelivery", Boolean()),
        column("body", JSON()),
    )
    at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    with fresh_database(database_url, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine, "7f3c9d2a5b18")
            with engine.begin() as conn:
                conn.execute(
                    insert(inbox),
                    [
                        {**dict.fromkeys(times, at), "webhook_event_id": event_id, "event_type": "message"}
                        | {
                            "handled_at": handled,
                            "outcome": outcome,
                            "is_redelivery": False,
                            "body": {"text": "x"},
                        }
                        for event_id, outcome, handled in (
                            ("01OLDERROR", "error", None),
                            ("01OLDOK", "help", at),
                        )
                    ],
                )
            migrate.upgrade(
                engine
            )  # through a6c1e93f0d24 (the backfill) to head: the ORM reads the newest table
            with Session(engine) as s:
                rows = {r.webhook_event_id: r for r in s.exec(select(InboxEvent)).all()}
        finally:
            engine.dispose()
    old = rows["01OLDERROR"]
    assert (old.outcome, old.error_class, old.attempts, old.body) == ("failed", "unknown", 1, None)
    assert old.failed_at == at and old.handled_at == at
    fine = rows["01OLDOK"]
    assert (fine.outcome, fine.failed_at, fine.attempts, fine.body) == ("help", None, 0, {"text": "x"})


def test_the_inspection_copy_keeps_ids_and_shape_but_no_text():
    from bot.inbox.dead_letter import inspection_copy

    event = {
        "type": "postback",
        "mode": "active",
        "timestamp": 1,
        "webhookEventId": new_event_id(),
        "replyToken": "token",
        "source": {"type": "group", "groupId": "C1", "userId": "U1", "extra": "x"},
        "deliveryContext": {"isRedelivery": True},
        "postback": {"data": "v1|kpi|3", "params": {"date": "2026-11-24"}},
        "message": {"type": "text", "id": "7", "text": "secret", "quoteToken": "q", "mention": {"m": 1}},
    }
    kept = inspection_copy(event)
    assert kept == {
        "type": "postback",
        "mode": "active",
        "timestamp": 1,
        "webhookEventId": event["webhookEventId"],
        "source": {"type": "group", "userId": "U1", "groupId": "C1"},
        "message": {"type": "text", "id": "7"},
        "deliveryContext": {"isRedelivery": True},
    }
    assert inspection_copy({"type": {"nested": "text"}, "source": "text"}) == {"type": None}
    assert inspection_copy("not an event") == {}


def test_sweeping_logs_no_message_text(line, app, db, monkeypatch, conversation, caplog):
    caplog.set_level(logging.DEBUG)
    fail_one(line, app, monkeypatch, conversation)
    assert "秘密の内容" not in caplog.text
