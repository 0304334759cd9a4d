"""An injectable clock, so jobs and conversations can be simulated at any moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Clock(Protocol):
    """Anything that tells the current, timezone-aware time."""

    @property
    def tz(self) -> ZoneInfo: ...

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SystemClock:
    """The real time, in the bot's timezone (Config.timezone: DXBOT_TIMEZONE)."""

    tz: ZoneInfo

    def now(self) -> datetime:
        return datetime.now(self.tz)


@dataclass(frozen=True)
class FrozenClock:
    """A clock stopped at one moment (DXBOT_NOW, tests, the simulator)."""

    moment: datetime
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.moment.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware moment")

    def now(self) -> datetime:
        return self.moment.astimezone(self.tz)


def parse_timezone(name: str) -> ZoneInfo:
    """Return the zone called NAME (Config.timezone), with a clear error for a wrong name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r} (for example: Asia/Tokyo)") from exc


def parse_moment(text: str) -> datetime:
    """Parse an ISO 8601 moment that carries its offset (e.g. 2026-04-01T09:00:00+09:00)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r} (for example: 2026-04-01T09:00:00+09:00)") from exc
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (for example: 2026-04-01T09:00:00+09:00)")
    return moment


def make_clock(now: str | None, timezone: str) -> Clock:
    """Build the clock from DXBOT_NOW / DXBOT_TIMEZONE values: frozen when NOW is given."""
    tz = parse_timezone(timezone)
    if now:
        return FrozenClock(parse_moment(now), tz)
    return SystemClock(tz)
