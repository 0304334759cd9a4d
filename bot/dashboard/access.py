"""Who is looking: the dashboard session, a random login id in the signed cookie, checked on every request.

The cookie holds only that login id (the server keeps its SHA-256 in DashboardSession) and a language
choice: knowing the cookie signing key and every member id opens nothing. Each request checks the login is
known, not signed out and under 8 hours old by the real clock, and that the member is still an active
manager or admin, and reloads their current sections (人事異動 takes effect at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask, has_request_context, request
from flask import session as cookie
from flask.sessions import SecureCookieSessionInterface
from sqlmodel import Session

from bot.dashboard.links import session_member
from models.members import current_sections
from models.tables import Member, Section

SESSION_KEY = "dashboard_session"
LANG_KEY = "dashboard_lang"
OLD_KEYS = ("dashboard_member", "dashboard_login")  # cookies from before server-side sessions: dropped


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure also when the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


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


def start_session(token: str) -> None:
    """Put a new login's TOKEN in the cookie (any earlier session content is dropped, the language kept)."""
    lang = cookie.get(LANG_KEY)
    cookie.clear()
    cookie.permanent = True  # PERMANENT_SESSION_LIFETIME: 8 hours (the server's expiry decides)
    cookie[SESSION_KEY] = token
    if lang:
        cookie[LANG_KEY] = lang


def end_session() -> None:
    """Forget the dashboard session in the cookie (sign out, or a session that is no longer valid)."""
    for key in (SESSION_KEY, *OLD_KEYS):
        cookie.pop(key, None)


def has_session() -> bool:
    return any(key in cookie for key in (SESSION_KEY, *OLD_KEYS))


def session_token() -> str | None:
    """The login id in the cookie, if it looks like one of ours (an ASCII string)."""
    token = cookie.get(SESSION_KEY)
    return token if isinstance(token, str) and token.isascii() and len(token) <= 128 else None


def current_viewer(db: Session, now: datetime) -> Viewer | None:
    """The viewer behind the cookie at real time NOW, or None (no session, expired, signed out, demoted, removed)."""
    token = session_token()
    if token is None:
        return None
    member = session_member(db, token, now=now)
    if member is None:
        return None
    return Viewer(member=member, sections=current_sections(db, member, now))
