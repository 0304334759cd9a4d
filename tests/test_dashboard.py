"""The dashboard's pages as a manager or admin sees them: counts and grades by measure, an initiative with
its actions and KPI charts, a section, the overdue list, the audit trail; scope by role; ja/en; and the
status model's reads checked against reading every report, with a number of queries that does not grow with
the reports."""

from __future__ import annotations

import html as html_module
import random
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from sqlalchemy import event, insert
from sqlmodel import Session, select

from bot.app import close_app
from bot.dashboard import charts, data
from bot.dashboard.links import issue_link
from bot.services import services
from messages.i18n import merged_catalog
from models import follow_up_status, kpi_status
from models.actions import set_status
from models.editions import edition_for_year
from models.members import add_member, get_member
from models.reports import record_report, void_report
from models.rounds import open_round, progress
from models.sections import find_section
from models.tables import ActionItem, InitiativeSection, KpiReport, KpiRequestRound, KpiTarget

TOKYO = ZoneInfo("Asia/Tokyo")
ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "bot" / "dashboard" / "templates"
STAFF = "U" + "1" * 32
MANAGER = "U" + "2" * 32  # 国保医療課 and 職員課
ADMIN = "U" + "3" * 32
OTHER_MANAGER = "U" + "4" * 32  # 財政課


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def target_of(session: Session, series_id: str, fiscal_year: int) -> KpiTarget:
    return session.exec(
        select(KpiTarget).where(KpiTarget.series_id == series_id, KpiTarget.fiscal_year == fiscal_year)
    ).one()


def action_of(session: Session, initiative_id: str, fiscal_year: int, position: int) -> ActionItem:
    return session.exec(
        select(ActionItem).where(
            ActionItem.initiative_id == initiative_id,
            ActionItem.fiscal_year == fiscal_year,
            ActionItem.position == position,
        )
    ).one()


@pytest.fixture
def app(app):
    """The shared app fixture, with its own connection pool closed after the test (not by the garbage collector)."""
    yield app
    close_app(app)


@pytest.fixture
def scenario(plan, db, clock):
    """A manager's Monday, 2026-11-24: 国保医療課 late with its Q2 figure and below target, 職員課 late with
    two KPIs and an action item marked 遅延, 財政課 below its paper-reduction target, a voided report."""
    with Session(db) as s:
        people = {}
        for user, name, sections, role in (
            (STAFF, "山田 太郎", ["国保医療課"], "staff"),
            (MANAGER, "鈴木 一郎", ["国保医療課", "職員課"], "manager"),
            (ADMIN, "高橋 美咲", ["デジタル情報課"], "admin"),
            (OTHER_MANAGER, "田中 次郎", ["財政課"], "manager"),
        ):
            people[user], _ = add_member(
                s,
                line_user_id=user,
                name=name,
                sections=[find_section(s, n) for n in sections],
                role=role,
                now=at(2026, 4, 1, 9),
            )
        kokuho, shokuin, zaisei = (find_section(s, n) for n in ("国保医療課", "職員課", "財政課"))
        for section, period, month in ((kokuho, "Q1", 7), (kokuho, "Q2", 10), (shokuin, "Q2", 10)):
            open_round(
                s, section, 2026, period, due=at(2026, month, 15).date(), now=at(2026, month, 1, 9), tz=TOKYO
            )
        staff = people[STAFF]

        def report(series, year, section, value, when, by=staff, **source):
            return record_report(
                s,
                target=target_of(s, series, year),
                section=section,
                value=Decimal(value),
                now=when,
                reporter=by,
                **source,
            )

        report("1-2/a", 2024, kokuho, 12, at(2025, 2, 10, 10))
        report("1-2/a", 2025, kokuho, 16, at(2026, 3, 10, 10))
        wrong = report(
            "1-2/a",
            2026,
            kokuho,
            15,
            at(2026, 8, 1, 10),
            source_text="オンライン申請率 15%",
            source_message_id="m-15",
        )
        void_report(s, wrong, by=staff, now=at(2026, 8, 2, 9), reason="corrected")
        report("1-2/a", 2026, kokuho, 18, at(2026, 8, 2, 9), source_text="訂正 18%", source_message_id="m-18")
        report("6-1/a", 2026, shokuin, 16, at(2026, 10, 5, 11), by=people[MANAGER])
        report("8-3/a", 2026, zaisei, 3500, at(2026, 10, 5, 11), by=people[OTHER_MANAGER])
        set_status(
            s,
            action_of(s, "6-1", 2026, 1),
            "遅延",
            now=at(2026, 11, 1, 9),
            by=people[MANAGER],
            source_message_id="m-act",
        )
        set_status(s, action_of(s, "1-2", 2026, 1), "進行中", now=at(2026, 9, 1, 9), by=staff)
        s.commit()


def sign_in(app, db, user: str):
    """A test client with a dashboard session for USER (through a real link)."""
    client = app.test_client()
    with Session(db) as s:
        link = issue_link(s, get_member(s, user), now=services(app).clock.now(), base="")
        s.commit()
    assert client.post(link.url).status_code == 302
    return client


class Tables(HTMLParser):
    """Every table row's cell texts (th and td), and <del> texts, from a page."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[list[str]] = []
        self.struck: list[str] = []
        self._cell: list[str] | None = None
        self._del: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []
        elif tag == "del":
            self._del = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "del" and self._del is not None:
            self.struck.append("".join(self._del).strip())
            self._del = None

    def handle_data(self, text):
        if self._cell is not None:
            self._cell.append(text)
        if self._del is not None:
            self._del.append(text)

    def row(self, starting: str) -> list[str]:
        found = [r for r in self.rows if r and r[0].startswith(starting)]
        assert len(found) == 1, (starting, found)
        return found[0]


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.headers.get("Location"))
    return response.get_data(as_text=True)


# --- the overview ----------------------------------------------------------------------------------------

COLUMNS = [
    "initiative",
    "grades",
    "lead",
    "on_track",
    "at_risk",
    "overdue",
    "unconfirmed",
    "awaiting",
    "postponed",
]


def counts(tables: Tables, initiative: str) -> dict:
    cells = tables.row(initiative)
    return {name: cells[i] if i < 3 else int(cells[i]) for i, name in enumerate(COLUMNS)}


def test_the_overview_counts_each_initiative_by_the_status_model(scenario, app, db):
    admin = sign_in(app, db, ADMIN)
    html = page(admin, "/dashboard/")
    tables = Tables(html)
    assert "令和8年度 (2026年度)" in html
    late_kpi = counts(tables, "1-2 ")
    assert late_kpi["lead"] == "国保医療課"
    assert (late_kpi["on_track"], late_kpi["at_risk"], late_kpi["overdue"]) == (0, 1, 1)
    late_action = counts(tables, "6-1 ")
    assert (late_action["on_track"], late_action["at_risk"], late_action["overdue"]) == (1, 0, 1)
    training = counts(tables, "3-1 ")  # 総務室 (lead), 職員課, デジタル情報課 × 2 KPIs; 職員課 missed Q2
    # 職員課's two late KPIs are 遅れ, not also 未報告: 4 awaiting (総務室, デジタル情報課), 2 overdue.
    assert (training["awaiting"], training["overdue"]) == (4, 2)
    assert counts(tables, "8-3 ")["at_risk"] == 1
    # Grades are the lead section's, as the digest shows them: 18% of 20% is B, 16% of 15% is A.
    assert tables.row("1-2 ")[1] == "B"
    assert tables.row("6-1 ")[1] == "A"
    assert tables.row("8-3 ")[1] == "C"  # 3,500 of 7,000 sheets
    assert "(1) 行政手続きのオンライン化" in html and "(12)" in html


def test_a_zero_count_is_not_an_alarm_and_grades_are_explained(scenario, app, db):
    html = page(sign_in(app, db, ADMIN), "/dashboard/")
    cells = re.findall(r'<td class="num ([^"]*)">(\d+)</td>', html)
    assert ("late", "1") in cells  # 1-2's late Q2 figure
    assert [c for c, n in cells if n == "0" and c != "zero"] == []  # no bold red 0
    assert "td.zero" in (ROOT / "bot" / "dashboard" / "static" / "dashboard.css").read_text(encoding="utf-8")
    # The letters are explained on the page, from the scale in force.
    legend = re.search(r'<p class="hint legend">(.*?)</p>', html, re.S)
    assert legend, "no grade legend"
    text = html_module.unescape(" ".join(re.sub(r"<[^>]+>", " ", legend.group(1)).split()))
    assert "S ≥ 110%" in text and "A ≥ 100%" in text and "B ≥ 80%" in text and "C < 80%" in text
    assert "− 報告なし" in text
    section_page = page(sign_in(app, db, ADMIN), "/dashboard/initiative/1-2")
    assert 'class="hint legend"' in section_page


def test_the_years_before_go_live_show_as_unconfirmed_not_overdue(scenario, app, db):
    admin = sign_in(app, db, ADMIN)
    tables = Tables(page(admin, "/dashboard/?fy=2025"))
    row = counts(tables, "1-2 ")
    assert row["unconfirmed"] > 0 and row["overdue"] == 0
    assert "令和7年度 (2025年度)" in page(admin, "/dashboard/?fy=2025")


def test_a_manager_sees_only_initiatives_of_their_sections(scenario, app, db):
    manager = sign_in(app, db, MANAGER)
    tables = Tables(page(manager, "/dashboard/"))
    ids = {r[0].split()[0] for r in tables.rows if r and re.match(r"\d+-\d+ ", r[0])}
    assert {"1-2", "6-1", "3-1", "5-1"} <= ids  # 5-1 names 全所属
    assert "8-3" not in ids and "1-5" not in ids
    # Grades on a manager's overview are their own sections': 職員課's 3-1 KPIs have none yet.
    assert tables.row("3-1 ")[1] == "− −"


def test_the_section_filter_narrows_and_refuses_other_sections(scenario, app, db):
    with Session(db) as s:
        zaisei, kokuho = find_section(s, "財政課").id, find_section(s, "国保医療課").id
    admin = sign_in(app, db, ADMIN)
    tables = Tables(page(admin, f"/dashboard/?section={zaisei}"))
    ids = {r[0].split()[0] for r in tables.rows if r and re.match(r"\d+-\d+ ", r[0])}
    assert {"8-3", "1-5", "8-2", "5-1"} <= ids and "1-2" not in ids
    manager = sign_in(app, db, MANAGER)
    assert manager.get(f"/dashboard/?section={zaisei}").status_code == 403
    assert "1-2 " in page(manager, f"/dashboard/?section={kokuho}")
    assert manager.get("/dashboard/?section=99999").status_code == 404


# --- one initiative -----------------------------------------------------------------------------------------


def test_an_initiative_shows_sections_kpis_actions_with_history_and_trends(scenario, app, db):
    manager = sign_in(app, db, MANAGER)
    html = page(manager, "/dashboard/initiative/1-2")
    tables = Tables(html)
    assert "国民健康保険関係の手続きのオンライン化" in html
    kpi = tables.row("オンライン申請率")
    assert kpi[1:7] == ["国保医療課 主担当", "18%", "20%", "90%", "B", "2026年8月2日(日) 9:00"]
    assert "目標未達の見込み" in kpi[7]
    assert "未着手 → 進行中（山田 太郎、2026年9月1日(火) 9:00）" in html
    # The late Q2 figure is listed with its due date and days overdue.
    late = tables.row("国保医療課")
    assert late[3:] == ["KPI実績 (Q2)", "オンライン申請率", "2026年10月15日(木)", "40"]
    # The trend: the chart and its numbers, one row per year of the plan.
    assert 'src="/dashboard/chart/1-2/a.svg"' in html
    assert tables.row("R5年度")[1:] == ["5%", "−"]
    assert tables.row("R6年度")[1:] == ["10%", "12%"]
    assert tables.row("R7年度")[1:] == ["15%", "16%"]
    assert tables.row("R8年度")[1:] == ["20%", "18%"]


def test_the_lead_section_comes_first(scenario, app, db):
    admin = sign_in(app, db, ADMIN)
    html = page(admin, "/dashboard/initiative/3-1")
    sections = re.search(r'<ul class="sections">(.*?)</ul>', html, re.S).group(1)
    names = re.findall(r">([^<>]+?)</a>", sections)
    assert names[0] == "総務室" and set(names[1:]) == {"職員課", "デジタル情報課"}


def test_a_lower_is_better_kpi_says_so(scenario, app, db):
    with Session(db) as s:
        lower = s.exec(select(KpiTarget).where(KpiTarget.better == "lower")).first()
    admin = sign_in(app, db, ADMIN)
    html = page(admin, f"/dashboard/initiative/{lower.initiative_id}")
    assert "低いほど良い" in html
    english = page(admin, f"/dashboard/initiative/{lower.initiative_id}?lang=en")
    assert "Lower is better" in english


def test_another_sections_initiative_chart_and_section_are_refused(scenario, app, db):
    manager = sign_in(app, db, MANAGER)
    with Session(db) as s:
        zaisei = find_section(s, "財政課").id
    for path in ("/dashboard/initiative/8-3", "/dashboard/chart/8-3/a.svg", f"/dashboard/section/{zaisei}"):
        response = manager.get(path)
        assert response.status_code == 403, path
        assert "コピー用紙" not in response.get_data(as_text=True)
    assert manager.get("/dashboard/initiative/99-9").status_code == 404


# --- charts ---------------------------------------------------------------------------------------------------


def test_a_count_chart_has_whole_number_ticks():
    """Nobody holds 0.5 training sessions: a count's axis ticks only whole numbers."""
    history = data.SeriesHistory(
        series_id="9-9/a",
        initiative_id="9-9",
        name="研修実施回数",
        unit="回",
        kind="count",
        better="higher",
        years=(2025, 2026),
        targets=((2025, Decimal(2)), (2026, Decimal(3))),
        values=(("職員課", ((2025, Decimal(1)), (2026, Decimal(2)))),),
    )
    ticks = charts.chart_figure(history, "ja").axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), list(ticks)


def test_a_chart_is_svg_cached_by_its_data_and_changes_with_a_new_report(scenario, app, db, clock):
    charts.clear_cache()
    admin = sign_in(app, db, ADMIN)
    first = admin.get("/dashboard/chart/1-2/a.svg")
    assert first.status_code == 200 and first.mimetype == "image/svg+xml"
    svg = first.get_data(as_text=True)
    assert "<svg" in svg and "</svg>" in svg
    etag = first.headers["ETag"]
    assert admin.get("/dashboard/chart/1-2/a.svg", headers={"If-None-Match": etag}).status_code == 304
    with Session(db) as s:
        [history] = data.series_histories(
            s,
            clock.now(),
            by_id=data.sections_by_id(s),
            section_ids=None,
            series_id="1-2/a",
            edition=edition_for_year(s, 2026),  # FY2023–FY2026
        )
        assert charts.chart_svg(history, "ja") is charts.chart_svg(history, "ja")  # rendered once
        record_report(
            s,
            target=target_of(s, "1-2/a", 2026),
            section=find_section(s, "国保医療課"),
            value=Decimal(21),
            now=clock.now() - timedelta(hours=1),
        )
        s.commit()
    second = admin.get("/dashboard/chart/1-2/a.svg", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    assert second.get_data(as_text=True) != svg
    assert Tables(page(admin, "/dashboard/initiative/1-2")).row("R8年度")[1:] == ["20%", "21%"]


def test_the_chart_font_is_japanese():
    path, family = charts.chart_font()
    assert Path(path).is_file()
    assert "CJK" in family or "IPAex" in family


# --- the overdue list, a section, the audit trail ------------------------------------------------------------


def test_the_overdue_list_shows_late_figures_and_items_and_filters_by_year(scenario, app, db):
    manager = sign_in(app, db, MANAGER)
    html = page(manager, "/dashboard/overdue")
    tables = Tables(html)
    items = {(r[0], r[4]) for r in tables.rows if len(r) == 7}
    assert ("国保医療課", "オンライン申請率") in items
    assert ("職員課", "研修実施回数") in items and ("職員課", "研修受講人数") in items
    assert ("職員課", "テレワーク勤務の勧奨") in items
    assert ("財政課", "コピー用紙使用削減量") not in items
    assert "R7年度" in html  # past years' untouched items are listed as 未確認
    only_2026 = page(manager, "/dashboard/overdue?fy=2026")
    assert "R7年度" not in only_2026 and "オンライン申請率" in only_2026


def test_a_section_page(scenario, app, db):
    with Session(db) as s:
        kokuho = find_section(s, "国保医療課").id
    manager = sign_in(app, db, MANAGER)
    html = page(manager, f"/dashboard/section/{kokuho}")
    tables = Tables(html)
    assert tables.row("1-2 国民健康保険")[2:5] == ["国保医療課 主担当", "18%", "20%"]
    assert "5-1 AIチャットボットによる問合せ対応" in html  # through 全所属
    assert "運用の評価、見直し" in html


def test_the_audit_trail_shows_who_reported_what_from_which_message(scenario, app, db):
    manager = sign_in(app, db, MANAGER)
    html = page(manager, "/dashboard/audit")
    tables = Tables(html)
    assert tables.struck == ["15%"]
    voided = next(r for r in tables.rows if r and "「オンライン申請率 15%」" in " ".join(r))
    assert "2026年8月2日(日) 9:00 に 山田 太郎 が取り消し" in voided[6]
    valid = next(r for r in tables.rows if r and "「訂正 18%」" in " ".join(r))
    assert valid[3:5] == ["18%", "山田 太郎"] and "m-18" in valid[5]
    assert "3,500" not in html  # 財政課's report is not the manager's
    change = next(r for r in tables.rows if r and "m-act" in " ".join(r))
    assert change[3:5] == ["未着手 → 遅延", "鈴木 一郎"]
    admin = sign_in(app, db, ADMIN)
    assert "3,500枚" in page(admin, "/dashboard/audit")


WORKS_ID = "c72af563-0f21-4736-11e4-045237113344"


@pytest.fixture
def on_lineworks(scenario, db):
    """山田 太郎 (staff of 国保医療課, who reported, voided and moved an item) is on LINE WORKS."""
    with Session(db) as s:
        member = get_member(s, STAFF)
        member.transport, member.line_user_id = "lineworks", WORKS_ID
        s.add(member)
        s.commit()


def test_a_lineworks_member_is_marked_wherever_the_dashboard_names_them(on_lineworks, app, db):
    manager = sign_in(app, db, MANAGER)
    tables = Tables(page(manager, "/dashboard/audit"))
    valid = next(r for r in tables.rows if r and "「訂正 18%」" in " ".join(r))
    assert valid[4] == "山田 太郎（LINE WORKS）"
    voided = next(r for r in tables.rows if r and "「オンライン申請率 15%」" in " ".join(r))
    assert "2026年8月2日(日) 9:00 に 山田 太郎（LINE WORKS） が取り消し" in voided[6]
    moved = next(r for r in tables.rows if r and "1-2" in r[1:2])
    assert moved[4] == "山田 太郎（LINE WORKS）"
    change = next(r for r in tables.rows if r and "m-act" in " ".join(r))
    assert change[4] == "鈴木 一郎"  # on LINE: as before
    history = "未着手 → 進行中（山田 太郎（LINE WORKS）、2026年9月1日(火) 9:00）"
    assert history in page(manager, "/dashboard/initiative/1-2")
    with Session(db) as s:
        kokuho = find_section(s, "国保医療課").id
    assert history in page(manager, f"/dashboard/section/{kokuho}")
    english = page(manager, "/dashboard/audit?lang=en")
    assert "山田 太郎 (LINE WORKS)" in english and "（LINE WORKS）" not in english
    assert WORKS_ID not in english  # the platform, never the id


def test_a_line_only_dashboard_names_no_platform(scenario, app, db):
    manager = sign_in(app, db, MANAGER)
    with Session(db) as s:
        kokuho = find_section(s, "国保医療課").id
    for path in ("/dashboard/audit", "/dashboard/initiative/1-2", f"/dashboard/section/{kokuho}"):
        html = page(manager, path)
        assert "山田 太郎" in html and "LINE WORKS" not in html, path


def test_the_audit_trail_pages_through_many_reports(scenario, app, db, clock):
    bulk_reports(db, 230, seed=2, fiscal_years=(2026,))
    admin = sign_in(app, db, ADMIN)
    first = page(admin, "/dashboard/audit")
    assert "古い報告" in first and "新しい報告" not in first
    second = page(admin, "/dashboard/audit?page=2")
    assert "新しい報告" in second
    assert len(Tables(second).rows) > 100


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/audit?page=99999999999999999999",  # an offset no database integer holds
        "/dashboard/audit?page=50",  # past the last page
        "/dashboard/initiative/%00",  # PostgreSQL refuses NUL in a string
        "/dashboard/initiative/1-2%00",
        "/dashboard/chart/1-2/a%00.svg",
        "/dashboard/?section=1%00",
        "/dashboard/initiative/%ED%A0%80",  # not UTF-8 (a lone surrogate's bytes)
        "/dashboard/login/%00",
    ],
)
def test_absurd_addresses_are_not_found_instead_of_a_server_error(scenario, app, db, path):
    admin = sign_in(app, db, ADMIN)
    response = admin.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)


# --- languages and the page itself -----------------------------------------------------------------------------


def test_english_on_request(scenario, app, db):
    admin = sign_in(app, db, ADMIN)
    html = page(admin, "/dashboard/?lang=en")
    assert '<html lang="en">' in html
    for label in ("Overview", "On track", "At risk", "Overdue", "Unconfirmed (未確認)", "FY2026 (Reiwa 8)"):
        assert label in html
    assert "概要" not in html
    assert '<html lang="en">' in page(admin, "/dashboard/initiative/1-2")  # the choice sticks
    assert '<html lang="ja">' in page(admin, "/dashboard/?lang=ja")


def test_templates_translate_only_strings_the_catalogs_have():
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    extracted = {
        m for *_x, m, _c, _ctx in extract_from_dir(ROOT / "bot", keywords=keywords) if isinstance(m, str)
    }
    catalogs = {locale: merged_catalog(locale) for locale in ("ja", "en")}
    used = set()
    for template in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', template.read_text(encoding="utf-8")))
    assert len(used) > 50
    assert used <= extracted, sorted(used - extracted)
    for locale, catalog in catalogs.items():
        assert all(catalog.get(m) and catalog.get(m).string for m in used), locale


def test_pages_use_no_outside_resources_and_fit_a_phone(scenario, app, db):
    admin = sign_in(app, db, ADMIN)
    html = page(admin, "/dashboard/initiative/1-2")
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    css = (ROOT / "bot" / "dashboard" / "static" / "dashboard.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css and "@media (max-width" in css
    stylesheet = admin.get("/dashboard/static/dashboard.css")
    assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"
    stylesheet.close()


# --- the status model's indexed reads are right, in a bounded number of queries ----------------------------------------------


def bulk_reports(db, count: int, *, seed: int, fiscal_years=(2023, 2024, 2025, 2026)) -> None:
    """COUNT reports spread over every (KPI target, reporting section), some voided, some after now."""
    rng = random.Random(seed)
    with Session(db) as s:
        pairs = s.exec(
            select(KpiTarget.id, KpiTarget.fiscal_year, InitiativeSection.section_id)
            .join(InitiativeSection, InitiativeSection.initiative_id == KpiTarget.initiative_id)
            .where(InitiativeSection.section_id.is_not(None), KpiTarget.fiscal_year.in_(fiscal_years))
            .order_by(KpiTarget.id, InitiativeSection.section_id)
        ).all()
        rows = []
        for n in range(count):
            target_id, year, section_id = rng.choice(pairs)
            when = at(year, 4, 1, 9) + timedelta(minutes=rng.randrange(0, 60 * 24 * 360))
            rows.append(
                {
                    "kpi_target_id": target_id,
                    "section_id": section_id,
                    "value": Decimal(rng.randrange(0, 2000)) / 4,
                    "reported_at": when,
                    "voided_at": when + timedelta(hours=1) if n % 7 == 0 else None,
                    "source_text": f"bulk {n}",
                }
            )
        s.execute(insert(KpiReport), rows)
        s.commit()


def newest_valid(s: Session, now: datetime) -> dict[tuple[int, int], int]:
    """The reference answer, read the slow way: every report, newest valid one by NOW per (target, section)."""
    newest: dict[tuple[int, int], tuple[datetime, int]] = {}
    for r in s.exec(select(KpiReport).where(KpiReport.voided_at.is_(None), KpiReport.reported_at <= now)):
        key = (r.kpi_target_id, r.section_id)
        if key not in newest or (r.reported_at, r.id) > newest[key]:
            newest[key] = (r.reported_at, r.id)
    return {key: report_id for key, (_when, report_id) in newest.items()}


def missing_by_round(s: Session, now: datetime, section_ids: set[int] | None) -> list[tuple]:
    """The reference answer for late KPIs: each late, unanswered round's progress().missing, one by one."""
    today = now.astimezone(TOKYO).date()
    rounds = s.exec(select(KpiRequestRound).where(KpiRequestRound.fiscal_year == 2026)).all()
    expected = []
    for r in rounds:
        if section_ids is not None and r.section_id not in section_ids:
            continue
        if r.requested_at > now or (r.answered_at is not None and r.answered_at <= now):
            continue
        if today <= follow_up_status.round_due(r, TOKYO):
            continue
        for missing in progress(s, r).missing:
            expected.append((r.section_id, r.period, missing.target.id))
    return sorted(expected)


def assert_right_answers(db, now) -> follow_up_status.FollowUps:
    """The status model's indexed reads give what reading every report (and every round) one by one gives."""
    with Session(db) as s:
        newest = newest_valid(s, now)
        mine = [find_section(s, "国保医療課"), find_section(s, "職員課")]
        ids = {m.id for m in mine}
        for year, sections in ((2025, None), (2026, None), (2026, mine)):
            states = kpi_status.kpi_states(s, now, sections, year)
            pairs = {
                (t.id, link.section_id)
                for t, link in s.exec(
                    select(KpiTarget, InitiativeSection)
                    .join(InitiativeSection, InitiativeSection.initiative_id == KpiTarget.initiative_id)
                    .where(KpiTarget.fiscal_year == year, InitiativeSection.section_id.is_not(None))
                )
                if sections is None or link.section_id in ids
            }
            found = [(st.target.id, st.section_id) for st in states]
            assert sorted(found) == sorted(pairs)  # every pair once
            assert {k: st.latest.id if st.latest else None for k, st in zip(found, states, strict=True)} == {
                k: newest.get(k) for k in pairs
            }
            assert all(st.value == (st.latest.value if st.latest else None) for st in states)
        everyone = follow_up_status.follow_ups(s, now, tz=TOKYO)
        ours = follow_up_status.follow_ups(s, now, sections=mine, tz=TOKYO)
        for follow, scope in ((everyone, None), (ours, ids)):
            late = [(e.section_id, e.period, e.item) for e in follow.overdue if e.kind == "kpi"]
            expected = [
                (sid, period, s.get(KpiTarget, tid).name)
                for sid, period, tid in missing_by_round(s, now, scope)
            ]
            assert sorted(late) == sorted(expected)
        assert [e for e in everyone.overdue if e.section_id in ids] == ours.overdue
        return ours


def test_the_status_model_finds_the_newest_valid_reports_and_the_late_kpis(scenario, db, clock):
    before = assert_right_answers(db, clock.now())
    assert {e.kind for e in before.overdue} == {"kpi", "action"} and before.unconfirmed
    bulk_reports(db, 1500, seed=1)  # voided ones, ones after now, several per target and section
    assert_right_answers(db, clock.now())
    assert_right_answers(db, clock.now() - timedelta(days=40))


class QueryCounter:
    """Count the SQL statements an engine runs."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _count(self, *_args, **_kwargs):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def queries_for(app, client, path: str) -> int:
    page(client, path)  # warm: templates compiled, charts font loaded
    with QueryCounter(services(app).engine) as counter:
        page(client, path)
    return counter.count


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/dashboard/?fy=2025", "/dashboard/initiative/3-1", "/dashboard/overdue"]
)
def test_the_number_of_queries_does_not_grow_with_the_reports(scenario, app, db, path):
    admin = sign_in(app, db, ADMIN)
    few = queries_for(app, admin, path)
    bulk_reports(db, 3000, seed=3)
    many = queries_for(app, admin, path)
    assert many == few, f"{path}: {few} queries with a few reports, {many} with 3,000 more"
    assert few <= 26  # an initiative page also reads its targets' revisions (issue 25): one query


def test_a_shared_item_shows_the_lead_sections_status_and_how_many_sections_are_done(scenario, app, db):
    with Session(db) as s:
        item = action_of(s, "3-1", 2026, 2)  # 評価、見直し: 総務室 (lead), 職員課, デジタル情報課
        set_status(s, item, "完了", section=find_section(s, "職員課"), now=at(2026, 11, 2, 9))
        s.commit()
    html = page(sign_in(app, db, ADMIN), "/dashboard/initiative/3-1")
    shown = re.search(
        r'<span class="status status-(\S+)">[^<]*</span>\s*評価、見直し\s*<span class="rollup">([^<]*)<', html
    )
    assert shown.groups() == ("未着手", "完了 1/3課（未完了：総務室、デジタル情報課）")
    assert "職員課: 未着手 → 完了（−、2026年11月2日(月) 9:00）" in html
    with Session(db) as s:
        shokuin, digital = (find_section(s, n).id for n in ("職員課", "デジタル情報課"))
    for section_id, own in ((shokuin, "完了"), (digital, "未着手")):  # each section's page: its own status
        html = page(sign_in(app, db, ADMIN), f"/dashboard/section/{section_id}")
        assert re.search(
            rf'<span class="status status-{own}">[^<]*</span>\s*<a [^>]*>3-1</a>\s*評価、見直し', html
        ), section_id
