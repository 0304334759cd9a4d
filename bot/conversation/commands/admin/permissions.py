"""Who may run which admin command on what: the one place the rules live.

Admins (デジタル情報課) may run everything on every section. Managers may run the read-only commands, and only
about their own sections (an initiative counts when one of their sections works on it). Staff may run none.
"""

from __future__ import annotations

from sqlmodel import Session

from messages.i18n import Translator
from models.sections import initiative_ids_for_section
from models.tables import Initiative, Member, Section

ADMIN = "admin"  # admins only: commands that write (送信, 招待)
READ = "read"  # admins, and managers for their own sections


class Refusal(Exception):
    """The person may not do this; MESSAGE (already translated) says so politely. Nothing has been written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def may_run(member: Member, permission: str) -> bool:
    """Whether MEMBER's role allows a command needing PERMISSION at all."""
    if member.role == "admin":
        return True
    return member.role == "manager" and permission == READ


def refusal_for(member: Member, permission: str, _: Translator) -> Refusal:
    """The polite refusal for a role that may not run a command needing PERMISSION."""
    if member.role == "manager":
        return Refusal(
            _("Only the plan's admins can send requests and create invite codes; nothing was done.")
        )
    return Refusal(
        _(
            "Sorry, this command is for the plan's admins and managers. "
            "Send 「ヘルプ」 to see what you can do."
        )
    )


class Scope:
    """What the person may see: every section (an admin) or their own sections (a manager)."""

    def __init__(self, member: Member, sections: list[Section], _: Translator):
        self.everything = member.role == "admin"
        self.own = list(sections)
        self._ = _

    def sections(self) -> list[Section] | None:
        """The sections to show when none is named: None (all) for an admin, else the person's own."""
        return None if self.everything else self.own

    def allows_section(self, section: Section) -> bool:
        return self.everything or section.id in {s.id for s in self.own}

    def require_section(self, section: Section) -> None:
        """Refuse a manager asking about a section that is not theirs."""
        if not self.allows_section(section):
            raise Refusal(
                self._(
                    "%(section)s is not one of your sections, so I cannot show it. Ask the plan's admins if you need it.",
                    section=section.name,
                )
            )

    def allows_initiative(self, session: Session, initiative: Initiative) -> bool:
        return self.everything or any(
            initiative.id in initiative_ids_for_section(session, section, initiative.edition_id)
            for section in self.own
        )

    def require_initiative(self, session: Session, initiative: Initiative) -> None:
        """Refuse a manager asking about an initiative none of their sections works on."""
        if not self.allows_initiative(session, initiative):
            raise Refusal(
                self._(
                    "None of your sections works on %(id)s %(title)s, so I cannot show it.",
                    id=initiative.id,
                    title=initiative.title,
                )
            )
