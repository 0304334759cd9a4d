"""Participation (issue 23.4): response rates, time to first figure and grade counts, checked by hand.

The fixture: three sections, five people, two KPI request rounds of FY2026 sent by the real job.

    round Q1, sent Wed 2026-07-01 09:00       round Q2, sent Thu 2026-10-01 09:00
    財政課   佐藤 07-02 09:00 (+24h), 鈴木 07-03  鈴木 10-01 15:00 (+6h; voided and corrected 10-02)
    職員課   高橋 07-04 21:00 (+84h), 田中 —      nobody
    国保医療課 伊藤 — (his 10-05 figure is Q2's)     伊藤 10-05 09:00 (+96h)

Read as of 2026-10-20 12:00 JST: the current round is Q2, the previous Q1.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from models.clock import FrozenClock
from models.db import session_factory
from models.members import add_member, move_member
from models.participation import participation
from models.purge import purge_member
from models.reports import correct_report, record_report
from models.sections import find_section
from models.tables import KpiRoundAsk, KpiTarget, Member, SectionPause
from scheduler import jobs
from scheduler.outbox import release_held
from tests.conftest import TOKYO

Q1_SENT = datetime(2026, 7, 1, 9, tzinfo=TOKYO)
Q2_SENT = datetime(2026, 10, 1, 9, tzinfo=TOKYO)
NOW = datetime(2026, 10, 20, 12, tzinfo=TOKYO)
SECTIONS = ("財政課", "職員課", "国保医療課")
PEOPLE = {  # LINE id → (name, section)
    "U" + "1" * 32: ("佐藤", "財政課"),
    "U" + "2" * 32: ("鈴木", "財政課"),
    "U" + "3" * 32: ("高橋", "職員課"),
    "U" + "4" * 32: ("田中", "職員課"),
    "U" + "5" * 32: ("伊藤", "国保医療課"),
}


def _member(s: Session, name: str) -> Member:
    return s.exec(select(Member).where(Member.display_name == name)).one()


def _target(s: Session, series: str) -> KpiTarget:
    return s.exec(select(KpiTarget).where(KpiTarget.series_id == series, KpiTarget.fiscal_year == 2026)).one()


def _report(s: Session, who: str, section: str, series: str, value: str, at: datetime):
    return record_report(
        s,
        target=_target(s, series),
        section=find_section(s, section),
        value=Decimal(value),
        now=at,
        reporter=_member(s, who),
    )


def _run(db, job, at: datetime) -> None:
    job(session_factory(db), FrozenClock(at, TOKYO))


def two_rounds(db) -> None:
    """The fixture of the module docstring, through the real KPI request job."""
    with Session(db) as s:
        for line_id, (name, section) in PEOPLE.items():
            add_member(
                s,
                line_user_id=line_id,
                name=name,
                sections=[find_section(s, section)],
                role="staff",
                now=datetime(2026, 4, 1, tzinfo=TOKYO),
            )
        s.commit()
    _run(db, jobs.kpi_request, Q1_SENT)
    with Session(db) as s:
        _report(s, "佐藤", "財政課", "1-5/a", "60", datetime(2026, 7, 2, 9, tzinfo=TOKYO))  # 120% → S
        _report(s, "鈴木", "財政課", "8-2/a", "85", datetime(2026, 7, 3, 9, tzinfo=TOKYO))
        _report(s, "高橋", "職員課", "3-1/a", "3", datetime(2026, 7, 4, 21, tzinfo=TOKYO))  # 100% → A
        s.commit()
    _run(db, jobs.kpi_request, Q2_SENT)
    with Session(db) as s:
        wrong = _report(s, "鈴木", "財政課", "8-2/a", "90", datetime(2026, 10, 1, 15, tzinfo=TOKYO))
        correct_report(
            s,
            wrong,
            value=Decimal(100),  # 100% → A
            by=_member(s, "鈴木"),
            now=datetime(2026, 10, 2, 10, tzinfo=TOKYO),
            reason="入力誤り",
            source_text="訂正 100%",
        )
        _report(s, "伊藤", "国保医療課", "1-2/a", "10", datetime(2026, 10, 5, 9, tzinfo=TOKYO))  # 50% → C
        s.commit()


def _figures(db, sections=SECTIONS):
    with Session(db) as s:
        chosen = [find_section(s, n) for n in sections] if sections else None
        whole, each = participation(s, NOW, chosen, fiscal_year=2026)
    return whole, {p.section: p for p in each}


def _rate(found):
    """(period, sections answered/asked, people answered/asked, section %, people %, median hours)."""
    if found is None:
        return None
    hours = None if found.median_to_first is None else found.median_to_first / timedelta(hours=1)
    return (
        found.period,
        (found.sections_answered, found.sections_asked),
        (found.people_answered, found.people_asked),
        found.section_rate,
        found.people_rate,
        hours,
    )


# Hand-computed, city-wide (the three sections):
#   Q2: sections 財政課 + 国保医療課 = 2 of 3 → 200/3 = 66.7 → 67%; people 鈴木 + 伊藤 = 2 of 5 → 40%;
#       first figures +6h (財政課) and +96h (国保医療課) → median (6 + 96) / 2 = 51h.
#   Q1: sections 財政課 + 職員課 = 2 of 3 → 67%; people 佐藤, 鈴木, 高橋 = 3 of 5 → 60%;
#       first figures +24h and +84h → median (24 + 84) / 2 = 54h.
CITY_Q2 = ("Q2", (2, 3), (2, 5), 67, 40, 51.0)
CITY_Q1 = ("Q1", (2, 3), (3, 5), 67, 60, 54.0)
# Per section (current Q2, previous Q1):
#   財政課: Q2 鈴木 of 佐藤+鈴木 = 1/2 → 50%, +6h; Q1 2/2 → 100%, +24h (佐藤's 07-02 09:00).
#   職員課: Q2 nobody 0/2 → 0%, no time; Q1 高橋 of 2 = 1/2 → 50%, +84h.
#   国保医療課: Q2 伊藤 1/1 → 100%, +96h; Q1 0/1 → 0% (his 10-05 figure is after Q2's request).
SECTION_RATES = {
    "財政課": (("Q2", (1, 1), (1, 2), 100, 50, 6.0), ("Q1", (1, 1), (2, 2), 100, 100, 24.0)),
    "職員課": (("Q2", (0, 1), (0, 2), 0, 0, None), ("Q1", (1, 1), (1, 2), 100, 50, 84.0)),
    "国保医療課": (("Q2", (1, 1), (1, 1), 100, 100, 96.0), ("Q1", (0, 1), (0, 1), 0, 0, None)),
}
# Grades as of NOW (latest valid figure per KPI; the scale S ≥ 110, A ≥ 100, B ≥ 80, C below):
#   財政課: 1-5/a 60/50 = 120% S, 8-2/a 100/100 = 100% A (the corrected figure), 8-3/a none −
#   職員課: 3-1/a 3/3 = 100% A, 3-1/b −, 6-1/a −
#   国保医療課: 1-2/a 10/20 = 50% C
#   together: S 1, A 2, B 0, C 1, − 3 (7 KPI × section)
SECTION_GRADES = {
    "財政課": {"S": 1, "A": 1, "B": 0, "C": 0, "−": 1},
    "職員課": {"S": 0, "A": 1, "B": 0, "C": 0, "−": 2},
    "国保医療課": {"S": 0, "A": 0, "B": 0, "C": 1, "−": 0},
}
CITY_GRADES = {"S": 1, "A": 2, "B": 0, "C": 1, "−": 3}


def assert_hand_computed(db) -> None:
    whole, each = _figures(db)
    assert (_rate(whole.current), _rate(whole.previous)) == (CITY_Q2, CITY_Q1)
    assert dict(whole.grades) == CITY_GRADES
    for name, (current, previous) in SECTION_RATES.items():
        assert (_rate(each[name].current), _rate(each[name].previous)) == (current, previous), name
        assert dict(each[name].grades) == SECTION_GRADES[name], name


def test_two_rounds_match_the_hand_computed_figures(plan, db):
    two_rounds(db)
    assert_hand_computed(db)


def test_city_wide_scope_counts_the_same_rounds(plan, db):
    two_rounds(db)
    whole, each = _figures(db, sections=None)
    assert (_rate(whole.current), _rate(whole.previous)) == (CITY_Q2, CITY_Q1)
    assert each["デジタル情報課"].current is None  # not asked (nobody registered there)


def test_purges_moves_resends_and_nudges_after_sending_change_nothing(plan, db):
    two_rounds(db)
    with Session(db) as s:
        purge_member(s, _member(s, "佐藤"), now=datetime(2026, 10, 10, tzinfo=TOKYO))
        move_member(
            s,
            line_user_id="U" + "4" * 32,  # 田中: 職員課 → 国保医療課, then reports there
            sections=[find_section(s, "国保医療課")],
            now=datetime(2026, 10, 10, tzinfo=TOKYO),
        )
        add_member(
            s,
            line_user_id="U" + "6" * 32,
            name="渡辺",
            sections=[find_section(s, "職員課")],
            role="staff",
            now=datetime(2026, 10, 10, tzinfo=TOKYO),
        )
        s.commit()
    with Session(db) as s:
        _report(s, "田中", "国保医療課", "1-2/a", "10", datetime(2026, 10, 12, 10, tzinfo=TOKYO))
        s.commit()
    asked_before = _asks(db)
    _run(db, jobs.kpi_request, datetime(2026, 10, 13, 9, tzinfo=TOKYO))  # the same quarter again
    _run(db, jobs.nudge, datetime(2026, 10, 19, 9, tzinfo=TOKYO))  # 職員課 is late: nudged
    assert _asks(db) == asked_before
    assert_hand_computed(db)


def _asks(db) -> list[tuple[int, int]]:
    with Session(db) as s:
        return sorted((a.round_id, a.member_id) for a in s.exec(select(KpiRoundAsk)).all())


def test_rounds_sent_before_asks_were_recorded_show_not_recorded(plan, db):
    two_rounds(db)
    with Session(db) as s:
        for ask in s.exec(select(KpiRoundAsk)).all():
            s.delete(ask)
        s.commit()
    whole, each = _figures(db)
    assert whole.current.recorded is False and whole.current.section_rate is None
    assert each["財政課"].previous.recorded is False


def test_a_request_queued_before_the_send_window_is_asked_when_it_goes_out(plan, db):
    sent = Q1_SENT
    with Session(db) as s:
        add_member(
            s,
            line_user_id="U" + "1" * 32,
            name="佐藤",
            sections=[find_section(s, "財政課")],
            role="staff",
            now=datetime(2026, 4, 1, tzinfo=TOKYO),
        )
        s.commit()
    _run(db, jobs.kpi_request, sent.replace(hour=6))  # queued 06:00, goes out at 08:30
    with Session(db) as s:
        (ask,) = s.exec(select(KpiRoundAsk)).all()
        assert ask.asked_at == sent.replace(hour=8, minute=30)


def _asked(db) -> list[tuple[str, datetime]]:
    with Session(db) as s:
        rows = s.exec(select(KpiRoundAsk).order_by(KpiRoundAsk.member_id)).all()
        return [(s.get(Member, r.member_id).display_name, r.asked_at.astimezone(TOKYO)) for r in rows]


def test_a_paused_section_is_asked_only_when_its_request_goes_out(db, plan):
    """財政課 is paused (人事異動) when Q1 is requested: its request is held, so nobody there was asked yet;
    resumed on 10 July, the request goes out and its people are asked from then (the rate's clock too)."""
    with Session(db) as s:
        for line_id, (name, section) in PEOPLE.items():
            add_member(s, line_user_id=line_id, name=name, sections=[find_section(s, section)], role="staff",
                       now=datetime(2026, 4, 1, tzinfo=TOKYO))  # fmt: skip
        s.add(
            SectionPause(
                section_id=find_section(s, "財政課").id, paused_at=datetime(2026, 6, 30, tzinfo=TOKYO)
            )
        )
        s.commit()
    _run(db, jobs.kpi_request, Q1_SENT)
    assert {name for name, _at in _asked(db)} == {"高橋", "田中", "伊藤"}
    resumed = datetime(2026, 7, 10, 10, tzinfo=TOKYO)
    with Session(db) as s:
        section = find_section(s, "財政課")
        s.delete(s.exec(select(SectionPause)).one())
        released, _superseded = release_held(s, section.id, resumed, tz=TOKYO)
        s.commit()
    assert released
    asked = dict(_asked(db))
    assert asked["佐藤"] == asked["鈴木"] == resumed and asked["高橋"] == Q1_SENT


def test_a_request_held_at_delivery_is_not_counted_as_asked(db, plan, sender):
    """Paused after the job queued the request but before it went out: the ask is withdrawn until it is sent."""
    with Session(db) as s:
        for line_id, (name, section) in PEOPLE.items():
            add_member(s, line_user_id=line_id, name=name, sections=[find_section(s, section)], role="staff",
                       now=datetime(2026, 4, 1, tzinfo=TOKYO))  # fmt: skip
        s.commit()
    _run(db, jobs.kpi_request, Q1_SENT - timedelta(hours=1))  # queued at 08:00 for the 08:30 window
    with Session(db) as s:
        s.add(
            SectionPause(section_id=find_section(s, "職員課").id, paused_at=Q1_SENT - timedelta(minutes=40))
        )
        s.commit()
    jobs.deliver(session_factory(db), FrozenClock(Q1_SENT, TOKYO), sender=sender)
    assert {name for name, _at in _asked(db)} == {"佐藤", "鈴木", "伊藤"}


def test_a_request_counts_as_asked_only_on_the_platform_it_went_to(plan, db):
    """A LINE member and a LINE WORKS member may share an id string: a LINE request asks only the LINE one."""
    from models.participation import record_asked
    from models.tables import KpiRequestRound, OutboxMessage

    shared = "U" + "5" * 32
    now = datetime(2026, 7, 1, 9, tzinfo=TOKYO)
    with Session(db) as s:
        section = find_section(s, "国保医療課")
        on_line, _ = add_member(
            s, line_user_id=shared, name="山田", sections=[section], role="staff", now=now
        )
        on_works, _ = add_member(
            s,
            line_user_id=shared,
            name="山田（WORKS）",
            sections=[section],
            role="staff",
            now=now,
            transport="lineworks",
        )
        request_round = KpiRequestRound(
            section_id=section.id, fiscal_year=2026, period="Q1", requested_at=now, due_at=now
        )
        s.add(request_round)
        s.flush()
        row = OutboxMessage(
            job="kpi-request",
            kind="kpi-request",
            recipients=[shared],
            messages=[],
            dedup_key="t",
            retry_key="r",
            not_before=now,
            transport="line",
        )
        assert record_asked(s, request_round, [on_line, on_works], [row]) == 1
        assert s.exec(select(KpiRoundAsk.member_id)).all() == [on_line.id]
        row.transport = "lineworks"  # the same request to the LINE WORKS member now
        assert record_asked(s, request_round, [on_line, on_works], [row]) == 1
        assert sorted(s.exec(select(KpiRoundAsk.member_id)).all()) == sorted([on_line.id, on_works.id])
