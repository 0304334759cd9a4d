"""The local checks of `dxbot doctor` — configuration, database, plan, people, clock heartbeat, inbox — and the
Finding each one yields; no network (the LINE checks, the only ones that call out, stay in bot.cli.doctor)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.config import Config
from models.members import platform_name

LEVELS = ("OK", "WARN", "FAIL", "SKIP")
MIN_SECRET_KEY_LENGTH = 16


@dataclass
class Finding:
    """One line of the report: LEVEL (OK, WARN, FAIL, SKIP), the AREA checked, what was found, the fix."""

    level: str
    area: str
    what: str
    fix: str | None = None


def ok(area: str, what: str) -> Finding:
    return Finding("OK", area, what)


def warn(area: str, what: str, fix: str | None = None) -> Finding:
    return Finding("WARN", area, what, fix)


def fail(area: str, what: str, fix: str | None = None) -> Finding:
    return Finding("FAIL", area, what, fix)


def skip(area: str, what: str) -> Finding:
    return Finding("SKIP", area, what)


# --- configuration --------------------------------------------------------------------------------


def check_config(config: Config) -> Iterator[Finding]:
    """The variables the sender in use needs, the web secret key, the public URL, a frozen clock.

    LINE's token and secret are asked for only when DXBOT_TRANSPORT names line (LINE WORKS' settings are
    checked by bot.cli.doctor_lineworks)."""
    sender = config.sender == "line"
    line = sender and config.speaks("line")
    if line and not config.channel_access_token:
        yield fail(
            "config",
            "LINE_CHANNEL_ACCESS_TOKEN is not set: the web, clock and events processes refuse to start",
            "issue a channel access token in LINE Developers console → your channel → Messaging API",
        )
    elif line:
        yield ok("config", "sender: line (LINE_CHANNEL_ACCESS_TOKEN is set)")
    elif sender:
        yield ok(
            "config",
            f"sender: line; DXBOT_TRANSPORT={','.join(config.transports)}: LINE is not used "
            "(no LINE_CHANNEL_ACCESS_TOKEN or LINE_CHANNEL_SECRET needed)",
        )
    else:
        yield warn(
            "config",
            "sender: console — nothing reaches LINE (the bot's messages are printed and kept in the database)",
            "for production set LINE_CHANNEL_ACCESS_TOKEN and LINE_CHANNEL_SECRET (DXBOT_SENDER=line)",
        )

    if config.development:
        yield warn(
            "config",
            "DXBOT_ENV=development: development mode (console sender by default, /simulator, no secrets needed)",
            "never on a public deployment: unset DXBOT_ENV there",
        )
    if config.channel_secret:
        if line:
            yield ok("config", "LINE_CHANNEL_SECRET is set")
    elif not config.development and config.speaks("line"):
        yield fail(
            "config",
            "LINE_CHANNEL_SECRET is not set: the web process refuses to start",
            "copy the channel secret from LINE Developers console → your channel → Basic settings",
        )

    key = config.secret_key or ""
    if not key:
        if not config.development:
            yield fail(
                "config",
                "DXBOT_SECRET_KEY is not set: the web process refuses to start",
                'set DXBOT_SECRET_KEY to a long random value, e.g. python -c "import secrets; print(secrets.token_hex(32))"',
            )
        else:
            yield ok("config", "DXBOT_SECRET_KEY not set (development mode: a random key per process)")
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        yield warn(
            "config",
            f"DXBOT_SECRET_KEY is short ({len(key)} characters)",
            f"use at least {MIN_SECRET_KEY_LENGTH} random characters (secrets.token_hex(32))",
        )
    else:
        yield ok("config", "DXBOT_SECRET_KEY is set")

    base = config.base_url
    # LINE's texts when LINE is spoken; LINE WORKS' (its callback path) when only LINE WORKS is.
    platform, path = ("LINE", "/callback") if config.speaks("line") else ("LINE WORKS", "/lineworks/callback")
    if not base:
        finding = fail if sender else warn
        yield finding(
            "config",
            f"DXBOT_BASE_URL is not set: {platform} needs the app's public https address (…{path})",
            "set DXBOT_BASE_URL to the web app's public URL, e.g. https://dxbot.example.jp",
        )
    else:
        parts = urlsplit(base)
        if parts.scheme != "https" or not parts.netloc:
            finding = fail if sender else warn
            yield finding(
                "config",
                f"DXBOT_BASE_URL={base} is not an https URL: {platform} only calls https webhooks",
                "set DXBOT_BASE_URL to https://<the app's public host>",
            )
        else:
            yield ok("config", f"DXBOT_BASE_URL is {base}")

    if config.line_api_base_url and line:
        yield warn(
            "config",
            f"LINE_API_BASE_URL={config.line_api_base_url}: every LINE API call goes to that host, not LINE",
            "unset LINE_API_BASE_URL unless this is a test against a mock server",
        )
    if config.now:
        yield warn(
            "config",
            f"DXBOT_NOW={config.now}: the bot's clock is frozen (jobs, due dates and digests use that time)",
            "unset DXBOT_NOW in production",
        )
    from scheduler.schedule import ScheduleError, load_schedule

    try:
        load_schedule(config.schedule)
    except ScheduleError as exc:
        yield fail("config", str(exc), "fix or unset that DXBOT_SCHEDULE_<JOB> variable")


# --- database, migrations, plan, people, outbox, clock ---------------------------------------------


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def check_database(engine: Engine) -> Iterator[Finding]:
    """Reachable; at the newest migration; tables as the code expects them."""
    from models import migrate

    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        yield fail(
            "database",
            f"cannot connect to {_where(engine)}: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}",
            "check DXBOT_DATABASE_URL and that the database server is running and reachable",
        )
        return
    yield ok("database", f"{engine.dialect.name} at {_where(engine)} answers")
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current is None:
        yield fail(
            "migrations", "the database has no schema", "run `dxbot db init` (the Procfile's release step)"
        )
        return
    if current != head:
        from alembic.script import ScriptDirectory

        known = {s.revision for s in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()}
        if current in known:
            yield fail(
                "migrations",
                f"the database is at revision {current}; the code needs {head}",
                "run `dxbot db upgrade` (the Procfile's release step runs `dxbot db init`)",
            )
        else:
            yield fail(
                "migrations",
                f"the database is at revision {current}, which this code does not know (newer code ran on it?)",
                "deploy the code that wrote that revision, or restore a backup made with this version",
            )
        return
    drift = migrate.schema_drift(engine)
    if drift:
        shown = "; ".join(str(d)[:120] for d in drift[:3])
        yield fail(
            "migrations",
            f"at revision {head} but the tables differ from the code in {len(drift)} place(s): {shown}",
            "a migration is missing or the schema was changed by hand: see docs/development.md (A schema change)",
        )
        return
    yield ok("migrations", f"at the newest revision ({head}), tables match the code")


def check_contents(session: Session, config: Config) -> Iterator[Finding]:
    """The plan loaded and covering this fiscal year; an admin to tell; outbox rows that failed."""
    from bot.ops import check_plan
    from models.fiscal_year import fiscal_year_of
    from models.tables import KpiTarget, Member, OutboxMessage

    plan = check_plan(session)
    if not plan.ok:
        yield fail("plan", "no plan is loaded (no measures or initiatives)", "run `dxbot db init`")
        return
    last_year = session.exec(select(func.max(KpiTarget.fiscal_year))).one()
    clock = config.clock()
    this_year = fiscal_year_of(clock.now(), clock.tz)
    if last_year is not None and this_year > last_year:
        yield warn(
            "plan",
            f"{plan.summary}, but the plan ends with FY{last_year} and it is FY{this_year}: no requests are sent",
            "import the next plan: `dxbot plan import PATH`",
        )
    else:
        yield ok("plan", f"{plan.summary}, fiscal years up to FY{last_year}")

    members = session.exec(select(func.count()).select_from(Member).where(col(Member.active).is_(True))).one()
    admins = session.exec(
        select(func.count())
        .select_from(Member)
        .where(col(Member.active).is_(True), col(Member.role) == "admin")
    ).one()
    if not admins:
        yield warn(
            "members",
            f"{members} active member(s), no admin: nobody hears about failed deliveries or the quota",
            "create an admin invite: `dxbot invite create --section <section> --role admin`",
        )
    else:
        yield ok("members", f"{members} active member(s), {admins} admin(s)")

    by_transport = dict(
        session.exec(
            select(col(OutboxMessage.transport), func.count())
            .where(OutboxMessage.status == "failed")
            .group_by(col(OutboxMessage.transport))
        ).all()
    )
    failed = sum(by_transport.values())
    if failed:
        who = " and ".join(platform_name(t) for t in ("line", "lineworks") if by_transport.get(t))
        yield warn(
            "outbox",
            f"{failed} outbox message(s) failed ({who or 'LINE'} refused them)",
            "see why with `dxbot outbox list --status failed`, then `dxbot outbox retry ID…`",
        )
    else:
        yield ok("outbox", "no failed deliveries")


def check_clock_heartbeat(session: Session, now: datetime) -> Iterator[Finding]:
    """The clock process's lease renewal is fresh."""
    from bot.ops import CLOCK_STALE_AFTER, check_clock
    from scheduler.clock import heartbeat

    result = check_clock(session, now)
    if result.ok:
        lease = heartbeat(session)
        yield ok("clock", f"{result.summary} (holder {lease.holder})")
    elif result.data.get("heartbeat_age_seconds") is None:
        yield fail(
            "clock",
            "no clock process has ever run: nothing scheduled is sent",
            "start the clock process (the Procfile's `clock: dxbot clock`)",
        )
    else:
        lease = heartbeat(session)
        yield fail(
            "clock",
            f"{result.summary}; last holder {lease.holder}",
            "the clock process is down or cannot reach the database: restart it and read its logs "
            f"(it renews every 20 s; {int(CLOCK_STALE_AFTER.total_seconds() // 60)} min without is stale)",
        )


INBOX_LATE_AFTER_SECONDS = 60  # older than the event worker's sweep age: nothing has picked it up
INBOX_STUCK_AFTER_SECONDS = 300


def check_inbox(session: Session, config: Config) -> Iterator[Finding]:
    """Webhook events LINE was told we have (200) but nobody has handled: who should, and since when;
    and events set aside as failed (no restart helps those: they wait for someone to look)."""
    yield from _check_waiting(session, config)
    from bot.inbox import failed_count

    failed = failed_count(session)
    if failed:
        yield warn(
            "inbox",
            f"{failed} webhook event(s) could not be handled and were set aside as failed",
            "see them with `dxbot inbox failed`; after fixing the cause, `dxbot inbox retry ID`",
        )


def _check_waiting(session: Session, config: Config) -> Iterator[Finding]:
    from bot.inbox import inbox_backlog

    waiting, oldest = inbox_backlog(session)
    if not waiting:
        yield ok("inbox", "no webhook event waiting to be handled")
        return
    age = max((config.clock().now() - oldest).total_seconds(), 0.0)
    what = f"{waiting} webhook event(s) waiting to be handled, the oldest for {int(age)} s"
    if config.webhook_handling == "worker":
        fix = "DXBOT_WEBHOOK_HANDLING=worker: start the events process (`dxbot events`) and read its logs"
    else:
        fix = "the web workers' event threads handle them: read the web process's logs (and restart it)"
    if age >= INBOX_STUCK_AFTER_SECONDS:
        yield fail("inbox", what, fix)
    elif age >= INBOX_LATE_AFTER_SECONDS:
        yield warn("inbox", what, fix)
    else:
        yield ok("inbox", what + " (being handled)")
