"""`dxbot import-actuals PATH`: read back the filled-in template of past years' statuses and actuals."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import CliError, Runtime, pass_runtime
from models import actuals_cells, actuals_import
from models.fiscal_year import format_fiscal_year


@click.command("import-actuals")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@pass_runtime
def import_actuals(runtime: Runtime, path: Path, dry_run: bool) -> None:
    """Import past years' action statuses and KPI actuals from the template (`dxbot export --template`).

    Every row is checked first; when any row has a problem, each is listed as "<sheet> row <n>: <problem>"
    and nothing from the file is written (exit code 2). Empty cells stay 未確認; importing the same file
    again changes nothing.
    """
    try:
        sheets = actuals_cells.read_workbook(path)
    except actuals_cells.TemplateError as exc:
        raise CliError(str(exc)) from exc
    now = runtime.clock.now()
    with runtime.write(dry_run=dry_run) as session:
        checked = actuals_import.check(session, sheets, now)
        if checked.problems:
            for problem in checked.problems:
                click.echo(problem, err=True)
            count = len(checked.problems)
            raise CliError(
                f"nothing imported from {path.name}: {count} problem{'s' if count != 1 else ''}"
                " (fix the rows above and import again)"
            )
        actuals_import.apply(session, checked, source=path.name)
    prefix = "dry run, nothing written: " if dry_run else ""
    click.echo(f"{prefix}{path.name}")
    for fy in sorted(checked.years):
        c = checked.years[fy]
        click.echo(
            f"  FY{fy} {format_fiscal_year(fy, 'ja')}: 行動計画 {c.statuses} new, {c.statuses_unchanged} unchanged,"
            f" {c.statuses_empty} empty; KPI実績 {c.actuals} new, {c.actuals_unchanged} unchanged,"
            f" {c.actuals_empty} empty"
        )
    statuses, actuals = len(checked.statuses), len(checked.actuals)
    verb = "would be written" if dry_run else "written"
    click.echo(
        f"{statuses + actuals} new ({statuses} action statuses, {actuals} KPI actuals) {verb};"
        " empty cells stay 未確認"
    )
