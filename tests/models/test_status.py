"""Status rules on the real plan: grades, achievement kinds, projection, at risk, overdue, 未確認, 延期."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from models import follow_up_status, grades, kpi_status
from models.actions import set_status
from models.config import Config, ConfigError
from models.reports import record_report
from models.sections import find_section
from models.tables import ActionItem, KpiRequestRound, KpiTarget

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)


def jst(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TOKYO)


def target(s: Session, series: str, fy: int = 2026) -> KpiTarget:
    return s.exec(select(KpiTarget).where(KpiTarget.series_id == series, KpiTarget.fiscal_year == fy)).one()


def report(s: Session, series: str, section: str, value: str, when: datetime, fy: int = 2026) -> None:
    record_report(
        s, target=target(s, series, fy), section=find_section(s, section), value=Decimal(value), now=when
    )


def state(s: Session, series: str, section: str, now: datetime = NOW) -> kpi_status.KpiState:
    states = kpi_status.kpi_states(s, now, fiscal_year=2026)
    (found,) = [x for x in states if x.target.series_id == series and x.section == section]
    return found


@pytest.mark.parametrize(
    ("rate", "grade"),
    [
        ("79.9", "C"),
        ("80", "B"),
        ("99.9", "B"),
        ("100", "A"),
        ("109.9", "A"),
        ("110", "S"),
        ("-5", "C"),
        (None, "−"),
    ],
)
def test_default_grade_scale(rate, grade):
    assert grades.grade_of(Decimal(rate) if rate is not None else None) == grade


def test_grade_scale_is_configurable():
    scale = Config.from_env(
        {"DXBOT_DATABASE_URL": "sqlite://", "DXBOT_GRADE_SCALE": "A:100, B:60, C:0"}
    ).grade_scale
    assert [grades.grade_of(Decimal(r), scale) for r in ("120", "60", "59.9")] == ["A", "B", "C"]
    with pytest.raises(ConfigError, match="DXBOT_GRADE_SCALE"):  # a process refuses to start, naming it
        Config.from_env({"DXBOT_DATABASE_URL": "sqlite://", "DXBOT_GRADE_SCALE": "S=110"})


# (series, reporting section, value, reported at, rate, grade, projected, at risk)
CASES = [
    # 参加人数 420人/年 (a per-year count): final actuals (after the year) are taken as they are …
    ("7-1/a", "高齢者支援課", "335.58", jst(2027, 4, 20, 12), "79.9", "C", "335.58", True),
    ("7-1/a", "高齢者支援課", "336", jst(2027, 4, 20, 12), "80.0", "B", "336", True),
    ("7-1/a", "高齢者支援課", "420", jst(2027, 4, 20, 12), "100.0", "A", "420", False),
    ("7-1/a", "高齢者支援課", "462", jst(2027, 4, 20, 12), "110.0", "S", "462", False),
    # … and a figure during the year is pro-rated by the report's date (30 Sep: half the year gone)
    ("7-1/a", "高齢者支援課", "200", jst(2026, 9, 30, 12), "47.6", "C", "400.0", True),
    ("7-1/a", "高齢者支援課", "250", jst(2026, 9, 30, 12), "59.5", "C", "500.0", False),
    # 窓口申請率 80% is lower-is-better: 82% is short of it, 76% beats it; a rate is not pro-rated
    ("2-1/a", "安心まちづくり室", "82", jst(2026, 7, 10, 12), "97.6", "B", "82", True),
    ("2-1/a", "安心まちづくり室", "80", jst(2026, 7, 10, 12), "100.0", "A", "80", False),
    ("2-1/a", "安心まちづくり室", "72", jst(2026, 7, 10, 12), "111.1", "S", "72", False),
    # LINE登録者数 5%増: the value is the increase reported
    ("12-3/a", "秘書広報課", "5.5", jst(2026, 10, 5, 12), "110.0", "S", "5.5", False),
    ("12-3/a", "秘書広報課", "4", jst(2026, 10, 5, 12), "80.0", "B", "4", True),
    # コピー用紙使用削減量 7,000枚 (reduction, period null): the reduction achieved, not pro-rated
    ("8-3/a", "財政課", "7200", jst(2026, 10, 5, 12), "102.9", "A", "7200", False),
    ("8-3/a", "財政課", "3500", jst(2026, 10, 5, 12), "50.0", "C", "3500", True),
]


@pytest.mark.parametrize(("series", "section", "value", "when", "rate", "grade", "projected", "risk"), CASES)
def test_grades_and_projection_on_the_real_plan(
    session, plan, series, section, value, when, rate, grade, projected, risk
):
    report(session, series, section, value, when)
    now = max(NOW, when)
    found = state(session, series, section, now)
    assert (found.value, found.rate, found.grade) == (Decimal(value), Decimal(rate), grade)
    assert found.projected == Decimal(projected) and found.at_risk is risk
    assert found.reason == ("below-target" if risk else None)


def test_only_per_year_counts_are_pro_rated(session, plan):
    assert grades.is_prorated(target(session, "7-1/a"))
    assert not grades.is_prorated(target(session, "2-1/a"))  # a rate
    assert not grades.is_prorated(target(session, "8-3/a"))  # a reduction without period
    assert not grades.is_prorated(target(session, "12-3/a"))  # 5%増


def test_no_report_is_at_risk_only_from_the_second_request(session, plan):
    zaisei = find_section(session, "財政課")
    assert state(session, "8-3/a", "財政課").grade == "−" and not state(session, "8-3/a", "財政課").at_risk
    for period, month in (("Q1", 7), ("Q2", 10)):
        session.add(
            KpiRequestRound(
                section_id=zaisei.id,
                fiscal_year=2026,
                period=period,
                requested_at=jst(2026, month, 1, 9),
                due_at=jst(2026, month, 15, 23, 59),
            )
        )
        session.flush()
    assert not state(session, "8-3/a", "財政課", jst(2026, 8, 1, 9)).at_risk
    found = state(session, "8-3/a", "財政課")
    assert (found.at_risk, found.reason, found.grade) == (True, "no-report", "−")


def test_the_latest_figure_is_the_newest_valid_one_made_by_now(session, plan):
    """Two figures in the same second: the one recorded last counts; voided and future ones never do."""
    report(session, "8-3/a", "財政課", "10", jst(2026, 10, 1, 9))
    report(session, "8-3/a", "財政課", "20", jst(2026, 11, 1, 9))  # the same second:
    report(session, "8-3/a", "財政課", "30", jst(2026, 11, 1, 9))  # recorded last, so it counts
    assert state(session, "8-3/a", "財政課").value == Decimal("30")
    latest = state(session, "8-3/a", "財政課").latest
    latest.voided_at = jst(2026, 11, 2, 9)
    session.add(latest)
    session.flush()
    assert state(session, "8-3/a", "財政課").value == Decimal("20")
    report(session, "8-3/a", "財政課", "40", jst(2026, 12, 1, 9))  # after now
    assert state(session, "8-3/a", "財政課").value == Decimal("20")
    assert state(session, "8-3/a", "財政課", jst(2026, 12, 2)).value == Decimal("40")


def test_a_shared_kpi_is_graded_per_section_and_the_initiative_figure_is_the_leads(session, plan):
    report(session, "7-1/a", "人権啓発推進課 三山木福祉会館", "470", jst(2026, 11, 1, 12))
    report(session, "7-1/a", "高齢者支援課", "100", jst(2026, 11, 1, 12))
    states = [s for s in kpi_status.kpi_states(session, NOW) if s.target.series_id == "7-1/a"]
    assert {s.section: s.grade for s in states} == {
        "人権啓発推進課 三山木福祉会館": "S",
        "高齢者支援課": "C",
        "産業振興課 消費生活センター": "−",
        "社会教育課 中央公民館": "−",
    }
    (lead,) = [s for s in kpi_status.initiative_figures(states)]
    assert (lead.section, lead.grade) == ("人権啓発推進課 三山木福祉会館", "S")


def items(s: Session, initiative: str, fy: int) -> list[ActionItem]:
    return list(
        s.exec(
            select(ActionItem)
            .where(ActionItem.initiative_id == initiative, ActionItem.fiscal_year == fy)
            .order_by(ActionItem.position)
        ).all()
    )


def test_action_items_overdue_after_their_year_unconfirmed_before_go_live(session, plan):
    zaisei = find_section(session, "財政課")  # leads 8-3
    # The plan fixture imported the plan on 2026-11-24: FY2023–FY2025 are before go-live → 未確認.
    follow = follow_up_status.follow_ups(session, NOW, [zaisei], tz=TOKYO)
    assert follow.overdue == [] and {e.fiscal_year for e in follow.unconfirmed} == {2023, 2024, 2025}
    assert follow_up_status.live_since(session, None, TOKYO) == date(2026, 11, 24)
    # Live since 2025-01-01: FY2024 ended after it → overdue since 31 March 2025; FY2023 stays 未確認.
    live = Config.from_env({"DXBOT_DATABASE_URL": "sqlite://", "DXBOT_LIVE_SINCE": "2025-01-01"}).live_since
    follow = follow_up_status.follow_ups(session, NOW, [zaisei], live=live, tz=TOKYO)
    assert {e.fiscal_year for e in follow.unconfirmed} == {2023}
    late = [e for e in follow.overdue if e.initiative_id == "8-3"]
    assert {e.fiscal_year for e in late} == {2024, 2025}
    first = [e for e in late if e.fiscal_year == 2024][0]
    assert (first.kind, first.section, first.due, first.days_overdue) == (
        "action",
        "財政課",
        date(2025, 3, 31),
        (date(2026, 11, 24) - date(2025, 3, 31)).days,
    )


def test_filled_in_done_late_and_postponed_items(session, plan):
    zaisei = find_section(session, "財政課")
    done, progress = items(session, "8-3", 2025)[:2]
    postponed = items(session, "8-3", 2024)[0]
    set_status(session, done, "完了", now=jst(2026, 12, 1))
    set_status(session, progress, "進行中", now=jst(2026, 10, 1))  # filled in: no longer 未確認
    set_status(session, postponed, "延期", now=jst(2026, 10, 1))
    (this_year,) = items(session, "8-3", 2026)[:1]
    set_status(session, this_year, "遅延", now=jst(2026, 11, 4, 15))
    follow = follow_up_status.follow_ups(session, NOW, [zaisei], tz=TOKYO)
    overdue = {e.item_id: (e.fiscal_year, e.due, e.days_overdue) for e in follow.overdue}
    assert overdue[progress.id] == (2025, date(2026, 3, 31), 238)
    assert overdue[this_year.id] == (2026, date(2026, 11, 4), 20)
    assert done.id not in overdue
    assert [(e.item_id, e.due, e.days_overdue) for e in follow.postponed] == [(postponed.id, None, None)]
    assert postponed.id not in overdue


def test_kpi_request_past_due_is_overdue_and_final_actuals_wait_until_31_may(session, plan):
    zaisei = find_section(session, "財政課")
    session.add(
        KpiRequestRound(
            section_id=zaisei.id,
            fiscal_year=2026,
            period="Q2",
            requested_at=jst(2026, 10, 1, 9),
            due_at=jst(2026, 10, 15, 23, 59, 59),
        )
    )
    session.add(
        KpiRequestRound(
            section_id=zaisei.id,
            fiscal_year=2025,
            period="final",
            requested_at=jst(2026, 4, 10, 9),
            due_at=jst(2026, 5, 20, 23, 59, 59),
        )
    )
    session.flush()
    kpis = [e for e in follow_up_status.overdue(session, NOW, [zaisei], tz=TOKYO) if e.kind == "kpi"]
    q2 = [(e.item, e.due, e.days_overdue) for e in kpis if e.period == "Q2"]
    assert ("コピー用紙使用削減量", date(2026, 10, 15), 40) in q2 and len(q2) == 3  # one per KPI of 財政課
    final = {(e.fiscal_year, e.due, e.days_overdue) for e in kpis if e.period == "final"}
    assert final == {(2025, date(2026, 5, 31), 177)}  # FY2025's final actuals, never answered
    may = [
        e
        for e in follow_up_status.overdue(session, jst(2026, 5, 25, 9), [zaisei], tz=TOKYO)
        if e.kind == "kpi"
    ]
    assert may == []  # due 20 May, but final actuals are late only after 31 May
    june = [
        e
        for e in follow_up_status.overdue(session, jst(2026, 6, 2, 9), [zaisei], tz=TOKYO)
        if e.kind == "kpi"
    ]
    assert {(e.fiscal_year, e.period, e.due, e.days_overdue) for e in june} == {
        (2025, "final", date(2026, 5, 31), 2)
    }
    for entry in [e for e in kpis if e.period == "Q2"]:
        (found,) = session.exec(
            select(KpiTarget).where(
                KpiTarget.name == entry.item,
                KpiTarget.initiative_id == entry.initiative_id,
                KpiTarget.fiscal_year == 2026,
            )
        ).all()
        report(session, found.series_id, "財政課", "1", jst(2026, 11, 20, 9))
    assert {
        e.period for e in follow_up_status.overdue(session, NOW, [zaisei], tz=TOKYO) if e.kind == "kpi"
    } == {"final"}
