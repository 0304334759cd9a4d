"""Prometheus metrics for GET /metrics (prometheus_client).

Counted in the web process: webhook request latency (by status) and webhook events (by LINE event type
and outcome; "failed" when an event is set aside). Read from the database at scrape time, so every
process's work shows whichever worker answers: outbox messages by status, the oldest message waiting
past its time, webhook events waiting and set aside as failed, job runs (JobRun rows), and the age of
the clock's heartbeat.

Under gunicorn with several workers, PROMETHEUS_MULTIPROC_DIR (set by bot/gunicorn_conf.py) switches
prometheus_client to its multiprocess mode: each worker writes its counters to files there and a scrape
adds them up. Without it (dxbot serve, tests) the process's own registry is served.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import select

from bot.inbox import failed_count, inbox_backlog
from models.db import SessionFactory
from models.tables import OUTBOX_STATUSES, ClockLease, JobRun, OutboxMessage

log = logging.getLogger(__name__)

Now = Callable[[], datetime]

# LINE's webhook event types (webhook.yml's Event discriminator); anything else is counted as "other" so a forged body cannot
# create new time series.
EVENT_TYPES = frozenset(
    {
        "message",
        "unsend",
        "follow",
        "unfollow",
        "join",
        "leave",
        "memberJoined",
        "memberLeft",
        "postback",
        "videoPlayComplete",
        "beacon",
        "accountLink",
        "things",
        "membership",
        "module",
        "activated",
        "deactivated",
        "botSuspended",
        "botResumed",
        "delivery",  # PnpDeliveryCompletionEvent
    }
)
OUTCOME = re.compile(r"[a-z][a-z_]{0,31}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WEBHOOK_LATENCY = Histogram(
    "dxbot_webhook_request_duration_seconds",
    "Time to answer POST /callback (signature, inbox, handling, reply), by HTTP status.",
    ["status"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_EVENTS = Counter(
    "dxbot_webhook_events",
    "Webhook events handled, by LINE event type and outcome (recorded, question, refused, duplicate, …).",
    ["type", "outcome"],
)


def observe_webhook(status: int, seconds: float) -> None:
    """Count one /callback request and how long it took."""
    WEBHOOK_LATENCY.labels(status=str(status)).observe(seconds)


def count_event(event_type: object, outcome: object) -> None:
    """Count one webhook event by type and outcome (unknown words become "other")."""
    kind = event_type if isinstance(event_type, str) and event_type in EVENT_TYPES else "other"
    word = outcome if isinstance(outcome, str) and OUTCOME.fullmatch(outcome) else "other"
    WEBHOOK_EVENTS.labels(type=kind, outcome=word).inc()


class DatabaseCollector:
    """Gauges and counters read from the database at scrape time (one short read transaction)."""

    def __init__(self, factory: SessionFactory, now: Now, wall: Now):
        # NOW is the bot's clock (DXBOT_NOW may freeze it; outbox times follow it); WALL is real time
        # (the clock's lease follows it).
        self.factory, self.now, self.wall = factory, now, wall

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("dxbot_database_up", "1 when the database answered this scrape, else 0.")
        try:
            metrics = list(self._read())
        except Exception as exc:  # the scrape still answers, saying the database did not
            log.warning("metrics: database unavailable", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> Iterator[Metric]:
        now, wall = self.now(), self.wall()
        with self.factory() as session:
            counts = dict.fromkeys(OUTBOX_STATUSES, 0)
            for status, count in session.exec(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all():
                counts[status] = count
            oldest_due = session.exec(
                select(func.min(OutboxMessage.not_before)).where(
                    OutboxMessage.status == "pending", OutboxMessage.not_before <= now
                )
            ).one()
            runs = session.exec(
                select(JobRun.job, func.count(), func.max(JobRun.ran_at)).group_by(JobRun.job)
            ).all()
            unhandled, oldest_unhandled = inbox_backlog(session)
            failed_events = failed_count(session)
            lease = session.get(ClockLease, "clock")

        outbox = GaugeMetricFamily(
            "dxbot_outbox_messages", "Outbox rows (LINE requests) by status.", labels=["status"]
        )
        for status, count in counts.items():
            outbox.add_metric([status], count)
        yield outbox
        waiting = GaugeMetricFamily(
            "dxbot_outbox_oldest_due_seconds",
            "How long the oldest pending outbox row has been due (0 when none is due).",
        )
        waiting.add_metric([], max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0)
        yield waiting

        inbox = GaugeMetricFamily(
            "dxbot_inbox_unhandled_events",
            "Webhook events acknowledged to LINE and not handled yet (queued, or left for the sweep).",
        )
        inbox.add_metric([], unhandled)
        yield inbox
        inbox_wait = GaugeMetricFamily(
            "dxbot_inbox_oldest_unhandled_seconds",
            "How long the oldest unhandled webhook event has waited (0 when none is waiting).",
        )
        inbox_wait.add_metric(
            [], max((now - oldest_unhandled).total_seconds(), 0.0) if oldest_unhandled else 0.0
        )
        yield inbox_wait
        failed = GaugeMetricFamily(
            "dxbot_inbox_failed_events",
            "Webhook events set aside as failed after repeated handling errors (`dxbot inbox failed`).",
        )
        failed.add_metric([], failed_events)
        yield failed

        from scheduler.schedule import JOB_NAMES

        totals = dict.fromkeys(JOB_NAMES, 0)
        last: dict[str, datetime] = {}
        for job, count, ran_at in runs:
            totals[job] = count
            if ran_at is not None:
                last[job] = ran_at
        job_runs = CounterMetricFamily(
            "dxbot_job_runs",
            "Job runs recorded by the clock (JobRun rows; a delivery minute with nothing to send leaves none).",
            labels=["job"],
        )
        for job, count in totals.items():
            job_runs.add_metric([job], count)
        yield job_runs
        last_run = GaugeMetricFamily(
            "dxbot_job_last_run_timestamp_seconds", "When each job last ran (Unix time).", labels=["job"]
        )
        for job, ran_at in last.items():
            last_run.add_metric([job], ran_at.timestamp())
        yield last_run
        if lease is not None:
            age = GaugeMetricFamily(
                "dxbot_clock_heartbeat_age_seconds",
                "Seconds since the clock process last renewed its lease (it renews every 20 s).",
            )
            age.add_metric([], max((wall - lease.renewed_at).total_seconds(), 0.0))
            yield age


class _Forward:
    """Serve another registry's metrics from a per-scrape registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        return self.registry.collect()


def exposition(
    factory: SessionFactory, now: Now, wall: Now, directory: str | None = None
) -> tuple[bytes, str]:
    """The text exposition for one scrape: in-process counters (all workers' in DIRECTORY, Config.metrics_dir)
    plus the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector(factory, now, wall))
    return generate_latest(registry), CONTENT_TYPE_LATEST
