"""The action list's year chips are the plan's own years, not FY2023–FY2026 written into the code."""

from __future__ import annotations

from sqlmodel import Session, select

from models.tables import ActionItem, KpiTarget
from tests.bot.chat import Chat, quick_replies

STAFF = "U" + "e5" * 16


def test_year_chips_follow_the_years_the_plan_covers(db, plan, clock, sender, platform):
    from models.members import add_member
    from models.sections import find_section

    with Session(db) as s:
        add_member(
            s,
            **platform.who(STAFF),
            name="山田",
            sections=[find_section(s, "職員課")],
            role="staff",
            now=clock.now(),
        )
        # The next plan's first year (FY2027) arrives; FY2023 dropped out of it.
        first = s.exec(select(ActionItem).where(ActionItem.fiscal_year == 2026)).first()
        s.add(
            ActionItem(
                edition_id=first.edition_id,
                initiative_id=first.initiative_id,
                fiscal_year=2027,
                position=1,
                text="次期計画の策定",
            )
        )
        for table in (ActionItem, KpiTarget):
            for row in s.exec(select(table).where(table.fiscal_year == 2023)).all():
                row.removed_at = clock.now()
        s.commit()
    chat = Chat(db, clock, sender, platform=platform)
    _, said = chat.say(STAFF, "今年度の行動計画")
    assert [action["label"] for action in quick_replies(said)] == ["R6年度", "R7年度", "R9年度"]
