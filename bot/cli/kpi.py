"""`dxbot kpi list`: the KPI reports on record, latest first, voided ones marked."""

from __future__ import annotations

import click

from bot.cli.common import Runtime, echo_json, fiscal_year_option, pass_runtime, section_option
from messages.formatting import format_value
from models.reports import reports_listing


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
    if as_json:
        echo_json({"reports": rows})
        return
    if not rows:
        click.echo("no reports yet")
    for row in rows:
        mark = "  (取り消し済み)" if row["voided"] else ""
        click.echo(
            f"{row['reported_at'][:16]}  {row['section']}  {row['kpi_id']} {row['kpi']}: "
            f"{format_value(row['value'], row['unit'])} (FY{row['fiscal_year']}, {row['reporter'] or '-'}){mark}"
        )
