"""Configuration, read from the environment only (see README's table)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from models.clock import Clock, make_clock, parse_timezone

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"
DEVELOPMENT_CHANNEL_SECRET = "development-channel-secret-not-for-production"
SENDERS = ("console", "line")
# background: /callback answers once the events are in the inbox and one thread per process handles them
# (LINE's recommendation); inline: /callback handles them before it answers (503 on database trouble);
# worker: /callback only stores them and a separate `dxbot events` process handles them (the web process
# then spends its CPU on answering LINE alone).
WEBHOOK_HANDLING = ("background", "inline", "worker")


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Config:
    """Everything the processes need to know, from environment variables."""

    database_url: str
    channel_secret: str | None = None
    channel_access_token: str | None = field(default=None, repr=False)
    line_api_base_url: str | None = None
    sender: str = "console"
    now: str | None = None
    timezone: str = "Asia/Tokyo"
    base_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    simulator: bool = False  # DXBOT_SIMULATOR=1: serve /simulator even with the LINE sender
    webhook_handling: str = "background"
    inbox_retention_days: int = 30  # DXBOT_INBOX_RETENTION_DAYS: handled webhook bodies are dropped after
    transcript_retention_days: int = 30  # DXBOT_TRANSCRIPT_RETENTION_DAYS: console transcript entries too
    testing: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Config:
        """Read DXBOT_* and LINE_* variables; unset ones take their documented defaults."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        token = get("LINE_CHANNEL_ACCESS_TOKEN")
        config = cls(
            database_url=get("DXBOT_DATABASE_URL") or default_database_url(),
            channel_secret=get("LINE_CHANNEL_SECRET"),
            channel_access_token=token,
            line_api_base_url=get("LINE_API_BASE_URL"),
            sender=(get("DXBOT_SENDER") or ("line" if token else "console")).lower(),
            now=get("DXBOT_NOW"),
            timezone=get("DXBOT_TIMEZONE") or "Asia/Tokyo",
            base_url=get("DXBOT_BASE_URL"),
            secret_key=get("DXBOT_SECRET_KEY"),
            simulator=(get("DXBOT_SIMULATOR") or "").lower() in ("1", "true", "yes", "on"),
            webhook_handling=(get("DXBOT_WEBHOOK_HANDLING") or "background").lower(),
            inbox_retention_days=retention_days(
                get("DXBOT_INBOX_RETENTION_DAYS"), "DXBOT_INBOX_RETENTION_DAYS"
            ),
            transcript_retention_days=retention_days(
                get("DXBOT_TRANSCRIPT_RETENTION_DAYS"), "DXBOT_TRANSCRIPT_RETENTION_DAYS"
            ),
        )
        config = replace(config, **overrides)
        config.validate()
        return config

    def validate(self) -> None:
        """Fail early, with the variable's name, on values that cannot work."""
        if self.sender not in SENDERS:
            raise ConfigError(
                f"DXBOT_SENDER={self.sender!r} is not a sender; choose one of: {', '.join(SENDERS)}"
            )
        if self.webhook_handling not in WEBHOOK_HANDLING:
            raise ConfigError(
                f"DXBOT_WEBHOOK_HANDLING={self.webhook_handling!r} is not a mode; choose one of: "
                + ", ".join(WEBHOOK_HANDLING)
            )
        if self.sender == "line" and not self.channel_access_token:
            raise ConfigError("DXBOT_SENDER=line needs LINE_CHANNEL_ACCESS_TOKEN")
        try:
            parse_timezone(self.timezone)
        except ValueError as exc:
            raise ConfigError(f"DXBOT_TIMEZONE: {exc}") from exc
        try:
            self.clock()
        except ValueError as exc:
            raise ConfigError(f"DXBOT_NOW: {exc}") from exc

    @property
    def simulator_enabled(self) -> bool:
        """/simulator is on with the console sender, or when DXBOT_SIMULATOR=1 says so explicitly."""
        return self.simulator or self.sender == "console"

    @property
    def uses_development_secret(self) -> bool:
        """True when no channel secret is configured and the development one stands in."""
        return not self.channel_secret

    @property
    def effective_channel_secret(self) -> str:
        """The secret webhook signatures are checked with."""
        return self.channel_secret or DEVELOPMENT_CHANNEL_SECRET

    def clock(self) -> Clock:
        """The clock every process uses: frozen at DXBOT_NOW when it is set."""
        return make_clock(self.now, self.timezone)


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


def default_database_url() -> str:
    """A SQLite file in the instance folder, created on first use."""
    DEFAULT_INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_INSTANCE_DIR / 'dxbot.sqlite3'}"
