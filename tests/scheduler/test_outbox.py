"""The outbox: batching into LINE-sized requests, dedup on re-run, validation at enqueue, held while paused."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

import scheduler.outbox as outbox_module
from messages.model import Text
from models.clock import FrozenClock
from models.db import session_factory
from models.tables import Member, OutboxMessage, Section, SectionPause
from scheduler.delivery import deliver_due
from scheduler.outbox import (
    OutboxError,
    due_rows,
    enqueue,
    notify_admins,
    release_expired_pauses,
    release_held,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)


def user(n: int) -> str:
    return f"U{n:032x}"


def texts(*words: str) -> list[Text]:
    return [Text(w) for w in words]


@pytest.fixture
def section(session) -> Section:
    section = Section(name="国保医療課", department="市民部")
    session.add(section)
    session.commit()
    return section


def queue(session, key="kpi-request:2026Q3:国保医療課", *, recipients=None, messages=None, **kwargs):
    kwargs.setdefault("job", "kpi-request")
    kwargs.setdefault("kind", "kpi-request")
    rows = enqueue(
        session,
        dedup_key=key,
        recipients=recipients if recipients is not None else [user(1)],
        messages=messages if messages is not None else texts("KPIの報告をお願いします"),
        not_before=kwargs.pop("not_before", NOW),
        now=kwargs.pop("now", NOW),
        **kwargs,
    )
    session.commit()
    return rows


def all_rows(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_1201_recipients_make_three_requests_and_three_multicasts(session, db, sender):
    people = [user(n) for n in range(1, 1202)]
    rows = queue(session, "digest:2026-W48", recipients=people, job="weekly-digest", kind="digest")
    assert [len(r.recipients) for r in rows] == [500, 500, 201]
    assert [r.dedup_key for r in rows] == ["digest:2026-W48", "digest:2026-W48#2", "digest:2026-W48#3"]
    assert [p for r in rows for p in r.recipients] == people
    assert len({r.retry_key for r in rows}) == 3
    assert all(uuid.UUID(r.retry_key).version == 4 for r in rows)
    assert {r.status for r in rows} == {"pending"}

    report = deliver_due(session_factory(db), sender, FrozenClock(NOW, TOKYO))
    assert [request.kind for request in sender.sent] == ["multicast"] * 3
    assert [len(request.to) for request in sender.sent] == [500, 500, 201]
    assert [request.retry_key for request in sender.sent] == [r.retry_key for r in rows]
    assert len(report.sent) == 3
    assert {r.status for r in all_rows(session)} == {"sent"}


def test_more_than_five_messages_are_split_into_requests_of_five(session):
    seven = texts(*(f"メッセージ{n}" for n in range(1, 8)))
    rows = queue(session, recipients=[user(1), user(2)], messages=seven)
    assert [len(r.messages) for r in rows] == [5, 2]
    assert [m["text"] for r in rows for m in r.messages] == [f"メッセージ{n}" for n in range(1, 8)]
    assert all(r.recipients == [user(1), user(2)] for r in rows)

    both = queue(session, "big", recipients=[user(n) for n in range(1, 502)], messages=seven)
    assert [(len(r.recipients), len(r.messages)) for r in both] == [(500, 5), (500, 2), (1, 5), (1, 2)]


def test_recipients_are_deduplicated_and_an_empty_list_queues_nothing(session):
    rows = queue(session, recipients=[user(1), user(2), user(1)])
    assert rows[0].recipients == [user(1), user(2)]
    assert queue(session, "nobody", recipients=[]) == []
    with pytest.raises(OutboxError):
        queue(session, "blank", recipients=[user(1), " "])


def test_rerunning_a_job_adds_nothing(session):
    people = [user(n) for n in range(1, 702)]
    first = queue(session, recipients=people)
    again = queue(session, recipients=people)
    assert len(first) == 2 and again == []
    assert len(all_rows(session)) == 2


def test_a_concurrent_insert_of_the_same_key_is_survived(session, monkeypatch):
    queue(session, "nudge:2026Q3:国保医療課:1")
    # Pretend the check missed it (another process inserted between our check and our insert).
    monkeypatch.setattr(outbox_module, "_exists", lambda _session, _key: False)
    other = enqueue(
        session,
        job="nudge",
        kind="nudge",
        dedup_key="nudge:2026Q3:税務課:1",
        recipients=[user(5)],
        messages=texts("提出期限を過ぎています"),
        not_before=NOW,
        now=NOW,
    )
    duplicate = enqueue(
        session,
        job="nudge",
        kind="nudge",
        dedup_key="nudge:2026Q3:国保医療課:1",
        recipients=[user(1)],
        messages=texts("もう一度"),
        not_before=NOW,
        now=NOW,
    )
    assert len(other) == 1 and duplicate == []
    session.commit()  # the transaction survived the IntegrityError: the other row is kept
    assert sorted(r.dedup_key for r in all_rows(session)) == [
        "nudge:2026Q3:国保医療課:1",
        "nudge:2026Q3:税務課:1",
    ]


def test_enqueue_leaves_the_commit_to_the_caller(db):
    with Session(db) as session:
        enqueue(
            session,
            job="kickoff",
            kind="kickoff",
            dedup_key="kickoff:2026",
            recipients=[user(1)],
            messages=texts("今年度の取組みです"),
            not_before=NOW,
            now=NOW,
        )
        session.rollback()  # the job failed: nothing of it may stay (a SAVEPOINT must not have committed)
    with Session(db) as session:
        assert session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize(
    "message",
    [
        {"type": "text", "text": "あ" * 5001},
        {"type": "text", "text": ""},
        {"type": "flex", "altText": "KPI", "contents": {"type": "bubble", "body": {"type": "nope"}}},
        {"type": "text", "text": "ok", "contents": {"type": "bubble"}},
    ],
)
def test_a_message_line_would_refuse_fails_at_enqueue(session, message):
    with pytest.raises(OutboxError, match="would be refused by LINE"):
        queue(session, messages=[Text("前置き"), message])
    session.rollback()
    assert all_rows(session) == []


def test_other_bad_input_is_refused(session):
    with pytest.raises(OutboxError, match="no messages"):
        queue(session, messages=[])
    with pytest.raises(OutboxError, match="too long"):
        queue(session, "k" * 199, recipients=[user(n) for n in range(1, 502)])
    with pytest.raises(OutboxError, match="single string"):
        queue(session, recipients=user(1))


def test_due_rows_respect_not_before_and_backoff(session):
    later = queue(session, "later", not_before=NOW + timedelta(hours=1))[0]
    now_row = queue(session, "now")[0]
    backing_off = queue(session, "backing-off")[0]
    backing_off.next_attempt_at = NOW + timedelta(minutes=2)
    session.add(backing_off)
    session.commit()
    assert [r.id for r in due_rows(session, NOW)] == [now_row.id]
    assert [r.id for r in due_rows(session, NOW + timedelta(hours=1))] == [
        now_row.id,
        backing_off.id,
        later.id,
    ]
    assert len(due_rows(session, NOW + timedelta(hours=1), limit=1)) == 1


# --- paused sections ---------------------------------------------------------------------------


def pause(session, section, until=None):
    session.add(SectionPause(section_id=section.id, paused_at=NOW, until=until))
    session.commit()


def test_paused_sections_get_held_rows_that_are_not_due(session, section):
    pause(session, section)
    rows = queue(session, section_id=section.id)
    assert [r.status for r in rows] == ["held"]
    assert due_rows(session, NOW + timedelta(days=30)) == []


def test_an_expired_pause_does_not_hold(session, section):
    pause(session, section, until=NOW - timedelta(minutes=1))
    assert [r.status for r in queue(session, section_id=section.id)] == ["pending"]


def test_resume_releases_only_the_newest_per_kind(session, section):
    pause(session, section)
    people = [user(n) for n in range(1, 602)]
    day = timedelta(days=1)
    old_request = queue(session, "kpi-request:2026Q2:kokuho", section_id=section.id, recipients=people)
    new_request = queue(
        session, "kpi-request:2026Q3:kokuho", section_id=section.id, recipients=people, now=NOW + day
    )
    nudges = [
        queue(
            session,
            f"nudge:2026Q3:kokuho:{n}",
            job="nudge",
            kind="nudge",
            section_id=section.id,
            now=NOW + n * day,
        )
        for n in (2, 3, 4)
    ]
    escalation = queue(
        session, "escalation:2026Q3:kokuho", job="nudge", kind="escalation", section_id=section.id
    )
    other_section = Section(name="税務課")
    session.add(other_section)
    session.commit()
    pause(session, other_section)
    untouched = queue(session, "kpi-request:2026Q3:zeimu", section_id=other_section.id)

    resumed_at = datetime(2026, 11, 28, 11, 0, tzinfo=TOKYO)  # a Saturday
    released, superseded = release_held(session, section.id, resumed_at, tz=TOKYO)
    session.commit()

    kept = {r.id for r in new_request} | {r.id for r in nudges[-1]} | {r.id for r in escalation}
    dropped = {r.id for r in old_request} | {r.id for r in nudges[0]} | {r.id for r in nudges[1]}
    assert {r.id for r in released} == kept
    assert {r.id for r in superseded} == dropped
    rows = {r.id: r for r in all_rows(session)}
    assert {rows[i].status for i in kept} == {"pending"}
    assert {rows[i].status for i in dropped} == {"failed"}
    assert all("superseded" in rows[i].error for i in dropped)
    assert rows[untouched[0].id].status == "held"
    # Released on a Saturday: they wait for Monday morning's window, not a flood at once.
    assert {rows[i].not_before for i in kept} == {datetime(2026, 11, 30, 8, 30, tzinfo=TOKYO)}
    assert due_rows(session, resumed_at) == []
    assert len(due_rows(session, datetime(2026, 11, 30, 8, 30, tzinfo=TOKYO))) == len(kept)


def test_an_expired_pause_releases_its_rows_and_ends(session, section):
    pause(session, section, until=NOW + timedelta(days=2))
    queue(session, section_id=section.id)
    assert release_expired_pauses(session, NOW + timedelta(days=1), tz=TOKYO) == 0
    assert release_expired_pauses(session, NOW + timedelta(days=2), tz=TOKYO) == 1
    session.commit()
    assert session.exec(select(SectionPause)).all() == []
    assert [r.status for r in all_rows(session)] == ["pending"]


def test_a_section_paused_after_queueing_is_held_at_delivery(session, db, section, sender):
    queue(session, section_id=section.id)
    pause(session, section)
    report = deliver_due(session_factory(db), sender, FrozenClock(NOW, TOKYO))
    assert sender.sent == [] and len(report.held) == 1
    row = all_rows(session)[0]
    assert row.status == "held" and row.attempts == 0


def test_admin_notices_once_a_day(session):
    session.add(Member(line_user_id=user(9), display_name="管理者", role="admin"))
    session.add(Member(line_user_id=user(8), display_name="元管理者", role="admin", active=False))
    session.add(Member(line_user_id=user(7), display_name="職員", role="staff"))
    session.commit()
    assert notify_admins(session, topic="quota", text="残りわずか", now=NOW) == 1
    assert notify_admins(session, topic="quota", text="残りわずか", now=NOW + timedelta(hours=3)) == 0
    assert notify_admins(session, topic="quota", text="残りわずか", now=NOW + timedelta(days=1)) == 1
    session.commit()
    rows = all_rows(session)
    assert [r.recipients for r in rows] == [[user(9)], [user(9)]]
    assert [r.kind for r in rows] == ["notice", "notice"]
    assert rows[0].dedup_key == "notice:quota:2026-11-24"


def test_a_sender_without_multicast_gets_a_row_for_many_as_one_push_each_and_never_twice(session, db, clock):
    """LINE WORKS has no multicast: the same rows go out one person at a time, each at most once."""
    from messages.senders import RecordingSender

    single = RecordingSender(clock, max_recipients=1)
    [row] = queue(session, recipients=[user(1), user(2), user(3)])
    report = deliver_due(session_factory(db), single, FrozenClock(NOW, TOKYO))
    assert report.sent == [row.id]
    assert [(r.kind, r.to) for r in single.sent] == [("push", (user(n),)) for n in (1, 2, 3)]
    assert len({r.retry_key for r in single.sent}) == 3
    assert {r.status for r in all_rows(session)} == {"sent"}


def test_rows_released_by_an_expired_pause_wait_for_the_configured_closure(session, db, section, sender):
    """DXBOT_CLOSURE_DAYS closes 26–27 Nov: a pause ending on the 26th releases its rows for Mon 30 Nov."""
    from models.closures import parse_closure_days
    from scheduler import jobs

    pause(session, section, until=NOW + timedelta(days=2))
    queue(session, section_id=section.id)
    session.commit()
    released_at = FrozenClock(NOW + timedelta(days=2), TOKYO)  # Thu 26 Nov 10:00
    jobs.deliver(session_factory(db), released_at, sender=sender, closures=parse_closure_days("11-26..11-27"))
    session.expire_all()
    (row,) = all_rows(session)
    assert row.status == "pending" and sender.sent == []
    assert row.not_before == datetime(2026, 11, 30, 8, 30, tzinfo=TOKYO)
