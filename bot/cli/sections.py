"""`dxbot section`: the city's sections and the department each belongs to."""

from __future__ import annotations

from datetime import date, datetime, time

import click
from sqlmodel import select

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from models.editions import current_edition
from models.rows import row_id
from models.section_reorg import ReorgError, former_names, merge_sections, rename_section
from models.sections import UnknownSectionError, ensure_section, find_section, initiative_ids_for_section
from models.tables import Section


@click.group("section")
def group() -> None:
    """Sections (課・室) and their departments (部局)."""


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_runtime
def list_sections(runtime: Runtime, as_json: bool) -> None:
    """List the sections with their department and the initiatives they are responsible for."""
    with runtime.read() as session:
        earlier = former_names(session)
        edition = current_edition(session, runtime.clock.now(), runtime.clock.tz)  # the plan in force
        rows = [
            {
                "name": s.name,
                "department": s.department,
                "short_name": s.short_name,
                "initiatives": initiative_ids_for_section(session, s, edition.id if edition else None),
                "former_names": earlier.get(row_id(s), []),
            }
            for s in session.exec(select(Section).order_by(Section.department, Section.name)).all()
        ]
    if as_json:
        echo_json({"sections": rows})
        return
    for row in rows:
        initiatives = ", ".join(row["initiatives"]) or "-"
        formerly = f"\t(旧 {'、'.join(row['former_names'])})" if row["former_names"] else ""
        click.echo(f"{row['name']}\t{row['department'] or '(部局未設定)'}\t{initiatives}{formerly}")


@group.command("add")
@click.argument("name")
@click.option("--department", required=True, help="The department (部局) it belongs to, e.g. 建設部.")
@pass_runtime
def add_section(runtime: Runtime, name: str, department: str) -> None:
    """Add a section (or set the department of an existing one)."""
    name, department = name.strip(), department.strip()
    if not name or not department:
        raise CliError("a section needs a name and a --department")
    with runtime.write() as session:
        try:
            existing = find_section(session, name)
        except UnknownSectionError:
            existing = None
        if existing is not None and existing.name != name:
            raise CliError(f"{name!r} is already known as {existing.name!r}; use that name")
        section, created = ensure_section(session, name, department)
        section.department = department
    click.echo(f"{'added' if created else 'updated'} section {name} ({department})")


@group.command("rename")
@click.argument("old")
@click.argument("new")
@pass_runtime
def rename(runtime: Runtime, old: str, new: str) -> None:
    """課の統廃合: rename section OLD to NEW; members, reports and plan links stay with it, OLD still finds it."""
    with runtime.write() as session:
        try:
            section = rename_section(session, old.strip(), new, now=runtime.clock.now())
        except (UnknownSectionError, ReorgError) as exc:
            raise CliError(str(exc)) from exc
    click.echo(f"renamed {old.strip()} to {section.name}; its reports now show as {section.name}")


@group.command("merge")
@click.argument("sections", nargs=-1, required=True)
@click.option("--into", required=True, help="The section they become (made if new, e.g. DX推進課).")
@click.option("--from", "from_text", metavar="DATE", help="The day the members move (JST), e.g. 2027-04-01.")
@click.option("--department", help="The new section's department (default: the first section's).")
@pass_runtime
def merge(runtime: Runtime, sections: tuple[str, ...], into: str, from_text: str | None, department) -> None:
    """課の統廃合: merge SECTIONS into one; members move (on --from), bindings and plan links at once."""
    now = runtime.clock.now()
    effective = now
    if from_text:
        try:
            day = date.fromisoformat(from_text.strip().replace("/", "-"))
        except ValueError as exc:
            raise CliError(f"--from {from_text!r} is not a date like 2027-04-01") from exc
        effective = datetime.combine(day, time(0, 0), tzinfo=runtime.clock.tz)
    with runtime.write() as session:
        try:
            chosen = [find_section(session, name) for name in sections]
            summary = merge_sections(
                session, chosen, into, effective=effective, now=now, department=department
            )
        except (UnknownSectionError, ReorgError) as exc:
            raise CliError(str(exc)) from exc
    made = " (new)" if summary.created else ""
    when = f" on {effective.date().isoformat()}" if from_text else ""
    click.echo(
        f"merged {'、'.join(summary.retired)} into {summary.into}{made}: {summary.members} members move{when}, "
        f"{summary.bindings} group chats, {summary.invites} open invite codes, {summary.links} plan links; "
        f"their reports stay theirs, shown as {summary.into}（旧…）"
        + (
            f"; {summary.closed_rounds} unanswered KPI request rounds closed{when} ({summary.into} is asked next round)"
            if summary.closed_rounds
            else ""
        )
    )
