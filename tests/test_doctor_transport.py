"""`dxbot doctor` follows DXBOT_TRANSPORT (issue 27): a LINE WORKS-only deployment is not failed for LINE's
token, secret or webhook, and makes no LINE call; with both transports both platforms are checked."""

from __future__ import annotations

from sqlmodel import Session

from models.tables import OutboxMessage
from tests import test_doctor as line_doctor
from tests.lineworks import conftest as lineworks_fixtures
from tests.test_doctor import PRODUCTION, finding, levels, run

healthy, line = (
    line_doctor.healthy,
    line_doctor.line,
)  # LINE's stand-in and a healthy database, as fixtures here
lineworks = lineworks_fixtures.lineworks
lineworks_keys = lineworks_fixtures.lineworks_keys


def lineworks_env(lineworks, keys) -> dict[str, str]:
    return {**lineworks.env(), "LINEWORKS_PRIVATE_KEY": keys.private_pem}


def test_lineworks_alone_skips_every_line_check_and_asks_for_no_line_secret(
    dxbot, healthy, line, lineworks, lineworks_keys
):
    env = {
        **PRODUCTION,
        "LINE_CHANNEL_ACCESS_TOKEN": "",
        "LINE_CHANNEL_SECRET": "",
        "LINE_API_BASE_URL": line.url,
        "DXBOT_BASE_URL": "https://example.com",  # the stand-in's bot has …/lineworks/callback on record
        "DXBOT_TRANSPORT": "lineworks",
        **lineworks_env(lineworks, lineworks_keys),
    }
    result, findings = run(dxbot, env)
    config = [f for f in findings if f["area"] == "config" and f["level"] != "OK"]
    assert not any("LINE_" in f["what"] for f in config), config  # no LINE secret asked for, no LINE mock
    assert "LINE is not used" in finding(findings, "config", "OK")["what"]
    skipped = finding(findings, "line")
    assert skipped["level"] == "SKIP"
    assert skipped["what"] == (
        "DXBOT_TRANSPORT=lineworks: LINE is not used; the LINE checks (token, webhook URL, quota) are skipped"
    )
    assert not any(
        f["area"] in ("line token", "line webhook", "line quota", "line network") for f in findings
    )
    assert line.calls == []  # not one LINE request
    assert finding(findings, "lineworks token")["level"] == "OK"
    assert finding(findings, "lineworks callback")["level"] == "OK"
    assert result.exit_code == 0, result.output


def test_lineworks_alone_without_a_base_url_names_the_lineworks_callback(
    dxbot, db, lineworks, lineworks_keys
):
    env = {**lineworks_env(lineworks, lineworks_keys), "DXBOT_TRANSPORT": "lineworks", "DXBOT_BASE_URL": ""}
    _, findings = run(
        dxbot, {**PRODUCTION, **env, "LINE_CHANNEL_ACCESS_TOKEN": "", "LINE_CHANNEL_SECRET": ""}
    )
    base = next(f for f in findings if f["area"] == "config" and "DXBOT_BASE_URL" in f["what"])
    assert base["level"] == "FAIL"
    assert "LINE WORKS needs the app's public https address (…/lineworks/callback)" in base["what"]


def test_both_transports_check_both_platforms(dxbot, healthy, line, lineworks, lineworks_keys):
    env = {
        **PRODUCTION,
        "LINE_API_BASE_URL": line.url,
        "DXBOT_TRANSPORT": "line,lineworks",
        **lineworks_env(lineworks, lineworks_keys),
    }
    _, findings = run(dxbot, env)
    assert finding(findings, "line token")["level"] == "OK"
    assert finding(findings, "line webhook")["level"] == "OK"
    assert finding(findings, "lineworks token")["level"] == "OK"
    assert finding(findings, "lineworks bot")["level"] == "OK"
    assert line.calls  # LINE was asked


def test_missing_line_secrets_still_fail_when_line_is_spoken(dxbot, healthy, line, lineworks, lineworks_keys):
    env = {
        **PRODUCTION,
        "LINE_CHANNEL_ACCESS_TOKEN": "",
        "LINE_CHANNEL_SECRET": "",
        "DXBOT_TRANSPORT": "line,lineworks",
        **lineworks_env(lineworks, lineworks_keys),
    }
    result, findings = run(dxbot, env)
    failed = [f["what"] for f in findings if f["area"] == "config" and f["level"] == "FAIL"]
    assert failed[:2] == [
        "LINE_CHANNEL_ACCESS_TOKEN is not set: the web, clock and events processes refuse to start",
        "LINE_CHANNEL_SECRET is not set: the web process refuses to start",
    ]
    assert levels(findings)["line"] == ["SKIP"] and result.exit_code == 1


def test_line_s_quota_counts_only_line_recipients_waiting(dxbot, healthy, line, clock):
    line.answers["/v2/bot/message/quota/consumption"] = (200, {"totalUsage": 4990})
    with Session(healthy) as s:
        for n, (transport, recipients) in enumerate(
            [("line", [f"U{n:032x}" for n in range(5)]), ("lineworks", [f"staff{n}@city" for n in range(30)])]
        ):
            s.add(
                OutboxMessage(
                    job="kpi-request",
                    kind="kpi-request",
                    recipients=recipients,
                    messages=[],
                    dedup_key=f"q-{n}",
                    retry_key=f"00000000-0000-0000-0000-00000000000{n}",
                    not_before=clock.now(),
                    transport=transport,
                )
            )
        s.commit()
    _, findings = run(
        dxbot, {**PRODUCTION, "LINE_API_BASE_URL": line.url, "DXBOT_TRANSPORT": "line,lineworks"}
    )
    quota = finding(findings, "line quota")
    # Under 10 % left, but the 5 LINE recipients fit: the 30 LINE WORKS ones do not count against LINE's quota.
    assert quota["what"] == (
        "4990 of 5000 messages used this month, 10 left; 5 recipient(s) waiting in the outbox (under 10%)"
    )


def test_failed_deliveries_name_the_platform_that_refused_them(dxbot, db, plan, clock):
    def add_failed(n: int, transport: str) -> None:
        with Session(db) as s:
            s.add(
                OutboxMessage(
                    job="kpi-request",
                    kind="kpi-request",
                    recipients=["someone"],
                    messages=[],
                    dedup_key=f"f-{n}",
                    retry_key=f"00000000-0000-0000-0000-0000000000f{n}",
                    not_before=clock.now(),
                    transport=transport,
                    status="failed",
                )
            )
            s.commit()

    def outbox() -> str:
        return finding(run(dxbot, {"DXBOT_TRANSPORT": "line,lineworks"})[1], "outbox")["what"]

    add_failed(1, "lineworks")
    assert outbox() == "1 outbox message(s) failed (LINE WORKS refused them)"
    add_failed(2, "line")
    assert outbox() == "2 outbox message(s) failed (LINE and LINE WORKS refused them)"
