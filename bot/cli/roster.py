"""`dxbot member import`: the personnel system's roster (人事異動) → moves, invite codes, the people it no longer lists."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from bot.cli.common import CliError, Runtime, pass_runtime
from bot.cli.invites import parse_duration
from models.roster import RosterError, decode, import_roster, parse_roster

HANDOUT_COLUMNS = ("職員番号", "氏名", "所属", "役割", "招待コード", "有効期限")


def write_handout(path: Path, invites: list[dict]) -> None:
    """The codes to hand out, as CSV (UTF-8 with BOM, so Excel reads it) or .xlsx."""
    rows = [
        [i["staff_number"], i["name"], i["section"], i["role"], i["code"], i["expires_at"][:10]]
        for i in invites
    ]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "招待コード"
        sheet.append(list(HANDOUT_COLUMNS))
        for row in rows:
            sheet.append(row)
        book.save(path)
        return
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HANDOUT_COLUMNS)
        writer.writerows(rows)


@click.command("import")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(["cp932", "utf-8"]),
    help="The file's encoding (default: UTF-8 if it reads as such, else cp932/Shift_JIS).",
)
@click.option("--dry-run", is_flag=True, help="Print the whole diff; change nothing.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new people's invite codes to this .csv or .xlsx, to hand out.",
)
@click.option(
    "--deactivate-missing", is_flag=True, help="Deactivate members with a 職員番号 the roster lacks."
)
@click.option(
    "--expires", default="14d", show_default=True, help="How long the new invite codes stay valid (14d, 48h)."
)
@pass_runtime
def import_members(runtime: Runtime, roster, encoding, dry_run, output, deactivate_missing, expires) -> None:
    """人事異動: read ROSTER (CSV: 職員番号, 氏名, 所属, 役割, optional 異動日); nothing is written if a row is wrong."""
    valid_for = parse_duration(expires)
    with runtime.write(dry_run=dry_run) as session:
        try:
            text = decode(roster.read_bytes(), encoding)
            rows = parse_roster(session, text, runtime.clock.tz)
            diff = import_roster(
                session,
                rows,
                now=runtime.clock.now(),
                valid_for=valid_for,
                deactivate_missing=deactivate_missing,
            )
        except RosterError as exc:  # the transaction is rolled back: nothing of the roster is written
            raise CliError(f"{roster.name}: nothing imported\n" + "\n".join(exc.problems)) from exc
        if dry_run:
            for invite in diff.invites:
                invite["code"] = None
    for line in diff.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was changed")
    elif output is not None and diff.invites:
        write_handout(output, diff.invites)
        click.echo(f"wrote {len(diff.invites)} invite codes to {output}")
