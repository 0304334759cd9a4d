"""`dxbot plan`: import the plan (seed document or YAML), convert the seed, show the plan."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import CliError, Runtime, echo_json, fiscal_year_option, pass_runtime, section_option
from models.fiscal_year import format_fiscal_year
from models.plan_format import SECTIONS_YAML, PlanFormatError, dump_plan, load_plan_file, parse_sections_yaml
from models.plan_load import apply_plan, load_sections_table
from models.plan_queries import plan_as_dict
from models.plan_seed import parse_seed


@click.group("plan")
def group() -> None:
    """The DX execution plan: measures, initiatives, action items and KPI targets."""


@group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@pass_runtime
def import_plan(runtime: Runtime, path: Path, dry_run: bool) -> None:
    """Load a plan from the city's seed document or a plan YAML; reports and history are kept."""
    try:
        plan, warnings = load_plan_file(path)
        section_rows = parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8"), str(SECTIONS_YAML))
    except PlanFormatError as exc:
        raise CliError(str(exc)) from exc
    with runtime.write(dry_run=dry_run) as session:
        load_sections_table(session, section_rows)
        summary = apply_plan(session, plan, now=runtime.clock.now(), source=str(path))
    prefix = "dry run, nothing written: " if dry_run else ""
    click.echo(
        f"{prefix}{summary.measures} measures, {summary.initiatives} initiatives, "
        f"{summary.action_items} action items, {summary.kpi_targets} KPI targets"
    )
    click.echo(
        f"changes: {summary.actions_added} action items added, {summary.actions_removed} removed; "
        f"{summary.targets_added} KPI targets added, {summary.targets_changed} changed (earlier values kept), "
        f"{summary.targets_removed} removed"
    )
    for warning in [*warnings, *summary.warnings]:
        click.echo(f"warning: {warning}")


@group.command("convert")
@click.argument("seed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the YAML here.")
def convert(seed: Path, output: Path | None) -> None:
    """Turn the city's seed document into the plan YAML (data/plan/plan.yaml), the same bytes every time."""
    try:
        result = parse_seed(seed.read_text(encoding="utf-8"), source=str(seed))
    except PlanFormatError as exc:
        raise CliError(str(exc)) from exc
    text = dump_plan(result.plan)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


@group.command("show")
@click.option("--fiscal-year", "fiscal_year", help="2026, 令和8年度 or R8.")
@click.option("--section", help="Only the initiatives this section is responsible for.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_runtime
def show(runtime: Runtime, fiscal_year: str | None, section: str | None, as_json: bool) -> None:
    """Show the plan as a readable outline, or as JSON."""
    year = fiscal_year_option(fiscal_year)
    with runtime.read() as session:
        chosen = section_option(session, section)
        data = plan_as_dict(session, fiscal_year=year, section=chosen)
    if as_json:
        echo_json(data)
        return
    for line in outline(data):
        click.echo(line)


def outline(data: dict) -> list[str]:
    """The plan as indented lines for a terminal."""
    lines: list[str] = []
    for measure in data["measures"]:
        if not measure["initiatives"]:
            continue
        lines.append(f"({measure['no']}) {measure['title']}")
        for initiative in measure["initiatives"]:
            sections = "、".join(
                f"{name}（主担当）" if name == initiative["lead_section"] else name
                for name in initiative["sections"]
            )
            lines.append(f"  {initiative['id']}  {initiative['title']}")
            lines.append(f"        担当: {sections}")
            for year in initiative["years"]:
                lines.append(f"    {format_fiscal_year(year['fiscal_year'])}")
                for action in year["actions"]:
                    lines.append(f"      ・{action['text']}  [{action['status']}]")
                for kpi in year["kpis"]:
                    lines.append(f"      KPI {kpi['id']}: {kpi['raw']}")
    if not lines:
        lines.append("(nothing in the plan matches)")
    return lines
