"""The database goes away for a moment: nothing acknowledged is lost, nothing is written half, nothing twice.

When the events cannot be stored the webhook answers 503 and LINE redelivers them. When they were stored
but handling them fails, the default (background) mode has already answered 200: the event stays
unhandled in the inbox and the event worker's sweep handles it once the database is back. In inline mode
(DXBOT_WEBHOOK_HANDLING=inline) the answer waits for the handling, so it is a 503 and LINE redelivers.

Outages are injected into the app's engines — its own and the webhook's inbox writer's — (the DBAPI's
own OperationalError raised before a chosen statement, so SQLAlchemy treats it exactly like a dropped
connection or a locked SQLite file), and one
test points the app at a PostgreSQL port where nothing listens. After each outage LINE's redelivery of
the same body is taken and applied exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from bot.app import close_app
from bot.services import services
from models.tables import ConversationState, InboxEvent, KpiReport
from tests.app_services import swap_services
from tests.reliability.conftest import STAFF, counts


class Outage:
    """Make the engines fail like a database that went away, for statements matching a predicate."""

    MESSAGES = {
        "postgresql": "server closed the connection unexpectedly",
        "sqlite": "database is locked",
    }

    def __init__(self, *engines):
        self.engines = engines
        self.failing: Callable[[str], bool] | None = None
        self.hits = 0
        for engine in engines:
            sa_event.listen(engine, "before_cursor_execute", self._before)
            sa_event.listen(engine, "commit", self._commit)
        self.commits, self.commit_to_fail = 0, None

    def _error(self, statement: str, parameters) -> OperationalError:
        """What SQLAlchemy raises when the driver reports the outage: the DBAPI error, wrapped."""
        dialect = self.engines[0].dialect
        dbapi = dialect.loaded_dbapi
        message = self.MESSAGES.get(dialect.name, "database unavailable")
        return OperationalError(statement, parameters, dbapi.OperationalError(message))

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.failing is not None and self.failing(statement):
            self.hits += 1
            raise self._error(statement, parameters)

    def _commit(self, conn):
        self.commits += 1
        if self.commits == self.commit_to_fail:
            self.hits += 1
            raise self._error("COMMIT", {})

    def everything(self) -> None:
        self.failing = lambda statement: True

    def on(self, fragment: str) -> None:
        self.failing = lambda statement: fragment.lower() in statement.lower()

    def fail_commit(self, number: int) -> None:
        """Fail the NUMBERth commit from now on (the statements went through; the commit is lost)."""
        self.commits, self.commit_to_fail = 0, number

    def end(self) -> None:
        self.failing, self.commit_to_fail = None, None

    def remove(self) -> None:
        for engine in self.engines:
            sa_event.remove(engine, "before_cursor_execute", self._before)
            sa_event.remove(engine, "commit", self._commit)


@pytest.fixture
def outage(app):
    outage = Outage(services(app).engine, services(app).inbox_writer.engine)
    yield outage
    outage.remove()


def kpi_reports(db) -> list[KpiReport]:
    with Session(db) as s:
        return list(s.exec(select(KpiReport)).all())


def inbox(db) -> list[InboxEvent]:
    with Session(db) as s:
        return list(s.exec(select(InboxEvent).order_by(InboxEvent.id)).all())


def redelivered(event: dict) -> dict:
    return dict(event, deliveryContext={"isRedelivery": True})


def test_a_database_that_is_down_gets_503_nothing_stored_and_the_redelivery_is_applied_once(
    line, db, staff, outage
):
    event = line.text(STAFF, "オンライン申請率 18%")
    before = counts(db)
    outage.everything()
    assert line.post(line.body(event)).status_code == 503
    assert outage.hits > 0
    outage.end()
    assert counts(db) == before and line.sender.sent == []

    assert line.post(line.body(redelivered(event))).status_code == 200
    assert [r.value for r in kpi_reports(db)] == [18]
    [request] = line.sender.sent
    assert request.kind == "push" and "記録しました" in request.texts()[0]  # the stale token is not used
    assert line.post(line.body(redelivered(event))).status_code == 200  # a third copy: acknowledged only
    assert len(kpi_reports(db)) == 1 and len(line.sender.sent) == 1


@pytest.fixture(params=["background", "inline"])
def mode(app, request) -> str:
    """Run the test in each webhook handling mode."""
    swap_services(app, config=replace(services(app).config, webhook_handling=request.param))
    return request.param


def recover(line, app, mode: str, *events: dict) -> None:
    """After the outage: LINE redelivers (inline, it got a 503), or the event worker sweeps (background)."""
    if mode == "inline":
        assert line.post(line.body(*(redelivered(e) for e in events))).status_code == 200
    else:
        worker = services(app).events
        assert worker.sweep(stale_after=timedelta(0)) == len(events)
        assert worker.drain(timeout=30)


@pytest.mark.parametrize(
    "where",
    ["insert into kpireport", "conversationstate", "commit"],
    ids=["report-insert", "conversation-state", "commit"],
)
def test_the_database_going_away_while_an_event_is_handled_leaves_it_whole_for_later(
    line, app, db, staff, outage, where, mode
):
    event = line.text(STAFF, "オンライン申請率 18%")
    if where == "commit":
        outage.fail_commit(1)  # the inbox row is autocommitted (no COMMIT); the conversation's commit fails
    else:
        outage.on(where)
    status = line.post(line.body(event)).status_code
    hits = outage.hits
    outage.end()
    assert hits > 0, "the outage never happened: the test did not test anything"
    assert status == (503 if mode == "inline" else 200)
    assert kpi_reports(db) == [] and line.sender.sent == []
    [row] = inbox(db)  # stored, not handled: the redelivery or the sweep will handle it
    assert row.handled_at is None and row.webhook_event_id == event["webhookEventId"]
    with Session(db) as s:
        assert s.exec(select(ConversationState)).all() == []

    recover(line, app, mode, event)
    assert [r.value for r in kpi_reports(db)] == [18]
    assert len(line.sender.sent) == 1 and "記録しました" in line.sender.sent[0].texts()[0]
    [row] = inbox(db)
    assert row.handled_at is not None
    if mode == "background":  # and a later sweep or LINE's copy changes nothing
        assert services(app).events.sweep(stale_after=timedelta(0)) == 0
        assert line.post(line.body(redelivered(event))).status_code == 200
        assert len(kpi_reports(db)) == 1 and len(line.sender.sent) == 1


def test_in_a_body_of_several_events_the_handled_ones_are_not_applied_again(
    line, app, db, staff, outage, mode
):
    first = line.text(STAFF, "オンライン申請率 18%")
    second = line.text(STAFF, "訂正 19%")
    second["timestamp"] += 1
    calls = {"n": 0}

    def second_report_insert(statement: str) -> bool:
        if "insert into kpireport" in statement.lower():
            calls["n"] += 1
            return calls["n"] == 2
        return False

    outage.failing = second_report_insert
    assert line.post(line.body(first, second)).status_code == (503 if mode == "inline" else 200)
    outage.end()
    assert [r.value for r in kpi_reports(db)] == [18]  # the first event was applied and committed
    assert len(line.sender.sent) == 1

    if mode == "inline":
        recover(line, app, mode, first, second)
    else:
        recover(line, app, mode, second)  # only the second is left unhandled
    reports = sorted(kpi_reports(db), key=lambda r: r.id)
    assert [(r.value, r.voided_at is not None) for r in reports] == [(18, True), (19, False)]
    assert len(line.sender.sent) == 2  # no second confirmation of 18%


def test_an_unreachable_postgresql_gets_503(config, db, line):
    """A real outage: nothing listens on the configured port (works on either test leg)."""
    from bot.app import create_app

    down = replace(config, database_url="postgresql://postgres@127.0.0.1:1/nowhere")
    app = create_app(down)
    swap_services(app, sender=line.sender)
    client = app.test_client()
    data = json.dumps(line.body(line.text(STAFF, "オンライン申請率 18%")), ensure_ascii=False).encode()
    response = client.post(
        "/callback",
        data=data,
        headers={"X-Line-Signature": line.sign(data), "Content-Type": "application/json"},
    )
    assert response.status_code == 503
    assert line.sender.sent == []
    close_app(app)
