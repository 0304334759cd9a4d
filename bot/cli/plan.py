"""`dxbot plan`: import the plan (seed document, YAML or the Excel template), convert the seed, show it, export
it, and write the Excel template a planner fills in."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import (
    CliError,
    Runtime,
    echo_json,
    fiscal_year_option,
    pass_runtime,
    refuse_overwrite,
    section_option,
    xlsx_path,
)
from models import plan_template
from models.editions import EditionConflict, current_edition, edition_of_year, editions
from models.fiscal_year import format_fiscal_year
from models.plan_errors import PlanWorkbookError
from models.plan_format import SECTIONS_YAML, PlanFormatError, dump_plan, load_plan_file, parse_sections_yaml
from models.plan_load import apply_plan, load_sections_table, plan_fiscal_years
from models.plan_queries import edition_as_dict, plan_as_dict, plan_document
from models.plan_seed import parse_seed
from models.tables import PlanEdition


@click.group("plan")
def group() -> None:
    """The DX execution plan: measures, initiatives, action items and KPI targets."""


@group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@pass_runtime
def import_plan(runtime: Runtime, path: Path, dry_run: bool) -> None:
    """Load a plan from the city's seed document, a plan YAML or the Excel plan template; reports and history
    are kept.

    A plan of new fiscal years (FY2027–) becomes a new plan edition; one of an edition's years revises it
    (--dry-run lists the changes: + added, ~ changed old → new, - removed); one whose years only partly overlap
    an edition's is refused (exit code 2). Ids such as 1-1 are unique within an edition.

    Sections (課・室) come from a sections.yaml beside PATH (name and department of each), else from the
    sections the initiatives name (added without a department; set one with `dxbot section add`).

    The YAML is checked against the published schema (data/plan/plan.schema.json). In a workbook every row is
    checked first; when any has a problem, each is listed as "<sheet> row <n>: <problem>" and nothing is
    written (exit code 2).
    """
    try:
        plan, warnings = load_plan_file(path)
        section_rows = _sections_beside(path)
    except PlanWorkbookError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise CliError(exc.summary) from exc
    except PlanFormatError as exc:
        raise CliError(str(exc)) from exc
    try:
        with runtime.write(dry_run=dry_run) as session:
            load_sections_table(session, section_rows)
            summary = apply_plan(session, plan, now=runtime.clock.now(), source=str(path), imported_by="cli")
    except EditionConflict as exc:
        raise CliError(str(exc)) from exc
    prefix = "dry run, nothing written: " if dry_run else ""
    years = plan_fiscal_years(plan)
    verb = "new plan edition" if summary.edition_added else "revises plan edition"
    click.echo(f"{prefix}{verb} {summary.edition}: FY{years[0]}–FY{years[-1]}")
    if dry_run:
        for change in summary.changes:
            click.echo(f"  {change}")
        if not summary.edition_added and not summary.changes:
            click.echo("  (no changes)")
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


def _sections_beside(path: Path) -> list[dict]:
    """The section→department table in sections.yaml beside PATH, or none: another city's plan must not get the
    bundled city's sections, so without that file only the sections its initiatives name are added."""
    beside = path.with_name(SECTIONS_YAML.name)
    if not beside.is_file():
        return []
    return parse_sections_yaml(beside.read_text(encoding="utf-8"), str(beside))


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


@group.command("template")
@click.option(
    "-o",
    "--output",
    help=f"The workbook to write (default ./{plan_template.TEMPLATE_NAME}; in a directory, that name in it).",
)
@click.option(
    "--years",
    help="The plan's fiscal years: 2027-2030, R9-R12 or 2027,2028 (default: the next fiscal year and the three "
    "after it).",
)
@click.option("--title", help="The plan's name, written into the template's 記入方法 sheet.")
@click.option("--force", is_flag=True, help="Overwrite a file that already exists.")
@pass_runtime
def template(runtime: Runtime, output: str | None, years: str | None, title: str | None, force: bool) -> None:
    """Write an empty Excel plan template for a planner to fill in; read it back with `dxbot plan import`.

    Sheets 記入方法 (how to fill it in), 施策, 取組み, 行動計画 and KPI, with dropdowns where the values are a
    fixed list (年度, 種類, 良い方向). No database is needed.
    """
    now = runtime.clock.now()
    try:
        chosen = plan_template.parse_years(years) if years else plan_template.default_years(now)
    except ValueError as exc:
        raise CliError(f"--years: {exc}") from exc
    path = xlsx_path(output, plan_template.TEMPLATE_NAME)
    refuse_overwrite([path], force)
    _write_workbook(path, years=chosen, made_at=now, title=title)
    click.echo(f"wrote {path}: an empty plan template for FY{chosen[0]}–FY{chosen[-1]}")


@group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "xlsx"]),
    default="yaml",
    show_default=True,
    help="The plan YAML, or the Excel plan template filled with the plan.",
)
@click.option(
    "-o",
    "--output",
    help=f"yaml: the file (default: standard output); xlsx: the workbook (default ./{plan_template.EXPORT_NAME}).",
)
@click.option("--title", help="The plan's name to write into the file (default: the edition's title).")
@click.option(
    "--edition", "edition_id", type=int, help="The plan edition (default: the current fiscal year's)."
)
@click.option("--force", is_flag=True, help="Overwrite a file that already exists.")
@pass_runtime
def export(
    runtime: Runtime, fmt: str, output: str | None, title: str | None, edition_id: int | None, force: bool
) -> None:
    """Write the loaded plan as YAML or as the Excel plan template; importing it again changes nothing.

    Edit the file and load it with `dxbot plan import` (the yearly revision, 毎年度見直し): the workbook's
    hidden columns keep what a planner does not see (series ids, the plan's wording, notes, periods,
    departments), so only what was edited changes.
    """
    now = runtime.clock.now()
    with runtime.read() as session:
        document = plan_document(session, title=title, edition=_edition(session, runtime, edition_id))
    if not document["measures"]:
        raise CliError("no plan is loaded; run `dxbot db init` or `dxbot plan import` first")
    counts = _counts(document)
    if fmt == "yaml":
        text = dump_plan(document, header=EXPORT_HEADER.format(made=now.strftime("%Y-%m-%d %H:%M")))
        if output is None:
            click.echo(text, nl=False)
            return
        path = Path(output)
        refuse_overwrite([path], force)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
    else:
        path = xlsx_path(output, plan_template.EXPORT_NAME)
        refuse_overwrite([path], force)
        years = document["fiscal_years"] or plan_template.default_years(now)
        _write_workbook(path, years=years, made_at=now, plan=document, title=title)
    click.echo(f"wrote {path}: {counts}")


EXPORT_HEADER = """\
# The plan as loaded, written by `dxbot plan export` at {made}.
# Edit deliberately (e.g. the yearly KPI revision, 毎年度見直し) and load with `dxbot plan import FILE`.
# Format and schema: docs/plan-format.md, data/plan/plan.schema.json.
# kind: level | increase (5%増) | reduction (削減);  better: higher | lower;  period: year | month | null
"""


def _counts(document: dict) -> str:
    initiatives = [i for m in document["measures"] for i in m["initiatives"]]
    years = [y for i in initiatives for y in i["years"]]
    return (
        f"{len(document['measures'])} measures, {len(initiatives)} initiatives, "
        f"{sum(len(y['actions']) for y in years)} action items, {sum(len(y['kpis']) for y in years)} KPI targets"
    )


def _write_workbook(path: Path, **content) -> None:
    from models.plan_workbook import write_plan_workbook

    try:
        write_plan_workbook(path, **content)
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc


@group.command("show")
@click.option("--fiscal-year", "fiscal_year", help="2026, 令和8年度 or R8.")
@click.option("--section", help="Only the initiatives this section is responsible for.")
@click.option(
    "--edition", "edition_id", type=int, help="The plan edition (default: that of the fiscal year)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_runtime
def show(
    runtime: Runtime, fiscal_year: str | None, section: str | None, edition_id: int | None, as_json: bool
) -> None:
    """Show the plan as a readable outline, or as JSON: the edition of --fiscal-year, else the current one."""
    year = fiscal_year_option(fiscal_year)
    with runtime.read() as session:
        chosen = section_option(session, section)
        edition = _edition(session, runtime, edition_id, year)
        data = plan_as_dict(session, fiscal_year=year, section=chosen, edition=edition, tz=runtime.clock.tz)
    if as_json:
        echo_json(data)
        return
    for line in outline(data):
        click.echo(line)


@group.command("editions")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_runtime
def list_editions(runtime: Runtime, as_json: bool) -> None:
    """List the plan editions: id, fiscal years, title, source file, imported at; * marks the current one."""
    with runtime.read() as session:
        known = [edition_as_dict(e) for e in editions(session)]
        current = current_edition(session, runtime.clock.now(), runtime.clock.tz)
    if as_json:
        echo_json({"editions": known, "current": current.id if current else None})
        return
    if not known:
        click.echo("(no plan is loaded)")
    for e in known:
        mark = "*" if current is not None and e["id"] == current.id else " "
        first, last = e["fiscal_years"]
        click.echo(f"{mark} {e['id']}  FY{first}–FY{last}  {e['title']}  ({e['source']}, {e['imported_at']})")


def _edition(session, runtime: Runtime, edition_id: int | None, fiscal_year: int | None = None):
    """The edition asked for by --edition, else that of FISCAL_YEAR, else the current one (by the clock)."""
    if edition_id is not None:
        found = session.get(PlanEdition, edition_id)
        if found is None:
            raise CliError(f"there is no plan edition {edition_id} (see `dxbot plan editions`)")
        return found
    if fiscal_year is not None:
        return edition_of_year(session, fiscal_year)
    return current_edition(session, runtime.clock.now(), runtime.clock.tz)


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
