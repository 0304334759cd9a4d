"""`dxbot doctor`: every check says OK, WARN or FAIL with a fix, exit 1 on FAIL; the LINE checks make real
calls to a small LINE stand-in on 127.0.0.1 (answers shaped like LINE's OpenAPI spec)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text
from sqlmodel import Session

from models import migrate
from models.db import make_engine
from models.tables import ClockLease, Member, OutboxMessage

TOKEN = "doctor-test-token"
BASE_URL = "https://dxbot.example.jp"
PRODUCTION = {
    "DXBOT_SENDER": "line",
    "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
    "LINE_CHANNEL_SECRET": "doctor-test-secret",
    "DXBOT_SECRET_KEY": "0123456789abcdef0123456789abcdef",
    "DXBOT_BASE_URL": BASE_URL,
}


class FakeLine:
    """LINE's read-only endpoints the doctor calls; ANSWERS maps a path to (status, JSON body)."""

    def __init__(self):
        self.answers = {
            "/v2/bot/info": (
                200,
                {
                    "userId": "U" + "0f" * 16,
                    "basicId": "@123abcde",
                    "displayName": "京田辺DX進捗",
                    "chatMode": "bot",
                    "markAsReadMode": "auto",
                },
            ),
            "/v2/bot/channel/webhook/endpoint": (200, {"endpoint": f"{BASE_URL}/callback", "active": True}),
            "/v2/bot/message/quota": (200, {"type": "limited", "value": 5000}),
            "/v2/bot/message/quota/consumption": (200, {"totalUsage": 1200}),
        }
        self.calls: list[tuple[str, str | None]] = []

    def start(self) -> FakeLine:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.calls.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, body = (
                        401,
                        {
                            "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
                        },
                    )
                else:
                    status, body = fake.answers.get(self.path, (404, {"message": "Not found"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
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


@pytest.fixture
def line():
    fake = FakeLine().start()
    yield fake
    fake.stop()


@pytest.fixture
def healthy(db, plan):
    """A loaded plan, an admin, and a clock that renewed its lease 20 s ago."""
    now = datetime.now(UTC)
    with Session(db) as s:
        s.add(Member(line_user_id="U" + "ad" * 16, display_name="管理者", role="admin"))
        s.add(
            ClockLease(
                name="clock",
                holder="web-1:4242:abcd1234",
                acquired_at=now,
                renewed_at=now - timedelta(seconds=20),
                expires_at=now + timedelta(seconds=40),
            )
        )
        s.commit()
    return db


def run(dxbot, env=None):
    result = dxbot("doctor", env={"DXBOT_NOW": "", **(env or {})})
    data = json.loads(dxbot("doctor", "--json", env={"DXBOT_NOW": "", **(env or {})}).output)
    return result, data["findings"]


def levels(findings) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in findings:
        out.setdefault(f["area"], []).append(f["level"])
    return out


def finding(findings, area: str, level: str | None = None) -> dict:
    return next(f for f in findings if f["area"] == area and (level is None or f["level"] == level))


def test_a_healthy_line_deployment_is_all_ok(dxbot, healthy, line):
    result, findings = run(dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url})
    assert result.exit_code == 0, result.output
    assert {f["level"] for f in findings} <= {"OK", "WARN"}
    assert finding(findings, "line token")["what"] == "bot 京田辺DX進捗 (@123abcde), chat mode bot"
    assert finding(findings, "line webhook")["what"] == f"LINE sends webhooks to {BASE_URL}/callback (on)"
    assert finding(findings, "line quota")["what"] == "1200 of 5000 messages used this month, 3800 left"
    assert (
        finding(findings, "line network")["what"] == "direct (no proxy set), timeouts 5 s connect / 15 s read"
    )
    assert finding(findings, "clock")["level"] == "OK" and "web-1:4242" in finding(findings, "clock")["what"]
    assert finding(findings, "migrations")["level"] == "OK"
    assert finding(findings, "plan")["what"] == "12 measures, 42 initiatives, fiscal years up to FY2026"
    # The only WARN is the mock's own address, and it says so.
    warnings = [f["what"] for f in findings if f["level"] == "WARN"]
    assert len(warnings) == 1 and warnings[0].startswith(f"LINE_API_BASE_URL={line.url}: every LINE API call")
    assert all(auth == f"Bearer {TOKEN}" for _, auth in line.calls)
    assert TOKEN not in result.output and "doctor-test-secret" not in result.output
    assert result.output.splitlines()[-1].startswith("15 OK, 1 WARN")  # … inbox: no event waiting


def test_the_line_checks_go_through_the_proxy_and_show_it_without_its_password(dxbot, healthy, line):
    from tests.proxy import Proxy

    proxy = Proxy().start()
    try:
        result, findings = run(
            dxbot,
            {
                **PRODUCTION,
                "LINE_API_BASE_URL": line.url,
                "HTTP_PROXY": f"http://dx:s3cret@127.0.0.1:{proxy.port}",
                "DXBOT_LINE_READ_TIMEOUT": "20",
            },
        )
    finally:
        proxy.stop()
    assert finding(findings, "line network")["what"] == (
        f"through proxy http://127.0.0.1:{proxy.port} (HTTP_PROXY), timeouts 5 s connect / 20 s read"
    )
    assert finding(findings, "line token")["level"] == "OK"
    assert f"{line.url}/v2/bot/info" in {seen.target for seen in proxy.seen}
    assert "s3cret" not in result.output


def test_the_webhook_url_on_record_is_compared_with_the_base_url(dxbot, healthy, line):
    line.answers["/v2/bot/channel/webhook/endpoint"] = (
        200,
        {"endpoint": "https://old.example.jp/callback", "active": True},
    )
    result, findings = run(dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url})
    assert result.exit_code == 1
    bad = finding(findings, "line webhook")
    assert bad["level"] == "FAIL"
    assert bad["what"] == (
        f"LINE sends webhooks to https://old.example.jp/callback, but this deployment listens at {BASE_URL}/callback"
    )
    assert f"set it to {BASE_URL}/callback" in bad["fix"]
    assert (
        f"fix: LINE Developers console → Messaging API → Webhook URL: set it to {BASE_URL}/callback"
        in result.output
    )

    line.answers["/v2/bot/channel/webhook/endpoint"] = (
        200,
        {"endpoint": f"{BASE_URL}/callback", "active": False},
    )
    _, findings = run(dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url})
    assert "'Use webhook' is off" in finding(findings, "line webhook", "FAIL")["what"]


def test_a_rejected_token_fails_with_how_to_fix_it_and_skips_the_other_line_checks(dxbot, healthy, line):
    result, findings = run(
        dxbot, {**PRODUCTION, "LINE_CHANNEL_ACCESS_TOKEN": "expired", "LINE_API_BASE_URL": line.url}
    )
    assert result.exit_code == 1
    token = finding(findings, "line token")
    assert token["level"] == "FAIL" and token["what"].startswith("LINE answered 401: Authentication failed")
    assert "issue a new channel access token" in token["fix"]
    assert finding(findings, "line")["level"] == "SKIP"
    assert not any(f["area"] in ("line webhook", "line quota") for f in findings)


def test_the_quota_left_is_compared_with_what_waits_in_the_outbox(dxbot, healthy, line, clock):
    line.answers["/v2/bot/message/quota/consumption"] = (200, {"totalUsage": 4990})
    with Session(healthy) as s:
        s.add(
            OutboxMessage(
                job="kpi-request",
                kind="kpi-request",
                recipients=[f"U{n:032x}" for n in range(25)],
                messages=[],
                dedup_key="q-1",
                retry_key="00000000-0000-0000-0000-000000000001",
                not_before=clock.now(),
            )
        )
        s.commit()
    _, findings = run(dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url})
    quota = finding(findings, "line quota")
    assert quota["level"] == "WARN"
    assert quota["what"] == (
        "4990 of 5000 messages used this month, 10 left; 25 recipient(s) waiting in the outbox: "
        "not all of them can be sent this month"
    )
    line.answers["/v2/bot/message/quota/consumption"] = (200, {"totalUsage": 5000})
    result, findings = run(dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url})
    assert (
        result.exit_code == 1
        and "nothing more can be pushed" in finding(findings, "line quota", "FAIL")["what"]
    )
    line.answers["/v2/bot/message/quota"] = (200, {"type": "none"})
    _, findings = run(dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url})
    assert finding(findings, "line quota") == {
        "level": "OK",
        "area": "line quota",
        "what": "no monthly message limit",
        "fix": None,
    }


def test_production_configuration_mistakes_are_failures(dxbot, healthy, line):
    env = {
        **PRODUCTION,
        "LINE_API_BASE_URL": line.url,
        "LINE_CHANNEL_SECRET": "",
        "DXBOT_SECRET_KEY": "",
        "DXBOT_BASE_URL": "http://dxbot.example.jp",
        "DXBOT_NOW": "2026-11-24T10:00:00+09:00",
    }
    result = dxbot("doctor", env=env)
    assert result.exit_code == 1
    output = result.output
    assert "FAIL  config" in output
    assert "LINE_CHANNEL_SECRET is not set: the web process refuses to start" in output
    assert "DXBOT_SECRET_KEY is not set" in output and "secrets.token_hex(32)" in output
    assert "DXBOT_BASE_URL=http://dxbot.example.jp is not an https URL" in output
    assert "DXBOT_NOW=2026-11-24T10:00:00+09:00: the bot's clock is frozen" in output
    bad_schedule = dxbot("doctor", env={**env, "DXBOT_SCHEDULE_NUDGE": "every day"})
    assert "DXBOT_SCHEDULE_NUDGE='every day'" in bad_schedule.output


def test_missing_secrets_are_named_as_what_stops_each_process(dxbot, db):
    """No token no longer means the console sender: the doctor says which process will refuse to start, and
    makes no LINE call without a token; development mode is named as such."""
    bare = {
        "DXBOT_SENDER": "",
        "LINE_CHANNEL_ACCESS_TOKEN": "",
        "LINE_CHANNEL_SECRET": "",
        "DXBOT_SECRET_KEY": "",
    }
    result, findings = run(dxbot, bare)
    failed = [f["what"] for f in findings if f["area"] == "config" and f["level"] == "FAIL"]
    assert failed[:3] == [
        "LINE_CHANNEL_ACCESS_TOKEN is not set: the web, clock and events processes refuse to start",
        "LINE_CHANNEL_SECRET is not set: the web process refuses to start",
        "DXBOT_SECRET_KEY is not set: the web process refuses to start",
    ]
    assert levels(findings)["line"] == ["SKIP"]
    _, findings = run(dxbot, {**bare, "DXBOT_ENV": "development"})
    assert "FAIL" not in levels(findings)["config"]
    warnings = [f["what"] for f in findings if f["area"] == "config" and f["level"] == "WARN"]
    assert any(w.startswith("DXBOT_ENV=development: development mode") for w in warnings), warnings


def test_console_sender_skips_the_line_checks_and_names_a_missing_plan_and_clock(dxbot, db):
    result, findings = run(dxbot)
    assert result.exit_code == 1
    assert levels(findings)["line"] == ["SKIP"]
    assert "console sender: the LINE checks (token, webhook URL, quota) are skipped" in result.output
    plan = finding(findings, "plan")
    assert (plan["level"], plan["fix"]) == ("FAIL", "run `dxbot db init`")
    clock = finding(findings, "clock")
    assert (
        clock["level"] == "FAIL"
        and clock["what"] == "no clock process has ever run: nothing scheduled is sent"
    )
    assert "dxbot clock" in clock["fix"]


def test_a_stale_heartbeat_is_a_failure_naming_the_last_holder(dxbot, db, plan):
    now = datetime.now(UTC)
    with Session(db) as s:
        s.add(
            ClockLease(
                name="clock",
                holder="old-host:99:ffff",
                acquired_at=now - timedelta(hours=2),
                renewed_at=now - timedelta(minutes=42),
                expires_at=now - timedelta(minutes=41),
            )
        )
        s.commit()
    result, findings = run(dxbot)
    clock = finding(findings, "clock")
    assert clock["level"] == "FAIL"
    assert clock["what"] == "no heartbeat for 42 min (stale after 3 min); last holder old-host:99:ffff"
    assert "restart it" in clock["fix"]


def test_an_unreachable_database_fails_without_showing_the_password(dxbot, db):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://dxbot:s3cret-pw@127.0.0.1:{port}/dxbot?connect_timeout=2"
    result, findings = run(dxbot, {"DXBOT_DATABASE_URL": url})
    assert result.exit_code == 1
    database = finding(findings, "database")
    assert database["level"] == "FAIL" and database["what"].startswith(
        f"cannot connect to postgresql+psycopg://dxbot:***@127.0.0.1:{port}/dxbot"
    )
    assert "s3cret-pw" not in result.output
    assert finding(findings, "plan")["level"] == "SKIP"


def test_a_database_behind_the_code_is_told_to_upgrade(dxbot, db, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "2828020d7a0e")  # the first migration only
    engine.dispose()
    result, findings = run(dxbot, {"DXBOT_DATABASE_URL": url})
    migrations = finding(findings, "migrations")
    assert migrations["level"] == "FAIL"
    assert (
        migrations["what"]
        == f"the database is at revision 2828020d7a0e; the code needs {migrate.head_revision()}"
    )
    assert "dxbot db upgrade" in migrations["fix"]

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    engine.dispose()
    _, findings = run(dxbot, {"DXBOT_DATABASE_URL": url})
    assert "which this code does not know" in finding(findings, "migrations")["what"]


def test_a_bad_setting_is_reported_not_raised(dxbot, db):
    result = dxbot("doctor", env={"DXBOT_SENDER": "fax"})
    assert result.exit_code == 1
    assert result.output.startswith(
        "FAIL  config  DXBOT_SENDER='fax' is not a sender; choose one of: console, line"
    )


def _inbox_row(db, event_id: str, received_at: datetime, *, handled: bool = False) -> None:
    from models.tables import InboxEvent

    with Session(db) as s:
        s.add(
            InboxEvent(
                webhook_event_id=event_id,
                event_type="message",
                event_timestamp=received_at,
                received_at=received_at,
                handled_at=received_at if handled else None,
                body={"type": "message"},
            )
        )
        s.commit()


def test_webhook_events_nobody_handles_are_a_failure_naming_the_process_to_start(dxbot, db, plan):
    now = datetime.now(UTC)
    _inbox_row(db, "handled-long-ago", now - timedelta(days=3), handled=True)
    result, findings = run(dxbot)
    assert finding(findings, "inbox")["what"] == "no webhook event waiting to be handled"

    _inbox_row(db, "just-arrived", now - timedelta(seconds=2))
    assert finding(run(dxbot)[1], "inbox")["level"] == "OK"  # being handled, not a problem yet

    _inbox_row(db, "stuck", now - timedelta(minutes=10))
    result, findings = run(dxbot, {"DXBOT_WEBHOOK_HANDLING": "worker"})
    inbox = finding(findings, "inbox")
    assert inbox["level"] == "FAIL" and result.exit_code == 1
    assert inbox["what"].startswith("2 webhook event(s) waiting to be handled, the oldest for 6")
    assert "`dxbot events`" in inbox["fix"]
    default_mode = finding(run(dxbot)[1], "inbox")
    assert default_mode["level"] == "FAIL" and "web process" in default_mode["fix"]
