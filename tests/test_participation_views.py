"""Participation where managers see it (issue 23.4): `dxbot digest` (JSON and text), the weekly LINE digest
and the dashboard overview, on the hand-computed two-round fixture of tests/test_participation.py."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from bot.app import close_app
from bot.dashboard.links import issue_link
from bot.services import services
from messages import intents
from models.members import add_member, get_member
from models.sections import find_section
from models.tables import OutboxMessage
from scheduler import jobs
from tests.conftest import TOKYO
from tests.messages.line_golden import build_line as build
from tests.test_participation import _run, two_rounds

ADMIN = "U" + "9" * 32
MANAGER = "U" + "8" * 32  # 財政課, registered after both rounds were sent


@pytest.fixture
def app(app):
    yield app
    close_app(app)


def _add(db, line_id: str, name: str, section: str, role: str) -> None:
    with Session(db) as s:
        add_member(
            s,
            line_user_id=line_id,
            name=name,
            sections=[find_section(s, section)],
            role=role,
            now=datetime(2026, 10, 15, tzinfo=TOKYO),
        )
        s.commit()


def test_digest_json_adds_participation_and_grade_counts_keeping_its_keys(plan, db, dxbot):
    two_rounds(db)
    data = json.loads(dxbot("digest", "--json", "--at", "2026-10-20T12:00:00+09:00").output)
    assert {"rounds", "sections", "grades", "participation", "grade_counts"} <= set(data)
    city = data["participation"]
    # 2/3 sections and 2/5 people answered Q2, median (6 + 96) / 2 = 51 h; Q1: 2/3, 3/5, (24 + 84) / 2 = 54 h.
    assert city["current"] == {
        "fiscal_year": 2026,
        "period": "Q2",
        "recorded": True,
        "sections_asked": 3,
        "sections_answered": 2,
        "section_rate": 67,
        "people_asked": 5,
        "people_answered": 2,
        "people_rate": 40,
        "median_hours_to_first_figure": 51.0,
    }
    assert (city["previous"]["period"], city["previous"]["people_rate"]) == ("Q1", 60)
    assert city["previous"]["median_hours_to_first_figure"] == 54.0
    # City-wide grades: 1 S (財政課 120%), 2 A (財政課 and 職員課 100%), 1 C (国保医療課 50%), the rest −.
    counts = data["grade_counts"]
    assert (counts["S"], counts["A"], counts["B"], counts["C"]) == (1, 2, 0, 1)
    assert sum(counts.values()) == len(data["grades"]) and counts == city["grades"]
    sections = {p["section"]: p for p in city["sections"]}
    assert sections["職員課"]["current"]["people_answered"] == 0
    assert sections["職員課"]["previous"]["median_hours_to_first_figure"] == 84.0
    assert sections["デジタル情報課"]["current"] is None  # never asked


def test_digest_text_says_the_rates_and_grades(plan, db, dxbot):
    two_rounds(db)
    out = dxbot("digest", "--at", "2026-10-20T12:00:00+09:00").output
    assert "回答 R8年度 Q2: 2/3課（67%）・2/5人（40%）" in out
    assert "前回 R8年度 Q1: 2/3課（67%）・3/5人（60%）" in out
    assert "初回報告までの中央値: 2.1日（前回 2.3日）" in out  # 51 h and 54 h
    assert "評価: S 1 · A 2 · B 0 · C 1" in out
    assert "・職員課: Q2 回答 0/2人・初回 −（前回 1/2人）" in out


def test_weekly_digest_pushes_participation_within_lines_limits(plan, db):
    two_rounds(db)
    _add(db, MANAGER, "小林", "財政課", "manager")
    _run(db, jobs.weekly_digest, datetime(2026, 10, 19, 9, tzinfo=TOKYO))
    with Session(db) as s:
        (row,) = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "digest")).all()
    (message,) = row.messages
    alt = message["altText"]
    assert len(alt) <= 400
    # 財政課 alone: Q2 answered by 鈴木 of 佐藤 and 鈴木 (the manager joined later: not asked).
    assert "回答 R8年度 Q2: 1/1課（100%）・1/2人（50%）" in alt
    assert "評価: S 1 · A 1 · B 0 · C 0 · − 1" in alt
    bubble = json.dumps(message["contents"], ensure_ascii=False)
    assert "初回報告までの中央値: 6時間（前回 24時間）" in bubble


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_worst_case_digest_keeps_twelve_bubbles_and_a_400_character_alt_text(locale, sender):
    rate = intents.RoundRate(2026, "Q2", True, 1234, 1500, 23456, 34567, 82, 68, 1234.5)
    grades = (("S", 1234), ("A", 2345), ("B", 3456), ("C", 4567), ("−", 5678))
    line = intents.ParticipationLine(current=rate, previous=rate, grades=grades)
    sections = tuple(
        intents.DigestSection(
            section=f"とても長い名前の課・室とその出先機関 第{n}分室",
            reported=1,
            expected=30,
            overdue=tuple(
                intents.OverdueItem(section="x", what=f"R8年度 Q2: 長いKPIの名前{k}" * 3, days_late=99)
                for k in range(10)
            ),
            participation=line,
        )
        for n in range(80)
    )
    digest = intents.Digest(
        title_scope="市全体",
        fiscal_year=2026,
        as_of=date(2026, 10, 19),
        sections=sections,
        dashboard_url="https://dx.example.jp/dashboard/",
        participation=line,
    )
    messages = build(digest, locale)
    sender.push("U" + "5" * 32, messages)  # validated against LINE's spec and limits
    data = messages[0]
    assert len(data["contents"]["contents"]) == 12
    assert len(data["altText"]) <= 400
    assert ("回答" if locale == "ja" else "Answered") in data["altText"]


def sign_in(app, db, user: str):
    client = app.test_client()
    with Session(db) as s:
        link = issue_link(s, get_member(s, user), now=services(app).clock.now(), base="")
        s.commit()
    assert client.post(link.url).status_code == 302
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ja", ["回答率", "R8年度 Q2", "2/3課（67%）・2/5人（40%）", "2.1日", "S 1 · A 2 · B 0 · C 1"]),
        ("en", ["Participation", "FY2026 Q2", "2/3 sections (67%) · 2/5 people (40%)", "2.1 days"]),
    ],
)
def test_dashboard_overview_shows_participation(plan, db, app, lang, expected):
    two_rounds(db)
    _add(db, ADMIN, "管理者", "デジタル情報課", "admin")
    page = sign_in(app, db, ADMIN).get(f"/dashboard/?lang={lang}")
    assert page.status_code == 200
    text = _text(page.get_data(as_text=True))
    for words in expected:
        assert words in text, words
    assert "職員課" in text  # each section's row
