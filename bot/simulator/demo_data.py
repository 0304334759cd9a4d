"""The demo data set: a handful of members across sections, with fixed LINE-shaped ids so re-adding is safe."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.members import add_member, current_sections, get_member
from models.sections import UnknownSectionError, find_section
from models.tables import InitiativeSection, Member, Section


@dataclass(frozen=True)
class DemoMember:
    """One person of the demo: who, which sections, which role."""

    line_user_id: str
    name: str
    sections: tuple[str, ...]
    role: str


def demo_id(number: int) -> str:
    """A fixed id that passes LINE's shape (U + 32 hex digits) and reads as a demo id: Udddd…0001."""
    return f"U{'d' * 28}{number:04d}"


def lineworks_demo_id(line_id: str) -> str:
    """The demo member's id on LINE WORKS, UUID-shaped as LINE WORKS' user ids: dddddddd-dddd-4ddd-8ddd-dddddddd0001."""
    return f"dddddddd-dddd-4ddd-8ddd-dddddddd{line_id[-4:]}"


DEMO_MEMBERS: tuple[DemoMember, ...] = (
    DemoMember(demo_id(1), "山田 太郎", ("国保医療課",), "staff"),
    DemoMember(demo_id(2), "佐藤 花子", ("職員課",), "staff"),
    DemoMember(demo_id(3), "鈴木 一郎", ("国保医療課", "職員課"), "manager"),
    DemoMember(demo_id(4), "高橋 美咲", ("デジタル情報課",), "admin"),
)


def demo_sections(session: Session) -> dict[str, Section]:
    """The section each demo section name stands for: itself in the bundled plan; for another city's plan, whose
    sections differ, the sections its initiatives name first (one each while they last)."""
    wanted = list(dict.fromkeys(name for demo in DEMO_MEMBERS for name in demo.sections))
    found: dict[str, Section] = {}
    for name in wanted:
        with contextlib.suppress(UnknownSectionError):
            found[name] = find_section(session, name)
    missing = [name for name in wanted if name not in found]
    if missing:
        taken = {s.id for s in found.values()}
        linked = session.exec(
            select(Section).join(InitiativeSection).order_by(col(InitiativeSection.id))
        ).all()
        spare = list({s.id: s for s in linked if s.id not in taken}.values()) or list(found.values())
        if not spare:
            raise UnknownSectionError(
                f"no section for the demo members ({'、'.join(missing)}): load a plan first"
            )
        found |= {name: spare[i % len(spare)] for i, name in enumerate(missing)}
    return found


def ensure_demo_members(
    session: Session, now: datetime, transport: str = "line"
) -> list[tuple[Member, bool]]:
    """Add the demo members that are missing (existing ones are left as they are); (member, added) each.

    On TRANSPORT: LINE (their U… ids), or LINE WORKS for a bot that speaks only LINE WORKS (lineworks_demo_id).
    """
    out = []
    stand_ins = demo_sections(session)
    for demo in DEMO_MEMBERS:
        user_id = demo.line_user_id if transport == "line" else lineworks_demo_id(demo.line_user_id)
        member = get_member(session, user_id, transport)
        if member is not None:
            out.append((member, False))
            continue
        sections = list({stand_ins[name].id: stand_ins[name] for name in demo.sections}.values())
        member, _created = add_member(
            session,
            line_user_id=user_id,
            name=demo.name,
            sections=sections,
            role=demo.role,
            now=now,
            transport=transport,
        )
        out.append((member, True))
    session.flush()
    return out


def describe(session: Session, member: Member) -> tuple[str, str, str, str]:
    """(id, name, role, sections) for printing."""
    sections = "、".join(s.name for s in current_sections(session, member))
    return member.line_user_id, member.display_name, member.role, sections
