"""Who is looking: the dashboard session (signed cookie), re-checked against the database on every request.

The cookie holds only the member id, the login (LoginLink) id and a language choice. Each request checks
the login is real and under 8 hours old and that the member is still an active manager or admin, and
reloads their current sections (人事異動 takes effect at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import session as cookie
from sqlmodel import Session

from bot.dashboard.links import session_is_current
from models.members import current_sections
from models.tables import LoginLink, Member, Section

MEMBER_KEY = "dashboard_member"
LOGIN_KEY = "dashboard_login"
LANG_KEY = "dashboard_lang"


@dataclass(frozen=True)
class Viewer:
    """A signed-in manager or admin and the sections they may see."""

    member: Member
    sections: list[Section]

    @property
    def is_admin(self) -> bool:
        return self.member.role == "admin"

    @property
    def scope_ids(self) -> set[int] | None:
        """The section ids they may see; None means every section (admins)."""
        return None if self.is_admin else {s.id for s in self.sections}

    def may_see_section(self, section_id: int) -> bool:
        return self.is_admin or section_id in {s.id for s in self.sections}


def start_session(link: LoginLink) -> None:
    """Begin a fresh dashboard session for the link's member (any earlier session content is dropped)."""
    lang = cookie.get(LANG_KEY)
    cookie.clear()
    cookie.permanent = True  # PERMANENT_SESSION_LIFETIME: 8 hours
    cookie[MEMBER_KEY] = link.member_id
    cookie[LOGIN_KEY] = link.id
    if lang:
        cookie[LANG_KEY] = lang


def end_session() -> None:
    """Forget the dashboard session (sign out, or a session that is no longer valid)."""
    for key in (MEMBER_KEY, LOGIN_KEY):
        cookie.pop(key, None)


def has_session() -> bool:
    return MEMBER_KEY in cookie


def current_viewer(db: Session, now: datetime) -> Viewer | None:
    """The viewer behind the cookie, or None (no session, expired, revoked, demoted or removed)."""
    member_id, login_id = cookie.get(MEMBER_KEY), cookie.get(LOGIN_KEY)
    if not isinstance(member_id, int) or not isinstance(login_id, int):
        return None
    member = session_is_current(db, login_id=login_id, member_id=member_id, now=now)
    if member is None:
        return None
    return Viewer(member=member, sections=current_sections(db, member))
