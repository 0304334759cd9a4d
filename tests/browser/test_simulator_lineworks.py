"""The /simulator page in a real Chromium with LINE WORKS beside LINE: a person on LINE WORKS gets LINE WORKS'
look and menu buttons, registers, reports, sees the flexible template and taps 取り消す — all through the real
LINE WORKS callback; a LINE member's chat keeps LINE's look."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.simulator.demo_data import DEMO_MEMBERS
from models.config import Config
from models.invites import create_invite
from models.sections import find_section
from tests.browser.conftest import live_env

SATO = next(m for m in DEMO_MEMBERS if m.name == "佐藤 花子")
LINE_WORKS_GREEN = "rgb(0, 199, 60)"  # #00C73C, simulator.css --lw-green


@pytest.fixture
def live_config(database_url, clock) -> Config:
    """As the shared one, and the bot speaks LINE WORKS too (no LINEWORKS_* settings: console senders)."""
    return Config.from_env(
        {**live_env(database_url, clock), "DXBOT_TRANSPORT": "line,lineworks"}, testing=True
    )


@pytest.fixture
def invite_code(live_app, db, clock) -> str:
    """A staff invite code for 国保医療課 (the section reporting オンライン申請率)."""
    with Session(db) as session:
        code = create_invite(
            session,
            section=find_section(session, "国保医療課"),
            role="staff",
            now=clock.now(),
            valid_for=timedelta(days=7),
            created_by="test",
        ).code
        session.commit()
    return code


def say(page, text: str) -> None:
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")


def test_a_lineworks_person_chats_in_lineworks_look_and_taps_buttons(
    live_server, page, expect, screenshot, invite_code
):
    page.goto(f"{live_server.url}/simulator/")
    page.wait_for_selector("body[data-ready=true]")

    page.locator("#user-select").select_option("__new__")
    page.locator("#new-platform").select_option("lineworks")
    page.locator("#new-name").fill("中村 陽子")
    page.get_by_role("button", name="この利用者を追加").click()
    expect(page.locator("#who")).to_have_text("中村 陽子")

    # LINE WORKS' look: its platform on the phone, its green in the header, its menu buttons instead of
    # LINE's rich menu bar (the rich menu's entries: the bot defines no LINE WORKS persistent menu).
    phone = page.locator(".phone")
    expect(phone).to_have_attribute("data-platform", "lineworks")
    expect(page.locator(".phone-head")).to_have_css("background-color", LINE_WORKS_GREEN)
    expect(page.locator("#chatbar")).to_be_hidden()
    menu = page.locator("#lwmenu")
    expect(menu).to_be_visible()
    expect(menu.locator("button")).to_have_text(["報告する", "今年度の行動計画", "状況", "ヘルプ"])

    say(page, f"登録 {invite_code}")
    expect(page.locator(".row.bot").last).to_contain_text(
        "登録しました：LINE WORKS userさん、国保医療課（担当者）"
    )
    screenshot("registered")

    # A figure: the confirmation is LINE WORKS' flexible template, drawn, with 取り消す as a quick reply.
    say(page, "オンライン申請率 41%")
    confirmation = page.locator(".row.bot .flex").last
    expect(confirmation).to_contain_text("記録しました")
    expect(confirmation).to_contain_text("41%")
    expect(confirmation).to_have_attribute("title", re.compile(r"^記録しました：オンライン申請率 41%"))
    undo = page.locator("#quick .chip", has_text="取り消す")
    expect(undo).to_be_visible()
    screenshot("reported")

    undo.click()  # a postback event; LINE WORKS shows the displayText as the person's message
    expect(page.locator(".bubble.me").last).to_have_text("取り消す")
    expect(page.locator(".row.bot").last).to_contain_text("取り消しました")

    # A menu button: the same postback as the rich menu's area, as a LINE WORKS postback event.
    menu.get_by_role("button", name="報告する").click()
    expect(page.locator(".bubble.me").last).to_have_text("報告する")
    expect(page.locator("#quick .chip").first).to_be_visible()
    screenshot("menu-tapped")

    # A LINE member's chat keeps LINE's look.
    page.locator("#user-select").select_option(SATO.line_user_id)
    expect(phone).to_have_attribute("data-platform", "line")
    expect(page.locator(".phone-head")).to_have_css("background-color", "rgb(39, 50, 70)")
    expect(page.locator("#lwmenu")).to_be_hidden()
    expect(page.locator("#chatbar")).to_be_visible()
