"""`dxbot doctor`: check configuration, database, plan, LINE channel (and LINE WORKS), clock and the webhook inbox.

Each finding is OK, WARN, FAIL or SKIP with what is wrong and how to fix it; the exit code is 1 when
anything FAILs. The LINE checks make real (read-only) API calls with the channel token: the bot's
info, the webhook URL LINE has on record and this month's message quota. With the console sender they
are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime

import click
from sqlmodel import Session, col, select

from bot.cli.common import echo_json
from bot.cli.doctor_checks import (
    LEVELS,
    Finding,
    check_clock_heartbeat,
    check_config,
    check_contents,
    check_database,
    check_inbox,
    fail,
    ok,
    skip,
    warn,
)
from bot.cli.doctor_lineworks import check_lineworks
from models.config import Config, ConfigError

LINE_TIMEOUT = 10  # seconds per LINE API call
LOW_QUOTA_SHARE = 0.1  # WARN when less than this share of the monthly quota is left


# --- LINE ----------------------------------------------------------------------------------------


def _line_problem(exc: Exception) -> tuple[int | None, str]:
    from linebot.v3.messaging import ApiException

    from messages.line_sender import line_error

    if isinstance(exc, ApiException):
        message, details = line_error(exc)
        return exc.status, f"LINE answered {exc.status}: {message}" + (
            f" ({'; '.join(details)})" if details else ""
        )
    return None, f"LINE could not be reached: {type(exc).__name__}: {str(exc)[:200]}"


def check_line(config: Config, pending_recipients: Callable[[], int | None]) -> Iterator[Finding]:
    """Real API calls: the token works (bot info), the webhook URL on record, the message quota left."""
    if not config.speaks("line"):
        yield skip(
            "line",
            f"DXBOT_TRANSPORT={','.join(config.transports)}: LINE is not used; "
            "the LINE checks (token, webhook URL, quota) are skipped",
        )
        return
    if config.sender != "line":
        yield skip("line", "console sender: the LINE checks (token, webhook URL, quota) are skipped")
        return
    if not config.channel_access_token:
        yield skip(
            "line", "no LINE_CHANNEL_ACCESS_TOKEN: the LINE checks (token, webhook URL, quota) are skipped"
        )
        return
    from linebot.v3.messaging import MessagingApi

    from messages.line_sender import line_api_client

    yield ok("line network", config.line_network.describe())  # what every LINE call of the bot goes through
    with line_api_client(config) as client:
        api = MessagingApi(client)
        try:
            info = api.get_bot_info(_request_timeout=LINE_TIMEOUT)
        except Exception as exc:
            status, problem = _line_problem(exc)
            fix = (
                "issue a new channel access token (LINE Developers console → Messaging API) and set "
                "LINE_CHANNEL_ACCESS_TOKEN"
                if status in (401, 403)
                else "check the network, the proxy (HTTPS_PROXY, NO_PROXY, DXBOT_LINE_PROXY) and LINE's status "
                "page (https://api-status.line.me/)"
            )
            yield fail("line token", problem, fix)
            yield skip("line", "webhook URL and quota not checked (the token check failed)")
            return
        mode = "chat on (Official Account Manager may answer too)" if info.chat_mode == "chat" else "bot"
        yield ok("line token", f"bot {info.display_name} ({info.basic_id}), chat mode {mode}")
        yield from _check_webhook(api, config)
        yield from _check_quota(api, pending_recipients)


def _check_webhook(api, config: Config) -> Iterator[Finding]:
    try:
        endpoint = api.get_webhook_endpoint(_request_timeout=LINE_TIMEOUT)
    except Exception as exc:
        status, problem = _line_problem(exc)
        yield fail(
            "line webhook",
            problem if status != 404 else "LINE has no webhook URL on record",
            "LINE Developers console → Messaging API → Webhook URL: set it to DXBOT_BASE_URL/callback",
        )
        return
    expected = (config.base_url or "").rstrip("/") + "/callback" if config.base_url else None
    on_record = (endpoint.endpoint or "").rstrip("/")
    if expected is None:
        yield warn(
            "line webhook",
            f"LINE sends webhooks to {on_record} (cannot compare: DXBOT_BASE_URL is not set)",
            "set DXBOT_BASE_URL so that DXBOT_BASE_URL/callback is that URL",
        )
    elif on_record != expected:
        yield fail(
            "line webhook",
            f"LINE sends webhooks to {on_record or '(nothing)'}, but this deployment listens at {expected}",
            f"LINE Developers console → Messaging API → Webhook URL: set it to {expected} (or fix DXBOT_BASE_URL)",
        )
    elif not endpoint.active:
        yield fail(
            "line webhook",
            f"the webhook URL is {on_record} but 'Use webhook' is off: LINE sends the bot nothing",
            "LINE Developers console → Messaging API → turn on 'Use webhook'",
        )
    else:
        yield ok("line webhook", f"LINE sends webhooks to {on_record} (on)")


def _check_quota(api, pending_recipients: Callable[[], int | None]) -> Iterator[Finding]:
    try:
        quota = api.get_message_quota(_request_timeout=LINE_TIMEOUT)
        if quota.type != "limited" or quota.value is None:
            yield ok("line quota", "no monthly message limit")
            return
        used = api.get_message_quota_consumption(_request_timeout=LINE_TIMEOUT).total_usage or 0
    except Exception as exc:
        _, problem = _line_problem(exc)
        yield warn("line quota", f"the message quota could not be read: {problem}", None)
        return
    limit = int(quota.value)
    left = max(limit - int(used), 0)
    waiting = pending_recipients()
    summary = f"{used} of {limit} messages used this month, {left} left"
    if waiting:
        summary += f"; {waiting} recipient(s) waiting in the outbox"
    if left == 0:
        yield fail(
            "line quota",
            f"{summary}: nothing more can be pushed until next month",
            "upgrade the LINE Official Account plan, or wait for the 1st of the month (the outbox keeps the rest)",
        )
    elif waiting and waiting > left:
        yield warn(
            "line quota",
            f"{summary}: not all of them can be sent this month",
            "upgrade the plan or pause sections (`dxbot pause SECTION`)",
        )
    elif left < limit * LOW_QUOTA_SHARE:
        yield warn("line quota", f"{summary} (under {LOW_QUOTA_SHARE:.0%})", "consider a larger plan")
    else:
        yield ok("line quota", summary)


# --- the command ------------------------------------------------------------------------------------


def diagnose(environ=None, wall: Callable[[], datetime] | None = None) -> list[Finding]:
    """Run every check in order; later checks that need an earlier one's success are skipped."""
    from models.db import make_engine

    wall = wall or (lambda: datetime.now(UTC))
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        return [
            fail(
                "config",
                str(exc),
                "fix that variable (docs/operations.md: Configuration) and run `dxbot doctor` again",
            )
        ]
    findings = list(check_config(config))
    engine = make_engine(config.database_url)
    try:
        database = list(check_database(engine))
        findings += database
        schema_ok = all(f.level == "OK" for f in database)
        if schema_ok:
            with Session(engine) as session:
                findings += check_contents(session, config)
                findings += check_clock_heartbeat(session, wall())
                findings += check_inbox(session, config)
        else:
            findings.append(skip("plan", "plan, members, outbox and clock not checked (database first)"))

        def pending() -> int | None:
            if not schema_ok:
                return None
            from models.tables import OutboxMessage

            with Session(engine) as session:
                rows = session.exec(  # LINE's quota counts LINE's recipients only (LINE WORKS has none)
                    select(col(OutboxMessage.recipients)).where(
                        col(OutboxMessage.status).in_(("pending", "held")),
                        col(OutboxMessage.transport) == "line",
                    )
                ).all()
                return sum(len(r or []) for r in rows)

        findings += check_line(config, pending)
        # DXBOT_TRANSPORT: Config's field once it has one; until then only from an ENVIRON passed in.
        findings += check_lineworks(config, environ or {})
    finally:
        engine.dispose()
    return findings


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(as_json: bool) -> None:
    """Check that this deployment can work: configuration, database, plan, LINE channel, clock (exit 1 on FAIL)."""
    findings = diagnose()
    failures = sum(f.level == "FAIL" for f in findings)
    if as_json:
        echo_json({"ok": failures == 0, "findings": [asdict(f) for f in findings]})
    else:
        width = max(len(f.area) for f in findings)
        for finding in findings:
            click.echo(f"{finding.level:<5} {finding.area:<{width}}  {finding.what}")
            if finding.fix and finding.level in ("WARN", "FAIL"):
                click.echo(f"{'':<5} {'':<{width}}  fix: {finding.fix}")
        counts = {level: sum(f.level == level for f in findings) for level in LEVELS}
        click.echo(", ".join(f"{n} {level}" for level, n in counts.items() if n))
    if failures:
        click.get_current_context().exit(1)
