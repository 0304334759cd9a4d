"""The jobs: who gets what, dedup on re-run, pauses, snoozes, nudges and escalation, the plan's end."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.conversation.incoming import Incoming
from bot.conversation.respond import respond
from messages.senders import message_text
from models.clock import FrozenClock
from models.closures import parse_closure_days
from models.config import Config
from models.db import session_factory
from models.members import add_member
from models.reports import open_targets, record_report
from models.sections import ensure_section, find_section
from models.tables import JobRun, KpiRequestRound, Member, OutboxMessage, SectionPause
from scheduler import digest, jobs, round_jobs
from scheduler.calendar import add_business_days
from scheduler.clock import job_settings
from scheduler.planning import JobResult
from tests.messages.line_golden import build_line as build

TOKYO = ZoneInfo("Asia/Tokyo")
STAFF = "U" + "a1" * 16
MANAGER = "U" + "b2" * 16
ADMIN = "U" + "c3" * 16
OTHER = "U" + "d4" * 16  # an English-speaking staff member of 国保医療課


def at(text: str) -> FrozenClock:
    """A frozen clock at a JST wall time like '2026-07-01 09:00'."""
    return FrozenClock(datetime.fromisoformat(text).replace(tzinfo=TOKYO), TOKYO)


def add_people(engine, now: datetime | None = None) -> None:
    """Staff in 国保医療課 and 監査委員事務局, an English speaker and a manager in 国保医療課, an admin elsewhere."""
    now = now or datetime(2026, 3, 1, tzinfo=TOKYO)
    with Session(engine) as s:
        kokuho, kansa = find_section(s, "国保医療課"), find_section(s, "監査委員事務局")
        office, _ = ensure_section(s, "DX推進室（テスト）")
        add_member(s, line_user_id=STAFF, name="山田", sections=[kokuho, kansa], role="staff", now=now)
        add_member(s, line_user_id=OTHER, name="Smith", sections=[kokuho], role="staff", now=now, locale="en")
        add_member(s, line_user_id=MANAGER, name="佐藤", sections=[kokuho], role="manager", now=now)
        add_member(s, line_user_id=ADMIN, name="鈴木", sections=[office], role="admin", now=now)
        s.commit()


def rows(engine, **where) -> list[OutboxMessage]:
    """Outbox rows in order, optionally filtered by column values."""
    with Session(engine) as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list(s.exec(query).all())


def rounds(engine) -> list[KpiRequestRound]:
    with Session(engine) as s:
        return list(s.exec(select(KpiRequestRound).order_by(KpiRequestRound.id)).all())


def section_id(engine, name: str) -> int:
    with Session(engine) as s:
        return find_section(s, name).id


def text_of(row: OutboxMessage) -> str:
    """Everything readable in a row's messages (texts and Flex alt texts)."""
    return "\n".join(t for t in (message_text(m) for m in row.messages) if t)


def report_all(engine, section: str, fiscal_year: int, when: datetime) -> None:
    """Report a figure for every KPI of SECTION's FISCAL_YEAR at WHEN."""
    with Session(engine) as s:
        sec = find_section(s, section)
        reporter = s.exec(select(Member).where(Member.line_user_id == STAFF)).one()
        for open_target in open_targets(s, sec, fiscal_year):
            record_report(
                s, target=open_target.target, section=sec, value=Decimal("10"), now=when, reporter=reporter
            )
        s.commit()


def run(name: str, engine, moment: str, **kwargs) -> JobResult:
    return jobs.JOBS[name](session_factory(engine), at(moment), **kwargs)


@pytest.fixture
def people(db, plan):
    add_people(db)
    return db


# --- kickoff --------------------------------------------------------------------------------------


def test_kickoff_gives_each_staffed_section_its_year_in_each_language(people):
    db = people
    result = run("kickoff", db, "2026-04-01 09:00")
    kokuho, kansa = section_id(db, "国保医療課"), section_id(db, "監査委員事務局")
    keys = [r.dedup_key for r in rows(db)]
    assert keys == [f"kickoff:2026:{kokuho}", f"kickoff:2026:{kokuho}:en", f"kickoff:2026:{kansa}"]
    assert result.queued == 3
    ja, en, audit = rows(db)
    assert ja.recipients == [STAFF, MANAGER] and en.recipients == [OTHER] and audit.recipients == [STAFF]
    assert {r.kind for r in rows(db)} == {"kickoff"} and {r.status for r in rows(db)} == {"pending"}
    assert "令和8年度" in text_of(ja) and "国民健康保険関係の手続きのオンライン化" in text_of(ja)
    assert "オンライン申請率" in text_of(ja) and "目標 20%" in text_of(ja)
    assert "FY2026" in text_of(en) and "Target 20%" in text_of(en)
    assert "資料ペーパーレス化率" in text_of(audit)
    assert ja.not_before == datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO)
    assert ADMIN not in {p for r in rows(db) for p in r.recipients}  # the admin's own section has no plan


def test_rerunning_a_job_queues_nothing_new_and_records_each_run(people):
    db = people
    assert run("kickoff", db, "2026-04-01 09:00").queued == 3
    again = run("kickoff", db, "2026-04-01 09:00")
    later = run("kickoff", db, "2026-04-02 09:00")
    assert again.queued == later.queued == 0 and len(rows(db)) == 3
    with Session(db) as s:
        runs = s.exec(select(JobRun).where(JobRun.job == "kickoff").order_by(JobRun.id)).all()
    assert [r.queued for r in runs] == [3, 0, 0]
    assert runs[0].as_of == datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO)


def test_closed_days_do_nothing(people):
    db = people
    saturday = run("kickoff", db, "2026-04-04 09:00")
    new_year = run("kpi-request", db, "2027-01-02 09:00")
    holiday = run("nudge", db, "2026-07-20 10:00")  # 海の日
    assert saturday.queued == new_year.queued == holiday.queued == 0
    assert "not a business day" in saturday.notes[0]
    assert rows(db) == [] and rounds(db) == []


def test_the_city_s_own_closure_days_come_from_configuration(people, config):
    db = people
    closed = Config.from_env({"DXBOT_DATABASE_URL": config.database_url, "DXBOT_CLOSURE_DAYS": "07-01"})
    on_closure_day = run("kpi-request", db, "2026-07-01 09:00", **job_settings("kpi-request", closed))
    assert on_closure_day.queued == 0 and "not a business day" in on_closure_day.notes[0]
    assert rows(db) == [] and rounds(db) == []
    # The next day is open; the request is due 14 days later, moved past a closure day on the 16th.
    closed = replace(closed, closure_days=parse_closure_days("07-16"))
    next_day = run("kpi-request", db, "2026-07-02 09:00", **job_settings("kpi-request", closed))
    assert next_day.queued > 0
    assert {r.due_at.astimezone(TOKYO).date() for r in rounds(db)} == {date(2026, 7, 17)}


def test_dry_run_writes_nothing(people):
    db = people
    result = run("kickoff", db, "2026-04-01 09:00", dry_run=True)
    assert result.queued == 3 and result.dry_run and "dry run" in result.summary()
    assert rows(db) == []
    with Session(db) as s:
        assert s.exec(select(JobRun)).all() == []


# --- requests -------------------------------------------------------------------------------------


def test_quarterly_request_opens_a_round_per_section_due_in_14_days(people):
    db = people
    result = run("kpi-request", db, "2026-07-01 09:00")
    kokuho, kansa = section_id(db, "国保医療課"), section_id(db, "監査委員事務局")
    assert [r.dedup_key for r in rows(db)] == [
        f"kpi-request:2026:Q1:{kokuho}",
        f"kpi-request:2026:Q1:{kokuho}:en",
        f"kpi-request:2026:Q1:{kansa}",
    ]
    assert result.queued == 3
    made = rounds(db)
    assert [(r.section_id, r.fiscal_year, r.period) for r in made] == [
        (kokuho, 2026, "Q1"),
        (kansa, 2026, "Q1"),
    ]
    assert {r.due_at.astimezone(TOKYO).date() for r in made} == {date(2026, 7, 15)}
    assert {r.requested_at for r in made} == {datetime(2026, 7, 1, 9, 0, tzinfo=TOKYO)}
    text = text_of(rows(db)[2])
    assert "監査委員事務局" in text and "資料ペーパーレス化率" in text and "2026年7月15日" in text
    assert run("kpi-request", db, "2026-07-01 09:00").queued == 0 and len(rounds(db)) == 2


@pytest.mark.parametrize(
    ("moment", "period", "fiscal_year", "due"),
    [
        ("2026-10-01 09:00", "Q2", 2026, date(2026, 10, 15)),
        ("2027-01-04 09:00", "Q3", 2026, date(2027, 1, 18)),
    ],
)
def test_the_quarter_follows_the_month(people, moment, period, fiscal_year, due):
    run("kpi-request", people, moment)
    assert {(r.period, r.fiscal_year, r.due_at.astimezone(TOKYO).date()) for r in rounds(people)} == {
        (period, fiscal_year, due)
    }


def test_a_due_date_on_a_closed_day_moves_to_the_next_business_day():
    assert round_jobs.request_due(date(2026, 7, 3)) == date(2026, 7, 17)  # a Friday stays
    assert round_jobs.request_due(date(2026, 7, 4)) == date(
        2026, 7, 21
    )  # Sat 18th → Mon 20th 海の日 → Tue 21st


def test_no_quarterly_request_in_april_to_june(people):
    result = run("kpi-request", people, "2026-05-01 09:00")
    assert result.queued == 0 and "April–June" in result.notes[0]


def test_final_actuals_ask_for_the_closed_year_due_31_may(people):
    db = people
    result = run("final-actuals", db, "2026-04-10 09:00")
    kokuho = section_id(db, "国保医療課")
    assert result.queued == 3
    assert rows(db)[0].dedup_key == f"final-actuals:2025:{kokuho}" and rows(db)[0].kind == "final-actuals"
    assert {(r.fiscal_year, r.period, r.due_at.astimezone(TOKYO).date()) for r in rounds(db)} == {
        (2025, "final", date(2026, 5, 31))
    }
    assert "令和7年度" in text_of(rows(db)[0]) and "2026年5月31日" in text_of(rows(db)[0])
    assert run("final-actuals", db, "2026-06-01 09:00").notes[0].startswith("final actuals are asked for")


def test_a_paused_section_gets_nothing(people):
    db = people
    kokuho = section_id(db, "国保医療課")
    with Session(db) as s:
        s.add(SectionPause(section_id=kokuho, paused_at=datetime(2026, 6, 30, tzinfo=TOKYO)))
        s.commit()
    run("kpi-request", db, "2026-07-01 09:00")
    assert {r.status for r in rows(db, section_id=kokuho)} == {"held"}  # the outbox holds them
    assert {r.status for r in rows(db, section_id=section_id(db, "監査委員事務局"))} == {"pending"}
    nudged = run("nudge", db, "2026-07-16 10:00")
    assert [r.section_id for r in rows(db, kind="nudge")] == [section_id(db, "監査委員事務局")]
    assert any("paused" in n for n in nudged.notes)


# --- nudges ---------------------------------------------------------------------------------------


def test_nudges_every_three_business_days_three_times_then_managers_once(people):
    db = people
    run("kpi-request", db, "2026-07-01 09:00")
    report_all(db, "監査委員事務局", 2026, datetime(2026, 7, 10, 15, 0, tzinfo=TOKYO))  # answered in time
    kokuho = section_id(db, "国保医療課")
    day, sent = date(2026, 7, 15), []
    while day <= date(2026, 8, 31):
        result = run("nudge", db, f"{day.isoformat()} 10:00")
        if result.queued:
            sent.append(
                (day, sorted({r.kind for r in rows(db) if r.created_at.astimezone(TOKYO).date() == day}))
            )
        day += timedelta(days=1)
    first = date(2026, 7, 16)  # due 15 July; the 16th is the first business day after it
    assert [d for d, _ in sent] == [
        first,
        add_business_days(first, 3),
        add_business_days(first, 6),
        add_business_days(first, 9),
    ]
    assert [kinds for _, kinds in sent] == [["nudge"], ["nudge"], ["nudge"], ["escalation"]]
    nudges = rows(db, kind="nudge")
    assert {r.section_id for r in nudges} == {kokuho}  # the section that answered hears nothing
    assert [r.dedup_key for r in nudges if ":en" not in r.dedup_key] == [
        f"nudge:{r}:{n}" for r in [rounds(db)[0].id] for n in (1, 2, 3)
    ]
    assert ":en" in nudges[1].dedup_key and "It was due Wed, 15 Jul 2026, 1 day ago." in text_of(nudges[1])
    assert "オンライン申請率" in text_of(nudges[0])
    (escalation,) = rows(db, kind="escalation")
    assert escalation.recipients == [MANAGER] and escalation.section_id == kokuho
    final = rounds(db)[0]
    assert final.nudges == 3 and final.escalated_at is not None and final.answered_at is None
    assert rounds(db)[1].answered_at == datetime(2026, 7, 10, 15, 0, tzinfo=TOKYO)


def test_answering_late_stops_the_nudges(people):
    db = people
    run("kpi-request", db, "2026-07-01 09:00")
    assert run("nudge", db, "2026-07-16 10:00").queued == 3
    report_all(db, "国保医療課", 2026, datetime(2026, 7, 17, 11, 0, tzinfo=TOKYO))
    report_all(db, "監査委員事務局", 2026, datetime(2026, 7, 17, 11, 0, tzinfo=TOKYO))
    assert run("nudge", db, "2026-07-22 10:00").queued == 0
    assert all(r.answered_at is not None for r in rounds(db))


def test_a_report_from_before_the_request_does_not_answer_it(people):
    db = people
    report_all(db, "監査委員事務局", 2026, datetime(2026, 6, 20, 10, 0, tzinfo=TOKYO))
    run("kpi-request", db, "2026-07-01 09:00")
    run("nudge", db, "2026-07-16 10:00")
    assert section_id(db, "監査委員事務局") in {r.section_id for r in rows(db, kind="nudge")}


def say(engine, user: str, text: str, clock: FrozenClock) -> str:
    """Send TEXT as USER through the real conversation; return what the bot answered."""
    with Session(engine, expire_on_commit=False) as s:
        response = respond(
            s,
            Incoming(kind="text", user_id=user, at=clock.now(), text=text, message_id="m1"),
            clock=clock,
            config=Config(database_url=str(engine.url)),
        )
        s.commit()
    messages = [m for i in response.intents for m in build(i, response.locale)]
    return "\n".join(m.get("text", "") for m in messages)


def test_snooze_holds_back_nudges_for_the_members_sections(people):
    db = people
    run("kpi-request", db, "2026-07-01 09:00")
    answer = say(db, STAFF, "スヌーズ　３日", at("2026-07-15 17:00"))
    assert "リマインダーを一時停止しました" in answer
    assert "国保医療課（R8年度 Q1）：2026年7月18日(土)まで" in answer and "監査委員事務局" in answer
    assert {r.snoozed_until for r in rounds(db)} == {datetime(2026, 7, 18, 17, 0, tzinfo=TOKYO)}
    assert run("nudge", db, "2026-07-16 10:00").queued == 0
    assert run("nudge", db, "2026-07-17 10:00").queued == 0
    assert run("nudge", db, "2026-07-21 10:00").queued == 3  # snooze over (20th is 海の日)
    other = say(db, OTHER, "snooze 5 days", at("2026-07-21 12:00"))
    assert "Reminders paused" in other and "国保医療課 (FY2026 Q1): until Sun, 26 Jul 2026" in other


def test_snooze_without_open_requests_says_so(people):
    assert "一時停止するリマインダーはありません" in say(people, STAFF, "スヌーズ", at("2026-06-01 10:00"))


def test_snooze_is_capped_at_two_weeks(people):
    run("kpi-request", people, "2026-07-01 09:00")
    answer = say(people, STAFF, "スヌーズ 30日", at("2026-07-01 12:00"))
    assert "最長14日" in answer
    assert {r.snoozed_until for r in rounds(people)} == {datetime(2026, 7, 15, 12, 0, tzinfo=TOKYO)}


# --- the plan's end -------------------------------------------------------------------------------


def test_after_the_plan_only_the_admins_hear_once(people):
    db = people
    result = run("kickoff", db, "2027-04-01 09:00")
    (notice,) = rows(db)
    assert notice.kind == "notice" and notice.recipients == [ADMIN] and notice.dedup_key == "plan-ended:2027"
    assert "DX推進計画の期間が終了しました" in text_of(notice) and "令和9年度" in text_of(notice)
    assert "dxbot plan import" in text_of(notice)
    assert result.queued == 1 and "not covered" in result.notes[0]
    assert run("kpi-request", db, "2027-07-01 09:00").queued == 0
    assert run("kpi-request", db, "2027-10-01 09:00").queued == 0
    assert run("final-actuals", db, "2028-04-10 09:00").queued == 0
    assert len(rows(db)) == 1 and rounds(db) == []


def test_final_actuals_for_the_last_plan_year_still_go_out(people):
    run("final-actuals", people, "2027-04-12 09:00")
    assert {(r.fiscal_year, r.period) for r in rounds(people)} == {(2026, "final")}
    assert {r.kind for r in rows(people)} == {"final-actuals"}


# --- digest ---------------------------------------------------------------------------------------


def test_weekly_digest_for_managers_and_admins(people):
    db = people
    run("kpi-request", db, "2026-07-01 09:00")
    report_all(db, "監査委員事務局", 2026, datetime(2026, 7, 10, 15, 0, tzinfo=TOKYO))
    result = run("weekly-digest", db, "2026-07-27 08:30")
    with Session(db) as s:
        manager = s.exec(select(Member).where(Member.line_user_id == MANAGER)).one()
        admin = s.exec(select(Member).where(Member.line_user_id == ADMIN)).one()
    assert [r.dedup_key for r in rows(db, kind="digest")] == [
        f"weekly-digest:2026-W31:{manager.id}",
        f"weekly-digest:2026-W31:{admin.id}",
    ]
    assert result.queued == 2
    mine, city = rows(db, kind="digest")
    assert mine.recipients == [MANAGER] and city.recipients == [ADMIN]
    assert "国保医療課" in text_of(mine) and "0/1" in text_of(mine) and "12日遅れ" in text_of(mine)
    assert "市全体" in text_of(city) and "2/3" in text_of(city)
    assert run("weekly-digest", db, "2026-07-27 08:30").queued == 0


def test_a_quiet_week_gets_a_positive_digest_and_a_holiday_monday_waits(people):
    db = people
    with Session(db) as s:  # every KPI reported, on target: silence would not be 順調
        sec = find_section(s, "国保医療課")
        for open_target in open_targets(s, sec, 2026):
            record_report(
                s,
                target=open_target.target,
                section=sec,
                value=Decimal("25"),
                now=datetime(2026, 9, 1, 9, tzinfo=TOKYO),
            )
        s.commit()
    run("weekly-digest", db, "2026-09-21 08:30")  # 敬老の日
    mine = rows(db)[0]
    assert "すべて順調です" in text_of(mine) and "遅れはありません" in text_of(mine)
    assert mine.not_before == datetime(2026, 9, 24, 8, 30, tzinfo=TOKYO)  # 22nd 国民の休日, 23rd 秋分の日


def test_a_digest_held_for_a_holiday_says_why(people):
    result = run("weekly-digest", people, "2026-09-21 08:30")
    assert result.queued == 2
    why = "2026-09-21 is Respect for the Aged Day; sent from 2026-09-24 08:30 JST, the next business day"
    assert why in result.summary()
    with Session(people) as s:
        assert why in s.exec(select(JobRun).where(JobRun.job == "weekly-digest")).one().note
    assert run("weekly-digest", people, "2026-11-30 08:30").summary().endswith("queued 2")  # an open Monday


def test_digest_sections_is_the_seam_for_at_risk_kpis(people):
    db = people
    run("kpi-request", db, "2026-07-01 09:00")
    with Session(db) as s:
        pages = digest.digest_sections(
            s, [find_section(s, "国保医療課")], datetime(2026, 7, 20, 9, 0, tzinfo=TOKYO), tz=TOKYO
        )
    (page,) = pages
    assert (page.section, page.reported, page.expected, page.at_risk) == ("国保医療課", 0, 1, ())
    assert [(o.what, o.days_late) for o in page.overdue] == [("R8年度 Q1: オンライン申請率", 5)]


def test_a_digest_is_one_push_per_person_in_their_language(people):
    db = people
    with Session(db) as s:
        manager = s.exec(select(Member).where(Member.line_user_id == MANAGER)).one()
        manager.locale = "en"
        s.add(manager)
        s.commit()
        manager_id = manager.id
    run("weekly-digest", db, "2026-11-30 08:30")
    (mine,) = [r for r in rows(db, kind="digest") if r.recipients == [MANAGER]]
    assert mine.dedup_key == f"weekly-digest:2026-W49:{manager_id}"
    assert "Weekly digest 国保医療課" in text_of(mine)


def test_the_digest_opens_the_dashboard_when_the_app_has_a_public_address(people, config):
    settings = job_settings("weekly-digest", replace(config, base_url="https://dx.example.jp/"))
    run("weekly-digest", people, "2026-07-27 08:30", **settings)
    for row in rows(people, kind="digest"):
        assert '"uri": "https://dx.example.jp/dashboard/"' in json.dumps(row.messages, ensure_ascii=False)


def test_without_a_public_address_the_digest_has_no_dashboard_button(people, config):
    run(
        "weekly-digest",
        people,
        "2026-07-27 08:30",
        **job_settings("weekly-digest", replace(config, base_url=None)),
    )
    assert all('"uri"' not in json.dumps(r.messages) for r in rows(people, kind="digest"))
