"""A correctly signed body is stored whatever is inside it: values PostgreSQL's json refuses, lone
surrogates in the ids and types, thousands of events. Only an unreachable database asks for redelivery."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from bot.inbox.writer import ROWS_PER_STATEMENT
from bot.services import services
from models.tables import InboxEvent
from tests.app_services import swap_services
from tests.bot.conftest import new_event_id

USER = "U" + "b2" * 16
GROUP = "C" + "c3" * 16


def rows(db) -> list[InboxEvent]:
    with Session(db) as s:
        return list(s.exec(select(InboxEvent).order_by(InboxEvent.id)).all())


def count(db) -> int:
    with Session(db) as s:
        return s.exec(select(func.count()).select_from(InboxEvent)).one()


def signed_text(line, body: dict) -> bytes:
    """BODY as JSON text the way a signer might write it: NaN as NaN, lone surrogates escaped."""
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode("ascii")


def test_nan_and_infinity_anywhere_in_an_event_are_stored_as_null_and_the_event_handled(line, db):
    event = line.event("follow", USER)
    event["timestamp"] = float("nan")
    event["follow"] = {"isUnblocked": False, "score": float("inf"), "low": float("-inf"), "big": 1e400}
    other = line.event("follow", "U" + "d4" * 16)
    assert line.post(signed_text(line, line.body(event, other))).status_code == 200
    stored = {r.webhook_event_id: r for r in rows(db)}
    assert set(stored) == {event["webhookEventId"], other["webhookEventId"]}  # the neighbour too
    # Handling decides what the event means: with no usable timestamp LINE's SDK does not take it.
    assert stored[event["webhookEventId"]].handled_at is not None
    assert stored[other["webhookEventId"]].outcome == "help"
    assert [request.to for request in line.sender.sent] == [("U" + "d4" * 16,)]


def test_nan_kept_in_a_members_body_is_valid_json_null(line, db, staff):
    event = line.text(staff, "ヘルプ")
    event["message"]["emojis"] = [{"index": float("nan"), "length": float("-inf")}]
    assert line.post(signed_text(line, line.body(event))).status_code == 200
    [row] = rows(db)
    assert row.body["message"]["emojis"] == [{"index": None, "length": None}]


def test_an_integer_too_long_for_python_is_stored_as_null(line, db):
    event = line.event("follow", USER)
    data = signed_text(line, line.body(event)).replace(b'"isUnblocked": false', b'"n": ' + b"9" * 5000)
    assert line.post(data).status_code == 200  # was a 500 (ValueError), redelivered for ever
    [row] = rows(db)
    assert row.handled_at is not None


def test_lone_surrogates_in_the_id_the_type_and_the_source_type_are_stored_and_deduplicated(line, db):
    odd = line.event("follow", USER)
    odd["webhookEventId"] = "01SURROGATE\ud800" + new_event_id()[12:]
    odd["type"] = "follow\udfff"
    odd["source"]["type"] = "user\ud83d"
    good = line.event("follow", "U" + "d4" * 16)
    data = signed_text(line, line.body(odd, good))
    assert line.post(data).status_code == 200
    assert line.post(data).status_code == 200  # LINE's redelivery: the same (cleaned) id, not stored twice
    stored = {r.webhook_event_id: r for r in rows(db)}
    cleaned = odd["webhookEventId"].replace("\ud800", "\ufffd")
    assert set(stored) == {cleaned, good["webhookEventId"]}
    assert stored[cleaned].event_type == "follow\ufffd" and stored[cleaned].source_type == "user\ufffd"
    assert stored[cleaned].handled_at is not None and stored[good["webhookEventId"]].outcome == "help"


def test_a_lone_surrogate_in_a_legacy_event_without_an_id_gets_a_stable_id(line, db):
    event = line.event("follow", USER)
    event.pop("webhookEventId")
    event["follow"] = {"note": "\udc00 \ud83d\ude00"}  # a lone low surrogate and a proper pair (😀)
    data = signed_text(line, line.body(event))
    assert line.post(data).status_code == 200
    assert line.post(data).status_code == 200
    [row] = rows(db)
    assert row.webhook_event_id.startswith("sha256-") and row.handled_at is not None


def test_a_valid_surrogate_pair_is_kept_as_the_character(line, db, staff):
    event = line.text(staff, "ヘルプ \U0001f600")
    assert line.post(signed_text(line, line.body(event))).status_code == 200
    [row] = rows(db)
    assert row.body["message"]["text"] == "ヘルプ \U0001f600"


def many_events(n: int) -> list[dict]:
    """N distinct, small events of a type the bot does not know (ignored when handled)."""
    return [{"type": "x", "webhookEventId": f"01MANY{i:020d}", "timestamp": i} for i in range(n)]


def worker_mode(line, app, config):
    """Store only (DXBOT_WEBHOOK_HANDLING=worker): the test looks at the inbox, not at thousands of handlings."""
    from dataclasses import replace

    from bot.app import create_app

    stored_only = create_app(replace(config, webhook_handling="worker"))
    swap_services(stored_only, sender=line.sender)
    line.client = stored_only.test_client()
    return stored_only


def test_more_events_than_one_statement_can_bind_are_all_stored(line, app, db, config):
    from bot.app import close_app

    stored_only = worker_mode(line, app, config)
    n = 65_535 // 12 + 1  # 5,462: one past PostgreSQL's bind parameter limit for one INSERT
    try:
        body = line.body(*many_events(n))
        assert line.post(body, validate=False).status_code == 200
        assert count(db) == n
        assert line.post(body, validate=False).status_code == 200  # a redelivery adds nothing
        assert count(db) == n
    finally:
        close_app(stored_only)


def test_a_long_body_is_stored_in_one_transaction_all_or_none(line, app, db, config):
    from bot.app import close_app

    stored_only = worker_mode(line, app, config)
    engines = (
        services(stored_only).engine,
        services(stored_only).inbox_writer.engine,
    )
    inserts: list[int] = []

    def second_insert_fails(conn, cursor, statement, parameters, context, executemany):
        if statement.lower().startswith("insert into inboxevent"):
            inserts.append(1)
            if len(inserts) == 2:
                raise OperationalError(statement, parameters, Exception("server closed the connection"))

    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", second_insert_fails)
    body = line.body(*many_events(2 * ROWS_PER_STATEMENT + 1))
    try:
        assert line.post(body, validate=False).status_code == 503  # the database went away: LINE redelivers
        assert count(db) == 0  # the first chunk was rolled back with the rest
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", second_insert_fails)
    try:
        assert line.post(body, validate=False).status_code == 200
        assert count(db) == 2 * ROWS_PER_STATEMENT + 1
    finally:
        close_app(stored_only)


def test_a_normal_body_is_still_one_insert(line, app, db):
    inserts = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lower().startswith("insert into inboxevent"):
            inserts.append(statement)

    engines = services(app).engine, services(app).inbox_writer.engine
    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        assert line.post(line.body(*many_events(50)), validate=False).status_code == 200
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", seen)
    assert len(inserts) == 1 and count(db) == 50


def test_an_event_the_database_refuses_is_kept_as_failed_and_the_others_are_handled(line, app, db):
    """Not the database being away (a 503 for ever, as every redelivery fails alike) but something in one
    event: the others are stored and handled, that one is kept as a failed row, and redeliveries are 200."""
    from sqlalchemy.exc import DataError

    refused = line.event("follow", USER)
    refused["webhookEventId"] = "01REFUSED" + new_event_id()[9:]
    good = line.event("follow", "U" + "d4" * 16)
    engines = services(app).engine, services(app).inbox_writer.engine

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if "ON CONFLICT" in statement and refused["webhookEventId"] in (parameters or ()):
            raise DataError(statement, parameters, Exception("value not accepted"))

    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", refuse)
    try:
        assert line.post(line.body(refused, good)).status_code == 200
        assert line.post(line.body(refused, good)).status_code == 200  # LINE's redelivery: duplicates
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", refuse)
    stored = {r.webhook_event_id: r for r in rows(db)}
    assert stored[good["webhookEventId"]].outcome == "help"
    kept = stored[refused["webhookEventId"]]
    assert (kept.outcome, kept.error_class, kept.failed_at is not None) == ("failed", "DataError", True)
    assert kept.body["source"] == {"type": "user", "userId": USER} and "replyToken" not in kept.body
    assert [r.to for r in line.sender.sent] == [("U" + "d4" * 16,)]


# --- part 8: a numeric groupId ---------------------------------------------------------------------


def test_a_numeric_group_id_is_logged_and_counted_as_handled_not_as_an_error(line, db, caplog):
    caplog.set_level(logging.INFO, logger="bot.webhook")
    event = line.event("join", USER, group=GROUP)
    event["source"]["groupId"] = 12345
    assert line.post(line.body(event), validate=False).status_code == 200
    [row] = rows(db)
    assert row.handled_at is not None and row.outcome == "ignored"
    handled = [r for r in caplog.records if r.getMessage() == "webhook event handled"]
    assert handled and handled[0].outcome == "ignored"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_sweeping_after_odd_bodies_finds_nothing_left(line, app, db):
    event = line.event("follow", USER)
    event["webhookEventId"] = "\ud800" * 3
    event["timestamp"] = float("-inf")
    assert line.post(signed_text(line, line.body(event))).status_code == 200
    events = services(app).events
    assert events.sweep(stale_after=timedelta(0)) == 0
    [row] = rows(db)
    assert row.handled_at is not None
