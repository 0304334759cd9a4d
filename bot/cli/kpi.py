"""`dxbot kpi list|void|correct`: the KPI reports on record; an admin voids or corrects anyone's, audited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import click

from bot.cli.common import (
    CliError,
    Runtime,
    echo_json,
    fiscal_year_option,
    local_iso,
    local_time,
    pass_runtime,
    section_option,
)
from messages.formatting import format_value
from models.members import MemberError
from models.purge import find_member
from models.reports import correct_report, reports_listing, void_report
from models.tables import KpiReport, KpiTarget, Member


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


def _valid_report(session, report_id: int) -> KpiReport:
    report = session.get(KpiReport, report_id) if 0 < report_id < 2**31 else None
    if report is None:
        raise CliError(f"no report {report_id}; `dxbot kpi list` shows the ids")
    if report.voided_at is not None:
        raise CliError(f"report {report_id} is already voided")
    return report


def _operator(session, reference: str | None) -> Member | None:
    try:
        return find_member(session, reference) if reference else None
    except MemberError as error:
        raise CliError(str(error)) from None


def _who(reason: str, by: Member | None) -> str:
    """The reason as kept: with (dxbot) when no member is named, so the audit shows where it came from."""
    return reason if by is not None else f"{reason} (dxbot)"


BY_HELP = "The admin doing it (member id or LINE user id), kept in the audit trail."


@group.command("void")
@click.argument("report_id", type=int)
@click.option("--reason", required=True, help="Why, kept with the report.")
@click.option("--by", "by", help=BY_HELP)
@pass_runtime
def void(runtime: Runtime, report_id: int, reason: str, by: str | None) -> None:
    """Void anyone's report (kept, marked voided, with who, when and why)."""
    with runtime.write() as session:
        report = _valid_report(session, report_id)
        member = _operator(session, by)
        void_report(session, report, by=member, now=runtime.clock.now(), reason=_who(reason, member))
        target = session.get(KpiTarget, report.kpi_target_id)
        click.echo(f"voided report {report_id}: {target.name} {format_value(report.value, target.unit)}")


@group.command("correct")
@click.argument("report_id", type=int)
@click.argument("value")
@click.option("--reason", required=True, help="Why, kept with both reports.")
@click.option("--by", "by", help=BY_HELP)
@pass_runtime
def correct(runtime: Runtime, report_id: int, value: str, reason: str, by: str | None) -> None:
    """Void anyone's report and record VALUE in its place (same KPI and section), audited."""
    try:
        figure = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise CliError(f"{value!r} is not a number") from None
    if not figure.is_finite():
        raise CliError(f"{value!r} is not a number")
    with runtime.write() as session:
        report = _valid_report(session, report_id)
        member = _operator(session, by)
        why = _who(reason, member)
        words = f"dxbot kpi correct {report_id} {value} --reason {reason}"
        new = correct_report(
            session, report, value=figure, by=member, now=runtime.clock.now(), reason=why, source_text=words
        )
        target = session.get(KpiTarget, report.kpi_target_id)
        click.echo(
            f"report {report_id} voided; report {new.id} recorded: {target.name} "
            f"{format_value(report.value, target.unit)} → {format_value(figure, target.unit)}"
        )
