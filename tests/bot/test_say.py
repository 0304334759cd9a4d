"""`dxbot say`: one message through the webhook's own handling, answers printed, nothing sent to LINE."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bot.cli.say import SIMULATED_BOT_ID, new_webhook_event_id, render_messages, simulated_event
from models.tables import InboxEvent, TranscriptEntry
from tests.bot.conftest import millis, validate_webhook_body
from tests.conftest import NOW

STRANGER = "U" + "c3" * 16
STAFF = "U" + "a1" * 16
GROUP = "C" + "e5" * 16


@pytest.fixture
def say(dxbot, conversation):
    """Run `dxbot say …` (the conversation fixture makes sure respond() can be imported)."""

    def run(*args: str):
        return dxbot("say", *args)

    return run


def inbox(db) -> list[InboxEvent]:
    with Session(db) as s:
        return list(s.exec(select(InboxEvent)).all())


def test_a_stranger_is_told_how_to_register(say, db, clock):
    result = say("--as", STRANGER, "オンライン申請率 18%")
    assert result.exit_code == 0, result.output
    assert "登録" in result.output
    [row] = inbox(db)
    assert (row.event_type, row.source_type, row.outcome) == ("message", "user", "refused")
    assert row.handled_at is not None and row.body is None  # a stranger's words are not kept
    assert row.event_timestamp == clock.now()  # DXBOT_NOW
    with Session(db) as s:
        [entry] = s.exec(select(TranscriptEntry)).all()  # the console path's record, never LINE
    assert entry.kind == "reply" and entry.recipients == [STRANGER]


def test_json_has_replies_and_pushes_as_line_json(say):
    result = say("--as", STRANGER, "--json", "こんにちは")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert {"replies", "pushes"} <= data.keys()
    assert data["pushes"] == []
    [[message]] = data["replies"]
    assert message["type"] == "text" and "登録" in message["text"]


def test_a_members_message_is_answered_and_kept(say, db, staff):
    result = say("--as", STAFF, "ヘルプ")
    assert result.exit_code == 0, result.output
    assert result.output.strip() and "(no reply" not in result.output
    [row] = inbox(db)
    assert row.body["message"]["text"] == "ヘルプ" and row.body["source"]["userId"] == STAFF


def test_a_postback_goes_through_the_same_door(say, db):
    result = say("--as", STRANGER, "--postback", "action=undo")
    assert result.exit_code == 0, result.output
    assert "登録" in result.output
    assert inbox(db)[0].event_type == "postback"


def test_a_group_message_that_is_not_for_the_bot_gets_no_reply(say, db):
    result = say("--as", STRANGER, "--group", GROUP, "今日は暑いですね")
    assert result.exit_code == 0, result.output
    assert "(no reply; outcome: ignored)" in result.output
    assert inbox(db)[0].source_type == "group"


def test_each_say_is_a_new_event(say, db):
    say("--as", STRANGER, "こんにちは")
    say("--as", STRANGER, "こんにちは")
    assert len({row.webhook_event_id for row in inbox(db)}) == 2


@pytest.mark.parametrize("args", [(), ("text", "--postback", "x")])
def test_text_or_postback_exactly_one(say, args):
    result = say("--as", STRANGER, *args)
    assert result.exit_code == 2
    assert "either a TEXT" in result.output


def test_replies_are_printed_as_people_read_them():
    messages = (
        {
            "type": "text",
            "text": "記録しました",
            "quickReply": {
                "items": [
                    {"type": "action", "action": {"type": "postback", "label": "取り消す", "data": "undo"}},
                    {"type": "action", "action": {"type": "message", "label": "ヘルプ", "text": "ヘルプ"}},
                ]
            },
        },
        {"type": "flex", "altText": "今年度のKPI", "contents": {}},
        {"type": "sticker", "packageId": "1", "stickerId": "1"},
    )
    assert render_messages(messages) == [
        "記録しました",
        "  1) 取り消す",
        "  2) ヘルプ",
        "今年度のKPI",
        "[sticker]",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "オンライン申請率 18%"},
        {"postback_data": "action=undo"},
        {"text": "18%", "group_id": GROUP, "mention": True},
    ],
)
def test_simulated_bodies_are_what_line_sends(clock, kwargs):
    event = simulated_event(user_id=STAFF, at=clock.now(), **kwargs)
    assert event["timestamp"] == millis(NOW) == 1795482000000
    assert len(event["webhookEventId"]) == 26 and event["replyToken"]
    if validate_webhook_body is not None:
        assert validate_webhook_body({"destination": SIMULATED_BOT_ID, "events": [event]}) == []


def test_a_mention_is_marked_as_the_bot(clock):
    from bot.line.events import to_incoming

    event = simulated_event(user_id=STAFF, at=clock.now(), text="18%", group_id=GROUP, mention=True)
    incoming = to_incoming(event, event["webhookEventId"], clock)
    assert incoming.mentioned_bot and incoming.group_id == GROUP and incoming.text.startswith("@")


def test_webhook_event_ids_sort_by_time(clock):
    from datetime import timedelta

    earlier, later = (
        new_webhook_event_id(clock.now()),
        new_webhook_event_id(clock.now() + timedelta(seconds=1)),
    )
    assert earlier < later


def test_say_name_is_used_at_registration(dxbot, plan):
    created = dxbot("invite", "create", "--section", "国保医療課", "--role", "staff", "--json")
    assert created.exit_code == 0, created.output
    code = __import__("json").loads(created.output)["code"]
    user = "U" + "7" * 32
    result = dxbot("say", "--as", user, "--name", "山田 太郎", f"登録 {code}")
    assert "山田 太郎さん" in result.output
    members = __import__("json").loads(dxbot("member", "list", "--json").output)["members"]
    assert [m["name"] for m in members if m["line_user_id"] == user] == ["山田 太郎"]


LW_USER = "userf7da-f82c-4284-13e7-030f3b4c756x"


def test_say_on_lineworks_feeds_a_lineworks_event_and_records_a_lineworks_answer(say, db, plan, clock):
    from models.members import add_member
    from models.sections import find_section

    with Session(db) as s:
        add_member(
            s,
            line_user_id=LW_USER,
            name="高橋",
            sections=[find_section(s, "国保医療課")],
            role="staff",
            now=clock.now(),
            transport="lineworks",
        )
        s.commit()
    result = say("--as", LW_USER, "--transport", "lineworks", "オンライン申請率 41%")
    assert result.exit_code == 0, result.output
    assert f"(pushed to {LW_USER})" in result.output and "41" in result.output
    [row] = inbox(db)
    assert row.transport == "lineworks" and row.webhook_event_id.startswith("lw-")
    assert row.outcome == "recorded"
    with Session(db) as s:
        entries = s.exec(select(TranscriptEntry)).all()
    assert entries and {(e.transport, tuple(e.recipients)) for e in entries} == {("lineworks", (LW_USER,))}
    # The same id on LINE is nobody: a stranger there.
    stranger = say("--as", LW_USER, "オンライン申請率 41%")
    assert "登録" in stranger.output
