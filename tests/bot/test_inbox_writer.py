"""The webhook's inbox INSERT on its own autocommit engine: a dead connection, another writer, one statement."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlmodel import Session, select

from bot.inbox.writer import InboxWriter
from bot.services import services
from models.tables import InboxEvent, KpiReport
from tests.app_services import swap_services
from tests.conftest import STAFF


def stored(db) -> list[InboxEvent]:
    with Session(db) as s:
        return list(s.exec(select(InboxEvent).order_by(InboxEvent.id)).all())


def reports(db) -> list[float]:
    with Session(db) as s:
        return [r.value for r in s.exec(select(KpiReport).order_by(KpiReport.id)).all()]


def test_a_body_of_several_events_is_one_insert_and_lands_in_timestamp_order(line, app, db, staff):
    writer = services(app).inbox_writer
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lower().startswith("insert into inboxevent"):
            inserts.append(statement)

    sa_event.listen(writer.engine, "before_cursor_execute", count)
    first, second, third = (line.text(STAFF, f"オンライン申請率 {n}%") for n in (18, 19, 20))
    second["timestamp"] += 1
    third["timestamp"] += 2
    try:
        assert line.post(line.body(third, first, second)).status_code == 200
    finally:
        sa_event.remove(writer.engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    assert [r.webhook_event_id for r in stored(db)] == [e["webhookEventId"] for e in (first, second, third)]
    assert reports(db)[-1] == 20  # handled in LINE's order: the last figure said is the one that stands


def test_a_connection_the_database_closed_is_replaced_and_the_event_stored_once(line, app, db, staff):
    if db.dialect.name != "postgresql":
        pytest.skip("a server-side connection to close: PostgreSQL")
    writer = services(app).inbox_writer
    assert line.post(line.body(line.text(STAFF, "オンライン申請率 18%"))).status_code == 200
    with writer.engine.connect() as connection:  # the pooled connection the next webhook will use
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with db.connect() as admin:  # what a database restart or an idle-connection reaper does
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True

    event = line.text(STAFF, "訂正 19%")
    event["timestamp"] += 1
    assert line.post(line.body(event)).status_code == 200  # no pre-ping: the insert itself found it dead
    assert [r.webhook_event_id for r in stored(db)][-1] == event["webhookEventId"]
    assert len(stored(db)) == 2 and reports(db) == [18, 19]


def hold_sqlite_write_lock(db):
    """Another process's write transaction on the SQLite file: BEGIN IMMEDIATE on a connection of its own."""
    holder = sqlite3.connect(db.url.database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_the_webhook_waits_while_another_process_writes_then_stores(line, app, db, staff):
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    holder = hold_sqlite_write_lock(db)
    release = threading.Timer(0.3, holder.commit)
    release.start()
    try:
        assert line.post(line.body(line.text(STAFF, "オンライン申請率 18%"))).status_code == 200
    finally:
        release.join()
        holder.close()
    assert len(stored(db)) == 1 and reports(db) == [18]


def test_a_lock_held_past_the_timeout_gets_503_then_the_redelivery_is_stored(line, app, db, staff, config):
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    services(app).inbox_writer.dispose()
    swap_services(app, inbox_writer=InboxWriter(config.database_url, busy_timeout=0.2))
    event = line.text(STAFF, "オンライン申請率 18%")
    holder = hold_sqlite_write_lock(db)
    try:
        assert line.post(line.body(event)).status_code == 503  # LINE delivers it again
    finally:
        holder.rollback()
        holder.close()
    assert stored(db) == []
    event["deliveryContext"] = {"isRedelivery": True}
    assert line.post(line.body(event)).status_code == 200
    assert len(stored(db)) == 1 and reports(db) == [18]


def test_an_in_memory_sqlite_database_gets_no_second_engine(tmp_path):
    """A second engine on sqlite:// would open a second, empty database: the app's transaction writes then."""
    assert InboxWriter.for_database("sqlite://") is None
    assert InboxWriter.for_database("sqlite:///:memory:") is None
    writer = InboxWriter.for_database(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert writer is not None and writer.engine.url.database == str(tmp_path / "bot.sqlite3")
    writer.dispose()
