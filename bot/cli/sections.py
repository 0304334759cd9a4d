"""`dxbot section`: the city's sections and the department each belongs to."""

from __future__ import annotations

import click
from sqlmodel import select

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from models.editions import current_edition
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
        edition = current_edition(session, runtime.clock.now(), runtime.clock.tz)  # the plan in force
        rows = [
            {
                "name": s.name,
                "department": s.department,
                "short_name": s.short_name,
                "initiatives": initiative_ids_for_section(session, s, edition.id if edition else None),
            }
            for s in session.exec(select(Section).order_by(Section.department, Section.name)).all()
        ]
    if as_json:
        echo_json({"sections": rows})
        return
    for row in rows:
        initiatives = ", ".join(row["initiatives"]) or "-"
        click.echo(f"{row['name']}\t{row['department'] or '(部局未設定)'}\t{initiatives}")


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
