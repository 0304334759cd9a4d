"""Worker mode: /callback only stores events, and the `dxbot events` process handles them from the inbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.app import close_app, create_app
from bot.cli.events import Backoff
from models.tables import InboxEvent, KpiReport, TranscriptEntry
from tests.app_services import swap_services
from tests.bot.conftest import Line

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_line(config, db, clock, sender):
    """A web app in worker mode (DXBOT_WEBHOOK_HANDLING=worker) and a Line posting to it."""
    app = create_app(replace(config, webhook_handling="worker"))
    swap_services(app, sender=sender)
    yield Line(app.test_client(), config.effective_channel_secret, clock, sender)
    close_app(app)


def inbox(db) -> list[InboxEvent]:
    with Session(db) as s:
        return list(s.exec(select(InboxEvent).order_by(InboxEvent.id)).all())


def reports(db) -> list[tuple[int, bool]]:
    with Session(db) as s:
        rows = s.exec(select(KpiReport).order_by(KpiReport.id)).all()
        return [(int(r.value), r.voided_at is not None) for r in rows]


def start_events_process(
    database_url: str, log_path: Path, *extra: str, env: dict[str, str | None] | None = None
) -> subprocess.Popen:
    """`dxbot events` in a process of its own (ENV: variables to change; None unsets one)."""
    env = {
        **os.environ,
        "DXBOT_DATABASE_URL": database_url,
        "DXBOT_NOW": "2026-11-24T10:00:00+09:00",  # the tests' clock: the events' reply tokens are fresh
        "DXBOT_WEBHOOK_HANDLING": "worker",
        "DXBOT_SENDER": "console",
        "LINE_CHANNEL_ACCESS_TOKEN": "",
        "DXBOT_LOG_FORMAT": "json",
        **(env or {}),
    }
    env = {name: value for name, value in env.items() if value is not None and name != "DXBOT_ENV"}
    with log_path.open("w") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from bot.cli import main; main()",
                "events",
                "--poll",
                "0.05",
                "--nice",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate, what: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {timeout} s; events log:\n{log_path.read_text()}")


def test_the_web_only_stores_and_dxbot_events_handles_in_order(
    worker_line, db, staff, database_url, tmp_path
):
    first = worker_line.text(staff, "オンライン申請率 41%")
    second = worker_line.text(staff, "訂正 42%")
    second["timestamp"] += 1
    assert worker_line.post(worker_line.body(first)).status_code == 200
    assert worker_line.post(worker_line.body(second)).status_code == 200
    # Stored with their JSON, not handled: the web process answered LINE and did nothing else.
    assert [(r.handled_at, r.body is not None) for r in inbox(db)] == [(None, True), (None, True)]
    assert reports(db) == [] and worker_line.sender.sent == []

    log_path = tmp_path / "events.log"
    process = start_events_process(database_url, log_path)
    try:
        wait_for(lambda: all(r.handled_at is not None for r in inbox(db)), "handling both events", log_path)
        # In the order they were said: the correction replaces the first figure.
        assert reports(db) == [(41, True), (42, False)]
        with Session(db) as s:
            answers = s.exec(select(TranscriptEntry).order_by(TranscriptEntry.id)).all()
        assert [(a.kind, a.recipients) for a in answers] == [("reply", [staff]), ("reply", [staff])]
        assert [r.outcome for r in inbox(db)] == ["recorded", "recorded"]
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(30)
    assert exit_code == 0, log_path.read_text()
    # A redelivery of a handled event is only acknowledged, in worker mode too.
    first["deliveryContext"]["isRedelivery"] = True
    assert worker_line.post(worker_line.body(first)).status_code == 200
    assert len(inbox(db)) == 2 and inbox(db)[0].is_redelivery is False


def test_one_body_carrying_an_event_twice_stores_it_once(worker_line, db, staff):
    event = worker_line.text(staff, "オンライン申請率 41%")
    assert worker_line.post(worker_line.body(event, event)).status_code == 200
    [row] = inbox(db)
    assert row.webhook_event_id == event["webhookEventId"] and row.handled_at is None


def test_dxbot_events_refuses_to_run_beside_web_workers_that_handle_events(dxbot):
    result = dxbot("events", env={"DXBOT_WEBHOOK_HANDLING": "background"})
    assert result.exit_code == 2
    assert "DXBOT_WEBHOOK_HANDLING=worker" in result.output


def test_dxbot_events_refuses_to_start_without_the_line_token(database_url, db, tmp_path):
    """Outside development mode the sender is LINE's: without its token the process stops at once, in one line
    (it used to fall back to the console sender and "answer" everyone into its log)."""
    log_path = tmp_path / "events.log"
    process = start_events_process(database_url, log_path, env={"DXBOT_SENDER": None})
    try:
        exit_code = process.wait(30)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    assert exit_code == 2
    assert log_path.read_text().strip().splitlines() == [
        "error: LINE_CHANNEL_ACCESS_TOKEN is not set: the LINE sender cannot send "
        "(set it; or DXBOT_ENV=development for a local bot that prints instead)"
    ]


def test_the_events_process_backs_off_while_the_database_is_down():
    slept: list[float] = []
    backoff = Backoff(sleep=slept.append)
    for _ in range(7):
        backoff.after(ok=False)
    assert slept == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.after(ok=True) == 0  # one success: the next failure waits a second again
    backoff.after(ok=False)
    assert slept[-1] == 1


def test_the_inbox_poll_reads_the_partial_index_of_unhandled_rows(db):
    """Polled every 0.25 s in worker mode: it must not scan the years of handled rows."""
    from datetime import UTC, datetime

    from sqlalchemy.dialects import postgresql, sqlite

    from bot.inbox import unhandled_events

    query = unhandled_events(datetime.now(UTC))
    with db.connect() as connection:
        if connection.dialect.name == "sqlite":
            sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).fetchall()
            assert any("ix_inboxevent_unhandled" in row[-1] for row in plan), plan
        else:  # a tiny table is scanned whatever the indexes: ask the planner not to
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = connection.exec_driver_sql("EXPLAIN " + sql).fetchall()
            assert any("ix_inboxevent_unhandled" in row[0] for row in plan), plan


def test_a_second_events_process_stands_by_and_takes_over_when_the_first_stops(
    worker_line, db, staff, database_url, tmp_path
):
    """A deploy briefly runs the old and the new process together: only one may handle (order)."""
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_events_process(database_url, first_log, "--standby-poll", "0.2")
    second = None
    try:
        wait_for(
            lambda: "events process active" in first_log.read_text(), "the first taking the lease", first_log
        )
        second = start_events_process(database_url, second_log, "--standby-poll", "0.2")
        wait_for(lambda: "standing by" in second_log.read_text(), "the second standing by", second_log)
        event = worker_line.text(staff, "オンライン申請率 41%")
        assert worker_line.post(worker_line.body(event)).status_code == 200
        wait_for(lambda: reports(db) == [(41, False)], "the first handling the event", first_log)
        # The log line follows the commit the report came with: wait for it too.
        wait_for(lambda: "webhook event handled" in first_log.read_text(), "the first's log line", first_log)
        assert "webhook event handled" not in second_log.read_text()

        first.send_signal(signal.SIGTERM)  # releases the lease at once
        assert first.wait(30) == 0
        wait_for(
            lambda: "events process active" in second_log.read_text(), "the second taking over", second_log
        )
        correction = worker_line.text(staff, "訂正 42%")
        correction["timestamp"] += 1
        assert worker_line.post(worker_line.body(correction)).status_code == 200
        wait_for(lambda: reports(db) == [(41, True), (42, False)], "the second handling", second_log)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
