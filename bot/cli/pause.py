"""`dxbot pause` / `dxbot resume`: stop a section's scheduled messages (e.g. during 人事異動) and restart them."""

from __future__ import annotations

from datetime import date, datetime, time

import click
from sqlmodel import select

from bot.cli.common import CliError, Runtime, pass_runtime
from models.sections import UnknownSectionError, find_section
from models.tables import SectionPause
from scheduler.outbox import release_held


def _section(session, name: str):
    """The section NAME, or a one-line error naming the closest one."""
    try:
        return find_section(session, name)
    except UnknownSectionError as exc:
        raise CliError(str(exc)) from exc


def parse_until(text: str, tz) -> datetime:
    """--until: a date (the section hears from the bot again from that day's start) or an ISO time with offset."""
    value = text.strip()
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=tz)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CliError(f"--until {text!r} is not a date like 2026-04-15") from exc
    if moment.tzinfo is None:
        raise CliError(f"--until {text!r} has no UTC offset (for example: 2026-04-15T09:00:00+09:00)")
    return moment


@click.command("pause")
@click.argument("section")
@click.option(
    "--until", "until_text", metavar="DATE", help="Resume by itself from this date (JST), e.g. 2026-04-15."
)
@pass_runtime
def pause(runtime: Runtime, section: str, until_text: str | None) -> None:
    """Pause SECTION: its scheduled messages are held (not sent) until `dxbot resume` or --until."""
    now = runtime.clock.now()
    until = parse_until(until_text, runtime.clock.tz) if until_text else None
    if until is not None and until <= now:
        raise CliError(f"--until {until_text} is not in the future (now: {now.date().isoformat()})")
    with runtime.write() as session:
        chosen = _section(session, section)
        existing = session.exec(select(SectionPause).where(SectionPause.section_id == chosen.id)).first()
        if existing is None:
            session.add(SectionPause(section_id=chosen.id, paused_at=now, until=until, paused_by="cli"))
        else:
            existing.until, existing.paused_by = until, "cli"
            session.add(existing)
        name = chosen.name
    when = f" until {until.astimezone(runtime.clock.tz).isoformat()}" if until else " until `dxbot resume`"
    click.echo(f"{'paused' if existing is None else 'still paused'} {name}{when}; its messages are held")


@click.command("resume")
@click.argument("section")
@pass_runtime
def resume(runtime: Runtime, section: str) -> None:
    """Resume SECTION: held messages go out again, only the newest of each kind (no flood)."""
    now = runtime.clock.now()
    with runtime.write() as session:
        chosen = _section(session, section)
        existing = session.exec(select(SectionPause).where(SectionPause.section_id == chosen.id)).first()
        if existing is not None:
            session.delete(existing)
            session.flush()
        released, superseded = release_held(
            session, chosen.id, now, tz=runtime.clock.tz, closures=runtime.config.closure_days
        )
        name = chosen.name
    state = "resumed" if existing is not None else "was not paused:"
    click.echo(
        f"{state} {name}; {len(released)} held message(s) queued again, {len(superseded)} older one(s) dropped"
    )
