"""The /simulator page in a real Chromium: a new person registers, reports by typing and through 「報告する」,
corrects a figure, and gets the KPI request a job pushes — all through the real webhook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.simulator.demo_data import DEMO_MEMBERS
from models.invites import create_invite
from models.sections import find_section

SATO = next(m for m in DEMO_MEMBERS if m.name == "佐藤 花子")
SUZUKI = next(m for m in DEMO_MEMBERS if m.role == "manager")


@pytest.fixture
def invite_code(live_app, db, clock) -> str:
    """A staff invite code for 職員課, made the way `dxbot invite create` makes one."""
    with Session(db) as session:
        code = create_invite(
            session,
            section=find_section(session, "職員課"),
            role="staff",
            now=clock.now(),
            valid_for=timedelta(days=7),
            created_by="test",
        ).code
        session.commit()
    return code


def open_simulator(page, live_server, lang: str | None = None):
    page.goto(f"{live_server.url}/simulator/" + (f"?lang={lang}" if lang else ""))
    page.wait_for_selector("body[data-ready=true]")


def say(page, text: str) -> None:
    """Type TEXT in the message box and send it."""
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")


def last_bot_row(page):
    return page.locator(".row.bot").last


def test_a_new_person_registers_reports_corrects_and_gets_the_kpi_request(
    live_server, page, expect, screenshot, invite_code, dxbot
):
    open_simulator(page, live_server)
    expect(page.locator("h1")).to_have_text("LINEチャット シミュレーター")
    expect(page.locator("#clock")).to_have_text("2026年11月24日(火) 10:00")
    screenshot("start")

    # A new person: not registered, with a LINE display name.
    page.locator("#user-select").select_option("__new__")
    page.locator("#new-name").fill("中村 陽子")
    page.get_by_role("button", name="この利用者を追加").click()
    expect(page.locator("#who")).to_have_text("中村 陽子")
    expect(page.locator("#user-card")).to_contain_text("未登録")

    say(page, f"登録 {invite_code}")
    expect(page.locator(".bubble.me").last).to_have_text(f"登録 {invite_code}")
    expect(last_bot_row(page)).to_contain_text("登録しました：中村 陽子さん、職員課（担当者）")
    expect(page.locator("#user-card")).to_contain_text("職員課 / 担当者")
    screenshot("registered")

    # A figure typed in ordinary Japanese: a confirmation bubble (Flex, altText on hover) with 取り消す.
    say(page, "研修実施回数 2回")
    confirmation = page.locator(".row.bot .flex").last
    expect(confirmation).to_contain_text("記録しました")
    expect(confirmation).to_contain_text("2回")
    expect(confirmation).to_have_attribute(
        "title",
        "記録しました：研修実施回数 2回 （情報セキュリティ研修の実施 / 職員課 / R8年度）\n目標 3回 / 達成率 67%",
    )
    expect(page.locator("#quick .chip")).to_have_text(["取り消す"])
    screenshot("typed-report")

    # The guided way: the rich menu's 報告する, a KPI chip, then the figure.
    page.locator("#chatbar").click()
    page.get_by_role("button", name="報告する", exact=True).click()
    expect(page.locator(".bubble.me").last).to_have_text("報告する")
    expect(page.locator("#quick .chip")).to_have_text(
        ["研修実施回数", "研修受講人数", "テレワーク勤務利用率"]
    )
    screenshot("report-menu-quick-replies")
    page.locator("#quick .chip", has_text="研修受講人数").click()
    expect(last_bot_row(page)).to_contain_text(
        "研修受講人数（情報セキュリティ研修の実施）の数値を送ってください"
    )
    say(page, "120人")
    expect(page.locator(".row.bot .flex").last).to_have_attribute(
        "title",
        "記録しました：研修受講人数 120人 （情報セキュリティ研修の実施 / 職員課 / R8年度）\n目標 300人 / 達成率 40%",
    )
    screenshot("guided-report")

    # A correction replaces the last report; the voided one stays on record.
    say(page, "訂正 130人")
    expect(page.locator(".bubble.bot", has_text="取り消しました：研修受講人数 120人")).to_be_visible()
    expect(page.locator(".row.bot .flex").last).to_have_attribute(
        "title",
        "記録しました：研修受講人数 130人 （情報セキュリティ研修の実施 / 職員課 / R8年度）\n目標 300人 / 達成率 43%",
    )
    screenshot("corrected")

    reports = json.loads(dxbot("kpi", "list", "--section", "職員課", "--json").output)["reports"]
    mine = [(r["kpi"], r["value"], r["voided"], r["reporter"]) for r in reports]
    assert ("研修受講人数", 130, False, "中村 陽子") in mine
    assert ("研修受講人数", 120, True, "中村 陽子") in mine
    assert ("研修実施回数", 2, False, "中村 陽子") in mine

    # ジョブを実行: the January KPI request, pushed to everyone in 職員課 (this chat included).
    page.locator("#job-select").select_option("kpi-request")
    page.locator("#job-at").fill("2027-01-04T09:00")
    page.get_by_role("button", name="実行").click()
    expect(page.locator("#job-result")).to_contain_text(
        "kpi-request を 2027年1月4日(月) 9:00 の時点で実行しました"
    )
    expect(page.locator("#clock")).to_have_text("2027年1月4日(月) 9:00")
    push = page.locator(".row.bot.multicast, .row.bot.push")
    expect(push.first).to_contain_text(
        "職員課の令和8年度 (2026年度)のKPIの数値を2027年1月18日(月)までに送ってください"
    )
    expect(page.locator(".time .kind").last).to_have_text("プッシュ")
    expect(page.locator(".day").last).to_have_text("1月4日(月)")
    screenshot("kpi-request-push")

    # The request's 報告 button opens the keyboard prefilled (inputOption openKeyboard + fillInText).
    page.locator(".fx-button", has_text="報告:研修実施回数").last.click()
    expect(page.locator("#text")).to_have_value("研修実施回数 2回")
    say(page, "研修実施回数 3回")
    expect(page.locator(".row.bot .flex").last).to_contain_text("2027年1月4日(月) 9:00")
    expect(page.locator(".row.bot .flex").last).to_contain_text("達成率 100%")
    screenshot("answered-the-request")


def test_a_manager_gets_the_manager_menu_and_the_page_speaks_english(live_server, page, expect, screenshot):
    open_simulator(page, live_server, lang="en")
    expect(page.locator("h1")).to_have_text("LINE chat simulator")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator("#user-select").select_option(SUZUKI.line_user_id)
    expect(page.locator("#user-card")).to_contain_text("国保医療課、職員課 / manager")
    page.locator("#chatbar").click()
    areas = page.locator(".menu-area")
    expect(areas).to_have_count(4)
    assert areas.first.get_attribute("aria-label") == "状況"  # the manager menu leads with 状況

    areas.first.click()
    expect(page.locator(".bubble.me").last).to_have_text("状況")
    expect(last_bot_row(page)).to_contain_text("令和8年度 (2026年度)の状況")
    screenshot("manager-status")

    say(page, "English")
    expect(last_bot_row(page)).to_contain_text("I will write in English from now on.")
    say(page, "help")
    expect(last_bot_row(page)).to_contain_text("What you can send:")
    screenshot("english")


def test_choosing_a_person_again_shows_the_earlier_chat(live_server, page, expect, screenshot):
    open_simulator(page, live_server)
    page.locator("#user-select").select_option(SATO.line_user_id)
    say(page, "ヘルプ")
    expect(last_bot_row(page)).to_contain_text("送れるもの")

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#user-select")).to_have_value(SATO.line_user_id)
    expect(page.locator(".bubble.me")).to_have_text(["ヘルプ"])
    expect(last_bot_row(page)).to_contain_text("送れるもの")
    screenshot("after-reload")
