"""The daily `retention` job: handled webhook bodies and console transcripts are dropped after their days."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from models.clock import FrozenClock
from models.config import Config, ConfigError
from models.db import session_factory
from models.retention import RetentionPolicy
from models.tables import InboxEvent, JobRun, OutboxMessage, TranscriptEntry
from scheduler import jobs
from scheduler.clock import job_settings
from scheduler.schedule import load_schedule

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 3, 15, tzinfo=TOKYO)
USER = "U" + "7e" * 16


def store(db, *, days_ago: float, handled: bool = True, outcome: str = "recorded") -> int:
    """An inbox row with its body, received (and handled) DAYS_AGO; returns its id."""
    at = NOW - timedelta(days=days_ago)
    body = {"type": "message", "source": {"type": "user", "userId": USER}, "message": {"text": "申請率 18%"}}
    with Session(db) as s:
        row = InboxEvent(
            webhook_event_id=f"01RETENTION{days_ago:05.1f}{handled:d}",
            event_type="message",
            event_timestamp=at,
            received_at=at,
            handled_at=at if handled else None,
            outcome=outcome if handled else None,
            body=body,
        )
        s.add(row)
        s.commit()
        return row.id


def say(db, *, days_ago: float) -> int:
    """A console transcript entry written DAYS_AGO; returns its id."""
    with Session(db) as s:
        entry = TranscriptEntry(
            at=NOW - timedelta(days=days_ago),
            kind="push",
            recipients=[USER],
            messages=[{"type": "text", "text": "登録しました：山田さん"}],
        )
        s.add(entry)
        s.commit()
        return entry.id


def answer(db, *, days_ago: float, status: str = "sent", kind: str = "answer") -> int:
    """An outbox row holding an answer to USER, queued (and sent) DAYS_AGO; returns its id."""
    at = NOW - timedelta(days=days_ago)
    with Session(db) as s:
        row = OutboxMessage(
            job="webhook" if kind == "answer" else "kpi-request",
            kind=kind,
            recipients=[USER],
            messages=[{"type": "text", "text": "記録しました：申請率 18%"}],
            dedup_key=f"{kind}:{days_ago}:{status}",
            status=status,
            retry_key="123e4567-e89b-12d3-a456-426614174000",
            not_before=at,
            created_at=at,
            sent_at=at if status == "sent" else None,
        )
        s.add(row)
        s.commit()
        return row.id


def test_answers_sent_before_the_inbox_cut_off_are_dropped_with_the_bodies(db):
    """Every answer is an outbox row holding its words and the person's LINE id: it goes with the body."""
    old, recent, pending = (
        answer(db, days_ago=31),
        answer(db, days_ago=29),
        answer(db, days_ago=31, status="pending"),
    )
    job_row = answer(db, days_ago=31, kind="kpi-request")  # the jobs' rows keep their dedup keys

    result = jobs.JOBS["retention"](session_factory(db), FrozenClock(NOW, TOKYO), policy=RetentionPolicy())

    with Session(db) as s:
        assert s.get(OutboxMessage, old) is None
        assert s.get(OutboxMessage, recent) is not None
        assert s.get(OutboxMessage, pending) is not None  # not sent yet: deliver still needs it
        assert s.get(OutboxMessage, job_row) is not None
        [run] = s.exec(select(JobRun).where(JobRun.job == "retention")).all()
    assert "1 answers" in run.note, run.note
    assert result.summary()


def test_handled_bodies_and_transcripts_older_than_their_days_are_dropped(db):
    old, recent, waiting = (
        store(db, days_ago=31),
        store(db, days_ago=29),
        store(db, days_ago=60, handled=False),
    )
    old_entry, recent_entry = say(db, days_ago=31), say(db, days_ago=29)

    result = jobs.JOBS["retention"](session_factory(db), FrozenClock(NOW, TOKYO), policy=RetentionPolicy())

    with Session(db) as s:
        dropped = s.get(InboxEvent, old)
        assert dropped.body is None and dropped.outcome == "recorded" and dropped.handled_at is not None
        assert s.get(InboxEvent, recent).body is not None
        assert s.get(InboxEvent, waiting).body is not None  # not handled yet: its body is still needed
        assert s.get(TranscriptEntry, old_entry) is None
        assert s.get(TranscriptEntry, recent_entry) is not None
        [run] = s.exec(select(JobRun).where(JobRun.job == "retention")).all()
    assert "1 webhook bodies" in run.note and "1 transcript entries" in run.note
    assert result.summary().startswith("retention at 2026-11-24T03:15:00+09:00")

    again = jobs.JOBS["retention"](session_factory(db), FrozenClock(NOW, TOKYO), policy=RetentionPolicy())
    assert "0 webhook bodies" in again.notes[0]


def test_a_dry_run_drops_nothing(db):
    old, old_entry = store(db, days_ago=40), say(db, days_ago=40)
    result = jobs.retention(session_factory(db), FrozenClock(NOW, TOKYO), dry_run=True)
    assert "1 webhook bodies" in result.notes[0]
    with Session(db) as s:
        assert s.get(InboxEvent, old).body is not None and s.get(TranscriptEntry, old_entry) is not None
        assert s.exec(select(JobRun)).all() == []


def test_the_days_come_from_configuration_read_once(dxbot, db):
    config = Config.from_env(
        {"DXBOT_INBOX_RETENTION_DAYS": "7", "DXBOT_TRANSCRIPT_RETENTION_DAYS": "90"}, testing=True
    )
    assert job_settings("retention", config) == {"policy": RetentionPolicy(inbox_days=7, transcript_days=90)}
    assert job_settings("nudge", config) == {"closures": config.closure_days}  # no retention policy
    assert Config.from_env({}, testing=True).inbox_retention_days == 30

    eight_days = store(db, days_ago=8)
    result = dxbot(
        "run-job", "retention", "--at", NOW.isoformat(), "--json", env={"DXBOT_INBOX_RETENTION_DAYS": "7"}
    )
    assert result.exit_code == 0, result.output
    assert "1 webhook bodies" in json.loads(result.output)["notes"][0]
    with Session(db) as s:
        assert s.get(InboxEvent, eight_days).body is None


@pytest.mark.parametrize("value", ["0", "-3", "thirty", "1.5", "²", "99999999999"])
def test_a_bad_retention_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigError, match="DXBOT_TRANSCRIPT_RETENTION_DAYS"):
        Config.from_env({"DXBOT_TRANSCRIPT_RETENTION_DAYS": value}, testing=True)


def test_retention_runs_daily_at_night():
    entry = load_schedule({})["retention"]
    assert entry.expression == "15 3 * * *"
    assert entry.next_run(NOW, TOKYO) == NOW + timedelta(days=1)
