"""The bot process's own bookkeeping tables: the clock's lease and job runs, the simulator's clock, logins,
LINE WORKS' access token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.columns import aware
from models.types import utcnow


class ClockLease(SQLModel, table=True):
    """Which clock process runs the jobs (one at a time) and its heartbeat; a stale lease is taken over."""

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    acquired_at: datetime = aware(default_factory=utcnow)
    renewed_at: datetime = aware(default_factory=utcnow)
    expires_at: datetime = aware()


class SimulatorClock(SQLModel, table=True):
    """What the simulator's clock says (one row), so `dxbot say` in another process speaks at that time.

    MOMENT is the simulated time at real time SET_AT; when RUNS, it moves on with the real clock from there.
    """

    id: int = Field(default=1, primary_key=True)
    moment: datetime = aware()
    set_at: datetime = aware(default_factory=utcnow)
    runs: bool = True


class JobRun(SQLModel, table=True):
    """A record of each job run: when (real and simulated), and what it queued."""

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=32, index=True)
    ran_at: datetime = aware(default_factory=utcnow)
    as_of: datetime = aware()
    queued: int = 0
    note: str | None = None


# --- the dashboard ------------------------------------------------------------------------------


class LoginLink(SQLModel, table=True):
    """A single-use dashboard login link (「ダッシュボード」): only the SHA-256 of its token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = aware(default_factory=utcnow)
    expires_at: datetime = aware()
    used_at: datetime | None = aware(nullable=True)


class DashboardSession(SQLModel, table=True):
    """A dashboard login: the cookie carries a random token (only its SHA-256 is here); 「ログアウト」 revokes it.

    created_at, expires_at and revoked_at are real time, never DXBOT_NOW (the bot's clock may be frozen).
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = aware(default_factory=utcnow)
    expires_at: datetime = aware()
    revoked_at: datetime | None = aware(nullable=True)


class LineWorksToken(SQLModel, table=True):
    """LINE WORKS' access token, shared by the web and clock processes (models/lineworks_token.py).

    One row per app, service account and scope (KEY: a SHA-256 of them). ACCESS_TOKEN is a bearer
    credential valid until EXPIRES_AT (None: a row locked before its first token); it is renewed from
    REFRESH_AFTER on, a margin before expiry. Real time, never DXBOT_NOW.
    """

    key: str = Field(primary_key=True, max_length=64)
    access_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expires_at: datetime = aware()
    refresh_after: datetime = aware()
    fetched_at: datetime = aware(default_factory=utcnow)
