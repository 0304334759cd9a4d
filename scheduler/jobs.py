"""The job table the clock and `dxbot run-job` run: plain functions (session factory, clock) → JobResult.

Each deciding job runs in ONE transaction: its bookkeeping (request rounds, nudge counts, a JobRun row) and the
outbox rows it queues (scheduler.outbox.enqueue, dedup keys) commit together or not at all, so a re-run
for the same period queues nothing new. Jobs never call LINE; `deliver` sends what the outbox holds.
The deciding itself lives in scheduler.round_jobs and scheduler.digest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from sqlmodel import Session, col, select

from models.clock import Clock
from models.closures import ClosureRange
from models.db import SessionFactory, transaction
from models.grade_scale import GradeScale
from models.retention import RetentionPolicy, apply_retention
from models.tables import JobRun
from scheduler.digest import plan_weekly_digest
from scheduler.planning import JobResult
from scheduler.round_jobs import Closures, plan_final_actuals, plan_kickoff, plan_kpi_request, plan_nudge

log = logging.getLogger(__name__)

Planner = Callable[[Session, Clock, JobResult], None]

PLANNERS: dict[str, Planner] = {
    "kickoff": plan_kickoff,
    "kpi-request": plan_kpi_request,
    "final-actuals": plan_final_actuals,
    "nudge": plan_nudge,
    "weekly-digest": plan_weekly_digest,
}


def run_planner(
    name: str, session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, **settings
) -> JobResult:
    """Run one deciding job in one transaction with its JobRun row; DRY_RUN rolls everything back.

    SETTINGS are the job's own values from configuration (scheduler.clock.job_settings)."""
    now = clock.now()
    result = JobResult(job=name, as_of=now, dry_run=dry_run)
    session = session_factory()
    try:
        PLANNERS[name](session, clock, result, **settings)
        session.add(JobRun(job=name, as_of=now, queued=result.queued, note=_note(result)))
        session.flush()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        log.exception("job failed", extra={"job": name, "as_of": now.isoformat()})
        raise
    finally:
        session.close()
    log.info(
        "job ran",
        extra={"job": name, "as_of": now.isoformat(), "queued": result.queued, "dry_run": dry_run},
    )
    return result


def _note(result: JobResult) -> str | None:
    text = "; ".join(dict.fromkeys(result.notes))
    return text[:1000] or None


def kickoff(
    session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, closures: Closures = None
) -> JobResult:
    """1 April: each section hears its initiatives, action items and KPI targets for the new year."""
    return run_planner("kickoff", session_factory, clock, dry_run=dry_run, closures=closures)


def kpi_request(
    session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, closures: Closures = None
) -> JobResult:
    """July, October, January: each section is asked for its KPI figures (due in 14 days)."""
    return run_planner("kpi-request", session_factory, clock, dry_run=dry_run, closures=closures)


def final_actuals(
    session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, closures: Closures = None
) -> JobResult:
    """April: each section is asked for the closed year's final figures (due 31 May)."""
    return run_planner("final-actuals", session_factory, clock, dry_run=dry_run, closures=closures)


def nudge(
    session_factory: SessionFactory, clock: Clock, *, dry_run: bool = False, closures: Closures = None
) -> JobResult:
    """Business days: late sections are reminded (every 3 business days, 3 times), then managers hear."""
    return run_planner("nudge", session_factory, clock, dry_run=dry_run, closures=closures)


def weekly_digest(
    session_factory: SessionFactory,
    clock: Clock,
    *,
    dry_run: bool = False,
    dashboard_url: str | None = None,
    closures: Closures = None,
    grade_scale: GradeScale | None = None,
    live_since: date | None = None,
) -> JobResult:
    """Monday: managers get their sections' digest, admins the city-wide one (with DASHBOARD_URL's button).

    CLOSURES, GRADE_SCALE and LIVE_SINCE are the Config's (scheduler.clock.job_settings)."""
    return run_planner(
        "weekly-digest",
        session_factory,
        clock,
        dry_run=dry_run,
        dashboard_url=dashboard_url,
        closures=closures,
        grade_scale=grade_scale,
        live_since=live_since,
    )


def deliver(
    session_factory: SessionFactory,
    clock: Clock,
    *,
    dry_run: bool = False,
    sender=None,
    closures: tuple[ClosureRange, ...] | None = None,
) -> JobResult:
    """Every minute: send the outbox's due rows (the sender comes from configuration unless given)."""
    from scheduler.delivery import deliver_due
    from scheduler.outbox import due_rows

    now = clock.now()
    result = JobResult(job="deliver", as_of=now, dry_run=dry_run)
    if dry_run:
        session = session_factory()
        try:
            rows = due_rows(session, now)
        finally:
            session.close()
        result.what = [
            f"due: {row.kind} [{row.dedup_key}] ({len(row.recipients)} recipients)" for row in rows
        ]
        result.note(f"{len(rows)} row(s) due; nothing sent (dry run)")
        return result
    if sender is None:
        sender = _configured_sender(session_factory, clock)
    report = deliver_due(session_factory, sender, clock, closures=closures)
    result.what = [f"sent row {row_id}" for row_id in report.sent]
    result.note(report.summary())
    if report.sent or report.failed or report.retrying:
        with transaction(session_factory) as session:  # a quiet minute leaves no JobRun row
            session.add(JobRun(job="deliver", as_of=now, queued=0, note=_note(result)))
    return result


def retention(
    session_factory: SessionFactory,
    clock: Clock,
    *,
    dry_run: bool = False,
    policy: RetentionPolicy | None = None,
) -> JobResult:
    """Daily: drop handled webhook bodies and console transcripts past their days (the policy comes from
    configuration, read once by the caller; the defaults are 30 days each)."""
    now = clock.now()
    result = JobResult(job="retention", as_of=now, dry_run=dry_run)
    session = session_factory()
    try:
        dropped = apply_retention(session, now=now, policy=policy or RetentionPolicy())
        result.note(dropped.summary())
        session.add(JobRun(job="retention", as_of=now, queued=0, note=_note(result)))
        session.flush()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        log.exception("job failed", extra={"job": "retention", "as_of": now.isoformat()})
        raise
    finally:
        session.close()
    return result


def dashboard_url(base_url: str | None) -> str | None:
    """The dashboard's address for the digest's button (Config.base_url + /dashboard/), if the app has one.

    Opening it without a session explains how to log in (「ダッシュボード」 in the chat)."""
    base = (base_url or "").strip().rstrip("/")
    return f"{base}/dashboard/" if base.startswith(("https://", "http://")) else None


def _configured_sender(session_factory: SessionFactory, clock: Clock):
    """The sender configuration asks for (console or LINE), built at run time."""
    from messages.line_sender import make_sender
    from models.config import Config

    return make_sender(Config.from_env(), session_factory, clock)


JOBS: dict[str, Callable[..., JobResult]] = {
    "kickoff": kickoff,
    "kpi-request": kpi_request,
    "final-actuals": final_actuals,
    "nudge": nudge,
    "weekly-digest": weekly_digest,
    "deliver": deliver,
    "retention": retention,
}


def last_run(session: Session, job: str) -> JobRun | None:
    """The most recent recorded run of JOB."""
    return session.exec(
        select(JobRun).where(JobRun.job == job).order_by(col(JobRun.ran_at).desc(), col(JobRun.id).desc())
    ).first()


__all__ = [
    "JOBS",
    "deliver",
    "final_actuals",
    "kickoff",
    "kpi_request",
    "last_run",
    "nudge",
    "retention",
    "weekly_digest",
]
