"""`dxbot outbox`: see what the bot has queued for LINE and LINE WORKS, and deliver what is due now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click
from sqlmodel import col, select

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from models.db import session_factory
from models.members import platform_name
from models.tables import OUTBOX_STATUSES, OutboxMessage
from scheduler.outbox import section_names


@click.group("outbox")
def group() -> None:
    """Messages queued for LINE and LINE WORKS (the outbox): list them, deliver what is due."""


def _iso(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """A stored UTC time shown in the city's zone, with its offset."""
    return moment.astimezone(tz).isoformat() if moment is not None else None


def row_as_dict(row: OutboxMessage, sections: dict[int, str], tz: ZoneInfo) -> dict:
    """One outbox row as `dxbot outbox list --json` shows it (times in JST, with their offset)."""
    return {
        "id": row.id,
        "job": row.job,
        "kind": row.kind,
        "recipients": list(row.recipients),
        "section": sections.get(row.section_id) if row.section_id is not None else None,
        "dedup_key": row.dedup_key,
        "status": row.status,
        "retry_key": row.retry_key,
        "not_before": _iso(row.not_before, tz),
        "created_at": _iso(row.created_at, tz),
        "sent_at": _iso(row.sent_at, tz),
        "error": row.error,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at, tz),
        "messages": len(row.messages),
        "transport": row.transport,  # line | lineworks: the platform the row goes to
    }


@group.command("list")
@click.option("--status", type=click.Choice(OUTBOX_STATUSES), help="Only rows in this state.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_runtime
def list_rows(runtime: Runtime, status: str | None, as_json: bool) -> None:
    """List queued, sent, failed and held requests, oldest first (with their platform once LINE WORKS is used)."""
    tz = runtime.clock.tz
    with runtime.read() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if status:
            query = query.where(OutboxMessage.status == status)
        rows = list(session.exec(query).all())
        sections = section_names(session, {r.section_id for r in rows if r.section_id is not None})
    items = [row_as_dict(row, sections, tz) for row in rows]
    # A LINE-only bot lists as it always did; once LINE WORKS is configured or queued, every row names its platform.
    platforms = runtime.config.speaks("lineworks") or any(i["transport"] != "line" for i in items)
    if as_json:
        echo_json({"messages": items})
        return
    if not items:
        click.echo("the outbox is empty" if not status else f"no {status} messages")
    for item in items:
        who = item["section"] or "-"
        count = len(item["recipients"])
        line = (
            f"{item['id']}\t{item['status']}\t{item['job']}/{item['kind']}\t{who}\t"
            f"{count} recipient{'' if count == 1 else 's'}\t"
            + (f"{platform_name(item['transport'])}\t" if platforms else "")
            + f"not before {item['not_before']}"
        )
        if item["sent_at"]:
            line += f"\tsent {item['sent_at']}"
        if item["error"]:
            line += f"\t{item['error']}"
        click.echo(line)


def _sender(runtime: Runtime):
    """What flush sends through: the console sender (printed, kept in the transcript) or LINE's API."""
    from messages.line_sender import make_sender

    return make_sender(runtime.config, session_factory(runtime.engine), runtime.clock)


@group.command("flush")
@click.option("--limit", type=click.IntRange(1, 10000), default=1000, show_default=True)
@pass_runtime
def flush(runtime: Runtime, limit: int) -> None:
    """Deliver every queued message that is due now (with the console sender: print and mark sent)."""
    from scheduler.delivery import deliver_due

    runtime.require_sender()
    runtime.require_schema()
    try:
        sender = _sender(runtime)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    report = deliver_due(
        session_factory(runtime.engine),
        sender,
        runtime.clock,
        limit=limit,
        closures=runtime.config.closure_days,
    )
    if report.quota_warning:
        click.echo(f"warning: {report.quota_warning}", err=True)
    click.echo(report.summary())


@group.command("retry")
@click.argument("ids", nargs=-1, type=int, required=True)
@pass_runtime
def retry(runtime: Runtime, ids: tuple[int, ...]) -> None:
    """Queue failed messages again (after fixing the cause, e.g. a raised monthly limit); same retry key."""
    now = runtime.clock.now()
    with runtime.write() as session:
        rows = {
            r.id: r for r in session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))).all()
        }
        missing = [i for i in ids if i not in rows]
        if missing:
            raise CliError(f"no outbox message with id {', '.join(map(str, missing))}")
        not_failed = [f"{r.id} ({r.status})" for r in rows.values() if r.status != "failed"]
        if not_failed:
            raise CliError(f"only failed messages can be retried: {', '.join(not_failed)}")
        for row in rows.values():
            row.status, row.attempts, row.next_attempt_at, row.error = "pending", 0, None, None
            row.not_before = max(row.not_before, now)
            session.add(row)
    click.echo(f"queued again: {', '.join(map(str, ids))}")
