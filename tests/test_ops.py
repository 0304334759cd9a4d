"""Operating the web process: /readyz, /metrics, request ids, JSON logs that keep secrets and people out,
and the real thing: gunicorn with bot/gunicorn_conf.py (two workers, metrics added up across them)."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from bot import logging_setup
from bot.app import close_app, create_app
from bot.line.edge import MAX_BODY_BYTES
from bot.ops import CLOCK_STALE_AFTER
from bot.services import services
from messages.model import Text
from models.config import Config
from models.privacy import pseudonym
from models.tables import ClockLease, InboxEvent, JobRun, OutboxMessage
from scheduler.outbox import enqueue
from tests.app_services import swap_services
from tests.bot.conftest import Line

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STRANGER = "U" + "5e" * 16
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def app(config, db):
    """The app on the clean test database; its connection pool is closed after the test."""
    app = create_app(config)
    yield app
    close_app(app)


@pytest.fixture
def line(app, client, config, clock, sender):
    """Sign and post webhook bodies to the test app (its sender records what would go to LINE)."""
    swap_services(app, sender=sender)
    yield Line(client, config.effective_channel_secret, clock, sender)
    close_app(app)


def heartbeat_at(db, renewed_at: datetime) -> None:
    with Session(db) as s:
        s.add(
            ClockLease(
                name="clock",
                holder="clock-host:123:abcd",
                acquired_at=renewed_at,
                renewed_at=renewed_at,
                expires_at=renewed_at + timedelta(seconds=60),
            )
        )
        s.commit()


def metric(text: str, name: str, **labels) -> float | None:
    """The value of sample NAME with LABELS in a Prometheus exposition (None when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


# --- /readyz -------------------------------------------------------------------------------------


def test_readyz_names_the_missing_plan_and_clock(client, db):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unready" and body["failing"] == ["plan", "clock"]
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert body["checks"]["plan"] == {
        "ok": False,
        "error": "no plan is loaded",
        "measures": 0,
        "initiatives": 0,
    }
    assert body["checks"]["clock"]["error"] == "no clock process has ever run"


def test_readyz_is_ready_with_the_plan_and_a_fresh_heartbeat(client, db, plan):
    heartbeat_at(db, datetime.now(UTC) - timedelta(seconds=15))
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready" and "failing" not in body
    assert body["checks"]["plan"]["measures"] == 12 and body["checks"]["plan"]["initiatives"] == 42
    assert 14 <= body["checks"]["clock"]["heartbeat_age_seconds"] < 60
    assert "holder" not in json.dumps(body)  # host names stay out of a public endpoint


def test_readyz_fails_when_the_heartbeat_is_older_than_the_threshold(client, db, plan):
    heartbeat_at(db, datetime.now(UTC) - CLOCK_STALE_AFTER - timedelta(minutes=2))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["clock"]
    assert body["checks"]["clock"]["error"] == "no heartbeat for 5 min (stale after 3 min)"


def test_readyz_follows_the_wall_clock_not_dxbot_now(app, client, db, plan):
    # DXBOT_NOW freezes the bot at 2026-11-24; the lease is renewed in real time and judged in real time.
    moment = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
    swap_services(app, wall_clock=lambda: moment)
    heartbeat_at(db, moment - timedelta(seconds=30))
    assert client.get("/readyz").status_code == 200
    swap_services(app, wall_clock=lambda: moment + CLOCK_STALE_AFTER + timedelta(seconds=1))
    assert client.get("/readyz").get_json()["failing"] == ["clock"]


def test_readyz_says_503_when_the_database_is_unreachable(config):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from dataclasses import replace

    app = create_app(
        replace(config, database_url=f"postgresql://nobody@127.0.0.1:{port}/nothing?connect_timeout=2")
    )
    response = app.test_client().get("/readyz")
    close_app(app)
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["database", "migrations", "plan", "clock"]
    assert body["checks"]["database"]["error"] == "database check failed (OperationalError)"
    assert body["checks"]["clock"]["error"] == "not checked: database failed first"
    assert "nobody" not in response.get_data(as_text=True)


# --- request ids and logs ---------------------------------------------------------------------------


def test_every_response_carries_a_request_id(client, db):
    given = client.get("/healthz", headers={"X-Request-Id": "router-7f3a.01"})
    assert given.headers["X-Request-Id"] == "router-7f3a.01"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-Id"]) == 32
    assert made.headers["X-Request-Id"] != client.get("/healthz").headers["X-Request-Id"]
    forged = client.get("/healthz", headers={"X-Request-Id": 'x" level=ERROR' + "y" * 200})
    assert len(forged.headers["X-Request-Id"]) == 32 and "level" not in forged.headers["X-Request-Id"]


@pytest.fixture
def json_log():
    """Collect what bot.webhook logs, formatted as the web process writes it (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging_setup.JsonFormatter())
    handler.addFilter(logging_setup.RequestIdFilter())
    logger = logging.getLogger("bot.webhook")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_webhook_logs_are_json_with_request_and_event_ids_and_no_person(line, db, json_log):
    event = line.text(STRANGER, "私の電話番号は 090-1234-5678 です")
    data = json.dumps(line.body(event), ensure_ascii=False).encode()
    response = line.client.post(
        "/callback", data=data, headers={"X-Line-Signature": line.sign(data), "X-Request-Id": "req-42"}
    )
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "req-42"
    assert services(line.client.application).events.drain(timeout=30)  # handled after the answer
    lines = json_log()
    handled = next(x for x in lines if x["message"] == "webhook event handled")
    assert handled["request_id"] == "req-42"
    assert handled["webhook_event_id"] == event["webhookEventId"]
    assert handled["event_type"] == "message" and handled["outcome"]
    assert (
        handled["level"] == "INFO"
        and handled["logger"] == "bot.webhook"
        and handled["time"].endswith("+00:00")
    )
    everything = json.dumps(lines, ensure_ascii=False)
    assert STRANGER not in everything and "090-1234-5678" not in everything


def test_the_formatter_masks_ids_secrets_passwords_and_peoples_words(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "tok3n/AAAAbbbbCCCC+dddd=")
    monkeypatch.setenv("DXBOT_DATABASE_URL", "postgresql://dxbot:hunter2pass@db.internal/dxbot")
    record = logging.LogRecord(
        "bot.x",
        logging.WARNING,
        __file__,
        1,
        "failed for %s with Bearer tok3n/AAAAbbbbCCCC+dddd= on postgresql://dxbot:hunter2pass@db.internal/dxbot",
        ("U206d25c2ea6bd87c17655609a1c37cb8",),
        None,
    )
    record.text = "オンライン申請率 18%"
    record.recipients = ["C" + "ab" * 16, "R" + "cd" * 16]
    record.details = {"authorization": "Bearer x", "count": 3}
    for formatter in (logging_setup.JsonFormatter(), logging_setup.TextFormatter()):
        line = formatter.format(record)
        assert pseudonym("U206d25c2ea6bd87c17655609a1c37cb8") in line and "U206d" not in line
        assert (
            pseudonym("C" + "ab" * 16) in line and pseudonym("R" + "cd" * 16) in line and "Cabab" not in line
        )
        assert "tok3n" not in line and "hunter2pass" not in line and "[secret]" in line
        assert "申請率" not in line and "Bearer x" not in line
    data = json.loads(logging_setup.JsonFormatter().format(record))
    assert data["text"] == "[redacted]" and data["details"] == {"authorization": "[redacted]", "count": 3}
    assert data["level"] == "WARNING" and data["logger"] == "bot.x"


def test_lineworks_user_and_channel_ids_in_request_paths_are_masked():
    """urllib3 logs each request's path at DEBUG; LINE WORKS puts the person (or room) in it."""
    user, channel = "f0c1a2b3-4d5e-6f70-8192-a3b4c5d6e7f8", "c9d8e7f6-0011-2233-4455-66778899aabb"
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '%s "POST /v1.0/bots/2000001/users/%s/messages HTTP/1.1" 201 0; then /v1.0/bots/2000001/channels/%s/messages',
        ("https://www.worksapis.com:443", user, channel),
        None,
    )
    for formatter in (logging_setup.JsonFormatter(), logging_setup.TextFormatter()):
        line = formatter.format(record)
        assert user not in line and channel not in line and "f0c1a2b3" not in line
        assert f"/users/{pseudonym(user)}/messages" in line and f"/channels/{pseudonym(channel)}/" in line
        assert "/bots/2000001/" in line


def test_login_link_tokens_never_reach_the_access_log():
    atoms = {"m": "GET", "U": "/dashboard/login/Zt9xQ2-secret_token", "s": "200", "D": 1000}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (atoms,), None)
    line = logging_setup.JsonFormatter().format(record)
    assert "secret_token" not in line
    assert json.loads(line)["path"] == "/dashboard/login/[redacted]"


def test_gunicorn_access_lines_become_fields():
    atoms = {
        "m": "POST",
        "U": "/callback",
        "s": "200",
        "B": 16,
        "D": 12345,
        "h": "10.0.0.1",
        "a": "LineBotWebhook/2.0",
    }
    atoms["{x-request-id}o"] = "req-1"
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (atoms,), None)
    data = json.loads(logging_setup.JsonFormatter().format(record))
    assert data["message"] == "POST /callback 200"
    assert (data["status"], data["duration_ms"], data["request_id"], data["bytes"]) == (
        200,
        12.345,
        "req-1",
        16,
    )


def test_log_format_and_level_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DXBOT_LOG_FORMAT", "JSON")
    monkeypatch.setenv("DXBOT_LOG_LEVEL", "warning")
    config = logging_setup.logging_config(default_format="text")
    assert config["formatters"]["dxbot"]["()"].endswith("JsonFormatter")
    assert config["root"]["level"] == "WARNING"
    monkeypatch.setenv("DXBOT_LOG_FORMAT", "xml")
    monkeypatch.setenv("DXBOT_LOG_LEVEL", "loud")
    config = logging_setup.logging_config(default_format="text")
    assert config["formatters"]["dxbot"]["()"].endswith("TextFormatter") and config["root"]["level"] == "INFO"


# --- /metrics ----------------------------------------------------------------------------------------


def test_metrics_count_webhook_events_latency_and_read_the_database(line, client, db, plan, clock):
    before = client.get("/metrics").get_data(as_text=True)
    event = line.text(STRANGER, "こんにちは")
    assert line.post(line.body(event)).status_code == 200
    with Session(db) as s:
        outcome = s.get(InboxEvent, 1).outcome
        enqueue(
            s,
            job="kpi-request",
            kind="kpi-request",
            dedup_key="m-1",
            recipients=[STRANGER],
            messages=[Text("KPI")],
            not_before=clock.now() - timedelta(minutes=10),
            now=clock.now(),
        )
        failed = OutboxMessage(
            job="nudge",
            kind="nudge",
            recipients=[STRANGER],
            messages=[],
            dedup_key="m-2",
            status="failed",
            retry_key="00000000-0000-0000-0000-000000000002",
            not_before=clock.now(),
        )
        s.add(failed)
        # An event acknowledged five minutes ago and still waiting for the event worker (and a handled one).
        s.add(
            InboxEvent(
                webhook_event_id="01WAITING",
                event_type="message",
                event_timestamp=clock.now(),
                received_at=clock.now() - timedelta(minutes=5),
            )
        )
        s.add(JobRun(job="nudge", as_of=clock.now(), queued=1))
        s.add(JobRun(job="nudge", as_of=clock.now(), queued=0))
        s.commit()
    heartbeat_at(db, datetime.now(UTC) - timedelta(seconds=40))

    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    def grew(name, **labels):
        return (metric(after, name, **labels) or 0) - (metric(before, name, **labels) or 0)

    assert grew("dxbot_webhook_events_total", type="message", outcome=outcome) == 1
    assert grew("dxbot_webhook_request_duration_seconds_count", status="200") == 1
    assert metric(after, "dxbot_database_up") == 1
    assert metric(after, "dxbot_outbox_messages", status="pending") == 1
    assert metric(after, "dxbot_outbox_messages", status="failed") == 1
    # the answer to 「こんにちは」, sent at once
    assert metric(after, "dxbot_outbox_messages", status="sent") == 1
    assert metric(after, "dxbot_outbox_oldest_due_seconds") == 600
    assert metric(after, "dxbot_inbox_unhandled_events") == 1  # the handled 「こんにちは」 is not counted
    assert metric(after, "dxbot_inbox_oldest_unhandled_seconds") == 300
    assert metric(after, "dxbot_job_runs_total", job="nudge") == 2
    assert metric(after, "dxbot_job_runs_total", job="kickoff") == 0
    assert metric(after, "dxbot_job_last_run_timestamp_seconds", job="nudge") is not None
    assert 39 <= metric(after, "dxbot_clock_heartbeat_age_seconds") < 100


def test_oversize_and_forged_requests_show_in_the_metrics_without_new_series(line, client, db):
    before = client.get("/metrics").get_data(as_text=True)
    data = b" " * (MAX_BODY_BYTES + 10)
    response = line.client.post(
        "/callback",
        input_stream=io.BytesIO(data),
        headers={"X-Line-Signature": line.sign(data), "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413 and response.headers["X-Request-Id"]
    odd = line.text(STRANGER, "x")
    odd["type"] = "nonsense-type-" + "z" * 40
    assert line.post(line.body(odd), validate=False).status_code == 200
    after = client.get("/metrics").get_data(as_text=True)
    grown = metric(after, "dxbot_webhook_request_duration_seconds_count", status="413") or 0
    assert grown - (metric(before, "dxbot_webhook_request_duration_seconds_count", status="413") or 0) == 1
    assert "nonsense-type" not in after
    assert (metric(after, "dxbot_webhook_events_total", type="other", outcome="ignored") or 0) >= 1
    with Session(db) as s:
        assert [r.event_type for r in s.exec(select(InboxEvent)).all()] == [odd["type"][:64]]


def test_metrics_can_require_a_bearer_token(config, db):
    assert Config.from_env({"DXBOT_METRICS_TOKEN": f" {TOKEN} "}).metrics_token == TOKEN
    assert TOKEN not in repr(replace(config, metrics_token=TOKEN))
    app = create_app(replace(config, metrics_token=TOKEN))
    client = app.test_client()
    try:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and "DXBOT_METRICS_TOKEN" in refused.get_json()["error"]
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200 and b"dxbot_database_up 1.0" in allowed.data
    finally:
        close_app(app)


def test_metrics_still_answer_when_the_database_does_not(config):
    from dataclasses import replace

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(replace(config, database_url=f"postgresql://x@127.0.0.1:{port}/y?connect_timeout=2"))
    response = app.test_client().get("/metrics")
    close_app(app)
    assert response.status_code == 200
    assert metric(response.get_data(as_text=True), "dxbot_database_up") == 0


# --- gunicorn with bot/gunicorn_conf.py, for real ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def gunicorn(database_url, db, plan, tmp_path):
    """gunicorn -c python:bot.gunicorn_conf 'bot.app:create_app()' on 127.0.0.1 with two workers (stopped after)."""
    port = free_port()
    out = (tmp_path / "gunicorn.out").open("w+b")
    env = {
        **os.environ,
        "DXBOT_DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": "gunicorn-test-secret",
        "DXBOT_SECRET_KEY": "gunicorn-test-session-key-0123456789",
        "DXBOT_SENDER": "console",
        "DXBOT_NOW": "2026-11-24T10:00:00+09:00",
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    for name in (
        "PROMETHEUS_MULTIPROC_DIR",
        "prometheus_multiproc_dir",
        "DXBOT_LOG_FORMAT",
        "LINE_CHANNEL_ACCESS_TOKEN",
    ):
        env.pop(name, None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:bot.gunicorn_conf",
            "-b",
            f"127.0.0.1:{port}",
            "bot.app:create_app()",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                out.seek(0)
                pytest.fail(f"gunicorn did not start:\n{out.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield port, process, out
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        out.close()


def test_gunicorn_config_serves_the_app_adds_up_metrics_and_logs_json(gunicorn, clock):
    port, process, out = gunicorn
    signer = Line(None, "gunicorn-test-secret", clock, None)
    event = signer.text(STRANGER, "こんにちは")
    body = json.dumps(signer.body(event)).encode()
    status, headers, _ = request(
        port,
        "POST",
        "/callback",
        body,
        {"X-Line-Signature": signer.sign(body), "X-Request-Id": "gunicorn-req-1"},
    )
    assert status == 200 and headers["X-Request-Id"] == "gunicorn-req-1"

    def handled_messages() -> float:
        status, _, data = request(port, "GET", "/metrics")
        assert status == 200
        return sum(
            s.value
            for family in text_string_to_metric_families(data.decode())
            for s in family.samples
            if s.name == "dxbot_webhook_events_total" and s.labels.get("type") == "message"
        )

    # The event is handled just after the answer, by the event worker of the process that took it.
    deadline = time.monotonic() + 15
    while handled_messages() < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    # Whichever worker answers the scrape, it reports the one event the other may have handled.
    assert {handled_messages() for _ in range(6)} == {1.0}

    # A chunked body larger than the limit is refused while it is read.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    chunks = (b" " * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2))
    connection.request(
        "POST", "/callback", body=chunks, headers={"X-Line-Signature": "x"}, encode_chunked=True
    )
    assert connection.getresponse().status == 413
    connection.close()

    assert request(port, "GET", "/readyz")[0] == 503  # no clock has run in this test
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    out.seek(0)
    # Every log line is JSON (the console sender's own transcript, printed for developers, is not a log).
    printed = out.read().decode().splitlines()
    lines = [json.loads(x) for x in printed if x.startswith("{")]
    console = [x for x in printed if x.strip() and not x.startswith("{")]
    assert len(console) <= 2 and (not console or console[0].startswith("→ reply to")), console
    access = [x for x in lines if x["logger"] == "gunicorn.access" and x.get("path") == "/callback"]
    assert access[0]["request_id"] == "gunicorn-req-1" and access[0]["status"] == 200
    assert access[0]["duration_ms"] > 0 and access[0]["method"] == "POST"
    handled = next(x for x in lines if x["message"] == "webhook event handled")
    assert (
        handled["request_id"] == "gunicorn-req-1" and handled["webhook_event_id"] == event["webhookEventId"]
    )
    assert any(x["logger"] == "gunicorn.error" and "Booting worker" in x["message"] for x in lines)
    assert all(STRANGER not in json.dumps(x) for x in lines)


def test_readyz_says_when_the_release_step_has_not_migrated_the_database(config, tmp_path):
    from dataclasses import replace

    from models import migrate
    from models.db import make_engine

    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "2828020d7a0e")
    engine.dispose()
    app = create_app(replace(config, database_url=url))
    body = app.test_client().get("/readyz").get_json()
    close_app(app)
    assert body["failing"] == ["migrations", "plan", "clock"]
    assert body["checks"]["migrations"]["error"] == (
        f"the database is at revision 2828020d7a0e; the code needs {migrate.head_revision()}"
    )
    assert body["checks"]["plan"]["error"] == "not checked: migrations failed first"
