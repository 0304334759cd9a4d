"""Everything a handler needs about one incoming event: who, where, when, which year, in which language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.conversation.incoming import Incoming
from models.clock import Clock
from models.config import Config
from models.fiscal_year import fiscal_year_of
from models.members import current_sections
from models.reports import OpenTarget, open_targets_for_sections
from models.rows import row_id
from models.tables import Member, Section


@dataclass
class Context:
    """One event being handled: the session to write in, the member (or None) and their sections."""

    session: Session
    incoming: Incoming
    clock: Clock
    config: Config  # the process's configuration, read once (dashboard links' base URL, calendar, grades)
    member: Member | None
    sections: list[Section] = field(default_factory=list)
    group_section: Section | None = None
    # (section id, fiscal year) → its open KPI targets, as read once for this event (see open_targets)
    _open_targets: dict[tuple[int, int], list[OpenTarget]] = field(default_factory=dict, repr=False)

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
    def registered_member(self) -> Member:
        """The member, where routing (respond.registered) has let only registered people through."""
        if self.member is None:
            raise LookupError("this handler runs for registered members only")
        return self.member

    @property
    def in_group(self) -> bool:
        return self.incoming.group_id is not None

    @property
    def reporting_sections(self) -> list[Section]:
        """Sections this person reports for here: the group's section in a bound group, else their own."""
        if self.group_section is not None:
            return [self.group_section]
        return self.sections

    def open_targets(self, sections: list[Section], fiscal_year: int) -> dict[int, list[OpenTarget]]:
        """Each section's open KPI targets of FISCAL_YEAR (section id → targets), read once per event.

        One query for the sections not read yet. Keeping the rows here also keeps the targets and
        initiatives in the session's identity map (it holds them weakly), so recording a report for one
        of them looks it up there instead of selecting it again.
        """
        missing = {s.id for s in sections if (s.id, fiscal_year) not in self._open_targets}
        if missing:
            self._open_targets.update(open_targets_for_sections(self.session, missing, [fiscal_year]))
        return {row_id(s): self._open_targets[(row_id(s), fiscal_year)] for s in sections}


def load_context(
    session: Session, incoming: Incoming, clock: Clock, member: Member | None, group_section, config: Config
) -> Context:
    """Build the context, loading the member's current sections once."""
    sections = current_sections(session, member, clock.now()) if member is not None else []
    return Context(
        session=session,
        incoming=incoming,
        clock=clock,
        config=config,
        member=member,
        sections=sections,
        group_section=group_section,
    )
