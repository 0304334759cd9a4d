"""`dxbot clock`, `dxbot run-job NAME` and `dxbot jobs list`: the schedule, run by the clock or by hand."""

from __future__ import annotations

from datetime import datetime

import click

from bot.cli.common import CliError, Runtime, echo_json, local_time, pass_runtime
from messages.lineworks_throttle import round_note
from models.clock import FrozenClock, parse_moment, parse_timezone
from models.db import session_factory
from scheduler.schedule import JOB_NAMES, ScheduleError, check_job_name, load_schedule


@click.command("clock")
@pass_runtime
def clock(runtime: Runtime) -> None:
    """Run the scheduler (the Procfile's clock process); a second one waits as a standby."""
    from bot.logging_setup import configure
    from scheduler.clock import ClockProcess
    from scheduler.clock import Runtime as ClockRuntime

    runtime.require_sender()
    configure("auto")  # JSON lines for a log collector, text at a terminal (DXBOT_LOG_FORMAT overrides)
    runtime.require_schema()
    try:
        schedule = load_schedule(runtime.config.schedule)
    except ScheduleError as exc:
        raise CliError(str(exc)) from exc
    process = ClockProcess(ClockRuntime(runtime.config, runtime.engine), schedule=schedule)
    # On stderr: stdout carries only the JSON log lines a collector reads.
    click.echo(
        f"dxbot clock {process.lease.holder}: jobs {', '.join(schedule)} (SIGTERM or Ctrl+C stops)", err=True
    )
    process.run()


@click.command("run-job")
@click.argument("name")
@click.option("--at", "at", help="Run as if the clock said this ISO 8601 time (default: DXBOT_NOW or now).")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be queued, then roll back (deliver sends nothing)."
)
@click.option("--json", "as_json", is_flag=True)
@pass_runtime
def run_job(runtime: Runtime, name: str, at: str | None, dry_run: bool, as_json: bool) -> None:
    """Run one job now (kickoff, kpi-request, final-actuals, nudge, weekly-digest, deliver, retention) and print what it did."""
    from scheduler.clock import job_settings
    from scheduler.jobs import JOBS

    try:
        check_job_name(name)
    except ScheduleError as exc:
        raise CliError(str(exc)) from exc
    if at:
        try:
            job_clock = FrozenClock(parse_moment(at), parse_timezone(runtime.config.timezone))
        except ValueError as exc:
            raise CliError(f"--at: {exc}") from exc
    else:
        job_clock = runtime.clock
    if name == "deliver" and not dry_run:
        runtime.require_sender()
    runtime.require_schema()
    settings = job_settings(name, runtime.config)
    result = JOBS[name](session_factory(runtime.engine), job_clock, dry_run=dry_run, **settings)
    estimate = lineworks_estimate(result.lineworks_requests, runtime.config)
    if estimate:
        result.note(estimate)
    if as_json:
        echo_json(result.as_dict())
        return
    click.echo(result.summary())
    for line in result.what:
        click.echo(f"  {line}")
    for note in dict.fromkeys(result.notes):
        click.echo(f"  note: {note}")


def lineworks_estimate(requests: int, config) -> str | None:
    """How long REQUESTS LINE WORKS requests take at LINEWORKS_RATE_PER_MINUTE, when that is a minute or more
    (None below, and without LINE WORKS settings: the console sender does not pace itself)."""
    settings = getattr(config, "lineworks", None)
    if settings is None:
        return None
    return round_note(requests, settings.rate_per_minute)


@click.group("jobs")
def group() -> None:
    """The clock's schedule."""


@group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_runtime
def list_jobs(runtime: Runtime, as_json: bool) -> None:
    """Each job's schedule (crontab, DXBOT_TIMEZONE) and next run time; DXBOT_SCHEDULE_<JOB> changes one."""
    try:
        schedule = load_schedule(runtime.config.schedule)
    except ScheduleError as exc:
        raise CliError(str(exc)) from exc
    tz = parse_timezone(runtime.config.timezone)
    now = runtime.clock.now().astimezone(tz)
    rows = []
    for name in JOB_NAMES:
        entry = schedule[name]
        upcoming = entry.next_run(now, tz)
        rows.append(
            {
                "name": name,
                "schedule": entry.expression,
                "next_run": upcoming.astimezone(tz).isoformat() if upcoming else None,
                "source": entry.source,
            }
        )
    if as_json:
        echo_json({"jobs": rows, "timezone": str(tz), "as_of": now.isoformat()})
        return
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        upcoming = local_time(datetime.fromisoformat(row["next_run"]), tz) if row["next_run"] else "-"
        source = "" if row["source"] == "default" else f"  ({row['source']})"
        click.echo(f"{row['name']:<{width}}  {row['schedule']:<22}  next {upcoming}{source}")
