"""Background handling: LINE gets its 200 before the event is handled, and no acknowledged event is lost."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import timedelta

from sqlmodel import Session, select

from bot.app import close_app
from bot.line.handling import accept_payload
from bot.services import services
from models.db import session_factory
from models.tables import InboxEvent, KpiReport
from models.types import utcnow
from tests.app_services import swap_services


def reports(db) -> list[KpiReport]:
    with Session(db) as s:
        return list(s.exec(select(KpiReport).order_by(KpiReport.id)).all())


def claim(factory, row_id: int, now) -> bool:
    """What the real handling does last: mark the inbox row handled unless another process did (True: ours)."""
    from sqlalchemy import update

    from models.db import transaction

    with transaction(factory) as session:
        return (
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row_id, InboxEvent.handled_at.is_(None))
                .values(handled_at=now, outcome="recorded")
            ).rowcount
            == 1
        )


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
    assert services(app).events.drain(timeout=30)
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
    swap_services(successor, sender=line.sender)
    worker = services(successor).events
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


# --- answering first ----------------------------------------------------------------------------


def test_events_wait_while_the_process_is_answering_and_are_handled_once_it_is_not(line, app, db, staff):
    """A burst of webhooks: LINE's answers come first, the handling follows as soon as they pause."""
    events = services(app).events
    with events.answering():  # another /callback request of this process, still being answered
        assert (
            post_without_waiting(line, line.body(line.text(staff, "オンライン申請率 41%"))).status_code == 200
        )
        assert events.answers_in_progress == 1  # the post's own answer is over
        time.sleep(0.5)
        assert reports(db) == [] and line.sender.sent == []  # stored, waiting
    assert events.drain(timeout=30)
    assert [r.value for r in reports(db)] == [41]
    assert [r.kind for r in line.sender.sent] == ["reply"]  # still in time for the reply token


def test_callback_counts_as_answering_while_it_stores_even_when_storing_fails(
    line, app, db, staff, monkeypatch
):
    """From a valid signature to the answer; a request still being read or checked (perhaps a stranger's
    slow or forged one) does not hold the handling back."""
    import bot.line.edge as edge
    from bot.inbox import InboxUnavailable

    events = services(app).events
    seen = []
    checked = []
    real_check = edge.signature_is_valid

    def check(*args):
        checked.append(events.answers_in_progress)
        return real_check(*args)

    monkeypatch.setattr(edge, "signature_is_valid", check)
    assert (
        line.post(line.body(line.text(staff, "オンライン申請率 40%")), signature="forged").status_code == 400
    )
    real = edge.accept_payload

    def watched(*args, **kwargs):
        seen.append(events.answers_in_progress)
        return real(*args, **kwargs)

    monkeypatch.setattr(edge, "accept_payload", watched)
    assert line.post(line.body(line.text(staff, "オンライン申請率 41%"))).status_code == 200

    def broken(*args, **kwargs):
        seen.append(events.answers_in_progress)
        raise InboxUnavailable("database down")

    monkeypatch.setattr(edge, "accept_payload", broken)
    assert line.post(line.body(line.text(staff, "オンライン申請率 42%"))).status_code == 503
    assert seen == [1, 1] and events.answers_in_progress == 0
    assert checked == [
        0,
        0,
        0,
    ]  # the forged request and both signed ones, while their signatures were checked
    assert [r.value for r in reports(db)] == [41]


def test_an_event_waits_for_a_pause_in_the_answers_not_just_a_gap_between_two(db, clock):
    """Under a burst an answer ends and the next request comes a fraction of a millisecond later: an event
    handled in such a gap would hold the GIL for milliseconds while LINE waits. It waits for QUIET."""
    from bot.inbox import StoredEvent
    from bot.inbox.worker import EventWorker

    handled: list[float] = []
    worker = EventWorker(
        lambda e: handled.append(time.monotonic()),
        session_factory(db),
        clock.now,
        sweep_every=3600,
        quiet=1.0,
    )
    try:
        with worker.answering():
            worker.submit([StoredEvent(1, {}, "01TEST1", "message")])
        burst_ends = time.monotonic() + 1.5
        while time.monotonic() < burst_ends:  # answers back to back, with gaps far shorter than QUIET
            time.sleep(0.02)
            with worker.answering():
                time.sleep(0.01)
        last_answer = time.monotonic()
        assert handled == []  # not in any of the gaps
        assert worker.drain(timeout=30)
        assert handled[0] - last_answer >= 0.9  # a second after the last answer (timer slack aside)
    finally:
        worker.stop()


def test_an_event_waits_for_the_answers_at_most_max_defer_and_a_stop_does_not_wait_at_all(db, clock):
    """A burst longer than MAX_DEFER: the handling goes on anyway (the reply token must not expire)."""
    from bot.inbox import StoredEvent
    from bot.inbox.worker import EventWorker

    handled: list[tuple[int, float]] = []
    worker = EventWorker(
        lambda e: handled.append((e.row_id, time.monotonic())),
        session_factory(db),
        clock.now,
        sweep_every=3600,
        max_defer=2.0,
    )
    with worker.answering():  # and it never ends
        submitted = time.monotonic()
        worker.submit([StoredEvent(1, {}, "01TEST1", "message")])
        assert worker.drain(timeout=30)
        [(row_id, at)] = handled
        assert row_id == 1 and 2.0 <= at - submitted < 15

        worker.submit([StoredEvent(2, {}, "01TEST2", "message")])  # waits its own 2 s …
        time.sleep(0.2)  # (taken from the queue, waiting)
        stopping = time.monotonic()
        worker.stop(timeout=10)  # … or not at all once the process stops: handled, and the thread ends
        assert time.monotonic() - stopping < 1.5
    assert [row for row, _ in handled] == [1, 2]


def test_an_event_another_process_swept_and_handled_while_it_waited_here_is_not_handled_again(
    line, config, db, staff
):
    """Two web workers with a backlog older than STALE_AFTER: the idle one's sweep takes rows still queued
    in the busy one; the busy one then skips those (their handling would only roll back)."""
    from bot.inbox.worker import EventWorker
    from models.db import make_engine

    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    events = [line.text(staff, f"オンライン申請率 {n}%") for n in (41, 42, 43)]
    for n, event in enumerate(events):
        event["timestamp"] += n
    stored = accept_payload(line.body(*events), session_factory=factory, clock=line.clock)
    rows = [s.row_id for s in stored]
    calls: list[tuple[str, int, bool]] = []
    busy_release, busy_started = threading.Event(), threading.Event()

    def handler(name: str):
        def handle(event) -> None:
            if name == "busy" and event.row_id == rows[0]:
                busy_started.set()
                assert busy_release.wait(30)
            calls.append((name, event.row_id, claim(factory, event.row_id, line.clock.now())))

        return handle

    busy = EventWorker(handler("busy"), factory, line.clock.now, sweep_every=3600, stale_after=timedelta(0))
    idle = EventWorker(handler("idle"), factory, line.clock.now, sweep_every=3600)
    try:
        busy.start()  # its first sweep queues all three; it hangs on the first
        assert busy_started.wait(30)
        assert idle.sweep(stale_after=timedelta(0)) == 3
        assert idle.drain(timeout=30)
        busy_release.set()
        assert busy.drain(timeout=30)
    finally:
        busy_release.set()
        busy.stop()
        idle.stop()
        engine.dispose()
    assert sorted(row for _, row, claimed in calls if claimed) == rows  # each handled exactly once
    assert [(name, row) for name, row, _ in calls if name == "busy"] == [("busy", rows[0])]


def test_rows_another_process_swept_are_skipped_by_the_busy_one_and_left_alone_by_other_sweeps(
    line, config, db, staff
):
    """A backlog older than STALE_AFTER: the idle worker's sweep takes rows the busy one has queued and is
    still to reach. The busy one skips them instead of handling them at the same time (its handling would
    only roll back, after all the work: in the benchmark 7,566 of 42,411 handlings were such duplicates),
    and a third worker's sweep leaves them to the idle one until they are stale again."""
    from sqlalchemy import update

    from bot.inbox.worker import EventWorker
    from models.db import make_engine, transaction

    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    events = [line.text(staff, f"オンライン申請率 {n}%") for n in (41, 42, 43)]
    for n, event in enumerate(events):
        event["timestamp"] += n
    stored = accept_payload(line.body(*events), session_factory=factory, clock=line.clock)
    rows = [s.row_id for s in stored]
    with transaction(factory) as session:  # an hour's backlog
        session.execute(
            update(InboxEvent).values(
                received_at=line.clock.now() - timedelta(hours=1), stored_at=utcnow() - timedelta(hours=1)
            )
        )
    calls: list[tuple[str, int, bool]] = []
    gates = {name: (threading.Event(), threading.Event()) for name in ("busy", "idle")}  # started, release

    def handler(name: str):
        def handle(event) -> None:
            started, release = gates[name]
            if not started.is_set():  # each worker's first handling waits to be let go
                started.set()
                assert release.wait(30)
            calls.append((name, event.row_id, claim(factory, event.row_id, line.clock.now())))

        return handle

    busy = EventWorker(handler("busy"), factory, line.clock.now, sweep_every=3600, stale_after=timedelta(0))
    idle = EventWorker(handler("idle"), factory, line.clock.now, sweep_every=3600)
    third = EventWorker(lambda e: None, factory, line.clock.now, sweep_every=3600)
    # The busy one's own sweep is not under test: its thread's first sweep (on start) would race the
    # submit below and take the rows not yet queued there as its own.
    busy.sweep = lambda **_: 0
    try:
        busy.submit(stored)  # as its /callback does; it hangs on the first
        assert gates["busy"][0].wait(30)
        assert idle.sweep() == 3  # all unhandled and an hour old: the busy one's first too
        assert gates["idle"][0].wait(30)  # …and it is on that one (the one double handling left)
        assert third.sweep() == 0  # just swept by another process
        gates["busy"][1].set()  # the busy one finishes its first and comes to the swept two
        assert busy.drain(timeout=30)
        gates["idle"][1].set()
        assert idle.drain(timeout=30)
        with Session(db) as s:
            marks = {r.id: r.swept_by for r in s.exec(select(InboxEvent)).all()}
        assert set(marks.values()) == {idle.name}
    finally:
        for gate in gates.values():
            gate[1].set()
        for worker in (busy, idle, third):
            worker.stop()
        engine.dispose()
    assert [(name, row) for name, row, _ in calls if name == "busy"] == [("busy", rows[0])]
    assert sorted((row, name) for name, row, claimed in calls if claimed) == [
        (rows[0], "busy"),
        (rows[1], "idle"),
        (rows[2], "idle"),
    ]  # each handled exactly once, and never twice at the same time


def test_rows_a_stopped_process_left_are_swept_under_a_frozen_clock_too(line, config, db, staff):
    """DXBOT_NOW frozen (simulations, the benchmarks): rows never grow old by the app's clock, so the
    sweep also goes by when they were stored by the real one."""
    from bot.inbox.worker import EventWorker
    from models.db import make_engine

    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    accept_payload(
        line.body(line.text(staff, "オンライン申請率 44%")), session_factory=factory, clock=line.clock
    )
    worker = EventWorker(
        lambda e: None, factory, line.clock.now, sweep_every=3600, stale_after=timedelta(seconds=1)
    )
    try:
        assert worker.sweep() == 0  # just arrived, by either clock
        time.sleep(1.2)
        assert worker.sweep() == 1  # a second later by the real one: left behind
        assert worker.drain(timeout=30)
    finally:
        worker.stop()
        engine.dispose()


def test_a_backlog_larger_than_a_sweep_batch_is_swept_batch_after_batch_under_a_frozen_clock(
    line, config, db, staff
):
    """A recycled web worker left more rows than one sweep takes (the benchmark left 2,713): once they are
    old by the real clock, every batch is taken at once, not one batch per staleness period."""
    from bot.inbox.worker import SWEEP_BATCH, EventWorker
    from models.db import make_engine

    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    left = SWEEP_BATCH * 2 + SWEEP_BATCH // 2
    events = [line.text(staff, f"オンライン申請率 {n % 90}%") for n in range(left)]
    assert len(accept_payload(line.body(*events), session_factory=factory, clock=line.clock)) == left

    def handle(event) -> None:
        claim(factory, event.row_id, line.clock.now())

    worker = EventWorker(handle, factory, line.clock.now, sweep_every=3600, stale_after=timedelta(seconds=1))
    try:
        time.sleep(1.2)  # stored over a second ago by the real clock; the app's clock has not moved
        for _ in range(3):  # three batches' worth, one sweep each, in quick succession
            worker.sweep()
            assert worker.drain(timeout=30)
    finally:
        worker.stop()
        engine.dispose()
    with Session(db) as s:
        assert not s.exec(select(InboxEvent).where(InboxEvent.handled_at.is_(None))).all()


def test_a_stop_that_runs_out_of_time_finishes_the_event_in_hand_and_releases_the_rest(
    line, config, db, staff, monkeypatch
):
    """A graceful stop (gunicorn recycling a worker, a deploy) gives the queue DRAIN_AT_EXIT seconds. The
    event being handled when they are up is finished before the process goes — leaving mid-event lost
    the reply to an event already recorded (the benchmark: one in 63,512) — and the ones behind it are
    not started: they stay unhandled in the inbox, released, so the next sweep takes them at once and
    not a minute later (when a push, which costs quota, would have to replace the expired reply) — all
    but those another process's sweep took meanwhile: they are queued there."""
    from sqlalchemy import update

    import bot.inbox.worker as event_worker
    from bot.inbox.worker import EventWorker
    from models.db import make_engine, transaction

    monkeypatch.setattr(event_worker, "DRAIN_AT_EXIT_SECONDS", 0.2)
    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    events = [line.text(staff, f"オンライン申請率 {n}%") for n in (45, 46, 47)]
    stored = accept_payload(line.body(*events), session_factory=factory, clock=line.clock)
    started, finished = threading.Event(), []

    def handle(event) -> None:
        started.set()
        time.sleep(1.0)  # the reply call, say
        finished.append(event.webhook_event_id)

    worker = EventWorker(handle, factory, line.clock.now, sweep_every=3600)
    try:
        worker.submit(stored)
        assert started.wait(10)
        with transaction(factory) as session:  # another process's sweep takes the third meanwhile
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == stored[2].row_id)
                .values(swept_by="elsewhere:1", swept_at=utcnow())
            )
        worker._drain_at_exit()  # what atexit runs
        assert finished == [stored[0].webhook_event_id]
        time.sleep(1.2)
        assert finished == [stored[0].webhook_event_id]  # the others were never started
        successor = EventWorker(lambda e: None, factory, line.clock.now, sweep_every=3600)
        try:  # seconds old, not STALE_AFTER (a minute): only its release makes the second sweepable
            assert successor.sweep() == 1
            assert successor.drain(timeout=30)
        finally:
            successor.stop()
        with Session(db) as s:  # now the successor's, like any swept row: other sweeps leave it alone
            assert s.get(InboxEvent, stored[1].row_id).swept_by == successor.name
            assert s.get(InboxEvent, stored[2].row_id).swept_by == "elsewhere:1"
    finally:
        worker.stop()
        engine.dispose()
