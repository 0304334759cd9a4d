"""The webhook's one write on its hot path: LINE's new events into the inbox in one autocommitted statement.

/callback answers LINE once the events are stored, so this write is the webhook's latency. Through the
app's pooled engine it costs four waits on PostgreSQL (the pool's pre-ping, BEGIN, INSERT, COMMIT) and,
on SQLite, a BEGIN … COMMIT holding the write lock that the event handler also needs. Here it is one
statement on an engine of its own:

- autocommit: `INSERT … ON CONFLICT (webhook_event_id) DO NOTHING RETURNING` is its own transaction,
  all of a body's events in one multi-row statement, so a failure stores none of them (a body of more
  than ROWS_PER_STATEMENT events is left to the caller's transaction, which inserts it in chunks);
- no pre-ping: the statement is idempotent, so when a pooled connection turns out to be dead (a database
  restart) it is replaced and the statement sent once more;
- on the driver's own cursor, not a SQLAlchemy Connection (see InboxWriter._execute);
- on SQLite no busy handler: SQLite's own waits for another writer's lock in sleeps that grow to 100 ms;
  this tries again every millisecond or two, for the same 5 s at most.

Events already in the inbox (LINE's redeliveries) are not touched here: the caller reads them back.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

from models.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, normalise_database_url
from models.tables import InboxEvent

log = logging.getLogger("bot.inbox_writer")  # its name before the inbox became a package

# SQLite's busy handler would wait in steps of 1, 2, 5 … 100 ms; the web tries again in these.
BUSY_RETRY_SECONDS = (0.0005, 0.001, 0.002)
# Bind parameters one statement may carry: SQLite's default limit (since 3.32; PostgreSQL allows 65,535).
MAX_BIND_PARAMETERS = 32_766
INSERTED_COLUMNS = [c.name for c in InboxEvent.__table__.columns if c.name != "id"]
# Rows per INSERT: a body with more events (2,000 and up, none in LINE's practice) is inserted in chunks
# of this many in one transaction, on the caller's session (insert_new_events), all or none.
ROWS_PER_STATEMENT = MAX_BIND_PARAMETERS // len(INSERTED_COLUMNS)


class InboxWriter:
    """Inserts new webhook events on its own autocommit engine (one per web process)."""

    def __init__(self, database_url: str, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000):
        self.busy_timeout = busy_timeout
        self.engine = make_engine(
            database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, sqlite_busy_timeout_ms=0
        )

    @classmethod
    def for_database(cls, database_url: str) -> InboxWriter | None:
        """A writer for the web process; None for an in-memory SQLite database (a second engine would
        open a second, empty database: the app's own transaction writes the inbox then)."""
        url = make_url(normalise_database_url(database_url))
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return None
        return cls(database_url)

    def insert_new(self, rows: Sequence[dict[str, Any]]) -> dict[str, int] | None:
        """INSERT the inbox ROWS (column values) whose events are not in the inbox yet; {id: new row id}.

        None when the database cannot skip existing rows in one statement (no ON CONFLICT … RETURNING),
        or when there are more ROWS than one statement binds: the caller's transaction writes them then.
        """
        if not rows:
            return {}
        if len(rows) > ROWS_PER_STATEMENT:
            return None
        prepared = _prepared_insert(self.engine.dialect, rows)
        if prepared is None:
            return None
        sql, params = prepared
        deadline = time.monotonic() + self.busy_timeout
        waits = iter(BUSY_RETRY_SECONDS)
        reconnected = False
        while True:
            try:
                return self._execute(sql, params)
            except DBAPIError as exc:
                if exc.connection_invalidated and not reconnected:
                    reconnected = True  # a dead pooled connection (database restarted): once more
                    log.warning(
                        "inbox connection was closed; inserting on a new one", extra={"stage": "store"}
                    )
                    continue
                if _sqlite_busy(exc) and time.monotonic() < deadline:
                    time.sleep(next(waits, BUSY_RETRY_SECONDS[-1]))
                    continue
                raise

    def _execute(self, sql: str, params: tuple) -> dict[str, int]:
        """Run the INSERT on a pooled DBAPI connection; DBAPI errors come out as SQLAlchemy's.

        The driver's cursor directly: a SQLAlchemy Connection and result around this one statement cost
        more CPU than the rest of the webhook. The engine's before_cursor_execute listeners still see it
        (instrumentation, and the tests' outage injection), and a connection the database dropped is
        invalidated just as SQLAlchemy would.
        """
        engine, dialect = self.engine, self.engine.dialect
        connection = engine.raw_connection()
        cursor = None
        try:
            cursor = connection.cursor()
            for listener in engine.dispatch.before_cursor_execute:
                listener(None, cursor, sql, params, None, False)
            cursor.execute(sql, params)
            return {event_id: row_id for row_id, event_id in cursor.fetchall()}
        except dialect.loaded_dbapi.Error as exc:
            invalidated = dialect.is_disconnect(exc, connection.dbapi_connection, cursor)
            if invalidated:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                sql,
                params,
                exc,
                dialect.loaded_dbapi.Error,
                hide_parameters=engine.hide_parameters,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from exc
        finally:
            if cursor is not None:
                with contextlib.suppress(Exception):  # a broken connection's: the pool deals with it
                    cursor.close()
            connection.close()  # back to the pool (or away, when invalidated)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_busy(exc: DBAPIError) -> bool:
    """SQLite said another connection holds the write lock (SQLITE_BUSY), not some other failure."""
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


def insert_new_events(connection: Connection, rows: Sequence[dict[str, Any]]) -> dict[str, int] | None:
    """Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING of ROWS; {webhook event id: new row id}.

    One statement per ROWS_PER_STATEMENT rows, all in CONNECTION's transaction (the caller commits or
    rolls back the lot). Sent as prepared driver SQL with the columns' own conversions (the JSON body,
    UTC datetimes): SQLAlchemy cannot cache its compiled form of ON CONFLICT, and compiling it per
    request was most of the webhook's CPU. None on databases other than PostgreSQL and SQLite (3.35+).
    """
    inserted: dict[str, int] = {}
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        prepared = _prepared_insert(connection.dialect, rows[start : start + ROWS_PER_STATEMENT])
        if prepared is None:
            return None
        inserted.update((event_id, row_id) for row_id, event_id in connection.exec_driver_sql(*prepared))
    return inserted


def _prepared_insert(dialect, rows: Sequence[dict[str, Any]]) -> tuple[str, tuple] | None:
    """The INSERT for ROWS in the driver's SQL and its parameters, each converted as its column binds it."""
    statement = _insert_statement(dialect, len(rows))
    if statement is None:
        return None
    sql, columns = statement
    params: list[Any] = []
    for row in rows:
        params.extend(convert(row[name]) if convert else row[name] for name, convert in columns)
    return sql, tuple(params)


@functools.lru_cache(maxsize=64)
def _insert_statement(dialect, rows: int) -> tuple[str, list[tuple[str, Any]]] | None:
    """The INSERT for ROWS events in the driver's parameter style, and each column's bind conversion."""
    placeholder = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if dialect.name not in ("postgresql", "sqlite") or placeholder is None:
        return None
    table = InboxEvent.__table__
    names = INSERTED_COLUMNS
    row = "(" + ", ".join([placeholder] * len(names)) + ")"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES {', '.join([row] * rows)} "
        "ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id, webhook_event_id"
    )
    return sql, [(name, table.c[name].type.bind_processor(dialect)) for name in names]
