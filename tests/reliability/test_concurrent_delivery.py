"""The same webhook delivered five times at once (LINE's retries racing each other) is applied once.

The app runs in a real threaded server on 127.0.0.1 against the test database; five threads post the
same signed body at the same moment (a barrier), several rounds in a row. Every round must end with
exactly one KPI report, one inbox row and one answer, on SQLite and on PostgreSQL — with the events
handled by the event worker after the answer (the default), and inline before it (where the copies race
each other inside the handling transaction).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from sqlmodel import Session, select
from werkzeug.serving import make_server

from bot.app import close_app
from bot.services import services
from models.tables import InboxEvent, KpiReport
from tests.app_services import swap_services
from tests.reliability.conftest import STAFF

COPIES = 5
ROUNDS = 6


@pytest.fixture(params=["background", "inline"])
def live(app, sender, request):
    """The app served by werkzeug on a free loopback port (threaded), with the recording sender."""
    swap_services(app, sender=sender, config=replace(services(app).config, webhook_handling=request.param))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        close_app(app)


def post(url: str, data: bytes, signature: str) -> int:
    request = urllib.request.Request(
        f"{url}/callback",
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def post_at_once(url: str, data: bytes, signature: str, copies: int = COPIES) -> list[int]:
    """Post DATA from COPIES threads released together; the statuses, in no particular order."""
    barrier = threading.Barrier(copies)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            statuses.append(post(url, data, signature))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


def handled(app) -> None:
    """Wait for the event worker (background mode) to finish what the posts queued."""
    assert services(app).events.drain(timeout=60)


def test_the_same_kpi_reply_delivered_five_times_at_once_is_recorded_and_answered_once(
    live, app, line, db, staff
):
    for number in range(ROUNDS):
        line.sender.clear()
        event = line.text(STAFF, f"オンライン申請率 {18 + number}%")
        data = json.dumps(line.body(event), ensure_ascii=False).encode("utf-8")
        statuses = post_at_once(live, data, line.sign(data))
        # LINE only needs a 2xx; a 503 would be fine too (it redelivers) but must not be needed here.
        assert statuses == [200] * COPIES, (number, statuses)
        handled(app)
        with Session(db) as s:
            reports = s.exec(select(KpiReport).where(KpiReport.source_text.contains(f"{18 + number}%"))).all()
            inbox = s.exec(
                select(InboxEvent).where(InboxEvent.webhook_event_id == event["webhookEventId"])
            ).all()
        assert len(reports) == 1, (number, [(r.id, r.value) for r in reports])
        assert len(inbox) == 1 and inbox[0].handled_at is not None
        answers = line.sender.sent
        assert len(answers) == 1, (number, [a.kind for a in answers])
        assert answers[0].kind == "reply" and "記録しました" in answers[0].texts()[0]
    with Session(db) as s:
        assert len(s.exec(select(KpiReport)).all()) == ROUNDS


def test_a_redelivery_racing_the_first_delivery_is_applied_once(live, app, line, db, staff):
    """LINE redelivers (isRedelivery) while the first delivery is still being handled."""
    for number in range(ROUNDS):
        line.sender.clear()
        event = line.text(STAFF, f"オンライン申請率 {30 + number}%")
        first = json.dumps(line.body(event), ensure_ascii=False).encode("utf-8")
        again = dict(event, deliveryContext={"isRedelivery": True})
        second = json.dumps(line.body(again), ensure_ascii=False).encode("utf-8")
        barrier = threading.Barrier(COPIES)
        statuses: list[int] = []

        def worker(data: bytes, barrier=barrier, statuses=statuses):
            barrier.wait(timeout=10)
            statuses.append(post(live, data, line.sign(data)))

        threads = [
            threading.Thread(target=worker, args=(first if n == 0 else second,)) for n in range(COPIES)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert statuses == [200] * COPIES
        handled(app)
        with Session(db) as s:
            reports = s.exec(select(KpiReport).where(KpiReport.source_text.contains(f"{30 + number}%"))).all()
        assert len(reports) == 1, number
        assert len(line.sender.sent) == 1, (number, [a.kind for a in line.sender.sent])
