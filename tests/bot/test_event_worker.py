"""Background handling: LINE gets its 200 before the event is handled, and no acknowledged event is lost."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import timedelta

from sqlmodel import Session, select

from bot.app import close_app
from bot.webhook import accept_payload
from models.db import session_factory
from models.tables import InboxEvent, KpiReport


def reports(db) -> list[KpiReport]:
    with Session(db) as s:
        return list(s.exec(select(KpiReport).order_by(KpiReport.id)).all())


def post_without_waiting(line, body: dict):
    """POST as LINE does, without waiting for the event worker (Line.post waits)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return line.client.post(
        "/callback",
        data=data,
        headers={"Content-Type": "application/json", "X-Line-Signature": line.sign(data)},
    )


def test_line_gets_its_answer_before_the_event_is_handled(line, app, db, staff, monkeypatch):
    import bot.conversation.respond as respond_module

    release = threading.Event()
    real = respond_module.respond

    def slow(*args, **kwargs):
        assert release.wait(30), "the test never released the handler"
        return real(*args, **kwargs)

    monkeypatch.setattr(respond_module, "respond", slow)
    first = line.text(staff, "オンライン申請率 41%")
    second = line.text(staff, "訂正 42%")
    second["timestamp"] += 1
    started = time.monotonic()
    assert post_without_waiting(line, line.body(first)).status_code == 200
    assert post_without_waiting(line, line.body(second)).status_code == 200
    assert time.monotonic() - started < 10  # neither waited for the (blocked) handling
    assert reports(db) == [] and line.sender.sent == []
    with Session(db) as s:  # but both are safely stored
        assert len(s.exec(select(InboxEvent).where(InboxEvent.handled_at.is_(None))).all()) == 2

    release.set()
    assert app.extensions["dxbot"]["events"].drain(timeout=30)
    # Handled in the order they were said: the correction replaces the first figure.
    assert [(r.value, r.voided_at is not None) for r in reports(db)] == [(41, True), (42, False)]
    assert [r.kind for r in line.sender.sent] == ["reply", "reply"]


def test_events_a_stopped_worker_left_are_handled_by_the_next_one_exactly_once(line, config, db, staff):
    """A web worker killed with events queued: they are in the inbox, and the next worker's sweep takes them."""
    from bot.app import create_app
    from models.db import make_engine

    engine = make_engine(config.database_url)
    event = line.text(staff, "オンライン申請率 43%")
    stored = accept_payload(line.body(event), session_factory=session_factory(engine), clock=line.clock)
    assert len(stored) == 1  # acknowledged to LINE, then the process died before handling it
    engine.dispose()

    later = replace(config, now=(line.clock.now() + timedelta(minutes=2)).isoformat())
    successor = create_app(later)
    successor.extensions["dxbot"]["sender"] = line.sender
    worker = successor.extensions["dxbot"]["events"]
    try:
        worker.start()  # as a web worker does at boot: its first sweep looks for what was left
        deadline = time.monotonic() + 30
        while not reports(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker.drain(timeout=30)
        assert [r.value for r in reports(db)] == [43]
        [answer] = line.sender.sent
        assert answer.kind == "push"  # two minutes later the reply token has expired
        assert "記録しました" in answer.texts()[0]
        assert worker.sweep(stale_after=timedelta(0)) == 0
    finally:
        worker.stop()
        close_app(successor)
    assert len(reports(db)) == 1 and len(line.sender.sent) == 1


def test_an_event_whose_handling_fails_is_not_retried_by_the_sweep(line, app, db, staff, monkeypatch):
    """A bug (not database trouble) marks the event 'error': sweeping it again would fail again, for ever."""
    import bot.conversation.respond as respond_module

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(respond_module, "respond", broken)
    event = line.text(staff, "オンライン申請率 44%")
    assert line.post(line.body(event)).status_code == 200
    with Session(db) as s:
        [row] = s.exec(select(InboxEvent)).all()
    assert row.outcome == "error" and row.handled_at is None
    [notice] = line.sender.sent  # the person is told nothing was recorded
    assert "記録できませんでした" in notice.texts()[0]
    assert app.extensions["dxbot"]["events"].sweep(stale_after=timedelta(0)) == 0
