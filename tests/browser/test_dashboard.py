"""The dashboard in a real Chromium: a manager gets a link by sending 「ダッシュボード」 (through `dxbot say`,
the webhook's own handling), opens it, sees what is late, opens an initiative's trend chart; staff are
refused; used and expired links fail and start no session."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.dashboard.links import issue_link
from bot.services import services
from bot.simulator.demo_data import DEMO_MEMBERS
from models.actions import set_status
from models.members import get_member
from models.reports import record_report
from models.rounds import open_round
from models.sections import find_section
from models.tables import ActionItem, KpiTarget
from tests.app_services import swap_services

TOKYO = ZoneInfo("Asia/Tokyo")
YAMADA = next(m for m in DEMO_MEMBERS if m.name == "山田 太郎")  # staff, 国保医療課
SUZUKI = next(m for m in DEMO_MEMBERS if m.role == "manager")  # 国保医療課 and 職員課
LINK_RE = re.compile(r"http://127\.0\.0\.1:\d+/dashboard/login/[A-Za-z0-9_-]+")
PHONE = {"width": 390, "height": 844}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def monday(live_app, db):
    """Monday's state of things: 国保医療課's Q2 figure is 40 days late, 職員課 marked an item 遅延."""
    with Session(db) as s:
        kokuho = find_section(s, "国保医療課")
        yamada = get_member(s, YAMADA.line_user_id)
        open_round(s, kokuho, 2026, "Q1", due=at(2026, 7, 15).date(), now=at(2026, 7, 1, 9), tz=TOKYO)
        open_round(s, kokuho, 2026, "Q2", due=at(2026, 10, 15).date(), now=at(2026, 10, 1, 9), tz=TOKYO)
        for year, value, when in (
            (2024, 12, at(2025, 2, 10, 10)),
            (2025, 16, at(2026, 3, 10, 10)),
            (2026, 18, at(2026, 8, 2, 9)),
        ):
            target = s.exec(
                select(KpiTarget).where(KpiTarget.series_id == "1-2/a", KpiTarget.fiscal_year == year)
            ).one()
            record_report(s, target=target, section=kokuho, value=Decimal(value), now=when, reporter=yamada)
        item = s.exec(
            select(ActionItem).where(
                ActionItem.initiative_id == "6-1", ActionItem.fiscal_year == 2026, ActionItem.position == 1
            )
        ).one()
        set_status(s, item, "遅延", now=at(2026, 11, 1, 9), by=get_member(s, SUZUKI.line_user_id))
        s.commit()


def link_from_chat(dxbot, live_server, member) -> tuple[str, str]:
    """Send 「ダッシュボード」 as MEMBER through `dxbot say`; (what the bot answered, the link in it or '')."""
    said = dxbot(
        "say", "--as", member.line_user_id, "ダッシュボード", env={"DXBOT_BASE_URL": live_server.url}
    )
    assert said.exit_code == 0, said.output
    found = LINK_RE.search(said.output)
    return said.output, found.group(0) if found else ""


def test_a_manager_opens_the_link_from_chat_and_sees_what_is_late_and_how_a_kpi_moved(
    live_server, page, expect, screenshot, dxbot, monday
):
    answer, link = link_from_chat(dxbot, live_server, SUZUKI)
    assert answer.startswith("ダッシュボードへのログイン用リンクです")
    assert "2026年11月24日(火) 10:10 まで、1回だけ使えます" in answer
    assert link.startswith(live_server.url)

    page.goto(link)
    expect(page.locator("h1")).to_have_text("ダッシュボードにログイン")
    expect(page.locator("main")).to_contain_text("鈴木 一郎（管理職）としてダッシュボードを開きます")
    screenshot("link-opened")
    page.get_by_role("button", name="ダッシュボードを開く").click()

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.locator("h1")).to_contain_text("概要")
    expect(page.locator(".who")).to_contain_text("鈴木 一郎（管理職）でログイン中")
    late_tile = page.locator(".tile.late .n")
    expect(late_tile).not_to_have_text("0")
    row = page.locator("tr", has=page.locator("a", has_text="1-2 国民健康保険関係の手続きのオンライン化"))
    expect(row.locator("td.risk")).to_have_text("1")
    expect(row.locator("td.late")).to_have_text("1")
    expect(row.locator(".grade")).to_have_text(["B"])
    expect(page.locator("a", has_text="8-3 ペーパーレス会議システムの導入")).to_have_count(0)  # 財政課's
    screenshot("overview")

    page.get_by_role("link", name="遅れ", exact=True).click()
    late = page.locator("tr", has_text="オンライン申請率")
    expect(late).to_contain_text("国保医療課")
    expect(late).to_contain_text("2026年10月15日(木)")
    expect(late.locator("td.late")).to_have_text("40")
    expect(page.locator("tr", has_text="テレワーク勤務の勧奨")).to_contain_text("職員課")
    screenshot("overdue")

    late.get_by_role("link", name="国民健康保険関係の手続きのオンライン化").click()
    expect(page.locator("h1")).to_contain_text("1-2 国民健康保険関係の手続きのオンライン化")
    chart = page.locator("figure.chart").first
    chart.scroll_into_view_if_needed()
    image = chart.locator("img")
    expect(image).to_have_attribute("alt", "オンライン申請率の推移グラフ")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    expect(chart.locator("tr", has_text="R8年度")).to_contain_text("18%")
    expect(chart.locator("tr", has_text="R6年度")).to_contain_text("12%")
    screenshot("initiative-chart")

    svg = page.request.get(f"{live_server.url}{image.get_attribute('src')}")
    assert svg.ok and svg.headers["content-type"].startswith("image/svg+xml")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator(".tile.late")).to_be_visible()
    screenshot("overview-on-a-phone")

    # The link was used: opening it again (another browser, same link) says so and starts nothing.
    other = page.context.browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        second = other.new_page()
        second.goto(link)
        expect(second.locator(".problem .message")).to_have_text(
            "このリンクは使用済みです。リンクは1回しか使えません。"
        )
        second.goto(f"{live_server.url}/dashboard/")
        expect(second).to_have_url(f"{live_server.url}/dashboard/welcome")
    finally:
        other.close()


def test_staff_are_refused_and_see_only_how_to_get_a_link(
    live_server, page, expect, screenshot, dxbot, monday
):
    answer, link = link_from_chat(dxbot, live_server, YAMADA)
    assert link == ""
    assert "ダッシュボードは管理職と管理者向けです。" in answer

    page.goto(f"{live_server.url}/dashboard/initiative/1-2")
    expect(page).to_have_url(f"{live_server.url}/dashboard/welcome")
    expect(page.locator("main")).to_contain_text("「ダッシュボード」と送ってください")
    expect(page.locator("main")).not_to_contain_text("オンライン申請率")
    screenshot("staff-welcome")


def test_an_expired_link_fails_and_starts_no_session(live_server, page, expect, screenshot, db, clock):
    with Session(db) as s:
        issued = issue_link(
            s,
            get_member(s, SUZUKI.line_user_id),
            now=clock.now() - timedelta(minutes=11),
            base=live_server.url,
        )
        s.commit()
    page.goto(issued.url)
    expect(page.locator("h1")).to_have_text("このリンクは使えません")
    expect(page.locator(".problem .message")).to_have_text(
        "このリンクは有効期限が切れています（有効期間は10分です）。"
    )
    expect(page.locator("main")).to_contain_text("有効期限：2026年11月24日(火) 9:59")
    expect(page.get_by_role("button", name="ダッシュボードを開く")).to_have_count(0)
    screenshot("expired-link")
    page.goto(f"{live_server.url}/dashboard/")
    expect(page).to_have_url(f"{live_server.url}/dashboard/welcome")


def test_a_managers_monday_from_the_simulator_to_the_dashboard(live_server, page, expect, screenshot, monday):
    """The simulator is LINE for the demo: the link 「ダッシュボード」 brings there opens the dashboard."""
    app = live_server.app
    swap_services(app, config=replace(services(app).config, base_url=live_server.url))
    page.goto(f"{live_server.url}/simulator/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.locator("#user-select").select_option(SUZUKI.line_user_id)
    page.locator("#text").fill("ダッシュボード")
    page.locator("#text").press("Enter")
    answer = page.locator(".row.bot").last
    expect(answer).to_contain_text("ダッシュボードへのログイン用リンクです")
    screenshot("link-in-the-simulator")
    link = LINK_RE.search(answer.inner_text()).group(0)
    tappable = answer.locator("a.bubble-link")
    expect(tappable).to_have_attribute("href", link)  # a URL in a text message is tappable, as in LINE

    with page.context.expect_page() as opened:
        tappable.click()
    tab = opened.value
    tab.get_by_role("button", name="ダッシュボードを開く").click()
    expect(tab.locator(".tile.late .n")).to_have_text("2")
    expect(tab.locator(".tile.risk .n")).to_have_text("1")
    screenshot("dashboard-after-the-simulator", of=tab)


def test_on_a_phone_the_overview_shows_each_initiatives_grades(
    live_server, page, expect, screenshot, db, clock, monday
):
    """At 390 px the 評価 column was past the right edge: a manager saw counts but never a grade."""
    with Session(db) as s:
        issued = issue_link(s, get_member(s, SUZUKI.line_user_id), now=clock.now(), base=live_server.url)
        s.commit()
    page.set_viewport_size(PHONE)
    page.goto(issued.url)
    page.get_by_role("button", name="ダッシュボードを開く").click()
    expect(page.locator(".tile.late")).to_be_visible()
    grades = page.locator("table.overview td.grades").first
    expect(grades).to_be_visible()
    box = grades.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("overview-grades-on-a-phone")
