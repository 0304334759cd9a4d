"""A tap on the LINE WORKS persistent menu does what the same tap on LINE's rich menu does.

The persistent menu is made from the staff rich menu (messages/lineworks_menu.py); each of its buttons is
a message action, whose tap LINE WORKS sends as a `message` callback with content.text and
content.postback (tests/lineworks/callbacks.py). The LINE member taps the rich menu's postback area.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session

from messages.lineworks_menu import persistent_menu_body
from messages.richmenu import load_definition
from models.members import add_member
from models.sections import find_section
from tests.bot.chat import Chat, Platform, texts
from tests.lineworks import callbacks
from tests.lineworks.validation import menu_problems

PERSON = "U" + "a1" * 16
STAFF_MENU = load_definition("staff")
MENU = persistent_menu_body(STAFF_MENU)


def _member(db, clock, platform: Platform, role: str) -> None:
    with Session(db) as s:
        add_member(
            s,
            **platform.who(PERSON),
            name="山田",
            sections=[find_section(s, "国保医療課")],
            role=role,
            now=clock.now(),
        )
        s.commit()


def _outcome(chat: Chat, response, said) -> tuple:
    return response.outcome, texts(said)


@pytest.mark.parametrize("role", ["staff", "manager"])
@pytest.mark.parametrize("index", range(len(STAFF_MENU.areas)))
def test_a_persistent_menu_tap_is_answered_like_the_rich_menu_tap(db, plan, clock, sender, index, role):
    assert menu_problems(MENU) == []
    area = STAFF_MENU.areas[index]
    button = MENU["content"]["actions"][index]
    assert area.data is not None

    line = Chat(db, clock, sender, platform=Platform("line"))
    _member(db, clock, line.platform, role)
    on_line = _outcome(line, *line.tap(PERSON, area.data))

    works = Chat(db, clock, sender, platform=Platform("lineworks"))
    _member(db, clock, works.platform, role)
    raw = callbacks.message_postback_event(
        works.platform.user(PERSON), button["text"], button["postback"], at=works._at()
    )
    on_lineworks = _outcome(works, *works._run(works._lineworks(raw)))

    assert on_lineworks == on_line
    assert on_line[0] not in (None, "ignored", "unknown")
    assert on_line[1]  # the bot answered something
