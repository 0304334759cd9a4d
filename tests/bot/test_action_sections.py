"""A shared action item has one status per section: 「N 完了」 closes the sender's part, not everyone's."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select

from models.tables import ActionStatusChange, Section
from tests.bot.chat import Chat, quick_replies, texts

SOUMU, SHOKUIN, DIGITAL, ADMIN = ("U" + x * 16 for x in ("a1", "b2", "c3", "d4"))
ITEM = "評価、見直し"  # 3-1 FY2026, shared by 総務室 (lead), 職員課 and デジタル情報課
TITLE = "■ 情報セキュリティ研修の実施"


@pytest.fixture
def chat(db, plan, clock, sender, platform):
    from models.members import add_member
    from models.sections import find_section

    with Session(db) as s:
        for user, section in ((SOUMU, "総務室"), (SHOKUIN, "職員課"), (DIGITAL, "デジタル情報課")):
            add_member(
                s,
                **platform.who(user),
                name="山田",
                sections=[find_section(s, section)],
                role="staff",
                now=clock.now(),
            )
        add_member(
            s,
            **platform.who(ADMIN),
            name="森",
            sections=[find_section(s, "秘書広報課")],
            role="admin",
            now=clock.now(),
        )
        s.commit()
    return Chat(db, clock, sender, platform=platform)


def shared_line(said: list[dict]) -> tuple[int, str]:
    """(number, status) of the shared 3-1 item 「評価、見直し」 in a shown action list."""
    lines = texts(said).splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(TITLE))
    for line in lines[start + 1 :]:
        if (m := re.match(rf"(\d+)\. \[(\S+)\] {ITEM}$", line)) is not None:
            return int(m.group(1)), m.group(2)
    raise AssertionError(f"{ITEM} not listed")


def test_a_shared_item_done_by_one_section_stays_open_for_the_other_two(chat, db, dxbot):
    number, status = shared_line(chat.say(SHOKUIN, "今年度の行動計画")[1])
    assert status == "未着手"
    _, said = chat.say(SHOKUIN, f"{number} 完了")
    assert "未着手 → 完了" in texts(said)

    assert shared_line(chat.say(SHOKUIN, "今年度の行動計画")[1])[1] == "完了"
    assert shared_line(chat.say(SOUMU, "今年度の行動計画")[1])[1] == "未着手"
    assert shared_line(chat.say(DIGITAL, "今年度の行動計画")[1])[1] == "未着手"

    with Session(db) as s:
        (change,) = s.exec(select(ActionStatusChange)).all()
        assert s.get(Section, change.section_id).name == "職員課"

    initiative_page = texts(chat.say(ADMIN, "取組 3-1")[1])
    assert (
        f"・[未着手] {ITEM} 完了 1/3課（未完了：総務室、デジタル情報課）" in initiative_page
    )  # lead's status first

    shown = json.loads(dxbot("plan", "show", "--json", "--fiscal-year", "2026").output)
    (initiative,) = [i for m in shown["measures"] for i in m["initiatives"] if i["id"] == "3-1"]
    (action,) = [a for a in initiative["years"][0]["actions"] if a["text"] == ITEM]
    assert action["status"] == "未着手"  # the lead section's (総務室) status
    assert action["statuses"] == {"総務室": "未着手", "職員課": "完了", "デジタル情報課": "未着手"}
    assert action["done"] == {"sections": 1, "of": 3}


def test_numbers_run_across_every_list_shown_and_change_that_lists_section(db, plan, clock, sender, platform):
    from models.members import add_member
    from models.sections import find_section

    with Session(db) as s:
        sections = [find_section(s, "総務室"), find_section(s, "職員課")]  # both share 3-1 and 5-1
        add_member(s, **platform.who(SOUMU), name="山田", sections=sections, role="staff", now=clock.now())
        s.commit()
    chat = Chat(db, clock, sender, platform=platform)
    _, said = chat.say(SOUMU, "今年度の行動計画")
    numbers = [int(m) for m in re.findall(r"^(\d+)\. ", texts(said), re.M)]
    assert numbers == list(range(1, len(numbers) + 1))  # one run across both lists, no restart
    second_list = texts(said).split("職員課")[1]
    number = int(re.search(rf"^(\d+)\. \[未着手\] {ITEM}$", second_list, re.M).group(1))
    _, said = chat.say(SOUMU, f"{number} 完了")
    assert "未着手 → 完了" in texts(said)
    shown = texts(chat.say(SOUMU, "今年度の行動計画")[1])
    soumu_part, shokuin_part = shown.split("職員課", 1)
    assert re.search(rf"^\d+\. \[未着手\] {ITEM}$", soumu_part, re.M)
    assert re.search(rf"^{number}\. \[完了\] {ITEM}$", shokuin_part, re.M)


def test_a_section_marking_a_shared_item_late_is_followed_up_for_itself_not_for_the_lead(chat, db, clock):
    from models.follow_up_status import follow_ups
    from models.sections import find_section

    number, _ = shared_line(chat.say(SHOKUIN, "今年度の行動計画")[1])
    chat.say(SHOKUIN, f"{number} 遅れています")
    with Session(db) as s:
        late = [
            (e.section, e.item) for e in follow_ups(s, clock.now(), tz=clock.tz).overdue if e.kind == "action"
        ]
        assert ("職員課", ITEM) in late
        assert ("総務室", ITEM) not in late  # the lead has not said it is late
        assert follow_ups(s, clock.now(), [find_section(s, "デジタル情報課")], tz=clock.tz).overdue == []


def test_the_status_buttons_after_a_change_move_the_same_sections_part(chat):
    number, _ = shared_line(chat.say(SHOKUIN, "今年度の行動計画")[1])
    _, said = chat.say(SHOKUIN, f"{number} 完了")
    (late,) = [a for a in quick_replies(said) if a.get("displayText") == f"{number} 遅延"]
    _, said = chat.tap(SHOKUIN, late["data"])
    assert "完了 → 遅延" in texts(said)
    assert shared_line(chat.say(SHOKUIN, "今年度の行動計画")[1])[1] == "遅延"
    assert shared_line(chat.say(SOUMU, "今年度の行動計画")[1])[1] == "未着手"
