"""Delivery against a local HTTP server standing in for LINE: retries, backoff, refusals, crashes, races.

The fake LINE keeps every request (path, headers, body) and, like LINE, answers 409 to a retry key it
has already accepted; a script of answers per call lets a test make it fail first.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi
from sqlmodel import select

import scheduler.delivery as delivery
from messages.line_sender import LineSender
from messages.model import Text
from models.db import session_factory
from models.tables import Member, OutboxMessage
from scheduler.delivery import LEASE, MAX_ATTEMPTS, backoff, deliver_due
from scheduler.outbox import enqueue

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
TOKEN = "test-channel-token"
ADMIN = "U" + "ad" * 16
MONTHLY = (429, {"message": "You have reached your monthly limit."})
RATE = (429, {"message": "The API rate limit has been exceeded. Try again later."})


def user(n: int) -> str:
    return f"U{n:032x}"


@dataclass
class Call:
    """One request the fake LINE received, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    status: int = 0

    @property
    def retry_key(self) -> str | None:
        return self.headers.get("x-line-retry-key")


@dataclass
class FakeLine:
    """A tiny LINE Messaging API on 127.0.0.1: push, multicast, quota; 409 for an accepted retry key."""

    script: list = field(default_factory=list)  # answers to the next sends: (status, body), "ok" or "slow"
    quota: dict = field(default_factory=lambda: {"type": "none"})
    usage: int = 0
    delay: float = 0.0  # how late a "slow" answer comes
    send_delay: float = 0.0  # how long every send takes
    calls: list[Call] = field(default_factory=list)
    accepted: Counter = field(default_factory=Counter)  # retry key → deliveries LINE accepted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeLine:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = Call(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                status, body = fake.respond(call)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("x-line-request-id", f"req-{len(fake.calls)}")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def respond(self, call: Call) -> tuple[int, dict]:
        with self.lock:
            self.calls.append(call)
            if call.path == "/v2/bot/message/quota":
                call.status = 200
                return 200, self.quota
            if call.path == "/v2/bot/message/quota/consumption":
                call.status = 200
                return 200, {"totalUsage": self.usage}
            if call.headers.get("authorization") != f"Bearer {TOKEN}":
                call.status = 401
                return 401, {"message": "Authentication failed"}
            answer = self.script.pop(0) if self.script else "ok"
            key = call.retry_key
            if answer in ("ok", "slow") and key and self.accepted[key]:
                answer = (409, {"message": "The retry key is already accepted"})
            if answer in ("ok", "slow"):
                self.accepted[key] += 1
                result = (200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
            else:
                result = answer
            call.status = result[0]
        if answer == "slow":  # accepted, but the answer comes too late for the client
            time.sleep(self.delay)
        time.sleep(self.send_delay)
        return result

    def sends(self) -> list[Call]:
        return [c for c in self.calls if c.path in ("/v2/bot/message/push", "/v2/bot/message/multicast")]

    def deliveries(self) -> int:
        """Requests LINE accepted (and its users received): each retry key at most once, or it is a bug."""
        return sum(self.accepted.values())


@pytest.fixture
def line():
    fake = FakeLine().start()
    yield fake
    fake.stop()


@pytest.fixture
def api(line):
    with ApiClient(Configuration(access_token=TOKEN, host=line.url)) as client:
        yield MessagingApi(client)


@pytest.fixture
def line_sender(api):
    """The production sender over the fake LINE (its default timeouts)."""
    return LineSender(api)


class MovableClock:
    """A clock a test moves forward (retries and leases need time to pass)."""

    tz = TOKYO

    def __init__(self, moment: datetime = NOW):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


@pytest.fixture
def moving():
    return MovableClock()


@pytest.fixture
def factory(db):
    return session_factory(db)


def queue(factory, key: str, recipients: list[str], messages=None, **kwargs) -> list[OutboxMessage]:
    with factory() as session:
        rows = enqueue(
            session,
            job=kwargs.pop("job", "kpi-request"),
            kind=kwargs.pop("kind", "kpi-request"),
            dedup_key=key,
            recipients=recipients,
            messages=messages or [Text("KPIの報告をお願いします")],
            not_before=kwargs.pop("not_before", NOW),
            now=NOW,
            **kwargs,
        )
        session.commit()
        return rows


def row(factory, row_id: int) -> OutboxMessage:
    with factory() as session:
        return session.get(OutboxMessage, row_id)


def rows(factory) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_push_for_one_multicast_for_many_with_retry_keys(factory, line_sender, line, moving):
    flex = {
        "type": "flex",
        "altText": "KPIの報告のお願い",
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "報告"}]},
        },
        "quickReply": {
            "items": [{"type": "action", "action": {"type": "message", "label": "18%", "text": "18%"}}]
        },
    }
    one = queue(factory, "push", [user(1)], [flex])[0]
    many = queue(factory, "multicast", [user(n) for n in range(2, 1203)])
    report = deliver_due(factory, line_sender, moving)
    assert len(report.sent) == 4 and not report.failed
    sends = line.sends()
    assert [c.path for c in sends] == ["/v2/bot/message/push"] + ["/v2/bot/message/multicast"] * 3
    assert sends[0].body["to"] == user(1)
    assert sends[0].body["messages"] == [flex]  # exactly what was queued, after the SDK round trip
    assert [len(c.body["to"]) for c in sends[1:]] == [500, 500, 201]
    assert [c.retry_key for c in sends] == [one.retry_key] + [r.retry_key for r in many]
    assert all(r.status == "sent" and r.sent_at == NOW and r.attempts == 1 for r in rows(factory))
    assert line.deliveries() == 4


def test_500_then_200_is_one_delivery_with_the_same_retry_key(factory, line_sender, line, moving):
    queued = queue(factory, "k", [user(1)])[0]
    line.script = [(500, {"message": "Internal server error"})]
    report = deliver_due(factory, line_sender, moving)
    assert report.retrying == [queued.id]
    first = row(factory, queued.id)
    assert first.status == "pending" and first.attempts == 1
    assert first.next_attempt_at == NOW + timedelta(minutes=1)
    assert "500" in first.error

    assert deliver_due(factory, line_sender, moving).sent == []  # still backing off
    moving.advance(timedelta(minutes=1))
    assert deliver_due(factory, line_sender, moving).sent == [queued.id]
    assert [c.retry_key for c in line.sends()] == [queued.retry_key, queued.retry_key]
    assert line.deliveries() == 1
    done = row(factory, queued.id)
    assert done.status == "sent" and done.attempts == 2 and done.error is None


def test_429_backs_off_then_delivers(factory, line_sender, line, moving):
    queued = queue(factory, "k", [user(1), user(2)])[0]
    line.script = [RATE, RATE]
    deliver_due(factory, line_sender, moving)
    after_one = row(factory, queued.id)
    assert (after_one.status, after_one.attempts) == ("pending", 1)
    assert after_one.next_attempt_at == NOW + timedelta(minutes=1)
    moving.advance(timedelta(minutes=1))
    deliver_due(factory, line_sender, moving)
    after_two = row(factory, queued.id)
    assert after_two.attempts == 2 and after_two.next_attempt_at == moving.now() + timedelta(minutes=2)
    moving.advance(timedelta(minutes=2))
    assert deliver_due(factory, line_sender, moving).sent == [queued.id]
    assert len({c.retry_key for c in line.sends()}) == 1 and line.deliveries() == 1


def test_backoff_grows_to_an_hour_and_gives_up(factory, line_sender, line, moving):
    assert [backoff(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 60, 60, 60)
    ]
    queued = queue(factory, "k", [user(1)])[0]
    line.script = [(503, {"message": "Service unavailable"})] * MAX_ATTEMPTS
    for _attempt in range(MAX_ATTEMPTS):
        deliver_due(factory, line_sender, moving)
        moving.advance(timedelta(hours=1))
    failed = row(factory, queued.id)
    assert failed.status == "failed" and failed.attempts == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in failed.error
    deliver_due(factory, line_sender, moving)
    assert len(line.sends()) == MAX_ATTEMPTS


def test_409_counts_as_sent(factory, line_sender, line, moving):
    queued = queue(factory, "k", [user(1)])[0]
    line.accepted[queued.retry_key] = 1  # LINE accepted it before (say, just before a crash)
    report = deliver_due(factory, line_sender, moving)
    assert report.sent == report.already_accepted == [queued.id]
    assert row(factory, queued.id).status == "sent"
    assert line.deliveries() == 1


def test_400_fails_with_lines_message_and_is_never_retried(factory, line_sender, line, moving):
    queued = queue(factory, "k", [user(1)])[0]
    line.script = [
        (
            400,
            {
                "message": "The request body has 1 error(s)",
                "details": [{"message": "May not be empty", "property": "messages[0].text"}],
            },
        )
    ]
    report = deliver_due(factory, line_sender, moving)
    assert report.failed == [queued.id]
    failed = row(factory, queued.id)
    assert failed.status == "failed"
    assert "400" in failed.error and "The request body has 1 error(s)" in failed.error
    assert "messages[0].text: May not be empty" in failed.error
    moving.advance(timedelta(days=1))
    deliver_due(factory, line_sender, moving)
    assert len(line.sends()) == 1


def test_monthly_limit_is_not_retried_and_admins_are_told(factory, line_sender, line, moving):
    with factory() as session:
        session.add(Member(line_user_id=ADMIN, display_name="デジタル情報課", role="admin"))
        session.commit()
    first = queue(factory, "a", [user(1)])[0]
    second = queue(factory, "b", [user(2)])[0]
    line.script = [MONTHLY]
    report = deliver_due(factory, line_sender, moving)
    assert report.failed == [first.id] and report.stopped
    assert len(line.sends()) == 1  # the run stopped: the rest would hit the same limit
    failed = row(factory, first.id)
    assert failed.status == "failed" and "monthly limit" in failed.error
    assert row(factory, second.id).status == "pending"
    notices = [r for r in rows(factory) if r.kind == "notice"]
    assert len(notices) == 1
    assert notices[0].recipients == [ADMIN] and notices[0].status == "pending"
    assert "上限" in notices[0].messages[0]["text"]

    moving.advance(timedelta(hours=2))
    line.script = [MONTHLY]
    deliver_due(factory, line_sender, moving)  # another row hits the limit the same day: no second notice
    assert len([r for r in rows(factory) if r.kind == "notice"]) == 1
    assert row(factory, first.id).attempts == 1


def test_crash_between_send_and_commit_resends_with_the_same_key_and_delivers_once(
    factory, line_sender, line, moving, monkeypatch
):
    queued = queue(factory, "k", [user(1), user(2)])[0]

    def crash(*args, **kwargs):
        raise RuntimeError("the clock process died after LINE accepted the request")

    monkeypatch.setattr(delivery, "_record_outcome", crash)
    with pytest.raises(RuntimeError):
        deliver_due(factory, line_sender, moving)
    monkeypatch.undo()
    after_crash = row(factory, queued.id)
    assert after_crash.status == "pending" and after_crash.sent_at is None  # not lost
    assert after_crash.next_attempt_at == NOW + LEASE

    assert deliver_due(factory, line_sender, moving).sent == []  # the lease still holds
    moving.advance(LEASE)
    report = deliver_due(factory, line_sender, moving)
    assert report.sent == report.already_accepted == [queued.id]
    assert [c.retry_key for c in line.sends()] == [queued.retry_key] * 2
    assert [c.status for c in line.sends()] == [200, 409]
    assert line.deliveries() == 1  # exactly one delivery reached the users
    assert row(factory, queued.id).status == "sent"


def test_a_timeout_after_line_accepted_is_retried_safely(factory, api, line, moving):
    line_sender = LineSender(api, timeout=(2, 0.3))
    queued = queue(factory, "k", [user(1)])[0]
    line.script, line.delay = ["slow"], 1.0
    report = deliver_due(factory, line_sender, moving)
    assert report.retrying == [queued.id]
    assert "could not be reached" in row(factory, queued.id).error
    moving.advance(timedelta(minutes=1))
    assert deliver_due(factory, line_sender, moving).sent == [queued.id]
    assert line.deliveries() == 1


def test_no_connection_is_retried(factory, line_sender, moving, db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queued = queue(factory, "k", [user(1)])[0]
    configuration = Configuration(access_token=TOKEN, host=f"http://127.0.0.1:{port}")
    configuration.retries = 0
    with ApiClient(configuration) as client:
        report = deliver_due(factory, LineSender(MessagingApi(client)), moving)
    assert report.retrying == [queued.id]
    assert row(factory, queued.id).attempts == 1


def test_two_deliverers_never_send_a_row_twice(factory, line_sender, line, moving, monkeypatch):
    queued = [queue(factory, f"k{n}", [user(n)])[0] for n in range(1, 31)]
    line.send_delay = 0.005
    deliverers = 3
    everyone_has_looked = threading.Barrier(deliverers, timeout=30)
    real_due_rows = delivery.due_rows

    def due_rows_then_wait(*args, **kwargs):
        found = real_due_rows(*args, **kwargs)
        everyone_has_looked.wait()  # every deliverer sees all 30 rows as due before anyone sends
        return found

    monkeypatch.setattr(delivery, "due_rows", due_rows_then_wait)
    reports, errors = [], []

    def run() -> None:
        try:
            reports.append(deliver_due(factory, line_sender, moving))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(deliverers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    keys = [c.retry_key for c in line.sends()]
    assert sorted(keys) == sorted(r.retry_key for r in queued)  # each row sent exactly once
    assert {c.status for c in line.sends()} == {200}
    assert sorted(i for report in reports for i in report.sent) == [r.id for r in queued]
    assert sum(len(report.skipped) for report in reports) == 30 * (deliverers - 1)
    assert {r.status for r in rows(factory)} == {"sent"}


def test_a_line_sender_is_used_through_its_api(factory, line_sender, line, moving):
    queued = queue(factory, "k", [user(1)])[0]
    assert deliver_due(factory, line_sender, moving).sent == [queued.id]
    assert line.sends()[0].retry_key == queued.retry_key


def test_large_fan_out_checks_the_quota_and_warns(factory, line_sender, line, moving):
    with factory() as session:
        session.add(Member(line_user_id=ADMIN, display_name="デジタル情報課", role="admin"))
        session.commit()
    line.quota, line.usage = {"type": "limited", "value": 1000}, 900
    assert line_sender.quota_left() == 100
    queue(factory, "digest", [user(n) for n in range(1, 602)])
    report = deliver_due(factory, line_sender, moving)
    assert report.quota_warning and "100" in report.quota_warning
    assert len(report.sent) == 2  # still sent: LINE refuses only what does not fit
    notices = [r for r in rows(factory) if r.kind == "notice"]
    assert len(notices) == 1 and notices[0].dedup_key == "notice:quota:2026-11-24"
    assert any(c.path == "/v2/bot/message/quota/consumption" for c in line.calls)


def test_small_runs_do_not_ask_for_the_quota_and_unlimited_is_none(factory, line_sender, line, moving):
    queue(factory, "k", [user(1)])
    deliver_due(factory, line_sender, moving)
    assert all("quota" not in c.path for c in line.calls)
    assert line_sender.quota_left() is None
