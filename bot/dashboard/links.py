"""One-time dashboard login links (issued by 「ダッシュボード」, redeemed once) and the sessions they start.

Only a SHA-256 of a link's or a session's token is stored, so a database dump holds no usable link or
login. No Flask here: the chat command, the web view and tests share these functions.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.rows import row_id
from models.tables import DashboardSession, LoginLink, Member

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=8)
DASHBOARD_ROLES = ("manager", "admin")
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
BASE_URL_ENV = "DXBOT_BASE_URL"
LOGIN_PATH = "/dashboard/login/"

# Why a link cannot be used (shown to the person who opened it).
UNKNOWN, USED, EXPIRED, NOT_ALLOWED = "unknown", "used", "expired", "not_allowed"


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def may_use_dashboard(member: Member | None) -> bool:
    """Active managers and admins may; staff, strangers and removed members may not."""
    return member is not None and member.active and member.role in DASHBOARD_ROLES


def base_url(configured: str | None) -> str:
    """The public URL links point at: CONFIGURED (Config.base_url, i.e. DXBOT_BASE_URL), else localhost (logged)."""
    url = (configured or "").strip()
    if not url:
        log.warning(
            "%s is not set: dashboard links point at %s, which only works on this machine",
            BASE_URL_ENV,
            DEFAULT_BASE_URL,
        )
        url = DEFAULT_BASE_URL
    return url.rstrip("/")


@dataclass(frozen=True)
class IssuedLink:
    """A new link: the URL to send (the only place the token appears) and when it stops working."""

    url: str
    token: str
    expires_at: datetime
    link_id: int


def issue_link(session: Session, member: Member, *, now: datetime, base: str) -> IssuedLink:
    """Create a single-use link for MEMBER valid for 10 minutes from NOW; the caller commits."""
    if not may_use_dashboard(member):
        raise PermissionError("only active managers and admins get dashboard links")
    token = secrets.token_urlsafe(32)
    link = LoginLink(
        token_hash=token_hash(token),
        member_id=row_id(member),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    session.flush()
    return IssuedLink(
        url=f"{base}{LOGIN_PATH}{token}", token=token, expires_at=link.expires_at, link_id=row_id(link)
    )


@dataclass(frozen=True)
class LinkCheck:
    """What opening a link found: the link and member when usable, else why not."""

    link: LoginLink | None
    member: Member | None
    problem: str | None  # unknown | used | expired | not_allowed | None (usable)


def check_link(session: Session, token: str, *, now: datetime) -> LinkCheck:
    """Look a token up without using it (the page that asks to sign in, and redeem_link)."""
    link = session.exec(select(LoginLink).where(LoginLink.token_hash == token_hash(token))).first()
    if link is None:
        return LinkCheck(None, None, UNKNOWN)
    member = session.get(Member, link.member_id)
    if link.used_at is not None:
        return LinkCheck(link, member, USED)
    if now >= link.expires_at:
        return LinkCheck(link, member, EXPIRED)
    if not may_use_dashboard(member):
        return LinkCheck(link, member, NOT_ALLOWED)
    return LinkCheck(link, member, None)


def redeem_link(session: Session, token: str, *, now: datetime) -> LinkCheck:
    """Use a link once: mark it used (atomically, so two tabs cannot both win); the caller commits."""
    found = check_link(session, token, now=now)
    if found.problem is not None:
        return found
    claimed = session.execute(
        update(LoginLink)
        .where(col(LoginLink.id) == found.link.id, col(LoginLink.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return LinkCheck(found.link, found.member, USED)
    session.refresh(found.link)
    return found


# --- sessions: NOW is real time here (the wall clock), never the bot's clock (DXBOT_NOW may freeze it) ---


def open_session(session: Session, member: Member, *, now: datetime) -> str:
    """Start an 8-hour dashboard session for MEMBER; return the random token for the cookie (the caller commits)."""
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=token_hash(token),
            member_id=row_id(member),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return token


def session_member(session: Session, token: str, *, now: datetime) -> Member | None:
    """The member behind a session token if it is known, neither revoked nor expired, and they are still allowed.

    A member no longer allowed (removed, now staff) has the session revoked: being restored later does not
    bring it back. The caller commits.
    """
    found = session.exec(
        select(DashboardSession).where(DashboardSession.token_hash == token_hash(token))
    ).first()
    if found is None or found.revoked_at is not None or now >= found.expires_at:
        return None
    member = session.get(Member, found.member_id)
    if not may_use_dashboard(member):
        found.revoked_at = now
        return None
    return member


def revoke_session(session: Session, token: str, *, now: datetime) -> bool:
    """Sign out: the session is refused from NOW on, whichever copy of the cookie comes back (caller commits)."""
    revoked = session.execute(
        update(DashboardSession)
        .where(
            col(DashboardSession.token_hash) == token_hash(token), col(DashboardSession.revoked_at).is_(None)
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return revoked.rowcount == 1
