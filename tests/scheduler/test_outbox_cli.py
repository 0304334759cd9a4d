"""`dxbot outbox list|flush|retry`, `dxbot pause` and `dxbot resume`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from messages.model import Text
from models.tables import OutboxMessage, Section, SectionPause, TranscriptEntry
from scheduler.outbox import enqueue
from tests.scheduler.test_delivery import TOKEN, FakeLine

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)  # the dxbot fixture's DXBOT_NOW
KEYS = {
    "id",
    "job",
    "kind",
    "recipients",
    "section",
    "dedup_key",
    "status",
    "retry_key",
    "not_before",
    "created_at",
    "sent_at",
    "error",
}


def user(n: int) -> str:
    return f"U{n:032x}"


@pytest.fixture
def sections(db):
    with Session(db) as session:
        session.add(Section(name="国保医療課", department="市民部"))
        session.add(Section(name="税務課", department="総務部"))
        session.commit()


def section_id(db, name: str) -> int:
    with Session(db) as session:
        return session.exec(select(Section.id).where(Section.name == name)).one()


def queue(
    db, key: str, *, section: str | None = "国保医療課", recipients=None, job="kpi-request", kind=None, at=NOW
):
    with Session(db, expire_on_commit=False) as session:
        rows = enqueue(
            session,
            job=job,
            kind=kind or job,
            dedup_key=key,
            recipients=recipients or [user(1), user(2)],
            messages=[Text(f"{key} のお知らせ")],
            section_id=section_id(db, section) if section else None,
            not_before=at,
            now=at,
        )
        session.commit()
        return rows


def listed(dxbot, *args, env: dict | None = None) -> list[dict]:
    result = dxbot("outbox", "list", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["messages"]


def test_list_json_has_the_contract_keys(dxbot, db, sections):
    queued = queue(db, "kpi-request:2026Q3:kokuho")[0]
    queue(db, "notice:quota:2026-11-24", section=None, job="deliver", kind="notice")
    messages = listed(dxbot)
    assert len(messages) == 2
    first = messages[0]
    assert set(first) >= KEYS
    assert first["id"] == queued.id
    assert first["job"] == "kpi-request" and first["kind"] == "kpi-request"
    assert first["recipients"] == [user(1), user(2)]
    assert first["section"] == "国保医療課"
    assert first["dedup_key"] == "kpi-request:2026Q3:kokuho"
    assert first["status"] == "pending"
    assert first["retry_key"] == queued.retry_key
    assert first["not_before"] == "2026-11-24T10:00:00+09:00"
    assert first["created_at"] == "2026-11-24T10:00:00+09:00"
    assert first["sent_at"] is None and first["error"] is None
    assert messages[1]["section"] is None
    assert listed(dxbot, "--status", "sent") == []
    assert [m["id"] for m in listed(dxbot, "--status", "pending")] == [m["id"] for m in messages]


def test_list_text_and_a_bad_status(dxbot, db, sections):
    assert "the outbox is empty" in dxbot("outbox", "list").output
    queue(db, "kpi-request:2026Q3:kokuho")
    output = dxbot("outbox", "list").output
    assert "pending" in output and "国保医療課" in output and "2 recipients" in output
    assert dxbot("outbox", "list", "--status", "lost").exit_code == 2


def test_flush_with_the_console_sender_prints_and_marks_sent(dxbot, db, sections):
    queue(db, "kpi-request:2026Q3:kokuho")
    queue(db, "nudge:2026Q3:zeimu", section="税務課", recipients=[user(3)], job="nudge")
    queue(db, "later", at=NOW + timedelta(days=1))
    result = dxbot("outbox", "flush")
    assert result.exit_code == 0, result.output
    assert "→ multicast to 2 recipients" in result.output
    assert "kpi-request:2026Q3:kokuho のお知らせ" in result.output
    assert f"→ push to {user(3)}" in result.output
    assert "sent 2" in result.output
    assert [m["status"] for m in listed(dxbot)] == ["sent", "sent", "pending"]
    sent = listed(dxbot, "--status", "sent")[0]
    assert sent["sent_at"] == "2026-11-24T10:00:00+09:00"
    with Session(db) as session:
        transcript = session.exec(select(TranscriptEntry).order_by(TranscriptEntry.id)).all()
    assert [t.kind for t in transcript] == ["multicast", "push"]
    again = dxbot("outbox", "flush")
    assert "sent 0" in again.output


def test_flush_through_line_with_a_token(dxbot, db, sections):
    queued = queue(db, "kpi-request:2026Q3:kokuho")[0]
    line = FakeLine().start()
    try:
        result = dxbot(
            "outbox",
            "flush",
            env={"LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "LINE_API_BASE_URL": line.url, "DXBOT_SENDER": "line"},
        )
    finally:
        line.stop()
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert [c.retry_key for c in line.sends()] == [queued.retry_key]
    assert listed(dxbot)[0]["status"] == "sent"


def test_pause_holds_and_resume_releases_without_a_flood(dxbot, db, sections):
    result = dxbot("pause", "国保医療課")
    assert result.exit_code == 0, result.output
    assert "paused 国保医療課" in result.output
    queue(db, "kpi-request:2026Q2:kokuho", at=NOW - timedelta(days=2))
    queue(db, "kpi-request:2026Q3:kokuho", at=NOW - timedelta(days=1))
    queue(db, "zeimu", section="税務課")
    assert [m["status"] for m in listed(dxbot)] == ["held", "held", "pending"]
    assert "sent 1" in dxbot("outbox", "flush").output  # only 税務課's

    resumed = dxbot("resume", "国保医療課")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed 国保医療課; 1 held message(s) queued again, 1 older one(s) dropped" in resumed.output
    statuses = {m["dedup_key"]: m["status"] for m in listed(dxbot)}
    assert statuses == {
        "kpi-request:2026Q2:kokuho": "failed",
        "kpi-request:2026Q3:kokuho": "pending",
        "zeimu": "sent",
    }
    flushed = dxbot("outbox", "flush")
    assert "sent 1" in flushed.output and "2026Q3" in flushed.output and "2026Q2" not in flushed.output
    with Session(db) as session:
        assert session.exec(select(SectionPause)).all() == []
    assert "was not paused" in dxbot("resume", "国保医療課").output


def test_pause_until_a_date_ends_by_itself(dxbot, db, sections):
    result = dxbot("pause", "国保医療課", "--until", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert "until 2026-12-01T00:00:00+09:00" in result.output
    queue(db, "kpi-request:2026Q3:kokuho")
    assert listed(dxbot)[0]["status"] == "held"
    later = {"DXBOT_NOW": "2026-12-01T09:00:00+09:00"}
    assert "sent 1" in dxbot("outbox", "flush", env=later).output
    with Session(db) as session:
        assert session.exec(select(SectionPause)).all() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pause", "国保医療"), "did you mean '国保医療課'?"),
        (("resume", "税務"), "did you mean '税務課'?"),
        (("pause", "国保医療課", "--until", "2026-11-01"), "not in the future"),
        (("pause", "国保医療課", "--until", "next week"), "not a date"),
    ],
)
def test_pause_and_resume_refuse_bad_input_in_one_line(dxbot, db, sections, args, message):
    result = dxbot(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    with Session(db) as session:
        assert session.exec(select(SectionPause)).all() == []


def test_retry_requeues_a_failed_message(dxbot, db, sections):
    queued = queue(db, "kpi-request:2026Q3:kokuho")[0]
    with Session(db) as session:
        row = session.get(OutboxMessage, queued.id)
        row.status, row.error, row.attempts = "failed", "monthly limit: LINE answered 429", 1
        session.add(row)
        session.commit()
    assert dxbot("outbox", "retry", str(queued.id)).exit_code == 0
    again = listed(dxbot)[0]
    assert again["status"] == "pending" and again["error"] is None
    assert again["retry_key"] == queued.retry_key
    refused = dxbot("outbox", "retry", str(queued.id))
    assert refused.exit_code == 2 and "only failed messages" in refused.output
    assert dxbot("outbox", "retry", "999").exit_code == 2


# --- the platform of each row (LINE or LINE WORKS) -------------------------------------------------------

WORKS_ID = "c72af563-0f21-4736-11e4-045237113344"


def test_list_json_says_each_rows_platform(dxbot, db, sections):
    queue(db, "kpi-request:2026Q3:kokuho", recipients=[user(1), f"lineworks:{WORKS_ID}"])
    messages = listed(dxbot, env={"DXBOT_TRANSPORT": "line,lineworks"})
    assert [(m["transport"], m["recipients"]) for m in messages] == [
        ("line", [user(1)]),
        ("lineworks", [WORKS_ID]),
    ]
    assert all(set(m) >= KEYS | {"messages", "attempts"} for m in messages)  # every older key stays


def test_list_text_names_the_platform_of_each_row_once_lineworks_is_there(dxbot, db, sections):
    queue(db, "kpi-request:2026Q3:kokuho", recipients=[user(1), user(2), f"lineworks:{WORKS_ID}"])
    lines = dxbot("outbox", "list", env={"DXBOT_TRANSPORT": "line,lineworks"}).output.splitlines()
    assert len(lines) == 2
    assert "\t2 recipients\tLINE\tnot before" in lines[0]
    assert "\t1 recipient\tLINE WORKS\tnot before" in lines[1]
    # A LINE WORKS row left over after DXBOT_TRANSPORT went back to line is still named.
    again = dxbot("outbox", "list", env={"DXBOT_TRANSPORT": "line"}).output.splitlines()
    assert again == lines


def test_a_line_only_outbox_lists_as_before(dxbot, db, sections):
    queue(db, "kpi-request:2026Q3:kokuho")
    (line,) = dxbot("outbox", "list").output.splitlines()
    assert "LINE" not in line
    assert "\t2 recipients\tnot before 2026-11-24T10:00:00+09:00" in line
