"""`dxbot run-job`, `dxbot jobs list` and `dxbot clock` as an operator uses them."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from models.tables import JobRun, OutboxMessage
from tests.scheduler.test_jobs import add_people

KICKOFF_AT = "2026-04-01T09:00:00+09:00"


@pytest.fixture
def people(db, plan):
    add_people(db)
    return db


def outbox(db) -> list[OutboxMessage]:
    with Session(db) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_run_job_prints_what_it_queued_and_a_rerun_queues_nothing(dxbot, people):
    result = dxbot("run-job", "kickoff", "--at", KICKOFF_AT)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "kickoff at 2026-04-01T09:00:00+09:00: queued 3"
    assert "kickoff → 国保医療課 (2 recipients, ja, pending) [kickoff:2026:" in lines[1]
    assert len(outbox(people)) == 3

    again = dxbot("run-job", "kickoff", "--at", KICKOFF_AT)
    assert again.exit_code == 0 and again.output.startswith("kickoff at 2026-04-01T09:00:00+09:00: queued 0")
    assert len(outbox(people)) == 3


def test_dry_run_queues_nothing(dxbot, people):
    result = dxbot("run-job", "kpi-request", "--at", "2026-07-01T09:00:00+09:00", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].endswith("queued 3 (dry run, rolled back)")
    assert "kpi-request:2026:Q1:" in result.output
    assert outbox(people) == []
    with Session(people) as s:
        assert s.exec(select(JobRun)).all() == []


def test_run_job_uses_dxbot_now_without_at_and_explains_a_quiet_run(dxbot, people):
    result = dxbot("run-job", "kickoff", env={"DXBOT_NOW": "2026-04-04T09:00:00+09:00"})
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "kickoff at 2026-04-04T09:00:00+09:00: queued 0; 2026-04-04 is not a business day; nothing to do",
        "  note: 2026-04-04 is not a business day; nothing to do",
    ]


def test_run_job_json(dxbot, people):
    result = dxbot("run-job", "final-actuals", "--at", "2026-04-10T09:00:00+09:00", "--json")
    data = json.loads(result.output)
    assert data["job"] == "final-actuals" and data["queued"] == 3 and data["dry_run"] is False
    assert data["as_of"] == "2026-04-10T09:00:00+09:00" and len(data["what"]) == 3


def test_deliver_sends_through_the_configured_sender(dxbot, people):
    dxbot("run-job", "kickoff", "--at", KICKOFF_AT)
    dry = dxbot("run-job", "deliver", "--at", "2026-04-01T09:01:00+09:00", "--dry-run")
    assert "3 row(s) due; nothing sent (dry run)" in dry.output
    assert {r.status for r in outbox(people)} == {"pending"}
    result = dxbot("run-job", "deliver", "--at", "2026-04-01T09:01:00+09:00")
    assert result.exit_code == 0, result.output
    assert "→ multicast to 2 recipients" in result.output  # the console sender prints what LINE would get
    assert "sent 3" in result.output
    assert {r.status for r in outbox(people)} == {"sent"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run-job", "nudg"), "error: unknown job 'nudg' (did you mean 'nudge'?)"),
        (("run-job", "kickof", "--at", KICKOFF_AT), "error: unknown job 'kickof' (did you mean 'kickoff'?)"),
        (
            ("run-job", "nudge", "--at", "2026-04-01 09:00"),
            "error: --at: '2026-04-01 09:00' has no UTC offset",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(dxbot, people, args, message):
    result = dxbot(*args)
    assert result.exit_code == 2
    assert result.output.strip().startswith(message) and len(result.output.strip().splitlines()) == 1
    assert outbox(people) == []


def test_jobs_list_json_has_next_runs_in_jst(dxbot, db):
    result = dxbot("jobs", "list", "--json")  # DXBOT_NOW: Tuesday 2026-11-24 10:00 JST
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [j["name"] for j in data["jobs"]] == [
        "kickoff",
        "kpi-request",
        "final-actuals",
        "nudge",
        "weekly-digest",
        "deliver",
        "retention",
    ]
    assert all({"name", "schedule", "next_run"} <= set(j) for j in data["jobs"])
    runs = {j["name"]: j["next_run"] for j in data["jobs"]}
    assert runs == {
        "kickoff": "2027-04-01T09:00:00+09:00",
        "kpi-request": "2027-01-01T09:00:00+09:00",
        "final-actuals": "2027-04-10T09:00:00+09:00",
        "nudge": "2026-11-25T10:00:00+09:00",
        "weekly-digest": "2026-11-30T08:30:00+09:00",
        "deliver": "2026-11-24T10:01:00+09:00",
        "retention": "2026-11-25T03:15:00+09:00",
    }
    assert {j["name"]: j["schedule"] for j in data["jobs"]}["nudge"] == "0 10 * * mon-fri"


def test_jobs_list_shows_an_override_and_refuses_a_bad_one(dxbot, db):
    result = dxbot("jobs", "list", env={"DXBOT_SCHEDULE_NUDGE": "30 9 * * 1-5"})
    line = next(x for x in result.output.splitlines() if x.startswith("nudge"))
    assert "30 9 * * mon,tue,wed,thu,fri" in line and "next 2026-11-25 09:30 JST" in line
    assert "(DXBOT_SCHEDULE_NUDGE)" in line
    bad = dxbot("jobs", "list", env={"DXBOT_SCHEDULE_NUDGE": "every day"})
    assert bad.exit_code == 2 and bad.output.startswith("error: DXBOT_SCHEDULE_NUDGE='every day'")


def test_clock_command_builds_the_process_from_configuration(dxbot, db, monkeypatch):
    import bot.logging_setup
    import scheduler.clock as clock_module

    started = []
    monkeypatch.setattr(bot.logging_setup, "configure", lambda *args, **kwargs: None)
    monkeypatch.setattr(clock_module.ClockProcess, "run", lambda self: started.append(self))
    result = dxbot("clock", env={"DXBOT_SCHEDULE_DELIVER": "*/2 * * * *"})
    assert result.exit_code == 0, result.output
    (process,) = started
    assert list(process.schedule) == [
        "kickoff",
        "kpi-request",
        "final-actuals",
        "nudge",
        "weekly-digest",
        "deliver",
        "retention",
    ]
    assert process.schedule["deliver"].expression == "*/2 * * * *"
    assert result.output.startswith(f"dxbot clock {process.lease.holder}: jobs kickoff, kpi-request")


def test_jobs_list_labels_next_runs_with_the_configured_zone(dxbot, db):
    result = dxbot("jobs", "list", env={"DXBOT_TIMEZONE": "Europe/Berlin"})
    line = next(x for x in result.output.splitlines() if x.startswith("nudge"))
    assert line.endswith("CET") and "JST" not in result.output
