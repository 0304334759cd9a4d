"""The schedule in one readable place: when each job fires (cron fields, DXBOT_TIMEZONE), overridable per job.

Cron cannot know holidays or the city's closure days, so the crons below fire on every candidate day
and the jobs themselves decide whether today is the business day to act (see scheduler/round_jobs.py).

Change one job with an environment variable holding a crontab expression (minute hour day month
day-of-week), e.g. ``DXBOT_SCHEDULE_NUDGE="0 10 * * mon-fri"`` or
``DXBOT_SCHEDULE_WEEKLY_DIGEST="30 8 * * mon"``. Weekday numbers mean what they mean in crontab
(0 or 7 = Sunday); names (mon-fri) are clearer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from models.plan_format import closest

ENV_PREFIX = "DXBOT_SCHEDULE_"
FIELDS = ("minute", "hour", "day", "month", "day_of_week")

# job name → CronTrigger fields (the city's timezone, DXBOT_TIMEZONE). Order is the order `dxbot jobs list` shows.
DEFAULT_SCHEDULE: dict[str, dict[str, str]] = {
    # 1 April 09:00; on 2–7 April too, so a closed 1 April (a weekend) moves to the next business day.
    "kickoff": {"minute": "0", "hour": "9", "day": "1-7", "month": "4", "day_of_week": "*"},
    # Early July (Q1), October (Q2) and January (Q3), 09:00 on the first business day of the month.
    "kpi-request": {"minute": "0", "hour": "9", "day": "1-10", "month": "1,7,10", "day_of_week": "*"},
    # The year just closed: first business day on or after 10 April, 09:00 (due 31 May, 出納整理期間).
    "final-actuals": {"minute": "0", "hour": "9", "day": "10-16", "month": "4", "day_of_week": "*"},
    # Business days 10:00: late sections are reminded.
    "nudge": {"minute": "0", "hour": "10", "day": "*", "month": "*", "day_of_week": "mon-fri"},
    # Monday 08:30: managers and admins get their digest (a holiday Monday's waits for the next morning).
    "weekly-digest": {"minute": "30", "hour": "8", "day": "*", "month": "*", "day_of_week": "mon"},
    # Every minute: send what the outbox holds and is due.
    "deliver": {"minute": "*", "hour": "*", "day": "*", "month": "*", "day_of_week": "*"},
    # Every night 03:15: handled webhook bodies and console transcripts past their retention are dropped.
    "retention": {"minute": "15", "hour": "3", "day": "*", "month": "*", "day_of_week": "*"},
}
JOB_NAMES: tuple[str, ...] = tuple(DEFAULT_SCHEDULE)

_CRONTAB_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC_DOW = re.compile(r"\d+(?:-\d+)?")


class ScheduleError(ValueError):
    """A schedule override that cannot be read; the message names the variable."""


@dataclass(frozen=True)
class Entry:
    """One job's schedule: its cron fields and where they came from (default or the environment)."""

    name: str
    fields: dict[str, str]
    source: str  # default | DXBOT_SCHEDULE_…

    @property
    def expression(self) -> str:
        """The schedule as a crontab line (minute hour day month day-of-week), as admins write it."""
        return " ".join(self.fields[f] for f in FIELDS)

    def trigger(self, timezone: ZoneInfo) -> CronTrigger:
        """The APScheduler trigger for this entry, in TIMEZONE, the city's (Config.timezone)."""
        return CronTrigger(timezone=timezone, **self.fields)

    def next_run(self, after: datetime, timezone: ZoneInfo) -> datetime | None:
        """The first fire time strictly after AFTER, in TIMEZONE, the city's (Config.timezone)."""
        return next_fire_time(self.trigger(timezone), after)


def env_name(job: str) -> str:
    """The variable that overrides JOB's schedule: DXBOT_SCHEDULE_KPI_REQUEST for kpi-request."""
    return ENV_PREFIX + job.upper().replace("-", "_")


def check_job_name(name: str) -> str:
    """Return NAME if it is a job, else raise naming the closest one."""
    if name not in DEFAULT_SCHEDULE:
        raise ScheduleError(
            f"unknown job {name!r}{closest(name, JOB_NAMES)}; jobs are: {', '.join(JOB_NAMES)}"
        )
    return name


def _crontab_weekdays(field: str) -> str:
    """Translate crontab weekday numbers (0/7 = Sunday) to names, since APScheduler 3 counts 0 as Monday."""
    parts: list[str] = []
    for part in field.split(","):
        if _NUMERIC_DOW.fullmatch(part):
            numbers = [int(n) for n in part.split("-")]
            if any(n > 7 for n in numbers) or numbers[0] > numbers[-1]:
                raise ValueError(f"day of week {part!r} is out of range (0–7, or mon–sun)")
            days = range(numbers[0], numbers[-1] + 1)
            parts.extend(dict.fromkeys(_CRONTAB_WEEKDAYS[n] for n in days))
        elif any(ch.isdigit() for ch in part):
            raise ValueError(f"day of week {part!r}: use names (mon-fri) or plain numbers (1-5)")
        else:
            parts.append(part)
    return ",".join(dict.fromkeys(parts))


def parse_crontab(expression: str) -> dict[str, str]:
    """Read a five-field crontab expression into CronTrigger fields, checking it can fire."""
    values = expression.split()
    if len(values) != 5:
        raise ValueError(
            f"a crontab expression has 5 fields (minute hour day month day-of-week), got {len(values)}"
        )
    fields = dict(zip(FIELDS, values, strict=True))
    fields["day_of_week"] = _crontab_weekdays(fields["day_of_week"])
    CronTrigger(timezone=ZoneInfo("UTC"), **fields)  # raises ValueError on a bad field (in any timezone)
    return fields


def load_schedule(env: Mapping[str, str]) -> dict[str, Entry]:
    """The schedule in force: the defaults above, each replaced by its DXBOT_SCHEDULE_<JOB> in ENV (Config.schedule)."""
    for key in env:
        if key.startswith(ENV_PREFIX) and key not in {env_name(n) for n in JOB_NAMES}:
            wanted = key[len(ENV_PREFIX) :].lower().replace("_", "-")
            raise ScheduleError(
                f"{key} names no job{closest(wanted, JOB_NAMES)}; jobs are: {', '.join(JOB_NAMES)}"
            )
    schedule = {}
    for name, fields in DEFAULT_SCHEDULE.items():
        variable = env_name(name)
        override = (env.get(variable) or "").strip()
        if not override:
            schedule[name] = Entry(name, dict(fields), "default")
            continue
        try:
            schedule[name] = Entry(name, parse_crontab(override), variable)
        except ValueError as exc:
            raise ScheduleError(f"{variable}={override!r}: {exc}") from exc
    return schedule


def next_fire_time(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The trigger's first fire time strictly after AFTER (APScheduler's own arithmetic)."""
    # get_next_fire_time(previous, now) returns the first time >= now; cron fields have whole seconds.
    probe = after.replace(microsecond=0) + timedelta(seconds=1)
    return trigger.get_next_fire_time(None, probe)


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time of TRIGGER in [START, END): what a clock running all along would have run."""
    times = []
    moment = trigger.get_next_fire_time(None, start)
    while moment is not None and moment < end:
        times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return times
