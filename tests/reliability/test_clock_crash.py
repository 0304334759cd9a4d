"""kill -9 of the clock in the middle of a fan-out, then a restart: every recipient gets it exactly once.

A real `dxbot clock` subprocess delivers the KPI request round (queued by the real job) to a mock LINE
server in this process. The mock behaves like LINE where it matters: it accepts a request, counts it for
each recipient and only then answers; a repeated X-Line-Retry-Key is refused with 409 ("already
accepted"). The clock is killed with SIGKILL while LINE is answering one request, so that request was
delivered but never recorded as sent — the window no local bookkeeping can close. After the restart the
clock resends that row under the same retry key, LINE answers 409, and nobody gets it twice.

Time is moved the way it passes in production: the dead clock's lease runs out (its expiry is set in
the past), the restarted clock's DXBOT_NOW is later than the in-flight row's claim, and the delivery
job is due (a missed run, which a restarted clock runs once at start).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import update
from sqlmodel import Session, select

from models.clock import FrozenClock
from models.db import session_factory
from models.kpi_status import reporting_sections
from models.members import add_member
from models.tables import ClockLease, Member, OutboxMessage, Section
from scheduler.clock import configure, sync_jobs
from scheduler.delivery import LEASE
from scheduler.jobs import kpi_request
from scheduler.schedule import load_schedule
from tests.conftest import NOW, TOKYO

TOKEN = "dummy-channel-token"
KILL_AT = 8  # SIGKILL while LINE answers the 8th request
PER_SECTION = 2
START_TIMEOUT = 60  # seconds for a clock to start and run its missed delivery (slow CI machines)


class MockLine:
    """LINE's push/multicast/quota on 127.0.0.1: counts what each recipient received; 409 for a reused retry key."""

    def __init__(self, *, kill_at: int, slow: float = 1.5, delay: float = 0.02):
        self.kill_at, self.slow, self.delay = kill_at, slow, delay
        self.lock = threading.Lock()
        self.accepted_keys: set[str] = set()
        self.received: Counter[str] = Counter()  # recipient → requests accepted for them
        self.statuses: list[tuple[str | None, int]] = []  # (retry key, status) of every send
        self.accepted = 0
        self.reached = threading.Event()  # set while the KILL_AT-th accepted request awaits its answer
        self.unauthorised = 0

    def start(self) -> MockLine:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path.endswith("/quota/consumption"):
                    self._json(200, {"totalUsage": 0})
                else:
                    self._json(200, {"type": "none"})

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    mock.unauthorised += 1
                    return self._json(401, {"message": "Authentication failed"})
                status, wait = mock.take(self.path, self.headers.get("X-Line-Retry-Key"), json.loads(raw))
                time.sleep(wait)
                if status == 409:
                    return self._json(409, {"message": "The retry key is already accepted"})
                self._json(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the clock was killed meanwhile
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def take(self, path: str, key: str | None, body: dict) -> tuple[int, float]:
        """Accept (and count) a send unless its retry key was accepted before; how long to take answering."""
        with self.lock:
            if key and key in self.accepted_keys:
                self.statuses.append((key, 409))
                return 409, self.delay
            if key:
                self.accepted_keys.add(key)
            to = body["to"] if isinstance(body["to"], list) else [body["to"]]
            self.received.update(to)
            self.accepted += 1
            self.statuses.append((key, 200))
            if self.accepted == self.kill_at:
                self.reached.set()
                return 200, self.slow  # accepted; the answer is late, and the clock dies waiting for it
            return 200, self.delay

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mock_line():
    mock = MockLine(kill_at=KILL_AT).start()
    yield mock
    mock.stop()


@pytest.fixture
def jobstore(db):
    """A clean APScheduler table (the suite's cleaner only knows the bot's own tables)."""
    from sqlalchemy import inspect, text

    from scheduler.clock import JOBSTORE_TABLE

    def clean():
        if inspect(db).has_table(JOBSTORE_TABLE):
            with db.begin() as conn:
                conn.execute(text(f"DELETE FROM {JOBSTORE_TABLE}"))

    clean()
    yield db
    clean()


def add_recipients(engine) -> list[str]:
    """PER_SECTION members in every reporting section; their LINE ids."""
    ids = []
    with Session(engine) as s:
        sections = reporting_sections(s)
        for number, section in enumerate(sections):
            for n in range(PER_SECTION):
                line_id = f"U{number:016x}{n:016x}"
                add_member(
                    s,
                    line_user_id=line_id,
                    name=f"職員{number}-{n}",
                    sections=[section],
                    role="staff",
                    now=NOW,
                )
                ids.append(line_id)
        s.commit()
    return ids


class StoreOnly(BaseScheduler):
    """A scheduler that never runs anything: only a handle on the clock's job store."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


def make_delivery_due(engine) -> None:
    """The clock's job store with `deliver` overdue: a (re)started clock runs a missed run at once."""
    scheduler = StoreOnly()
    configure(scheduler, engine, TOKYO)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, load_schedule({}), TOKYO)
        past = datetime.now(UTC) - timedelta(seconds=5)
        scheduler.modify_job("deliver", jobstore="default", next_run_time=past)
    finally:
        scheduler.shutdown(wait=False)


def expire_lease(engine) -> None:
    """What 60 s without renewals does to a dead clock's lease."""
    with Session(engine) as s:
        s.execute(update(ClockLease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()


def start_clock(database_url: str, line_url: str, now: datetime, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DXBOT_DATABASE_URL": database_url,
        "DXBOT_NOW": now.isoformat(),
        "DXBOT_SENDER": "line",
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_CHANNEL_SECRET": "test-secret",
        "LINE_API_BASE_URL": line_url,
    }
    env = {k: v for k, v in env.items() if not k.startswith("DXBOT_SCHEDULE_")}
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "clock"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def wait_for(predicate, timeout: float, what: str, log_path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; clock log:\n{log_path.read_text()[-4000:]}")


def test_a_clock_killed_mid_fan_out_and_restarted_delivers_to_everyone_exactly_once(
    plan, db, database_url, jobstore, mock_line, tmp_path
):
    recipients = add_recipients(db)
    result = kpi_request(session_factory(db), FrozenClock(NOW, TOKYO))
    rows = outbox(db)
    assert result.queued == len(rows) and len(rows) > KILL_AT + 5, result.summary()
    queued_for = Counter(r for row in rows for r in row.recipients)
    assert set(queued_for) == set(recipients) and set(queued_for.values()) == {1}
    make_delivery_due(db)

    log_path = tmp_path / "clock.log"
    with log_path.open("w") as log:
        first = start_clock(database_url, mock_line.url, NOW, log)
        try:
            if not mock_line.reached.wait(START_TIMEOUT):
                pytest.fail(f"the clock never reached request {KILL_AT}:\n{log_path.read_text()[-4000:]}")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(10)
    assert first.returncode == -signal.SIGKILL

    rows = outbox(db)
    sent = [r for r in rows if r.status == "sent"]
    in_flight = [r for r in rows if r.status == "pending" and r.attempts == 1]
    assert len(sent) == KILL_AT - 1, [(r.id, r.status, r.attempts) for r in rows]
    assert len(in_flight) == 1  # claimed and accepted by LINE, never recorded: the crash window
    assert mock_line.accepted == KILL_AT

    # Later: the lease has run out, the claim on the in-flight row too, a delivery run is due.
    expire_lease(db)
    make_delivery_due(db)
    later = NOW + LEASE + timedelta(minutes=1)
    with log_path.open("a") as log:
        second = start_clock(database_url, mock_line.url, later, log)
        try:
            wait_for(
                lambda: all(r.status == "sent" for r in outbox(db)),
                START_TIMEOUT,
                "every outbox row to be sent after the restart",
                log_path,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(20)
            except subprocess.TimeoutExpired:
                second.kill()
                second.wait(10)

    assert mock_line.unauthorised == 0
    assert Counter(mock_line.received) == Counter({r: 1 for r in recipients}), "someone got it twice or never"
    assert mock_line.accepted == len(rows)
    repeated = [key for key, status in mock_line.statuses if status == 409]
    assert repeated == [in_flight[0].retry_key]  # the resend of the in-flight row, refused by LINE
    with Session(db) as s:
        assert s.exec(select(Member)).all() and s.exec(select(Section)).all()
        assert s.get(OutboxMessage, in_flight[0].id).status == "sent"
