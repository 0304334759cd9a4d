"""Sections (課・室): finding one by the name people type, and resolving the plan's group placeholders."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlmodel import Session, col, select

from models.plan_format import closest
from models.rows import known, row_id
from models.tables import Initiative, InitiativeSection, Section, SectionFormerName


class UnknownSectionError(LookupError):
    """No section answers to that name."""


def normalise_name(name: str) -> str:
    """Compare names the way people type them: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or ""))


def short_name_of(name: str) -> str | None:
    """The section part of a site name (上水道課 for 上水道課 薪浄水場), or None for a plain section."""
    parts = name.split()
    return parts[0] if len(parts) > 1 else None


def find_section(session: Session, name: str) -> Section:
    """Return the section called NAME (exactly, ignoring width and spaces, or by a site's short name)."""
    sections = session.exec(select(Section)).all()
    wanted = normalise_name(name)
    for section in sections:
        if normalise_name(section.name) == wanted:
            return section
    by_short = [s for s in sections if s.short_name and normalise_name(s.short_name) == wanted]
    if len(by_short) == 1:
        return by_short[0]
    if len(by_short) > 1:
        names = "、".join(s.name for s in by_short)
        raise UnknownSectionError(f"{name!r} could mean several sections: {names}; give the full name")
    former = session.exec(select(SectionFormerName).order_by(col(SectionFormerName.id).desc())).all()
    for row in former:  # 課の統廃合: an old name finds the section now doing that work
        if normalise_name(row.name) == wanted:
            return _successor(session, row)
    known = [s.name for s in sections] + [row.name for row in former]
    raise UnknownSectionError(f"unknown section {name!r}{closest(name, known)}")


def _successor(session: Session, row: SectionFormerName) -> Section:
    """The section a former name now means: the renamed one, or (through later merges) the one it joined."""
    section = known(session.get(Section, row.merged_into_id or row.section_id), "a former name's section")
    for _ in range(20):  # a chain of merges, never a loop
        merged = session.exec(
            select(SectionFormerName).where(
                col(SectionFormerName.section_id) == section.id,
                col(SectionFormerName.merged_into_id).is_not(None),
            )
        ).first()
        if merged is None:
            break
        section = known(session.get(Section, merged.merged_into_id), "a merge's successor")
    return section


def current_name(session: Session, name: str) -> str:
    """NAME as the section is called today: a plan file written before a 課の統廃合 still says the old name."""
    if session.exec(select(Section).where(col(Section.name) == name)).first() is not None:
        return name
    wanted = normalise_name(name)
    former = session.exec(select(SectionFormerName).order_by(col(SectionFormerName.id).desc())).all()
    for row in former:
        if normalise_name(row.name) == wanted:
            return _successor(session, row).name
    return name


def ensure_section(session: Session, name: str, department: str | None = None) -> tuple[Section, bool]:
    """Return the section NAME, creating it (with its short name) if new; True when created."""
    section = session.exec(select(Section).where(Section.name == name)).first()
    if section is not None:
        return section, False
    section = Section(name=name, department=department, short_name=short_name_of(name))
    session.add(section)
    session.flush()
    return section, True


def covers(link: InitiativeSection, section: Section, sections_by_id: dict[int, Section]) -> bool:
    """Whether an initiative's 担当課・室 entry includes SECTION (directly, via a site, or a group)."""
    if link.section_id is not None:
        if link.section_id == section.id:
            return True
        linked = sections_by_id.get(link.section_id)
        return bool(linked and linked.short_name == section.name)
    if link.group_kind == "all":
        return True
    if link.group_kind == "department":
        return section.department == link.group_department
    return False  # 関係所属: only the sections an admin names later


def initiative_ids_for_section(
    session: Session, section: Section, edition_id: int | None = None
) -> list[str]:
    """The initiatives SECTION is responsible for, in plan order (of one plan edition, when given)."""
    sections_by_id = {row_id(s): s for s in session.exec(select(Section)).all()}
    links = [
        link
        for link in session.exec(select(InitiativeSection)).all()
        if edition_id is None or link.edition_id == edition_id
    ]
    ids = {link.initiative_id for link in links if covers(link, section, sections_by_id)}
    initiatives = session.exec(
        select(Initiative).order_by(col(Initiative.measure_no), col(Initiative.position))
    ).all()
    found = [i.id for i in initiatives if i.id in ids and (edition_id is None or i.edition_id == edition_id)]
    return list(dict.fromkeys(found))


def sections_of_department(session: Session, department: str) -> Iterable[Section]:
    """Every section of DEPARTMENT (for 建設部の全所属)."""
    return session.exec(select(Section).where(Section.department == department).order_by(Section.name)).all()


def sections_by_initiative(
    session: Session,
    sections: Iterable[Section] | None = None,
    links: Iterable[InitiativeSection] | None = None,
) -> tuple[dict[str, list[Section]], dict[str, int]]:
    """Every section each initiative resolves to (groups expanded, lead first, then by name), and its lead's id.

    SECTIONS (every section) and LINKS (the initiatives' 担当課・室 entries), when the caller has them."""
    if sections is None:
        sections = session.exec(select(Section)).all()
    sections = sorted(sections, key=lambda s: s.name)
    sections_by_id = {row_id(s): s for s in sections}
    if links is None:
        links = session.exec(select(InitiativeSection)).all()
    links = sorted(links, key=lambda link: (link.initiative_id, link.position))
    found: dict[str, list[Section]] = {}
    for link in links:
        resolved = found.setdefault(link.initiative_id, [])
        for section in sections:
            if section not in resolved and covers(link, section, sections_by_id):
                resolved.append(section)
    leads = {
        link.initiative_id: link.section_id for link in links if link.is_lead and link.section_id is not None
    }
    for initiative_id, resolved in found.items():
        lead = leads.get(initiative_id)

        def lead_first(s: Section, lead: int | None = lead) -> tuple[bool, str]:
            return (s.id != lead, s.name)

        resolved.sort(key=lead_first)
    return found, leads
