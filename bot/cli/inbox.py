"""`dxbot inbox`: webhook events set aside as failed (bot/inbox/dead_letter.py) — list them, put one back."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from models.tables import InboxEvent


@click.group("inbox")
def group() -> None:
    """Webhook events that could not be handled: list them, handle one again."""


def _iso(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment is not None else None


def failed_as_dict(row: InboxEvent, tz: ZoneInfo) -> dict:
    """One failed event as `dxbot inbox failed --json` shows it (times in the city's zone)."""
    return {
        "id": row.id,
        "webhook_event_id": row.webhook_event_id,
        "type": row.event_type,
        "attempts": row.attempts,
        "error_class": row.error_class,
        "failed_at": _iso(row.failed_at, tz),
        "received_at": _iso(row.received_at, tz),
    }


@group.command("failed")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_runtime
def failed(runtime: Runtime, as_json: bool) -> None:
    """List the events set aside after repeated handling errors, oldest first (kept without their text)."""
    from bot.inbox.dead_letter import failed_events

    tz = runtime.clock.tz
    with runtime.read() as session:
        items = [failed_as_dict(row, tz) for row in failed_events(session)]
    if as_json:
        echo_json({"events": items})
        return
    if not items:
        click.echo("no failed webhook events")
    for item in items:
        click.echo(
            f"{item['id']}\t{item['failed_at']}\t{item['type']}\t{item['attempts']} attempts\t"
            f"{item['error_class']}\t{item['webhook_event_id']}"
        )


@group.command("retry")
@click.argument("row_id", metavar="ID", type=int)
@pass_runtime
def retry(runtime: Runtime, row_id: int) -> None:
    """Put a failed event back: the next sweep (web process or `dxbot events`) handles it again."""
    from bot.inbox.dead_letter import NotFailed, retry_failed

    try:
        with runtime.write() as session:
            row = retry_failed(session, row_id)
            body = dict(row.body or {})
    except NotFailed as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"webhook event {row_id} queued again: the next sweep handles it")
    if "message" in body or body.get("type") == "postback":
        click.echo("note: its text was not kept, so a message or postback is taken without an answer")
