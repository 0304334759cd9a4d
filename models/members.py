"""Members: who the bot talks to, their role and sections (with the history of 人事異動)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, update
from sqlmodel import Session, col, select

from models.plan_format import closest
from models.rows import row_id
from models.tables import ROLES, DashboardSession, Member, MemberSection, Section, StaffNumber
from models.types import utcnow

LINE_USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
MAX_USER_ID = 64  # Member.line_user_id's column width (a LINE WORKS id: a UUID-like or e-mail-like string)
# A LINE WORKS user id: what callbacks carry (`source.userId`, a UUID in LINE WORKS' examples, e.g.
# c72af563-0f21-4736-11e4-045237113344) or a login id (`name@domain`, which the send API also takes).
LINEWORKS_USER_ID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]*(@[0-9A-Za-z][0-9A-Za-z.-]*)?$")
TRANSPORTS = ("line", "lineworks")
PLATFORM_NAMES = {"line": "LINE", "lineworks": "LINE WORKS"}


# How a job names a recipient on LINE WORKS in the outbox's recipient lists: `lineworks:{id}` (a room:
# `lineworks:channel:{id}`). A LINE id (U…, C…, R…) never holds a colon, so a bare id is LINE's, as ever.
LINEWORKS_ADDRESS = "lineworks:"


def address_of(member: Member) -> str:
    """Where jobs send to MEMBER: their LINE id as it is, or `lineworks:{id}` for a LINE WORKS member."""
    if member.transport == "lineworks":
        return LINEWORKS_ADDRESS + member.line_user_id
    return member.line_user_id


def split_address(address: str) -> tuple[str, str]:
    """(transport, chat id) of a recipient address made by address_of (a bare id is LINE's)."""
    if address.startswith(LINEWORKS_ADDRESS):
        return "lineworks", address[len(LINEWORKS_ADDRESS) :]
    return "line", address


class MemberError(ValueError):
    """A member command that cannot be carried out; the message says why."""


class MemberExistsError(MemberError):
    """The LINE user id is already registered."""


def check_role(role: str) -> str:
    """Return ROLE if valid, else raise naming the closest valid role."""
    if role not in ROLES:
        raise MemberError(f"unknown role {role!r}{closest(role, ROLES)}; choose one of: {', '.join(ROLES)}")
    return role


def check_line_user_id(user_id: str) -> str:
    """LINE user ids are 'U' and 32 hex digits; catch typos before they become silent pushes to nobody."""
    if not LINE_USER_ID_RE.match(user_id):
        raise MemberError(
            f"{user_id!r} is not a LINE user id (U followed by 32 hex digits, e.g. U4af4980629…)"
        )
    return user_id


def check_lineworks_user_id(user_id: str) -> str:
    """A LINE WORKS user id: a UUID-like id or a login id `name@domain`, at most MAX_USER_ID characters.

    The ids are opaque (no checksum, no fixed length), so only what cannot be one is refused: spaces, a
    room (`channel:…`), a LINE user id given without meaning LINE WORKS, a second `@`."""
    if LINE_USER_ID_RE.match(user_id):
        raise MemberError(
            f"{user_id!r} is a LINE user id, not a LINE WORKS one; for a LINE member leave out --transport"
        )
    if not user_id or len(user_id) > MAX_USER_ID or not LINEWORKS_USER_ID_RE.match(user_id):
        raise MemberError(
            f"{user_id!r} is not a LINE WORKS user id (its user ID as callbacks carry it, e.g. "
            f"c72af563-0f21-4736-11e4-045237113344, or a login id name@domain; at most {MAX_USER_ID} characters)"
        )
    return user_id


def check_user_id(user_id: str, transport: str) -> str:
    """USER_ID as an admin typed it, checked against TRANSPORT's id shape (LINE: U + 32 hex digits; LINE WORKS:
    see above). Registration takes the id LINE WORKS itself sends and checks only its length (add_member)."""
    if transport == "line":
        return check_line_user_id(user_id)
    if transport == "lineworks":
        return check_lineworks_user_id(user_id)
    raise MemberError(f"unknown transport {transport!r}; choose one of: {', '.join(TRANSPORTS)}")


def platform_name(transport: str) -> str:
    """How operators read TRANSPORT: LINE, LINE WORKS."""
    return PLATFORM_NAMES.get(transport, transport)


def staff_member(session: Session, number: str) -> Member | None:
    """The member with 職員番号 NUMBER, or None."""
    found = session.exec(select(StaffNumber).where(StaffNumber.number == number)).first()
    return session.get(Member, found.member_id) if found else None


def set_staff_number(session: Session, member: Member, number: str) -> None:
    """Give MEMBER the 職員番号 NUMBER (replacing theirs, if they had one); a number is one person's."""
    number = number.strip()
    holder = staff_member(session, number)
    if holder is not None and holder.id != member.id:
        raise MemberError(f"職員番号 {number} already belongs to {holder.display_name} (member {holder.id})")
    row = session.get(StaffNumber, member.id)
    if row is None:
        session.add(StaffNumber(member_id=row_id(member), number=number))
    else:
        row.number = number
    session.flush()


def get_member(session: Session, line_user_id: str, transport: str = "line") -> Member | None:
    """The member with that user id on TRANSPORT (LINE unless said: the same id on LINE WORKS is someone else)."""
    return session.exec(
        select(Member).where(Member.line_user_id == line_user_id, col(Member.transport) == transport)
    ).first()


def require_member(session: Session, line_user_id: str, transport: str | None = None) -> Member:
    """The member with that user id on TRANSPORT, or on either platform when TRANSPORT is None; a MemberError
    when there is none, or when a LINE and a LINE WORKS member share the id (which one is not guessed)."""
    if transport is not None and transport not in TRANSPORTS:
        raise MemberError(f"unknown transport {transport!r}; choose one of: {', '.join(TRANSPORTS)}")
    wanted = (transport,) if transport else TRANSPORTS
    found = [m for m in (get_member(session, line_user_id, t) for t in wanted) if m is not None]
    if len(found) > 1:
        raise MemberError(
            f"{line_user_id!r} is two members, one on LINE ({found[0].display_name}, member {found[0].id}) and "
            f"one on LINE WORKS ({found[1].display_name}, member {found[1].id}): say which with "
            "--transport line or --transport lineworks (or give the member id)"
        )
    if not found:
        query = (
            select(Member) if transport is None else select(Member).where(col(Member.transport) == transport)
        )
        known = [m.line_user_id for m in session.exec(query).all()]
        where = "LINE" if transport in (None, "line") else platform_name(transport)
        raise MemberError(f"no member with {where} user id {line_user_id!r}{closest(line_user_id, known)}")
    return found[0]


def assigned_at(moment: datetime) -> ColumnElement[bool]:
    """An assignment in force at MOMENT: begun (a future 異動日 has not) and not yet ended."""
    return and_(
        col(MemberSection.since) <= moment,
        or_(col(MemberSection.until).is_(None), col(MemberSection.until) > moment),
    )


def current_sections(session: Session, member: Member, now: datetime | None = None) -> list[Section]:
    """The sections MEMBER belongs to at NOW (default: the real time)."""
    rows = session.exec(
        select(Section)
        .join(MemberSection, col(MemberSection.section_id) == Section.id)
        .where(MemberSection.member_id == member.id, assigned_at(now or utcnow()))
        .order_by(col(MemberSection.id))
    ).all()
    return list(rows)


def add_member(
    session: Session,
    *,
    line_user_id: str,
    name: str,
    sections: list[Section],
    role: str,
    now: datetime,
    update: bool = False,
    locale: str | None = None,
    transport: str = "line",
) -> tuple[Member, bool]:
    """Register a member (or, with update, change an existing one) on TRANSPORT; True when newly created."""
    if transport == "line":
        check_line_user_id(line_user_id)
    elif not line_user_id.strip() or len(line_user_id) > MAX_USER_ID:  # the platform's own id (registration)
        raise MemberError(f"a {platform_name(transport)} user id is 1 to {MAX_USER_ID} characters")
    check_role(role)
    if not name.strip():
        raise MemberError("a member needs a display name (--name)")
    if not sections:
        raise MemberError("a member needs at least one section (--section)")
    member = get_member(session, line_user_id, transport)
    created = member is None
    if member is not None and not update:
        raise MemberExistsError(
            f"{line_user_id} is already registered as {member.display_name}; add --update to change it"
        )
    if member is None:
        member = Member(
            line_user_id=line_user_id,
            transport=transport,
            display_name=name.strip(),
            role=role,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        session.flush()
    else:
        if member.role != role:
            end_dashboard_sessions(session, member)
        member.display_name, member.role, member.updated_at = name.strip(), role, now
        member.active, member.inactive_reason = True, None
    if locale:
        member.locale = locale
    _set_sections(session, member, sections, now)
    return member, created


def move_member(
    session: Session,
    *,
    line_user_id: str,
    sections: list[Section],
    now: datetime,
    transport: str | None = None,
) -> Member:
    """人事異動: end the member's current sections and start the new ones; history stays."""
    member = require_member(session, line_user_id, transport)
    if not sections:
        raise MemberError("name the new section with --section")
    _set_sections(session, member, sections, now)
    member.updated_at = now
    return member


def schedule_move(session: Session, member: Member, sections: list[Section], *, effective: datetime) -> None:
    """人事異動 on EFFECTIVE (past, now or a future 異動日): the current-section queries switch that day by themselves."""
    _set_sections(session, member, sections, effective)


def deactivate_member(
    session: Session, *, line_user_id: str, now: datetime, transport: str | None = None
) -> Member:
    """Stop talking to a member; their reports and history stay."""
    member = require_member(session, line_user_id, transport)
    member.active = False
    member.inactive_reason = "removed"
    member.updated_at = now
    end_dashboard_sessions(session, member)
    return member


def end_dashboard_sessions(session: Session, member: Member) -> int:
    """Revoke MEMBER's dashboard logins (removed, or a new role); real time, as DXBOT_NOW may freeze the clock."""
    return session.exec(
        update(DashboardSession)
        .where(col(DashboardSession.member_id) == member.id, col(DashboardSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def _set_sections(session: Session, member: Member, sections: list[Section], now: datetime) -> None:
    """Assign MEMBER to SECTIONS from NOW on: assignments scheduled after NOW are superseded (dropped)."""
    wanted = {s.id for s in sections}
    session.execute(
        delete(MemberSection)
        .where(col(MemberSection.member_id) == member.id, col(MemberSection.since) > now)
        .execution_options(synchronize_session="fetch")
    )
    current = session.exec(
        select(MemberSection).where(MemberSection.member_id == member.id, assigned_at(now))
    ).all()
    for link in current:
        if link.section_id not in wanted:
            link.until = now
        else:
            link.until = None  # a later move-out that was scheduled is superseded too
    have = {link.section_id for link in current}
    for section in sections:
        if section.id not in have:
            session.add(MemberSection(member_id=row_id(member), section_id=row_id(section), since=now))
    session.flush()


def member_as_dict(session: Session, member: Member, now: datetime | None = None) -> dict:
    """A member as plain data (for `dxbot member list --json`)."""
    return {
        "id": member.id,
        "line_user_id": member.line_user_id,
        "transport": member.transport,
        "name": member.display_name,
        "role": member.role,
        "sections": [s.name for s in current_sections(session, member, now)],
        "staff_number": staff_number_of(session, member),
        "locale": member.locale,
        "active": member.active,
        "created_at": member.created_at.isoformat(),
    }


def staff_number_of(session: Session, member: Member) -> str | None:
    """MEMBER's 職員番号, if a roster gave them one."""
    row = session.get(StaffNumber, member.id)
    return row.number if row else None
