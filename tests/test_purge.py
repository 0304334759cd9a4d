"""`dxbot member purge`: a person's LINE id and name leave the whole database; their reports and grades stay,
attributed to a numbered placeholder (退職者1)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, SQLModel, select

from messages.senders import ConsoleSender
from messages.transcript import transcript_recorder
from models.db import session_factory
from models.tables import (
    ANSWER_KIND,
    ActionStatusChange,
    InboxEvent,
    JobRun,
    KpiReport,
    Member,
    OutboxMessage,
    TranscriptEntry,
)
from tests.app_services import swap_services
from tests.bot.conftest import Line

SUZUKI = "U" + "5a17" * 8
NAME = "鈴木 一郎"
SATO = "U" + "c0de" * 8
SATO_NAME = "佐藤 花子"
SECTION = "国保医療課"


# The console sender's profiles: what its profile look-up says people are called.
NAMES = {SUZUKI: NAME, SATO: SATO_NAME}


def forbidden_forms(*values: str) -> list[str]:
    """Each value as written and as JSON escapes it (\\u9234\\u6728…), the way a JSON column may hold it."""
    forms = []
    for value in values:
        forms += [value, json.dumps(value)[1:-1]]
    return list(dict.fromkeys(forms))


def where_found(db, *values: str) -> dict[str, set[str]]:
    """Every table and column (all of SQLModel's metadata, not a chosen list) holding one of VALUES."""
    forms = forbidden_forms(*values)
    found: dict[str, set[str]] = {}
    with db.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    texts = (
                        [value]
                        if isinstance(value, str)
                        else [
                            json.dumps(value, default=str),
                            json.dumps(value, ensure_ascii=False, default=str),
                        ]
                    )
                    if any(form in text for text in texts for form in forms):
                        found.setdefault(table.name, set()).add(column)
    return found


@pytest.fixture
def world(app, client, config, db, plan, clock, dxbot):
    """鈴木 registers with an invite code, reports a KPI, moves an action item, gets pushes and nudges;
    佐藤 (same section) mentions 鈴木 by name. All through the real webhook and console transcript."""
    from bot.conversation.state import set_state
    from models.actions import section_action_items, set_status
    from models.invites import create_invite
    from models.members import add_member
    from models.sections import find_section
    from scheduler.outbox import enqueue

    factory = session_factory(db)
    sender = ConsoleSender(
        stream=io.StringIO(), clock=clock, record=transcript_recorder(factory), profiles=NAMES
    )
    swap_services(app, sender=sender)
    line = Line(client, config.effective_channel_secret, clock, sender)
    with Session(db) as s:
        section = find_section(s, SECTION)
        add_member(s, line_user_id=SATO, name=SATO_NAME, sections=[section], role="staff", now=clock.now())
        code = create_invite(
            s, section=section, role="staff", now=clock.now(), valid_for=timedelta(days=7)
        ).code
        s.commit()

    line.post(line.body(line.text(SUZUKI, f"登録 {code}")))
    line.post(line.body(line.text(SUZUKI, "オンライン申請率 18%")))
    line.post(line.body(line.text(SATO, f"{NAME}さんの報告を確認しました")))

    now = clock.now()
    with Session(db) as s:
        suzuki = s.exec(select(Member).where(Member.line_user_id == SUZUKI)).one()
        sato = s.exec(select(Member).where(Member.line_user_id == SATO)).one()
        section = find_section(s, SECTION)
        item, _ = section_action_items(s, section, 2026)[0]
        set_status(s, item, "進行中", now=now, by=suzuki, source_message_id="m-1", note=f"{NAME}さんが着手")
        set_state(s, suzuki, "awaiting_number", {"key": "1:2", "asked": NAME}, now)
        set_state(s, sato, "awaiting_number", {"key": "1:2", "mentioned": f"{NAME}さん ({SUZUKI})"}, now)
        text = {"type": "text", "text": f"{NAME}さん、{SATO_NAME}さん：回答をお願いします"}
        common = {"job": "nudge", "kind": "nudge", "section_id": section.id, "not_before": now, "now": now}
        enqueue(s, dedup_key="nudge:both", recipients=[SUZUKI, SATO], messages=[text], **common)
        enqueue(s, dedup_key=f"notice:{SUZUKI}", recipients=[SUZUKI], messages=[text], **common)
        s.add(JobRun(job="nudge", as_of=now, queued=2, note=f"reminded {NAME} ({SUZUKI})"))
        s.commit()
    return line


def kpi_listing(dxbot) -> list[dict]:
    result = dxbot("kpi", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["reports"]


def grades(db, clock) -> list[dict]:
    from models.kpi_status import kpi_states, state_json

    with Session(db) as s:
        return [state_json(state) for state in kpi_states(s, clock.now())]


def test_after_a_purge_the_line_id_and_name_are_nowhere_and_the_reports_and_grades_stay(
    world, dxbot, db, clock
):
    before = where_found(db, SUZUKI, NAME)
    # The scan sees them where the bot put them (so its silence afterwards means something).
    assert {"member", "inboxevent", "transcriptentry", "outboxmessage", "conversationstate", "jobrun"} <= set(
        before
    ), before
    assert "actionstatuschange" in before
    reports_before, grades_before = kpi_listing(dxbot), grades(db, clock)
    assert [r["reporter"] for r in reports_before] == [NAME]
    with Session(db) as s:
        member_id = s.exec(select(Member.id).where(Member.line_user_id == SUZUKI)).one()
        inbox_ids = [
            e.id
            for e in s.exec(select(InboxEvent)).all()
            if (e.body or {}).get("source", {}).get("userId") == SUZUKI
        ]
    assert len(inbox_ids) == 2

    result = dxbot("member", "purge", SUZUKI, "--yes")
    assert result.exit_code == 0, result.output
    assert "退職者1" in result.output

    assert where_found(db, SUZUKI, NAME) == {}
    reports_after = kpi_listing(dxbot)
    assert [r["reporter"] for r in reports_after] == ["退職者1"]
    assert [{**r, "reporter": None} for r in reports_after] == [
        {**r, "reporter": None} for r in reports_before
    ]
    assert grades(db, clock) == grades_before
    with Session(db) as s:
        member = s.get(Member, member_id)
        assert (member.display_name, member.active) == ("退職者1", False)
        assert s.exec(select(KpiReport.reporter_member_id)).all() == [member_id]
        change = s.exec(select(ActionStatusChange)).one()
        assert (change.changed_by_member_id, change.status, change.note) == (
            member_id,
            "進行中",
            "退職者1さんが着手",
        )
        stored = [s.get(InboxEvent, i) for i in inbox_ids]
        assert all(e.body is None and e.outcome and e.handled_at for e in stored)  # rows and outcomes stay
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind != ANSWER_KIND)).all()
        assert [r.recipients for r in rows] == [[SATO]]  # the row to 鈴木 alone is dropped
        answers = s.exec(select(OutboxMessage.recipients).where(OutboxMessage.kind == ANSWER_KIND)).all()
        assert answers and all(recipients == [SATO] for recipients in answers)  # 鈴木's answers are gone
        assert rows[0].messages[0]["text"] == f"退職者1さん、{SATO_NAME}さん：回答をお願いします"
        assert all(SUZUKI not in t.recipients for t in s.exec(select(TranscriptEntry)).all())
        assert s.exec(select(TranscriptEntry)).all(), "佐藤's own transcript stays"


def test_purge_by_member_id_numbers_the_placeholders_and_refuses_twice(world, dxbot, db):
    with Session(db) as s:
        sato_id = s.exec(select(Member.id).where(Member.line_user_id == SATO)).one()
    assert dxbot("member", "purge", SUZUKI, "--yes").exit_code == 0
    second = dxbot("member", "purge", str(sato_id), "--yes")
    assert second.exit_code == 0, second.output
    assert "退職者2" in second.output
    assert where_found(db, SATO, SATO_NAME) == {}
    again = dxbot("member", "purge", str(sato_id), "--yes")
    assert again.exit_code == 2 and "already purged" in again.output
    listed = {m["name"]: m for m in json.loads(dxbot("member", "list", "--json").output)["members"]}
    assert listed["退職者2"]["id"] == sato_id and listed["退職者2"]["active"] is False


def test_purge_asks_first_and_an_unknown_member_is_one_line_exit_2(world, dxbot, db):
    from click.testing import CliRunner

    from bot.cli import cli

    declined = CliRunner().invoke(cli, ["member", "purge", SUZUKI], input="n\n", env=dxbot.env)
    assert NAME in declined.output and "nothing purged" in declined.output
    assert declined.exit_code == 1
    assert SUZUKI in {
        m["line_user_id"] for m in json.loads(dxbot("member", "list", "--json").output)["members"]
    }
    unknown = dxbot("member", "purge", "U" + "9" * 32, "--yes")
    assert unknown.exit_code == 2
    assert unknown.output.startswith("error: no member") and len(unknown.output.strip().splitlines()) == 1
    assert dxbot("member", "purge", "99999", "--yes").exit_code == 2


def test_member_remove_points_at_purge(world, dxbot):
    removed = dxbot("member", "remove", SUZUKI)
    assert removed.exit_code == 0
    assert "dxbot member purge" in removed.output


def test_purge_ends_the_members_dashboard_logins(world, dxbot, db):
    """A purged person's saved dashboard cookie must open nothing: their login rows go with them."""
    from models.tables import DashboardSession
    from models.types import utcnow

    with Session(db) as s:
        member_id = s.exec(select(Member.id).where(Member.line_user_id == SUZUKI)).one()
        s.add(
            DashboardSession(
                token_hash="ab" * 32, member_id=member_id, expires_at=utcnow() + timedelta(hours=8)
            )
        )
        s.commit()

    assert dxbot("member", "purge", SUZUKI, "--yes").exit_code == 0

    with Session(db) as s:
        assert s.exec(select(DashboardSession).where(DashboardSession.member_id == member_id)).all() == []
