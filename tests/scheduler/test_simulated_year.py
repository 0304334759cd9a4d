"""A simulated fiscal year, 2026-03-31 to 2027-06-01: the real plan, the real schedule, every message checked.

The walk asks schedule.py's own triggers (CronTrigger.get_next_fire_time) when each job fires on each
day, runs those jobs at those moments, and delivers through the recording sender whenever something is
due (what the every-minute `deliver` job would do), so what each section receives, and when, is what a
clock running all year would have sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from messages.senders import RecordingSender
from models.db import session_factory
from models.tables import JobRun, KpiRequestRound, OutboxMessage, Section
from scheduler import jobs
from scheduler.calendar import is_business_day
from scheduler.schedule import JOB_NAMES, fire_times, load_schedule
from tests.scheduler.test_jobs import ADMIN, MANAGER, OTHER, STAFF, add_people, report_all

TOKYO = ZoneInfo("Asia/Tokyo")
START, END = date(2026, 3, 31), date(2027, 6, 1)
NOON = time(12, 0)

# Figures people send during the year (at noon): who answers, who stays late.
ANSWERS = {
    date(2026, 4, 20): [("監査委員事務局", 2025)],  # FY2025 final actuals; 国保医療課 never answers them
    date(2026, 7, 8): [("国保医療課", 2026)],  # Q1: 監査委員事務局 stays late
    date(2026, 10, 5): [("国保医療課", 2026), ("監査委員事務局", 2026)],  # Q2: both on time
    date(2027, 1, 8): [("国保医療課", 2026)],  # Q3: 監査委員事務局 stays late
}


class MovingClock:
    """The simulation's clock: jobs, delivery and the sender all read the same moment."""

    tz = TOKYO

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def at(day: date, clock: time = NOON) -> datetime:
    return datetime.combine(day, clock, tzinfo=TOKYO)


@dataclass(frozen=True)
class Year:
    """What the walk left behind, as plain data (the database is emptied before the next test)."""

    sent: list  # the recording sender's requests
    rows: list[dict]  # outbox rows, in delivery order
    runs: list[tuple[datetime, str]]  # (moment, job) whenever the schedule fired a deciding job
    recorded_runs: int  # JobRun rows other than deliver's
    rounds: set[tuple[int, str]]  # (fiscal year, period) of every request round

    def timeline(self, section: str) -> list[tuple[date, str]]:
        """What a section received: (day, kind), once per day and kind (ja and en copies count once)."""
        return sorted({(r["day"], r["kind"]) for r in self.rows if r["section"] == section})

    def of_kind(self, kind: str) -> list[dict]:
        return [r for r in self.rows if r["kind"] == kind]


_walked: dict[str, Year] = {}
# The year is walked once per process: under pytest-xdist its tests stay on one worker, or each walks it.
pytestmark = pytest.mark.xdist_group("simulated-year")


@pytest.fixture
def year(request, database_url) -> Year:
    """Walk the year once per test run (it takes a few seconds) and share what it left behind."""
    if database_url not in _walked:
        db = request.getfixturevalue("db")
        request.getfixturevalue("plan")
        _walked[database_url] = walk(db)
    return _walked[database_url]


def walk(db) -> Year:
    """Run every job when the schedule fires it and deliver whatever is due, START to END inclusive."""
    add_people(db, datetime(2026, 3, 1, tzinfo=TOKYO))
    factory = session_factory(db)
    clock = MovingClock(at(START, time(0, 0)))
    sender = RecordingSender(clock=clock)
    schedule = load_schedule({})  # the defaults, whatever the environment says
    triggers = {name: schedule[name].trigger(TOKYO) for name in JOB_NAMES if name != "deliver"}
    deliver_trigger = schedule["deliver"].trigger(TOKYO)
    runs: list[tuple[datetime, str]] = []
    day = START
    while day <= END:
        start, stop = at(day, time(0, 0)), at(day + timedelta(days=1), time(0, 0))
        fired = sorted(
            (moment, JOB_NAMES.index(name), name)
            for name, trigger in triggers.items()
            for moment in fire_times(trigger, start, stop)
        )
        with Session(db) as s:
            due_today = s.exec(
                select(OutboxMessage.not_before).where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.not_before >= start,
                    OutboxMessage.not_before < stop,
                )
            ).all()
        moments = sorted({m for m, _, _ in fired} | {m.astimezone(TOKYO) for m in due_today})
        for moment in moments:
            clock.moment = moment
            for _, _, name in (f for f in fired if f[0] == moment):
                jobs.JOBS[name](factory, clock)
                runs.append((moment, name))
            assert deliver_trigger.get_next_fire_time(None, moment) == moment  # deliver fires every minute
            jobs.deliver(factory, clock, sender=sender)
        for section, fiscal_year in ANSWERS.get(day, []):
            report_all(db, section, fiscal_year, at(day))
        day += timedelta(days=1)

    with Session(db) as s:
        names = {sec.id: sec.name for sec in s.exec(select(Section)).all()}
        rows = [
            {
                "kind": r.kind,
                "section": names.get(r.section_id),
                "recipients": list(r.recipients),
                "dedup_key": r.dedup_key,
                "status": r.status,
                "sent_at": r.sent_at.astimezone(TOKYO) if r.sent_at else None,
                "day": r.sent_at.astimezone(TOKYO).date() if r.sent_at else None,
            }
            for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.sent_at, OutboxMessage.id)).all()
        ]
        recorded = len(s.exec(select(JobRun).where(JobRun.job != "deliver")).all())
        rounds = {(r.fiscal_year, r.period) for r in s.exec(select(KpiRequestRound)).all()}
    return Year(sent=list(sender.sent), rows=rows, runs=runs, recorded_runs=recorded, rounds=rounds)


def test_each_section_gets_exactly_its_messages_on_the_right_days(year):
    assert year.timeline("国保医療課") == [
        (date(2026, 4, 1), "kickoff"),
        (date(2026, 4, 10), "final-actuals"),  # FY2025, due 31 May (a Sunday)
        (date(2026, 6, 1), "nudge"),
        (date(2026, 6, 4), "nudge"),
        (date(2026, 6, 9), "nudge"),
        (date(2026, 6, 12), "escalation"),
        (date(2026, 7, 1), "kpi-request"),
        (date(2026, 10, 1), "kpi-request"),
        (date(2027, 1, 4), "kpi-request"),  # 1–3 January are closure days
        (date(2027, 4, 12), "final-actuals"),  # FY2026: 10–11 April 2027 is a weekend
        (date(2027, 6, 1), "nudge"),
    ]
    assert year.timeline("監査委員事務局") == [
        (date(2026, 4, 1), "kickoff"),
        (date(2026, 4, 10), "final-actuals"),
        (date(2026, 7, 1), "kpi-request"),
        (date(2026, 7, 16), "nudge"),  # due 15 July
        (date(2026, 7, 22), "nudge"),  # 20 July is 海の日
        (date(2026, 7, 27), "nudge"),
        (date(2026, 7, 30), "escalation"),
        (date(2026, 10, 1), "kpi-request"),
        (date(2027, 1, 4), "kpi-request"),
        (date(2027, 1, 19), "nudge"),  # due 18 January
        (date(2027, 1, 22), "nudge"),
        (date(2027, 1, 27), "nudge"),
        (date(2027, 2, 1), "escalation"),
        (date(2027, 4, 12), "final-actuals"),
        (date(2027, 6, 1), "nudge"),
    ]
    assert {r["section"] for r in year.rows} == {"国保医療課", "監査委員事務局", None}
    assert {r["status"] for r in year.rows} == {"sent"}
    assert len(year.sent) == len(year.rows)


def test_who_receives_what(year):
    by_person: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for row in year.rows:
        for person in row["recipients"]:
            by_person[person].append((row["day"], row["kind"]))
    staff = [kind for _, kind in by_person[STAFF]]  # in both sections
    assert (
        staff.count("kickoff") == 2 and staff.count("final-actuals") == 4 and staff.count("kpi-request") == 6
    )
    assert staff.count("nudge") == 4 + 7 and "escalation" not in staff and "digest" not in staff
    english = [kind for _, kind in by_person[OTHER]]  # 国保医療課 only, in English
    assert english.count("kickoff") == 1 and english.count("nudge") == 4 and "digest" not in english
    assert [d for d, k in by_person[MANAGER] if k == "escalation"] == [date(2026, 6, 12)]
    assert [(d, k) for d, k in by_person[ADMIN] if k != "digest"] == [
        (date(2026, 7, 30), "escalation"),  # 監査委員事務局 has no manager: the admins hear
        (date(2027, 2, 1), "escalation"),
        (date(2027, 4, 1), "notice"),  # the plan has ended: import the next one
    ]
    english_rows = [r for r in year.rows if OTHER in r["recipients"]]
    assert all(r["dedup_key"].endswith(":en") and r["recipients"] == [OTHER] for r in english_rows)


def test_nothing_goes_out_on_closed_days_or_outside_the_window(year):
    assert len(year.sent) > 100
    for request in year.sent:
        local = request.at.astimezone(TOKYO)
        assert is_business_day(local.date()), request
        assert time(8, 30) <= local.time() < time(19, 0), request


def test_kickoff_once_and_nothing_for_fy2027_but_the_notice(year):
    kickoffs = year.of_kind("kickoff")
    assert {r["day"] for r in kickoffs} == {date(2026, 4, 1)}
    assert {r["dedup_key"].split(":")[1] for r in kickoffs} == {"2026"}
    assert year.rounds == {(2025, "final"), (2026, "Q1"), (2026, "Q2"), (2026, "Q3"), (2026, "final")}
    (notice,) = year.of_kind("notice")
    assert notice["dedup_key"] == "plan-ended:2027" and notice["recipients"] == [ADMIN]
    assert notice["day"] == date(2027, 4, 1)
    # The cron fires on every candidate day and the jobs decide: kickoff ran 1–7 April in both years.
    assert [m.date() for m, name in year.runs if name == "kickoff"] == [
        date(y, 4, d) for y in (2026, 2027) for d in range(1, 8)
    ]


def test_weekly_digests_every_monday_holiday_mondays_wait_for_the_next_business_morning(year):
    digests = [r for r in year.of_kind("digest") if r["recipients"] == [MANAGER]]
    days = [START + timedelta(days=n) for n in range((END - START).days + 1)]
    mondays = [d for d in days if d.weekday() == 0]
    assert len(digests) == len(mondays) == 61
    for row, monday in zip(digests, mondays, strict=True):
        day = monday
        while not is_business_day(day):
            day += timedelta(days=1)
        assert row["sent_at"] == at(day, time(8, 30)), row["dedup_key"]
    sent_on = {r["dedup_key"].split(":")[1]: r["day"] for r in digests}
    assert sent_on["2026-W30"] == date(2026, 7, 21)  # 海の日
    assert sent_on["2026-W39"] == date(2026, 9, 24)  # 敬老の日, 国民の休日, 秋分の日
    assert sent_on["2027-W18"] == date(2027, 5, 6)  # ゴールデンウィーク
    assert len([r for r in year.of_kind("digest") if r["recipients"] == [ADMIN]]) == 61


def test_every_run_is_recorded(year):
    assert year.recorded_runs == len(year.runs)
    assert {name for _, name in year.runs} == set(JOB_NAMES) - {"deliver"}
