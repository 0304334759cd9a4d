"""`dxbot kpi list`: the KPI reports on record, latest first, voided ones marked."""

from __future__ import annotations

from datetime import datetime

import click

from bot.cli.common import (
    Runtime,
    echo_json,
    fiscal_year_option,
    local_iso,
    local_time,
    pass_runtime,
    section_option,
)
from messages.formatting import format_value
from models.reports import reports_listing


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@click.group("kpi")
def group() -> None:
    """KPI reports."""


@group.command("list")
@click.option("--fiscal-year", "fiscal_year", help="2026, 令和8年度 or R8 (default: every year).")
@click.option("--section", help="Only reports for this section.")
@click.option("--json", "as_json", is_flag=True)
@pass_runtime
def list_reports(runtime: Runtime, fiscal_year: str | None, section: str | None, as_json: bool) -> None:
    """List reports of all years (or one), latest first, voided ones included and marked."""
    year = fiscal_year_option(fiscal_year)
    with runtime.read() as session:
        chosen = section_option(session, section)
        rows = reports_listing(session, fiscal_year=year, section=chosen)
    tz = runtime.clock.tz
    for row in rows:  # the city's clock, not the database's UTC
        for key in ("reported_at", "voided_at"):
            row[key] = local_iso(_moment(row[key]), tz)
    if as_json:
        echo_json({"reports": rows})
        return
    if not rows:
        click.echo("no reports yet")
    for row in rows:
        mark = "  (取り消し済み)" if row["voided"] else ""
        click.echo(
            f"{local_time(_moment(row['reported_at']), tz)}  {row['section']}  {row['kpi_id']} {row['kpi']}: "
            f"{format_value(row['value'], row['unit'])} (FY{row['fiscal_year']}, {row['reporter'] or '-'}){mark}"
        )
