"""Configuration, read from the environment only (every variable: docs/operations.md)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from models.clock import Clock, make_clock, parse_timezone
from models.closures import DEFAULT_CLOSURES, CalendarError, ClosureRange, parse_closure_days
from models.grade_scale import DEFAULT_GRADE_SCALE, DEFAULT_SCALE, GradeScale, parse_grade_scale
from models.line_network import LineNetwork
from models.lineworks_config import SECRET_VARIABLES as LINEWORKS_SECRET_VARIABLES
from models.lineworks_config import LineWorksConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_CHANNEL_SECRET = "development-channel-secret-not-for-production"
# The city's timezone when DXBOT_TIMEZONE is unset: the one place the default lives (issue 24); every other
# module takes the zone from its caller (a Clock's .tz, Config.timezone).
DEFAULT_TIMEZONE = "Asia/Tokyo"
SENDERS = ("console", "line")
# production (the default): every process refuses to start without the secrets it uses; development
# (DXBOT_ENV=development, set by ./scripts/dev and `dxbot demo`): the console sender, /simulator and
# stand-in secrets, for a bot on one's own machine.
ENVIRONMENTS = ("production", "development")
# background: /callback answers once the events are in the inbox and one thread per process handles them
# (LINE's recommendation); inline: /callback handles them before it answers (503 on database trouble);
# worker: /callback only stores them and a separate `dxbot events` process handles them (the web process
# then spends its CPU on answering LINE alone).
WEBHOOK_HANDLING = ("background", "inline", "worker")
# DXBOT_TRANSPORT: the chat platforms the bot speaks, comma-separated (line, lineworks or both).
TRANSPORTS = ("line", "lineworks")


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


LOG_FORMATS = ("json", "text")
# Environment variables whose values must never appear in a log line.
SECRET_VARIABLES = (
    "LINE_CHANNEL_ACCESS_TOKEN",
    "LINE_CHANNEL_SECRET",
    "DXBOT_SECRET_KEY",
    "DXBOT_METRICS_TOKEN",
    *LINEWORKS_SECRET_VARIABLES,
)


@dataclass(frozen=True)
class LogSettings:
    """How a process logs: read first thing (before the Config, whose errors it must be able to log), never failing.

    A DXBOT_LOG_FORMAT or DXBOT_LOG_LEVEL that names nothing falls back to the default (the format with
    a warning, see bot/logging_setup.configure)."""

    format: str | None = None  # DXBOT_LOG_FORMAT (json or text); None: the process's own default
    level: str = "INFO"  # DXBOT_LOG_LEVEL
    rejected_format: str | None = None  # a DXBOT_LOG_FORMAT that is not a format, to warn about
    secrets: tuple[str, ...] = field(default=(), repr=False)  # values no log line may show

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LogSettings:
        env = os.environ if environ is None else environ
        chosen = env.get("DXBOT_LOG_FORMAT", "").strip().lower()
        level = env.get("DXBOT_LOG_LEVEL", "").strip().upper()
        secrets = [env.get(name, "").strip() for name in SECRET_VARIABLES]
        match = re.search(r"://[^:/@\s]+:([^@\s]+)@", env.get("DXBOT_DATABASE_URL", ""))
        if match:
            secrets.append(match.group(1))
        return cls(
            format=chosen if chosen in LOG_FORMATS else None,
            level=level if level and isinstance(logging.getLevelName(level), int) else "INFO",
            rejected_format=chosen if chosen and chosen not in LOG_FORMATS else None,
            secrets=tuple(secrets),
        )


@dataclass(frozen=True)
class Config:
    """Everything the processes need to know, from environment variables."""

    database_url: str
    channel_secret: str | None = None
    channel_access_token: str | None = field(default=None, repr=False)
    line_api_base_url: str | None = None
    sender: str = "line"
    now: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    base_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    environment: str = "production"  # DXBOT_ENV
    simulator: bool = (
        False  # DXBOT_SIMULATOR=1: in development mode, serve /simulator with the LINE sender too
    )
    webhook_handling: str = "background"
    line_network: LineNetwork = field(default_factory=LineNetwork)  # LINE calls' timeouts and proxy
    inbox_retention_days: int = 30  # DXBOT_INBOX_RETENTION_DAYS: handled webhook bodies are dropped after
    transcript_retention_days: int = 30  # DXBOT_TRANSCRIPT_RETENTION_DAYS: console transcript entries too
    plan_file: str | None = None  # DXBOT_PLAN_FILE: the plan `dxbot db init` seeds an empty database with
    metrics_token: str | None = field(default=None, repr=False)  # DXBOT_METRICS_TOKEN: /metrics asks for it
    font: str | None = None  # DXBOT_FONT: the Japanese font of charts and rich menu images (a file)
    # PROMETHEUS_MULTIPROC_DIR (bot/gunicorn_conf.py sets it): /metrics adds up every worker's counters there
    metrics_dir: str | None = None
    # DXBOT_SCHEDULE_<JOB> as set (crontab text, checked by scheduler.schedule.load_schedule, which knows the jobs)
    schedule: Mapping[str, str] = field(default_factory=dict)
    line_openapi_dir: str | None = None  # DXBOT_LINE_OPENAPI_DIR: another copy of LINE's OpenAPI spec
    # DXBOT_CLOSURE_DAYS: the city office's own closure days (the municipal calendar's `closures`)
    closure_days: tuple[ClosureRange, ...] = DEFAULT_CLOSURES
    grade_scale: GradeScale = DEFAULT_SCALE  # DXBOT_GRADE_SCALE: the grade letters and where each starts
    # DXBOT_LIVE_SINCE: when the bot went live (unfinished items of years before are 未確認); None: the
    # date of the first plan import, which the status model looks up
    live_since: date | None = None
    # LINEWORKS_*: the LINE WORKS app, service account and bot (models/lineworks_config.py); None: not set
    lineworks: LineWorksConfig | None = None
    # DXBOT_TRANSPORT: which chat platforms the processes speak (each member on the one they registered through)
    transports: tuple[str, ...] = ("line",)
    testing: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Config:
        """Read DXBOT_* and LINE_* variables; unset ones take their documented defaults."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        try:
            line_network = LineNetwork.from_env(env, base_url=get("LINE_API_BASE_URL"))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        environment = (get("DXBOT_ENV") or "production").lower()
        try:
            closure_days = parse_closure_days(get("DXBOT_CLOSURE_DAYS"))
            grade_scale = parse_grade_scale(get("DXBOT_GRADE_SCALE") or DEFAULT_GRADE_SCALE)
            lineworks = LineWorksConfig.from_env(get)
        except (CalendarError, ValueError) as exc:
            raise ConfigError(str(exc)) from exc
        config = cls(
            database_url=database_url_from_env(env),
            channel_secret=get("LINE_CHANNEL_SECRET"),
            channel_access_token=get("LINE_CHANNEL_ACCESS_TOKEN"),
            line_api_base_url=get("LINE_API_BASE_URL"),
            # A missing token never means "console": only development mode talks to the console by default.
            sender=(get("DXBOT_SENDER") or ("console" if environment == "development" else "line")).lower(),
            now=get("DXBOT_NOW"),
            timezone=get("DXBOT_TIMEZONE") or DEFAULT_TIMEZONE,
            base_url=get("DXBOT_BASE_URL"),
            secret_key=get("DXBOT_SECRET_KEY"),
            environment=environment,
            simulator=(get("DXBOT_SIMULATOR") or "").lower() in ("1", "true", "yes", "on"),
            webhook_handling=(get("DXBOT_WEBHOOK_HANDLING") or "background").lower(),
            line_network=line_network,
            inbox_retention_days=retention_days(
                get("DXBOT_INBOX_RETENTION_DAYS"), "DXBOT_INBOX_RETENTION_DAYS"
            ),
            transcript_retention_days=retention_days(
                get("DXBOT_TRANSCRIPT_RETENTION_DAYS"), "DXBOT_TRANSCRIPT_RETENTION_DAYS"
            ),
            plan_file=get("DXBOT_PLAN_FILE"),
            metrics_token=get("DXBOT_METRICS_TOKEN"),
            font=get("DXBOT_FONT"),
            metrics_dir=get("PROMETHEUS_MULTIPROC_DIR") or get("prometheus_multiproc_dir"),
            schedule={k: v for k, v in env.items() if k.startswith("DXBOT_SCHEDULE_")},
            line_openapi_dir=line_openapi_dir(env),
            closure_days=closure_days,
            grade_scale=grade_scale,
            live_since=live_since_date(get("DXBOT_LIVE_SINCE")),
            lineworks=lineworks,
            transports=parse_transports(get("DXBOT_TRANSPORT")),
        )
        config = replace(config, **overrides)
        config.validate()
        return config

    def validate(self) -> None:
        """Fail early, with the variable's name, on values that cannot work (secrets: see require_web)."""
        if self.environment not in ENVIRONMENTS:
            raise ConfigError(
                f"DXBOT_ENV={self.environment!r} is not an environment; choose one of: {', '.join(ENVIRONMENTS)}"
            )
        if self.sender not in SENDERS:
            raise ConfigError(
                f"DXBOT_SENDER={self.sender!r} is not a sender; choose one of: {', '.join(SENDERS)}"
            )
        if self.webhook_handling not in WEBHOOK_HANDLING:
            raise ConfigError(
                f"DXBOT_WEBHOOK_HANDLING={self.webhook_handling!r} is not a mode; choose one of: "
                + ", ".join(WEBHOOK_HANDLING)
            )
        try:
            parse_timezone(self.timezone)
        except ValueError as exc:
            raise ConfigError(f"DXBOT_TIMEZONE: {exc}") from exc
        try:
            self.clock()
        except ValueError as exc:
            raise ConfigError(f"DXBOT_NOW: {exc}") from exc

    @property
    def development(self) -> bool:
        """DXBOT_ENV=development: asked for explicitly, never implied by a missing secret."""
        return self.environment == "development"

    @property
    def secrets_optional(self) -> bool:
        """Development mode and the tests' own configurations may run without secrets (stand-ins are used)."""
        return self.development or self.testing

    def require_sender(self) -> None:
        """Stop a process that sends (web, clock, events) when its sender cannot: LINE's needs the token,
        LINE WORKS' its LINEWORKS_* app, service account and bot."""
        if self.sender == "line" and self.speaks("line") and not self.channel_access_token:
            raise ConfigError(
                "LINE_CHANNEL_ACCESS_TOKEN is not set: the LINE sender cannot send "
                "(set it; or DXBOT_ENV=development for a local bot that prints instead)"
            )
        if self.sender == "line" and self.speaks("lineworks") and self.lineworks is None:
            raise ConfigError(
                "DXBOT_TRANSPORT includes lineworks but LINEWORKS_CLIENT_ID and the other LINEWORKS_* "
                "variables are not set: the LINE WORKS sender cannot send "
                "(set them; or DXBOT_ENV=development for a local bot that prints instead)"
            )

    def speaks(self, transport: str) -> bool:
        """True when DXBOT_TRANSPORT names TRANSPORT (line | lineworks)."""
        return transport in self.transports

    @property
    def lineworks_bot_secret(self) -> str | None:
        """The Bot Secret LINE WORKS signs its callbacks with (None: not configured)."""
        return self.lineworks.bot_secret if self.lineworks is not None else None

    def require_web(self) -> None:
        """Stop the web process without its secrets: forged webhooks and sessions must find nothing to use."""
        needed = [("DXBOT_SECRET_KEY", self.secret_key)]
        if self.speaks("line"):
            needed.insert(0, ("LINE_CHANNEL_SECRET", self.channel_secret))
        if self.speaks("lineworks"):
            needed.append(("LINEWORKS_BOT_SECRET", self.lineworks_bot_secret))
        missing = [name for name, value in needed if not value and not self.secrets_optional]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: the web process does not "
                f"start without {'it' if len(missing) == 1 else 'them'} outside development mode (DXBOT_ENV=development)"
            )
        self.require_sender()

    @property
    def simulator_enabled(self) -> bool:
        """/simulator only in development mode: with the console sender, or with DXBOT_SIMULATOR=1 beside LINE."""
        return self.development and (self.simulator or self.sender == "console")

    @property
    def uses_development_secret(self) -> bool:
        """True when no channel secret is configured and the development one stands in."""
        return not self.channel_secret

    @property
    def effective_channel_secret(self) -> str:
        """The secret webhook signatures are checked with (the development one only where secrets are optional)."""
        if self.channel_secret:
            return self.channel_secret
        if not self.secrets_optional:
            raise ConfigError("LINE_CHANNEL_SECRET is not set")
        return DEVELOPMENT_CHANNEL_SECRET

    def clock(self) -> Clock:
        """The clock every process uses: frozen at DXBOT_NOW when it is set."""
        return make_clock(self.now, self.timezone)


def parse_transports(value: str | None) -> tuple[str, ...]:
    """DXBOT_TRANSPORT: `line` (unset), `lineworks` or `line,lineworks`; a ConfigError naming it otherwise."""
    if value is None:
        return ("line",)
    names = [name.strip().lower() for name in value.split(",")]
    if not names or any(name not in TRANSPORTS for name in names) or len(set(names)) < len(names):
        raise ConfigError(
            f"DXBOT_TRANSPORT={value!r} is not a transport; choose line, lineworks or line,lineworks"
        )
    return tuple(name for name in TRANSPORTS if name in names)


MAX_RETENTION_DAYS = 36500  # a century: more would overflow date arithmetic, and means "keep"


def retention_days(value: str | None, name: str, default: int = 30) -> int:
    """A whole number of days from variable NAME (DEFAULT when unset), or a ConfigError naming it."""
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_RETENTION_DAYS:
        raise ConfigError(
            f"{name}={value!r} is not a number of days (a whole number, 1 to {MAX_RETENTION_DAYS})"
        )
    return int(value)


def live_since_date(value: str | None) -> date | None:
    """DXBOT_LIVE_SINCE as a date (None when unset), or a ConfigError naming it."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"DXBOT_LIVE_SINCE: {value!r} is not a date (e.g. 2026-04-01)") from exc


def line_openapi_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """DXBOT_LINE_OPENAPI_DIR: the validator reads the spec once per process, wherever it first checks a message
    (senders, the outbox, rich menus), so it asks here rather than being handed a Config."""
    value = (os.environ if environ is None else environ).get("DXBOT_LINE_OPENAPI_DIR")
    return value.strip() if value and value.strip() else None


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """DXBOT_DATABASE_URL, else the default: all a bare `alembic upgrade` needs of the configuration."""
    value = (os.environ if environ is None else environ).get("DXBOT_DATABASE_URL")
    return value.strip() if value and value.strip() else default_database_url(environ)


def instance_dir(environ: Mapping[str, str] | None = None) -> Path:
    """DXBOT_INSTANCE_DIR, else ./instance of the working directory: local files never go into site-packages."""
    value = (os.environ if environ is None else environ).get("DXBOT_INSTANCE_DIR")
    return Path(value.strip()).absolute() if value and value.strip() else Path.cwd() / "instance"


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """A SQLite file in the instance folder, created on first use."""
    folder = instance_dir(environ)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'dxbot.sqlite3'}"
