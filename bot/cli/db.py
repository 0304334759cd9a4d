"""`dxbot db`: create or migrate the database and load the bundled plan."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlmodel import Session, col, select

from bot.cli.common import CliError, Runtime, local_time, pass_runtime
from models import migrate
from models.plan_format import PLAN_YAML, SECTIONS_YAML, PlanFormatError, load_plan_file, parse_sections_yaml
from models.plan_load import apply_plan, load_sections_table, plan_digest
from models.tables import Measure, PlanImport


@click.group("db")
def group() -> None:
    """The database: migrations and the bundled plan."""


def load_bundled_plan(runtime: Runtime) -> str:
    """Seed an empty database with the plan (data/plan, or DXBOT_PLAN_FILE); never change one that has a plan.

    Every deploy runs this (the Procfile's release step), so loading over an existing plan would undo
    what an admin imported with `dxbot plan import`. A revised plan is loaded on purpose with that command.
    """
    plan_path, sections_path, setting = _plan_source(runtime)
    try:
        plan, _ = load_plan_file(plan_path)
        section_rows = (
            parse_sections_yaml(sections_path.read_text(encoding="utf-8"), str(sections_path))
            if sections_path.exists()
            else []
        )
    except PlanFormatError as exc:
        raise CliError(f"{setting}{exc}") from exc
    with runtime.read() as session:
        kept = _kept_plan(session, plan_digest(plan), plan_path, runtime.clock.tz)
    if kept is not None:
        return kept
    with runtime.write() as session:
        load_sections_table(session, section_rows)
        summary = apply_plan(session, plan, now=runtime.clock.now(), source=plan_path.name)
    return (
        f"plan: {summary.measures} measures, {summary.initiatives} initiatives, "
        f"{summary.action_items} action items, {summary.kpi_targets} KPI targets "
        f"({summary.targets_added} targets added, {summary.targets_changed} changed) from {plan_path.name}"
    )


def _plan_source(runtime: Runtime) -> tuple[Path, Path, str]:
    """The plan file to seed with, the sections table beside it, and how to name the setting in errors."""
    if runtime.config.plan_file:
        path = Path(runtime.config.plan_file)
        return path, path.with_name(SECTIONS_YAML.name), "DXBOT_PLAN_FILE: "
    return PLAN_YAML, SECTIONS_YAML, ""


def _kept_plan(session: Session, digest: str, path: Path, tz: ZoneInfo) -> str | None:
    """What to say when the database already has a plan (None when it has none, so it is seeded)."""
    if session.exec(select(Measure.no).limit(1)).first() is None:
        return None
    last = session.exec(select(PlanImport).order_by(col(PlanImport.id).desc()).limit(1)).first()
    if last is not None and last.digest == digest:
        return "plan: already loaded (unchanged)"
    imported = f" as imported {local_time(last.imported_at, tz)} from {last.source}" if last else ""
    return (
        f"plan: kept{imported}; {path.name} differs and was not loaded (a deploy never changes a plan "
        f"an admin may have imported). To load it: dxbot plan import {path}"
    )


@group.command("init")
@pass_runtime
def init(runtime: Runtime) -> None:
    """Migrate the database to the newest schema and seed an empty one with the plan (safe to re-run)."""
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
