"""`dxbot invite`: registration codes that let a person (or a group chat) join a section."""

from __future__ import annotations

import re
from datetime import timedelta

import click
from sqlmodel import col, select

from bot.cli.common import CliError, Runtime, echo_json, pass_runtime
from models.invites import create_invite
from models.members import MemberError
from models.sections import UnknownSectionError, find_section
from models.tables import InviteCode, Section

DURATION_RE = re.compile(r"^(\d+)\s*([dhm])$")


def parse_duration(text: str) -> timedelta:
    """'7d', '12h', '30m' → timedelta; a friendly error otherwise."""
    match = DURATION_RE.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise CliError(f"--expires {text!r}: write a duration like 7d, 12h or 30m")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


@click.group("invite")
def group() -> None:
    """Registration codes (単回使用, with an expiry)."""


@group.command("create")
@click.option("--section", required=True, help="The section the code joins.")
@click.option("--role", required=True, help="staff, manager or admin.")
@click.option(
    "--expires", default="7d", show_default=True, help="How long the code stays valid (7d, 12h, 30m)."
)
@click.option("--json", "as_json", is_flag=True)
@pass_runtime
def create(runtime: Runtime, section: str, role: str, expires: str, as_json: bool) -> None:
    """Create a single-use code; the person sends 「登録 CODE」 to the bot."""
    valid_for = parse_duration(expires)
    with runtime.write() as session:
        try:
            chosen = find_section(session, section)
            invite = create_invite(
                session,
                section=chosen,
                role=role.strip(),
                now=runtime.clock.now(),
                valid_for=valid_for,
                created_by="cli",
            )
        except (UnknownSectionError, MemberError) as exc:
            raise CliError(str(exc)) from exc
        data = {
            "code": invite.code,
            "section": chosen.name,
            "role": invite.role,
            "expires_at": invite.expires_at.astimezone(runtime.clock.tz).isoformat(),
        }
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{data['code']}  ({data['section']}, {data['role']}, valid until {data['expires_at']})")
        click.echo(
            f"Send this to the person: 「登録 {data['code']}」 {_to_the_bot(runtime.config.transports)}"
        )


def _to_the_bot(transports: tuple[str, ...]) -> str:
    """Where the person sends the code: the platforms the bot speaks (DXBOT_TRANSPORT)."""
    if transports == ("lineworks",):
        return "to the LINE WORKS bot."
    if "lineworks" in transports:
        return "to the bot on LINE or LINE WORKS."
    return "to the LINE bot."


@group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_runtime
def list_invites(runtime: Runtime, as_json: bool) -> None:
    """List codes with their state (open, used, expired)."""
    now = runtime.clock.now()
    with runtime.read() as session:
        rows = []
        for invite, section in session.exec(
            select(InviteCode, Section)
            .join(Section, col(Section.id) == InviteCode.section_id)
            .order_by(col(InviteCode.id).desc())
        ).all():
            state = "used" if invite.used_at else ("expired" if invite.expires_at <= now else "open")
            rows.append(
                {
                    "code": invite.code,
                    "section": section.name,
                    "role": invite.role,
                    "state": state,
                    "expires_at": invite.expires_at.astimezone(runtime.clock.tz).isoformat(),
                }
            )
    if as_json:
        echo_json({"invites": rows})
        return
    for row in rows:
        click.echo(f"{row['code']}\t{row['section']}\t{row['role']}\t{row['state']}\t{row['expires_at']}")
    if not rows:
        click.echo("no invite codes yet; create one with `dxbot invite create --section … --role staff`")
