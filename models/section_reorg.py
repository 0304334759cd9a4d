"""課の統廃合: rename a section, or merge sections into one, keeping every report with the section it was made for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, func, select

from models.members import assigned_at, current_sections, schedule_move
from models.rows import row_id
from models.sections import UnknownSectionError, ensure_section, find_section, normalise_name
from models.tables import (
    GroupBinding,
    InitiativeSection,
    InviteCode,
    KpiRequestRound,
    Member,
    MemberSection,
    Section,
    SectionFormerName,
)


class ReorgError(ValueError):
    """A rename or merge that cannot be done; the message says why."""


@dataclass
class MergeSummary:
    """What a merge did, for the admin."""

    into: str
    created: bool
    retired: list[str] = field(default_factory=list)  # each source's new name: C（旧A）
    members: int = 0
    bindings: int = 0
    invites: int = 0
    links: int = 0
    closed_rounds: int = 0  # unanswered KPI request rounds closed: nobody is left to answer them


def _taken(session: Session, name: str) -> Section | None:
    try:
        return find_section(session, name)
    except UnknownSectionError:
        return None


def _rename_row(session: Session, section: Section, new: str, now: datetime, reason: str, into=None) -> None:
    session.add(
        SectionFormerName(
            section_id=row_id(section),
            name=section.name,
            until=now,
            reason=reason,
            merged_into_id=into.id if into is not None else None,
        )
    )
    links = session.exec(
        select(InitiativeSection).where(
            col(InitiativeSection.section_id) == section.id, col(InitiativeSection.label) == section.name
        )
    )
    for link in links if into is None else ():  # a renamed section's 担当 reads with today's name (取組 1-2)
        link.label = new
    section.name = new
    session.add(section)


def rename_section(session: Session, old: str, new: str, *, now: datetime) -> Section:
    """Give section OLD the name NEW (and its sites 「OLD 〇〇」 theirs); everything stays with the same section."""
    section = find_section(session, old)
    new = new.strip()
    if not new:
        raise ReorgError("the new name is empty")
    clash = _taken(session, new)
    if clash is not None and clash.id != section.id:
        raise ReorgError(f"{clash.name!r} already exists; to join the two use `dxbot section merge`")
    old_name = section.name
    sites = session.exec(select(Section).where(Section.short_name == old_name)).all()
    _rename_row(session, section, new, now, "renamed")
    for site in sites:
        _rename_row(session, site, f"{new} {site.name.split(maxsplit=1)[1]}", now, "renamed")
        site.short_name = new
    session.flush()
    return section


def merge_sections(
    session: Session,
    sources: list[Section],
    into: str,
    *,
    effective: datetime,
    now: datetime,
    department: str | None = None,
) -> MergeSummary:
    """Merge SOURCES into INTO (made if new): members move on EFFECTIVE; bindings, invites and plan links now.

    Each source keeps its reports, statuses and rounds and is renamed 「INTO（旧SOURCE）」, so its history
    (and grades) stays its own but reads with the new name; its old name now finds INTO."""
    if len({s.id for s in sources}) != len(sources) or not sources:
        raise ReorgError("name each section to merge once")
    wanted = normalise_name(into)
    target = next((s for s in session.exec(select(Section)).all() if normalise_name(s.name) == wanted), None)
    created = target is None
    if target is None:
        target, _ = ensure_section(session, into.strip(), department or sources[0].department)
    summary = MergeSummary(into=target.name, created=created)
    for source in sources:
        if source.id == target.id:
            continue
        summary.members += _move_members(session, source, target, effective)
        summary.bindings += _repoint(session, GroupBinding, source, target)
        open_invites = select(InviteCode).where(
            col(InviteCode.section_id) == source.id, col(InviteCode.used_at).is_(None)
        )
        for invite in session.exec(open_invites).all():
            invite.section_id = row_id(target)
            summary.invites += 1
        summary.links += _copy_links(session, source, target)
        summary.closed_rounds += _close_open_rounds(session, source, effective)
        _rename_row(session, source, f"{target.name}（旧{source.name}）", now, "merged", into=target)
        summary.retired.append(source.name)
    session.flush()
    return summary


def _close_open_rounds(session: Session, source: Section, effective: datetime) -> int:
    """Close SOURCE's unanswered rounds from EFFECTIVE: nobody is left there to answer them."""
    rounds = session.exec(
        select(KpiRequestRound).where(
            KpiRequestRound.section_id == source.id,
            col(KpiRequestRound.answered_at).is_(None),
            col(KpiRequestRound.closed_at).is_(None),
        )
    ).all()
    for request_round in rounds:
        request_round.closed_at = effective
    return len(rounds)


def _move_members(session: Session, source: Section, target: Section, effective: datetime) -> int:
    moved = 0
    members = session.exec(
        select(Member)
        .join(MemberSection, col(MemberSection.member_id) == Member.id)
        .where(MemberSection.section_id == source.id, assigned_at(effective))
    ).all()
    for member in members:
        now_in = current_sections(session, member, effective)
        wanted = [s for s in now_in if s.id != source.id]
        if target.id not in {s.id for s in wanted}:
            wanted.append(target)
        schedule_move(session, member, wanted, effective=effective)
        moved += 1
    return moved


def _repoint(session: Session, table, source: Section, target: Section) -> int:
    rows = session.exec(select(table).where(table.section_id == source.id)).all()
    for row in rows:
        row.section_id = target.id
    return len(rows)


def _copy_links(session: Session, source: Section, target: Section) -> int:
    """Make TARGET responsible wherever SOURCE is (the lead too); SOURCE's links stay, for its history."""
    copied = 0
    for link in session.exec(
        select(InitiativeSection).where(InitiativeSection.section_id == source.id)
    ).all():
        same_initiative = (  # "1-1" of this link's own plan edition
            InitiativeSection.edition_id == link.edition_id,
            InitiativeSection.initiative_id == link.initiative_id,
        )
        mine = session.exec(
            select(InitiativeSection).where(*same_initiative, InitiativeSection.section_id == target.id)
        ).first()
        if mine is None:
            position = session.exec(
                select(func.max(InitiativeSection.position)).where(*same_initiative)
            ).one()
            mine = InitiativeSection(
                edition_id=link.edition_id,
                initiative_id=link.initiative_id,
                position=(position or 0) + 1,
                label=target.name,
                section_id=target.id,
            )
            session.add(mine)
            copied += 1
        if link.is_lead:
            link.is_lead, mine.is_lead = False, True
    session.flush()
    return copied


def former_names(session: Session) -> dict[int, list[str]]:
    """Each section's earlier names, oldest first (for `dxbot section list`)."""
    found: dict[int, list[str]] = {}
    for row in session.exec(select(SectionFormerName).order_by(col(SectionFormerName.id))).all():
        found.setdefault(row.section_id, []).append(row.name)
    return found
