"""POST /callback is answered in front of Flask (bot.line.edge.CallbackEdge): what Flask's hooks gave every
path — a request id, the latency metric, a logged 500 instead of a traceback to LINE — it gives too, and
every other path still reaches Flask."""

from __future__ import annotations

import logging

from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

import bot.line.edge as edge
from models.tables import InboxEvent

USER = "U" + "ed" * 16


def latency_count(client, status: str) -> float:
    """How many /callback answers with STATUS the webhook latency histogram has seen."""
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "dxbot_webhook_request_duration_seconds_count"
                and sample.labels.get("status") == status
            ):
                return sample.value
    return 0.0


def stored(db) -> list[str]:
    with Session(db) as s:
        return [r.webhook_event_id for r in s.exec(select(InboxEvent)).all()]


def test_a_get_is_refused_with_405_and_nothing_is_stored(line, client, db):
    response = client.get("/callback", headers={"X-Request-Id": "lb-check-1"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.headers["X-Request-Id"] == "lb-check-1"
    assert response.get_json()["error"].startswith("method not allowed")
    assert stored(db) == []


def test_the_answer_carries_the_given_request_id_or_a_new_one(line, db):
    event = line.event("follow", USER)
    given = line.post(line.body(event), environ_overrides={"HTTP_X_REQUEST_ID": "router-7f3a.01"})
    assert given.status_code == 200 and given.headers["X-Request-Id"] == "router-7f3a.01"
    forged = line.post(
        line.body(line.event("follow", USER)), environ_overrides={"HTTP_X_REQUEST_ID": 'x" level=ERROR'}
    )
    assert len(forged.headers["X-Request-Id"]) == 32 and "level" not in forged.headers["X-Request-Id"]
    assert forged.get_json() == {"status": "ok"}
    assert forged.headers["Content-Type"] == "application/json"
    assert int(forged.headers["Content-Length"]) == len(forged.get_data())


def test_a_bug_in_the_edge_is_a_logged_500_counted_in_the_metrics_and_the_next_request_works(
    line, client, db, monkeypatch, caplog
):
    before = latency_count(client, "500")

    def broken(body):
        raise RuntimeError("a bug while parsing")

    monkeypatch.setattr(edge, "parse_body", broken)
    with caplog.at_level(logging.ERROR, logger="bot.webhook"):
        response = line.post(line.body(line.event("follow", USER)))
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error"}  # no traceback goes back to LINE
    assert response.headers["X-Request-Id"]
    failed = [r for r in caplog.records if r.getMessage() == "webhook request failed"]
    assert failed and failed[0].exc_info is not None
    assert latency_count(client, "500") == before + 1
    assert stored(db) == []  # LINE redelivers a body answered 500

    monkeypatch.undo()
    event = line.event("follow", USER)
    assert line.post(line.body(event)).status_code == 200
    assert stored(db) == [event["webhookEventId"]]


def test_other_paths_still_go_through_flask(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/callbacks").status_code == 404  # only the exact path is the edge's
