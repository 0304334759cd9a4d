"""LINE WORKS' access token, kept in the database so the web and clock processes share one.

A token is asked for (FETCH, the sender's JWT exchange) when none is stored, from its refresh time on (a
margin before it expires: 10% of its lifetime, at most 5 minutes) and when LINE WORKS refused the one in
use. Each process also keeps the token in memory and reads the row only when that copy is due.

Two processes renewing at once: on PostgreSQL the row is locked (SELECT ... FOR UPDATE) while one fetches,
and the other then takes its token; on SQLite a lock held over an HTTP call would stop every other writer
(webhook events included), so both may fetch and the last writer wins — both tokens are valid (the
reference says nothing of a new token revoking the old; if one did, the refused process would find the
stored token differs from the one refused and take it). The token is never logged; the table holds it in
clear (a bearer credential for at most its lifetime, 24 hours): database backups contain it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from models.db import SessionFactory
from models.tables import LineWorksToken
from models.types import utcnow

MAX_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    """What the token endpoint answered: the access token (never shown) and how long it lives."""

    access_token: str = field(repr=False)
    lifetime: timedelta


def refresh_margin(lifetime: timedelta) -> timedelta:
    """How long before expiry a token is renewed: 10% of its lifetime, at most 5 minutes."""
    return min(MAX_MARGIN, lifetime / 10)


def token_key(*parts: str) -> str:
    """The row's key for one app, service account, scope and host: a SHA-256, so any length fits."""
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


@dataclass
class _Held:
    token: str = field(repr=False)
    refresh_after: datetime


class TokenCache:
    """The access token for KEY: the process's copy while fresh, else the stored one, else a new one."""

    def __init__(
        self,
        session_factory: SessionFactory,
        key: str,
        fetch: Callable[[], IssuedToken],
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory = session_factory
        self.key = key
        self.fetch = fetch  # may raise: the caller's error, passed on
        self.now = now  # real time: tokens expire by the wall clock, whatever DXBOT_NOW says
        self._held: _Held | None = None
        self._lock = threading.Lock()  # one renewal at a time within this process

    def current(self) -> str:
        """A token that is not due for renewal: held, stored by any process, or fetched now."""
        held = self._held
        if held is not None and self.now() < held.refresh_after:
            return held.token
        with self.factory() as session:
            row = session.get(LineWorksToken, self.key)
            if row is not None and self._usable(row, refused=None):
                return self._hold(row)
        return self.renew(refused=None)

    def renew(self, refused: str | None) -> str:
        """A token other than REFUSED (the one LINE WORKS just turned down): stored by another process, or new."""
        with self._lock:
            held = self._held
            if held is not None and held.token != refused and self.now() < held.refresh_after:
                return held.token  # another thread of this process renewed it meanwhile
            self._held = None
            with self.factory() as session:
                if session.get_bind().dialect.name == "postgresql":
                    return self._renew_locked(session, refused)
                return self._renew_unlocked(session, refused)

    def _renew_locked(self, session: Session, refused: str | None) -> str:
        """PostgreSQL: lock the row, take a token another process stored meanwhile, else fetch one holding the lock."""
        now = self.now()
        session.execute(
            postgresql_insert(LineWorksToken)
            .values(key=self.key, access_token=None, expires_at=now, refresh_after=now, fetched_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = session.execute(
            select(LineWorksToken).where(col(LineWorksToken.key) == self.key).with_for_update()
        ).scalar_one()
        if self._usable(row, refused):
            session.commit()
            return self._hold(row)
        started = self.now()
        issued = self.fetch()  # an exception rolls back and releases the lock (the session closes)
        self._store(row, issued, started)
        session.add(row)
        session.commit()
        return self._hold(row)

    def _renew_unlocked(self, session: Session, refused: str | None) -> str:
        """SQLite: fetch outside any transaction and store it (last writer wins)."""
        row = session.get(LineWorksToken, self.key)
        if row is not None and self._usable(row, refused):
            return self._hold(row)
        session.rollback()  # end the read before the HTTP call
        started = self.now()
        issued = self.fetch()
        stored = LineWorksToken(key=self.key, expires_at=started, refresh_after=started)
        self._store(stored, issued, started)
        values = {
            "access_token": stored.access_token,
            "expires_at": stored.expires_at,
            "refresh_after": stored.refresh_after,
            "fetched_at": stored.fetched_at,
        }
        session.execute(
            sqlite_insert(LineWorksToken)
            .values(key=self.key, **values)
            .on_conflict_do_update(index_elements=["key"], set_=values)
        )
        session.commit()
        return self._hold(stored)

    @staticmethod
    def _store(row: LineWorksToken, issued: IssuedToken, started: datetime) -> None:
        """Put ISSUED into ROW, its lifetime counted from STARTED, before the request (never after the real expiry)."""
        row.access_token = issued.access_token
        row.fetched_at = started
        row.expires_at = started + issued.lifetime
        row.refresh_after = row.expires_at - refresh_margin(issued.lifetime)

    def _usable(self, row: LineWorksToken, refused: str | None) -> bool:
        return bool(row.access_token) and row.access_token != refused and self.now() < row.refresh_after

    def _hold(self, row: LineWorksToken) -> str:
        token = row.access_token
        if not token:
            raise ValueError("no access token in the row")  # _usable or _store made sure there is one
        self._held = _Held(token, row.refresh_after)
        return token
