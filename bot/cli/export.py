"""`dxbot export`: the KPI achievement table and action items (xlsx or csv), or open-data KPI results."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import CliError, Runtime, fiscal_year_option, pass_runtime, refuse_overwrite, xlsx_path
from models import actuals_template, actuals_workbook
from models import export as exports
from models.fiscal_year import fiscal_year_of
from models.plan_queries import plan_years


def _directory(path: Path) -> Path:
    """PATH as an existing directory (created if missing), or a one-line error."""
    if path.exists() and not path.is_dir():
        raise CliError(f"--output: {path} is a file; give a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--output: cannot create {path}: {exc.strerror or exc}") from exc
    return path


@click.command("export")
@click.option("--fiscal-year", "fiscal_year", help="2026, 令和8年度 or R8 (default: this fiscal year).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="An Excel workbook (two sheets) or two CSV files.",
)
@click.option(
    "--output",
    help="xlsx: the file (default ./dx-kpi-YEAR.xlsx); csv and --open-data: a directory (default .).",
)
@click.option("--bom", is_flag=True, help="Start CSV files with a UTF-8 BOM (for Excel).")
@click.option(
    "--open-data", "open_data", is_flag=True, help="KPI results of every plan year as CSV and JSON."
)
@click.option(
    "--template",
    is_flag=True,
    help="An Excel workbook of past years' action items and KPI targets to fill in "
    "(default ./dxbot-actuals-template.xlsx); read back with `dxbot import-actuals`.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@pass_runtime
def export(
    runtime: Runtime,
    fiscal_year: str | None,
    fmt: str,
    output: str | None,
    bom: bool,
    open_data: bool,
    template: bool,
    force: bool,
) -> None:
    """Export a year's KPI table and action items, the open-data KPI results, or the past-years template."""
    year = fiscal_year_option(fiscal_year)
    now = runtime.clock.now()
    if open_data and year is not None:
        raise CliError("--open-data covers every plan year; drop --fiscal-year")
    if template:
        if open_data or year is not None or fmt != "xlsx" or bom:
            raise CliError("--template is one Excel workbook of every past year; drop the other options")
        _write_template(runtime, output, force)
        return
    with runtime.read() as session:
        if open_data:
            records = exports.open_data_rows(
                session, now, tz=runtime.clock.tz, scale=runtime.config.grade_scale
            )
        else:
            year = year if year is not None else fiscal_year_of(now)
            years = plan_years(session)
            if year not in years:
                span = f"{years[0]}–{years[-1]}" if years else "no years; run `dxbot db init`"
                raise CliError(f"--fiscal-year: the plan has nothing for {year} (it covers {span})")
            kpis = exports.kpi_rows(session, now, year, tz=runtime.clock.tz, scale=runtime.config.grade_scale)
            actions = exports.action_rows(session, year, tz=runtime.clock.tz)
    if open_data or fmt == "csv":
        directory = _directory(Path(output or "."))
        names = (exports.OPEN_DATA_CSV, exports.OPEN_DATA_JSON) if open_data else exports.csv_names(year)
        refuse_overwrite([directory / name for name in names], force)
    else:
        path = xlsx_path(output, exports.xlsx_name(year))
        refuse_overwrite([path], force)
    try:
        if open_data:
            written = exports.write_open_data(directory, records, bom)
        elif fmt == "csv":
            written = exports.write_kpi_csvs(directory, year, kpis, actions, bom)
        else:
            exports.write_xlsx(path, kpis, actions)
            written = [path]
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename or output}: {exc.strerror or exc}") from exc
    for path in written:
        click.echo(f"wrote {path}")


def _write_template(runtime: Runtime, output: str | None, force: bool) -> None:
    """Write the past-years template and say what it holds."""
    now = runtime.clock.now()
    with runtime.read() as session:
        content = actuals_template.build_template(
            session, now, tz=runtime.clock.tz, scale=runtime.config.grade_scale
        )
    if not content.years:
        raise CliError(
            f"no past years to fill in: the plan has nothing before FY{fiscal_year_of(now)}, the current year"
        )
    path = xlsx_path(output, actuals_template.TEMPLATE_NAME)
    refuse_overwrite([path], force)
    try:
        actuals_workbook.write_template(path, content)
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc
    known = sum(1 for a in content.actions if a.status) + sum(1 for k in content.kpis if k.actual is not None)
    years = ", ".join(f"FY{fy}" for fy in content.years)
    click.echo(
        f"wrote {path}: {len(content.actions)} action items and {len(content.kpis)} KPI rows of {years}"
        f" ({known} already known, prefilled)"
    )
    for target in content.unlisted:
        click.echo(
            f"note: FY{target.fiscal_year} KPI {target.series_id} {target.name} is left out: "
            "its 担当課・室 names no section (only a group)"
        )
