"""`dxbot member`: register staff, managers and admins, move them between sections, deactivate or purge them."""

from __future__ import annotations

import click
from sqlmodel import col, select

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from bot.cli.roster import import_members
from models.members import (
    TRANSPORTS,
    MemberError,
    add_member,
    check_user_id,
    current_sections,
    deactivate_member,
    member_as_dict,
    move_member,
    platform_name,
    set_staff_number,
)
from models.purge import PLACEHOLDER_NAME, PURGED, find_member, purge_member
from models.sections import UnknownSectionError, find_section
from models.tables import Member


@click.group("member")
def group() -> None:
    """People the bot talks to."""


def _sections(session, names: tuple[str, ...]):
    try:
        return [find_section(session, name) for name in names]
    except UnknownSectionError as exc:
        raise CliError(str(exc)) from exc


group.add_command(import_members, "import")

TRANSPORT_HELP = "The platform the id is on: line or lineworks (LINE WORKS)."
WHICH_HELP = "line or lineworks: needed only when a LINE and a LINE WORKS member share the id."


def transport_option(help_text: str, default: str | None = None):
    return click.option(
        "--transport",
        type=click.Choice(TRANSPORTS),
        default=default,
        show_default=bool(default),
        help=help_text,
    )


def _on(transport: str) -> str:
    """' on LINE WORKS' after what was done to a LINE WORKS member; nothing for LINE (its texts stay as they were)."""
    return "" if transport == "line" else f" on {platform_name(transport)}"


@group.command("add")
@click.argument("line_user_id")
@click.option("--name", required=True, help="Display name, e.g. 山田 太郎.")
@click.option("--section", "sections", multiple=True, required=True, help="Section; repeat for several.")
@click.option("--role", required=True, help="staff, manager or admin.")
@click.option("--locale", help="ja (default) or en.")
@click.option("--update", is_flag=True, help="Change the member if the id is already registered.")
@click.option("--staff-number", help="Their 職員番号 (what `dxbot member import` matches rosters by).")
@transport_option(TRANSPORT_HELP, default="line")
@pass_runtime
def add(runtime, line_user_id, name, sections, role, locale, update, staff_number, transport) -> None:
    """Register a member by LINE user id (or LINE WORKS user id, with --transport lineworks)."""
    with runtime.write() as session:
        chosen = _sections(session, sections)
        try:
            check_user_id(line_user_id.strip(), transport)
            member, created = add_member(
                session,
                line_user_id=line_user_id.strip(),
                name=name,
                sections=chosen,
                role=role.strip(),
                now=runtime.clock.now(),
                update=update,
                locale=locale,
                transport=transport,
            )
            if staff_number:
                set_staff_number(session, member, staff_number)
        except MemberError as exc:
            raise CliError(str(exc)) from exc
        names = "、".join(s.name for s in current_sections(session, member, runtime.clock.now()))
    click.echo(
        f"{'added' if created else 'updated'} {member.display_name} ({member.role}, {names}){_on(transport)}"
    )
    if transport == "lineworks" and "@" in member.line_user_id:
        click.echo(
            "note: a login id reaches them, but LINE WORKS names people in callbacks by their user ID "
            "(c72af563-…): their own messages will not be recognised as this member's. Prefer the user ID, "
            "or let them register with an invite code (`dxbot invite create`)."
        )


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated members.")
@transport_option("Only the members on this platform (line or lineworks).")
@pass_runtime
def list_members(runtime: Runtime, as_json: bool, include_inactive: bool, transport: str | None) -> None:
    """List members with their role and sections (LINE WORKS members marked as such)."""
    with runtime.read() as session:
        query = select(Member).order_by(col(Member.id))
        if transport:
            query = query.where(col(Member.transport) == transport)
        if not include_inactive and not as_json:
            query = query.where(col(Member.active).is_(True))
        rows = [member_as_dict(session, m, runtime.clock.now()) for m in session.exec(query).all()]
    if as_json:
        echo_json({"members": rows})
        return
    if not rows:
        click.echo("no members yet; add one with `dxbot member add`")
    for row in rows:
        state = "" if row["active"] else "  (inactive)"
        if row["transport"] != "line":
            state += f"  ({platform_name(row['transport'])})"
        click.echo(
            f"{row['line_user_id']}\t{row['name']}\t{row['role']}\t{'、'.join(row['sections'])}{state}"
        )


@group.command("move")
@click.argument("line_user_id")
@click.option(
    "--section", "sections", multiple=True, required=True, help="The new section; repeat for several."
)
@transport_option(WHICH_HELP)
@pass_runtime
def move(runtime: Runtime, line_user_id: str, sections: tuple[str, ...], transport: str | None) -> None:
    """人事異動: move a member to new sections; earlier assignments and reports stay on record."""
    with runtime.write() as session:
        chosen = _sections(session, sections)
        try:
            member = move_member(
                session,
                line_user_id=line_user_id.strip(),
                sections=chosen,
                now=runtime.clock.now(),
                transport=transport,
            )
        except MemberError as exc:
            raise CliError(str(exc)) from exc
    click.echo(f"moved {member.display_name} to {'、'.join(s.name for s in chosen)}")


@group.command("remove")
@click.argument("line_user_id")
@transport_option(WHICH_HELP)
@pass_runtime
def remove(runtime: Runtime, line_user_id: str, transport: str | None) -> None:
    """Deactivate a member (the bot stops writing to them); their reports stay."""
    with runtime.write() as session:
        try:
            member = deactivate_member(
                session, line_user_id=line_user_id.strip(), now=runtime.clock.now(), transport=transport
            )
        except MemberError as exc:
            raise CliError(str(exc)) from exc
    click.echo(
        f"deactivated {member.display_name}; their reports are kept "
        f"(to erase their LINE id, name and messages for good: dxbot member purge {member.id})"
    )


@group.command("purge")
@click.argument("member_ref", metavar="ID|LINE_ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@transport_option(WHICH_HELP)
@pass_runtime
def purge(runtime: Runtime, member_ref: str, yes: bool, transport: str | None) -> None:
    """Erase a member's LINE id, name and stored messages for good; their reports stay, as 退職者N."""
    with runtime.write() as session:
        try:
            member = find_member(session, member_ref, transport)
            if member.inactive_reason == PURGED:
                raise MemberError(f"member {member.id} was already purged ({member.display_name})")
        except MemberError as exc:
            raise CliError(str(exc)) from exc
        if not yes:
            click.echo(
                f"This erases {member.display_name} (member {member.id}): their LINE id, name, stored webhook "
                "bodies, transcripts and outbox entries, for good. Their reports and status changes stay, "
                f"attributed to {PLACEHOLDER_NAME.format(number='N')}."
            )
            if not click.confirm("Purge?", default=False):
                session.rollback()
                click.echo("nothing purged")
                click.get_current_context().exit(1)
        summary = purge_member(session, member, now=runtime.clock.now())
    rewritten = sum(summary.rows_rewritten.values())
    click.echo(
        f"purged member {summary.member_id}: now {summary.placeholder}; "
        f"{summary.inbox_bodies} webhook bodies cleared, "
        f"{summary.outbox_rows_changed + summary.outbox_rows_dropped} outbox rows "
        f"({summary.outbox_rows_dropped} dropped), "
        f"{summary.transcript_entries_changed + summary.transcript_entries_dropped} transcript entries "
        f"({summary.transcript_entries_dropped} dropped), {rewritten} other rows rewritten; "
        f"kept {summary.reports_kept} reports and {summary.status_changes_kept} status changes"
    )
    if not summary.name_searched:
        click.echo("note: the name is too short to look for in texts; only the member row was changed")
