"""Issue 23 played in a real Chromium, through the simulator (LINE) and the dashboard: a shared action item
closed by one section stays open for the others, a late round reads the same in 「状況」 and on the dashboard,
a silent section is 未報告 (never 順調), figures that are probably wrong are asked before they count, the
評価 column fits a 390 px phone, and the dashboard follows the simulated clock (links from `dxbot say` too).
Screenshots go where every browser test saves them (see conftest's ``screenshot``)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.services import services
from bot.simulator.demo_data import DEMO_MEMBERS
from models.members import get_member
from models.reports import record_report
from models.rounds import open_round
from models.sections import find_section
from models.tables import KpiTarget
from tests.app_services import swap_services

TOKYO = ZoneInfo("Asia/Tokyo")
YAMADA = next(m for m in DEMO_MEMBERS if m.name == "山田 太郎")  # staff, 国保医療課 (オンライン申請率, %)
SATO = next(m for m in DEMO_MEMBERS if m.name == "佐藤 花子")  # staff, 職員課
SUZUKI = next(m for m in DEMO_MEMBERS if m.role == "manager")  # 国保医療課 and 職員課
LINK_RE = re.compile(r"http://127\.0\.0\.1:\d+/dashboard/login/[A-Za-z0-9_-]+")
PHONE = {"width": 390, "height": 844}
SECTIONS_IN_5_1 = 41  # 5-1 AIチャットボットによる問合せ対応 is shared by every section (全所属)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def late_round(live_app, db):
    """国保医療課 reported 18% for Q1 on 2 August; its Q2 figure was due 15 October (40 days late on 24 Nov)."""
    with Session(db) as s:
        kokuho = find_section(s, "国保医療課")
        open_round(s, kokuho, 2026, "Q1", due=at(2026, 7, 15).date(), now=at(2026, 7, 1, 9), tz=TOKYO)
        open_round(s, kokuho, 2026, "Q2", due=at(2026, 10, 15).date(), now=at(2026, 10, 1, 9), tz=TOKYO)
        target = s.exec(
            select(KpiTarget).where(KpiTarget.series_id == "1-2/a", KpiTarget.fiscal_year == 2026)
        ).one()
        record_report(
            s,
            target=target,
            section=kokuho,
            value=Decimal(18),
            now=at(2026, 8, 2, 9),
            reporter=get_member(s, YAMADA.line_user_id),
        )
        s.commit()


@pytest.fixture
def sim(live_server, page):
    """The simulator open in the page, with links in chat pointing at the live server."""
    app = live_server.app
    swap_services(app, config=replace(services(app).config, base_url=live_server.url))
    page.goto(f"{live_server.url}/simulator/")
    page.wait_for_selector("body[data-ready=true]")
    return page


def speak_as(page, member) -> None:
    page.locator("#user-select").select_option(member.line_user_id)


def say(page, text: str) -> None:
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")


def last_bot_row(page):
    return page.locator(".row.bot").last


def sign_in_from_the_chat(page, expect):
    """鈴木 (manager) sends 「ダッシュボード」 in the simulator and opens the link: the dashboard, in a new tab."""
    speak_as(page, SUZUKI)
    say(page, "ダッシュボード")
    answer = last_bot_row(page)
    expect(answer).to_contain_text("ダッシュボードへのログイン用リンクです")
    with page.context.expect_page() as opened:
        answer.locator("a.bubble-link").click()
    tab = opened.value
    tab.get_by_role("button", name="ダッシュボードを開く").click()
    expect(tab.locator(".who")).to_contain_text("鈴木 一郎（管理職）でログイン中")
    return tab


def test_a_shared_item_done_by_one_section_stays_open_for_the_others(sim, expect, screenshot, live_server):
    page = sim
    speak_as(page, SATO)
    say(page, "今年度の行動計画")
    expect(last_bot_row(page)).to_contain_text("3. [未着手] Q & Aの追加登録")
    say(page, "3 完了")
    expect(last_bot_row(page)).to_contain_text("Q & Aの追加登録：未着手 → 完了 にしました")
    screenshot("shokuin-closes-its-qa-item")

    # 国保医療課 shares 5-1 (全所属): its own 「Q & Aの追加登録」 is still open.
    speak_as(page, YAMADA)
    say(page, "今年度の行動計画")
    plan = last_bot_row(page)
    expect(plan).to_contain_text("国保医療課 令和8年度 (2026年度)の行動計画")
    expect(plan).to_contain_text("2. [未着手] Q & Aの追加登録")
    expect(plan).not_to_contain_text("[完了]")
    screenshot("kokuho-still-open")

    # The dashboard rolls the item up over the sections: done by 1 of 41, the rest still open.
    tab = sign_in_from_the_chat(page, expect)
    tab.goto(f"{live_server.url}/dashboard/initiative/5-1")
    item = tab.locator("ol.actions > li", has_text="Q & Aの追加登録")
    expect(item.locator(".rollup")).to_contain_text(f"完了 1/{SECTIONS_IN_5_1}課")
    expect(item.locator(".history")).to_contain_text("職員課: 未着手 → 完了")
    screenshot("dashboard-rollup", of=tab)
    tab.close()


def test_a_late_round_and_a_silent_section_read_the_same_in_chat_and_on_the_dashboard(
    sim, expect, screenshot, live_server, late_round
):
    page = sim
    speak_as(page, YAMADA)
    say(page, "状況")
    status = last_bot_row(page)
    expect(status).to_contain_text("40日遅れ / KPI照会 Q2：期限 10月15日(木) / 報告 0/1")
    expect(status).to_contain_text("前回 18%（8月2日(日)） / 目標 20%")
    screenshot("staff-status-says-late")

    # The manager's 状況: 職員課 has reported nothing and is not late — 未報告, not 順調.
    speak_as(page, SUZUKI)
    say(page, "状況")
    shokuin = page.locator(".row.bot", has_text="職員課 令和8年度 (2026年度)の状況").last
    expect(shokuin).to_contain_text("未報告 / 未確認 11件")
    expect(shokuin).not_to_contain_text("順調")
    kokuho = page.locator(".row.bot", has_text="国保医療課 令和8年度 (2026年度)の状況").last
    expect(kokuho).to_contain_text("40日遅れ / KPI照会 Q2：期限 10月15日(木) / 報告 0/1")
    screenshot("manager-status")

    # The dashboard, at the same moment, says the same: due 15 October, 40 days late.
    tab = sign_in_from_the_chat(page, expect)
    tab.get_by_role("link", name="遅れ", exact=True).click()
    late = tab.locator("tr", has_text="オンライン申請率")
    expect(late).to_contain_text("国保医療課")
    expect(late).to_contain_text("2026年10月15日(木)")
    expect(late.locator("td.late")).to_have_text("40")
    screenshot("dashboard-overdue", of=tab)

    # The weekly digest the manager gets (run from the simulator, which moves the clock to Monday 30 Nov).
    page.locator("#job-select").select_option("weekly-digest")
    page.locator("#job-at").fill("2026-11-30T08:00")
    page.get_by_role("button", name="実行").click()
    expect(page.locator("#job-result")).to_contain_text(
        "weekly-digest を 2026年11月30日(月) 8:00 の時点で実行しました"
    )
    digest = page.locator(".row.bot.push .flex, .row.bot.multicast .flex").last
    bubbles = digest.locator(".fx-bubble")
    kokuho_bubble = bubbles.filter(has=page.get_by_text("国保医療課", exact=True))
    expect(kokuho_bubble).to_contain_text("46日遅れ / KPI照会 Q2：期限 10月15日(木) / 報告 0/1")
    shokuin_bubble = bubbles.filter(has=page.get_by_text("職員課", exact=True))
    expect(shokuin_bubble).to_contain_text("報告 0/3")
    expect(shokuin_bubble).to_contain_text("未報告")
    expect(shokuin_bubble).not_to_contain_text("順調")
    shokuin_bubble.scroll_into_view_if_needed()
    screenshot("weekly-digest")
    tab.reload()  # the dashboard runs on the same (simulated) clock: six days later, 46 days late
    expect(tab.locator("tr", has_text="オンライン申請率").locator("td.late")).to_have_text("46")

    # On a 390 px phone the overview's 評価 column is on screen, with a grade in it.
    tab.set_viewport_size(PHONE)
    tab.goto(f"{live_server.url}/dashboard/")
    # (exact: the participation table above it has a 「評価の内訳」 column of its own)
    grades_head = tab.get_by_role("columnheader", name="評価", exact=True).first
    assert grades_head.evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth; }"
    ), "the 評価 column is off to the side on a phone"
    row = tab.locator("tr", has=tab.locator("a", has_text="1-2 国民健康保険関係の手続きのオンライン化"))
    grade = row.locator("td.grades")
    row.scroll_into_view_if_needed()
    expect(grade).to_be_in_viewport()
    expect(grade.locator(".grade")).to_have_text(["B"])
    box = grade.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("dashboard-on-a-phone", of=tab)


def test_figures_that_are_probably_wrong_are_asked_before_they_count(
    sim, expect, screenshot, dxbot, late_round
):
    page = sim
    speak_as(page, YAMADA)
    say(page, "オンライン申請率 18%")
    asked = last_bot_row(page)
    expect(asked).to_contain_text("前回と同じ値です。記録しますか？")
    expect(page.locator("#quick .chip")).to_have_text(["記録する", "修正する"])
    screenshot("same-as-last-asked")
    page.locator("#quick .chip", has_text="修正する").click()
    expect(last_bot_row(page)).to_contain_text(
        "オンライン申請率（国民健康保険関係の手続きのオンライン化）の数値を送ってください。"
    )
    screenshot("same-as-last-fixing")

    say(page, "オンライン申請率 90%")
    expect(last_bot_row(page)).to_contain_text(
        "大きく離れています。まだ記録していません。このまま記録しますか？"
    )
    expect(page.locator("#quick .chip")).to_have_text(["記録する", "修正する"])
    screenshot("implausible-asked")
    reports = json.loads(dxbot("kpi", "list", "--section", "国保医療課", "--json").output)["reports"]
    assert [(r["value"], r["voided"]) for r in reports] == [(18, False)]  # nothing new counted yet

    page.locator("#quick .chip", has_text="記録する").click()
    expect(page.locator(".row.bot .flex").last).to_have_attribute(
        "title",
        "記録しました：オンライン申請率 90% （国民健康保険関係の手続きのオンライン化 / 国保医療課 / R8年度）\n"
        "目標 20% / 達成率 450%",
    )
    screenshot("implausible-recorded-when-confirmed")


def test_the_dashboard_and_dxbot_say_follow_the_simulated_clock(sim, expect, screenshot, live_server, dxbot):
    """Point 7: moving the simulated clock keeps the manager signed in; a `dxbot say` link is valid there."""
    page = sim
    tab = sign_in_from_the_chat(page, expect)
    page.locator("#job-select").select_option("clock")
    page.locator("#job-at").fill("2027-01-20T09:00")
    page.get_by_role("button", name="実行").click()
    expect(page.locator("#clock")).to_have_text("2027年1月20日(水) 9:00")
    tab.reload()
    expect(tab.locator(".who")).to_contain_text("鈴木 一郎（管理職）でログイン中")
    screenshot("still-signed-in-after-the-clock-moved", of=tab)

    # Another process, no DXBOT_NOW of its own: it speaks on the simulator's clock.
    said = dxbot(
        "say",
        "--as",
        SUZUKI.line_user_id,
        "ダッシュボード",
        env={"DXBOT_NOW": None, "DXBOT_BASE_URL": live_server.url},
    )
    assert "2027年1月20日(水) 9:10 まで、1回だけ使えます" in said.output
    link = LINK_RE.search(said.output).group(0)
    other = page.context.browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        fresh = other.new_page()
        fresh.goto(link)
        expect(fresh.locator("h1")).to_have_text("ダッシュボードにログイン")
        fresh.get_by_role("button", name="ダッシュボードを開く").click()
        expect(fresh.locator(".who")).to_contain_text("鈴木 一郎（管理職）でログイン中")
        screenshot("signed-in-with-a-dxbot-say-link", of=fresh)
        fresh.goto(link)
        expect(fresh.locator(".problem .message")).to_have_text(
            "このリンクは使用済みです。リンクは1回しか使えません。"
        )
    finally:
        other.close()
