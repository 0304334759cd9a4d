"""A section's state reads the same in every view (状況, 課, the LINE digest, the dashboard, `dxbot digest`):
open round, due date, days late; silence is never 順調; figures carry units; per-year counts pro-rated."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.dashboard.links import issue_link
from bot.services import services
from messages.intents import Digest
from models import section_status
from models.members import add_member, get_member
from models.reports import record_report
from models.sections import find_section
from models.tables import KpiTarget
from scheduler.digest import digest_sections
from tests.bot.chat import Chat, texts
from tests.messages.line_golden import build_line as build

TOKYO = ZoneInfo("Asia/Tokyo")
STAFF = "U" + "a1" * 16  # 財政課
ADMIN = "U" + "ad" * 16  # デジタル情報課
DUE = "期限 10月15日(木)"  # the Q2 round requested on 1 October is due 14 days later
LATE = "40日遅れ"  # as of the tests' now, 24 November


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def member(db, user: str, section: str, role: str) -> None:
    with Session(db) as s:
        add_member(
            s,
            line_user_id=user,
            name="山田",
            sections=[find_section(s, section)],
            role=role,
            now=jst(2026, 4, 1),
        )
        s.commit()


def report(db, series: str, section: str, value: str, when: datetime) -> None:
    with Session(db) as s:
        target = s.exec(
            select(KpiTarget).where(KpiTarget.series_id == series, KpiTarget.fiscal_year == 2026)
        ).one()
        record_report(s, target=target, section=find_section(s, section), value=Decimal(value), now=when)
        s.commit()


def line_digest(db, section: str, now: datetime) -> tuple[str, str]:
    """The LINE digest of one section as (flex JSON text, its plain text)."""
    with Session(db) as s:
        pages = digest_sections(s, [find_section(s, section)], now, tz=TOKYO)
        intent = Digest(title_scope=section, fiscal_year=2026, as_of=now.date(), sections=tuple(pages))
        flex = json.dumps(build(intent, "ja"), ensure_ascii=False)
        plain = "\n".join(m["text"] for m in build(intent, "ja", plain=True))
    return flex, plain


def dashboard_page(app, db, section: str) -> str:
    client = app.test_client()
    with Session(db) as s:
        link = issue_link(s, get_member(s, ADMIN), now=services(app).clock.now(), base="")
        section_id = find_section(s, section).id
        s.commit()
    assert client.post(link.url).status_code == 302
    response = client.get(f"/dashboard/section/{section_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def late_round(dxbot, plan, db):
    """財政課 was asked for its Q2 figures on 1 October (due 15 October) and has sent nothing."""
    member(db, STAFF, "財政課", "staff")
    member(db, ADMIN, "デジタル情報課", "admin")
    ran = dxbot("run-job", "kpi-request", "--at", "2026-10-01T09:00:00+09:00")
    assert ran.exit_code == 0, ran.output
    return db


def test_a_late_round_reads_the_same_in_every_view(late_round, app, db, clock, sender, dxbot):
    chat = Chat(db, clock, sender)
    _response, said = chat.say(STAFF, "状況")
    mine = texts(said)
    _response, said = chat.say(ADMIN, "課 財政課")
    admin = texts(said)
    flex, plain = line_digest(db, "財政課", clock.now())
    page = dashboard_page(app, db, "財政課")
    cli = dxbot("digest", "--section", "財政課").output
    views = {"状況": mine, "課": admin, "digest": flex, "digest (text)": plain, "dashboard": page, "cli": cli}
    for name, shown in views.items():
        assert DUE in shown and LATE in shown, (name, shown)
        assert "順調" not in shown, name
    data = json.loads(dxbot("digest", "--section", "財政課", "--json").output)
    (row,) = data["rounds"]
    assert (row["section"], row["period"], row["due"], row["days_late"], row["snoozed_until"]) == (
        "財政課",
        "Q2",
        "2026-10-15",
        40,
        None,
    )
    assert (row["reported"], row["expected"]) == (0, 3)
    assert [s["state"] for s in data["sections"]] == ["late"]


def test_snoozed_until_is_shown_by_the_same_views(late_round, db, clock, sender, dxbot):
    chat = Chat(db, clock, sender)
    chat.say(STAFF, "スヌーズ 7")
    _response, said = chat.say(STAFF, "状況")
    flex, _plain = line_digest(db, "財政課", clock.now())
    data = json.loads(dxbot("digest", "--section", "財政課", "--json").output)
    assert data["rounds"][0]["snoozed_until"].startswith("2026-12-01T10:00:00")
    for shown in (texts(said), flex):
        assert "12月1日(火)までスヌーズ" in shown


def test_the_status_model_gives_the_round(late_round, db, clock):
    with Session(db) as s:
        zaisei = find_section(s, "財政課")
        (found,) = section_status.open_rounds(s, clock.now(), [zaisei], tz=TOKYO).values()
    assert (found.period, found.due.isoformat(), found.days_late, found.reported, found.expected) == (
        "Q2",
        "2026-10-15",
        40,
        0,
        3,
    )


def test_a_late_section_is_never_summarised_as_all_reported(late_round, db, clock):
    """A figure from September counts for the year, not for the Q2 request it ignored: the digest says which
    count is the year's and, above everything, that a section is late with the request."""
    report(db, "1-5/a", "財政課", "30", jst(2026, 9, 1, 10))
    flex, plain = line_digest(db, "財政課", clock.now())
    summary = plain.splitlines()[0]
    assert "今年度のKPI報告 1/3件" in summary, summary
    assert "KPI照会の回答が遅れている課 1" in summary, summary
    assert "今年度の報告 1/3" in flex and "報告 0/3" in flex
    alt = json.loads(flex)[0]["altText"]
    assert alt.startswith(summary.split("\n")[0][:20]) and "遅れている課 1" in alt, alt
