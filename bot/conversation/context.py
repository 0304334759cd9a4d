"""Everything a handler needs about one incoming event: who, where, when, which year, in which language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.conversation.incoming import Incoming
from models.clock import Clock
from models.fiscal_year import fiscal_year_of
from models.members import current_sections
from models.tables import Member, Section


@dataclass
class Context:
    """One event being handled: the session to write in, the member (or None) and their sections."""

    session: Session
    incoming: Incoming
    clock: Clock
    member: Member | None
    sections: list[Section] = field(default_factory=list)
    group_section: Section | None = None

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def fiscal_year(self) -> int:
        """The fiscal year of now, on the Asia/Tokyo calendar."""
        return fiscal_year_of(self.now, self.clock.tz)

    @property
    def locale(self) -> str:
        return self.member.locale if self.member else "ja"

    @property
    def in_group(self) -> bool:
        return self.incoming.group_id is not None

    @property
    def reporting_sections(self) -> list[Section]:
        """Sections this person reports for here: the group's section in a bound group, else their own."""
        if self.group_section is not None:
            return [self.group_section]
        return self.sections


def load_context(
    session: Session, incoming: Incoming, clock: Clock, member: Member | None, group_section
) -> Context:
    """Build the context, loading the member's current sections once."""
    sections = current_sections(session, member) if member is not None else []
    return Context(
        session=session,
        incoming=incoming,
        clock=clock,
        member=member,
        sections=sections,
        group_section=group_section,
    )
