"""`dxbot db`: create or migrate the database and load the bundled plan."""

from __future__ import annotations

import click
from sqlmodel import select

from bot.cli.common import CliError, Runtime, pass_runtime
from models import migrate
from models.plan_format import PLAN_YAML, SECTIONS_YAML, PlanFormatError, load_plan_file, parse_sections_yaml
from models.plan_load import apply_plan, load_sections_table, plan_digest
from models.tables import PlanImport


@click.group("db")
def group() -> None:
    """The database: migrations and the bundled plan."""


def load_bundled_plan(runtime: Runtime) -> str:
    """Load data/plan (sections table, then plan) unless that very plan is already loaded."""
    try:
        plan, _ = load_plan_file(PLAN_YAML)
        section_rows = parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8"), str(SECTIONS_YAML))
    except PlanFormatError as exc:
        raise CliError(str(exc)) from exc
    digest = plan_digest(plan)
    with runtime.write() as session:
        added = load_sections_table(session, section_rows)
        last = session.exec(select(PlanImport).order_by(PlanImport.id.desc()).limit(1)).first()
        if last is not None and last.digest == digest and not added:
            return "plan: already loaded (unchanged)"
        summary = apply_plan(session, plan, now=runtime.clock.now(), source=str(PLAN_YAML.name))
    return (
        f"plan: {summary.measures} measures, {summary.initiatives} initiatives, "
        f"{summary.action_items} action items, {summary.kpi_targets} KPI targets "
        f"({summary.targets_added} targets added, {summary.targets_changed} changed)"
    )


@group.command("init")
@pass_runtime
def init(runtime: Runtime) -> None:
    """Migrate the database to the newest schema and load the bundled plan (safe to re-run)."""
    migrate.upgrade(runtime.engine)
    click.echo(f"database: at revision {migrate.current_revision(runtime.engine)} ({_where(runtime)})")
    click.echo(load_bundled_plan(runtime))


@group.command("upgrade")
@pass_runtime
def upgrade(runtime: Runtime) -> None:
    """Migrate the database to the newest schema only (the release step)."""
    migrate.upgrade(runtime.engine)
    click.echo(f"database: at revision {migrate.current_revision(runtime.engine)}")


@group.command("status")
@pass_runtime
def status(runtime: Runtime) -> None:
    """Say which schema revision the database is at and whether it is the newest."""
    current, head = migrate.current_revision(runtime.engine), migrate.head_revision()
    state = "up to date" if current == head else f"behind (newest is {head}; run `dxbot db init`)"
    click.echo(f"database: revision {current or 'none'}, {state} ({_where(runtime)})")


def _where(runtime: Runtime) -> str:
    return runtime.engine.url.render_as_string(hide_password=True)
