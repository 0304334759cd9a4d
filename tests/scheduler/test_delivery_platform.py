"""What operators read about a failed delivery names the platform that answered (issue 27): a LINE WORKS
failure says "LINE WORKS answered …" in the outbox, while LINE's texts stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from messages.lineworks_sender import LineWorksSender
from messages.model import Text
from messages.sending import DeliveryError, TransportSenders, failed
from models.config import Config
from models.db import session_factory, transaction
from models.tables import OutboxMessage
from scheduler.delivery import deliver_due
from scheduler.outbox import enqueue
from tests.lineworks import conftest as lineworks_fixtures

lineworks = lineworks_fixtures.lineworks
lineworks_keys = lineworks_fixtures.lineworks_keys
USER = "c72af563-0f21-4736-11e4-045237113344"


class Clock:
    tz = UTC

    def now(self) -> datetime:
        return datetime.now(UTC)


def lineworks_sender(lineworks, keys, db) -> LineWorksSender:
    settings = Config.from_env({**lineworks.env(), "LINEWORKS_PRIVATE_KEY": keys.private_pem}).lineworks
    assert settings is not None
    return LineWorksSender(settings, session_factory(db))


def queue_one(db, key: str) -> None:
    with transaction(session_factory(db)) as session:
        enqueue(
            session,
            job="test",
            kind="notice",
            dedup_key=key,
            recipients=[f"lineworks:{USER}"],
            messages=[Text("お知らせ")],
            not_before=datetime(2026, 1, 1, tzinfo=UTC),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )


def row_errors(db) -> dict[str, tuple[str, str | None]]:
    with Session(db) as s:
        return {r.dedup_key: (r.status, r.error) for r in s.exec(select(OutboxMessage)).all()}


def test_a_lineworks_failure_in_the_outbox_names_lineworks(lineworks, lineworks_keys, db):
    sender = TransportSenders({"lineworks": lineworks_sender(lineworks, lineworks_keys, db)})
    queue_one(db, "n-1")
    lineworks.fail_next(1, 500)
    deliver_due(session_factory(db), sender, Clock())
    status, error = row_errors(db)["n-1"]
    assert status == "pending"  # to be retried after the back-off
    assert error is not None and error.startswith("attempt 1: LINE WORKS answered 500")
    assert "LINE answered" not in error

    queue_one(db, "n-2")
    lineworks.fail_next(1, 400)
    deliver_due(session_factory(db), sender, Clock())
    status, error = row_errors(db)["n-2"]
    assert status == "failed" and error is not None and error.startswith("LINE WORKS answered 400")


def test_a_lineworks_result_and_error_say_lineworks_and_line_s_keep_their_words(
    lineworks, lineworks_keys, db
):
    lineworks.fail_next(1, 500)
    result = lineworks_sender(lineworks, lineworks_keys, db).send(USER, [Text("x")])
    assert str(result).startswith("LINE WORKS answered 500")
    assert str(failed(500, "Internal error")) == "LINE answered 500: Internal error"
    assert str(failed(None, "timed out")) == "LINE could not be reached: timed out"
    assert str(DeliveryError("push", 400, "bad")) == "push failed: LINE answered 400: bad"
    assert str(DeliveryError("send", None, "reset", platform="LINE WORKS")) == (
        "send failed: LINE WORKS could not be reached: reset"
    )
