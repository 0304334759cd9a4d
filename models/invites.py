"""Invite codes: how people (and group chats) join a section with a role, once, before the code expires."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.members import add_member, check_role, current_sections, get_member, set_staff_number
from models.rows import known, row_id
from models.tables import ROLES, GroupBinding, InviteCode, Member, Section

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I/O: people read codes aloud and type them on phones
DIGITS = "23456789"
CODE_RE = re.compile(r"\b([A-Z]{4})-?(\d{4})\b")


class InviteError(ValueError):
    """A code that cannot be used (unknown, used, expired)."""


def new_code() -> str:
    """A fresh code like KPTR-4827."""
    return (
        "".join(secrets.choice(ALPHABET) for _ in range(4))
        + "-"
        + "".join(secrets.choice(DIGITS) for _ in range(4))
    )


def find_code_in(text: str) -> str | None:
    """The invite code in a message (「登録 ABCD-1234」, 「abcd1234」, full-width too), normalised, or None."""
    normal = unicodedata.normalize("NFKC", text).upper()
    match = CODE_RE.search(normal)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def create_invite(
    session: Session,
    *,
    section: Section,
    role: str,
    now: datetime,
    valid_for: timedelta,
    created_by: str | None = None,
) -> InviteCode:
    """Make a single-use code for SECTION and ROLE, valid for VALID_FOR."""
    check_role(role)
    while True:
        code = new_code()
        if session.exec(select(InviteCode).where(InviteCode.code == code)).first() is None:
            break
    invite = InviteCode(
        code=code,
        section_id=row_id(section),
        role=role,
        created_at=now,
        expires_at=now + valid_for,
        created_by=created_by,
    )
    session.add(invite)
    session.flush()
    return invite


def usable_invite(session: Session, code: str, now: datetime) -> InviteCode:
    """The invite for CODE if it can still be used, else InviteError."""
    invite = session.exec(select(InviteCode).where(InviteCode.code == code)).first()
    if invite is None:
        raise InviteError("unknown code")
    if invite.used_at is not None:
        raise InviteError("code already used")
    if invite.expires_at <= now:
        raise InviteError("code expired")
    return invite


def redeem_for_member(
    session: Session,
    code: str,
    *,
    line_user_id: str,
    display_name: str,
    now: datetime,
    transport: str = "line",
) -> tuple[Member, Section]:
    """Register LINE_USER_ID (on TRANSPORT, the platform the code came through) with the code's section and
    role (adding the section if already a member)."""
    invite = usable_invite(session, code, now)
    section = known(session.get(Section, invite.section_id), "the invite's section")
    existing = get_member(session, line_user_id, transport)
    if existing is not None:
        sections = [*current_sections(session, existing, now), section]
        member, _ = add_member(
            session,
            line_user_id=line_user_id,
            name=existing.display_name,
            sections=list({s.id: s for s in sections}.values()),
            role=max(existing.role, invite.role, key=ROLES.index),  # a code never demotes anyone
            now=now,
            update=True,
            transport=transport,
        )
    else:
        member, _ = add_member(
            session,
            line_user_id=line_user_id,
            name=invite.display_name or display_name,  # a roster's name is the one the city uses
            sections=[section],
            role=invite.role,
            now=now,
            transport=transport,
        )
    if invite.staff_number:
        set_staff_number(session, member, invite.staff_number)
    invite.used_at = now
    invite.used_by_member_id = member.id
    session.add(invite)
    session.flush()
    return member, section


def redeem_for_group(
    session: Session, code: str, *, group_id: str, now: datetime, transport: str = "line"
) -> Section:
    """Bind a group chat (on TRANSPORT) to the code's section (the code is used up)."""
    invite = usable_invite(session, code, now)
    binding = session.exec(
        select(GroupBinding).where(
            GroupBinding.group_id == group_id, col(GroupBinding.transport) == transport
        )
    ).first()
    if binding is None:
        binding = GroupBinding(
            group_id=group_id, section_id=invite.section_id, bound_at=now, transport=transport
        )
    else:
        binding.section_id, binding.bound_at, binding.active = invite.section_id, now, True
    session.add(binding)
    invite.used_at = now
    invite.used_for_group_id = group_id
    session.add(invite)
    session.flush()
    return known(session.get(Section, invite.section_id), "the invite's section")


def group_section(session: Session, group_id: str, transport: str = "line") -> Section | None:
    """The section a group chat (on TRANSPORT) is bound to, if any."""
    binding = session.exec(
        select(GroupBinding).where(
            col(GroupBinding.group_id) == group_id,
            col(GroupBinding.transport) == transport,
            col(GroupBinding.active).is_(True),
        )
    ).first()
    return session.get(Section, binding.section_id) if binding else None
