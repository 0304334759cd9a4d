"""One-time dashboard login links: issued to managers and admins by 「ダッシュボード」, redeemed once.

Only a SHA-256 of the token is stored, so a database dump holds no usable link. No Flask here: the chat
command, the web view and tests share these functions.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from models.tables import LoginLink, Member

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


def base_url(configured: str | None = None) -> str:
    """The public URL links point at: the app's Config.base_url, else DXBOT_BASE_URL, else localhost (logged)."""
    url = (configured or os.environ.get(BASE_URL_ENV, "")).strip()
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
        member_id=member.id,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    session.flush()
    return IssuedLink(
        url=f"{base}{LOGIN_PATH}{token}", token=token, expires_at=link.expires_at, link_id=link.id
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
        .where(LoginLink.id == found.link.id, LoginLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return LinkCheck(found.link, found.member, USED)
    session.refresh(found.link)
    return found


def session_is_current(session: Session, *, login_id: int, member_id: int, now: datetime) -> Member | None:
    """The member behind a dashboard session, if the login is real, under 8 hours old and still allowed."""
    link = session.get(LoginLink, login_id)
    if link is None or link.member_id != member_id or link.used_at is None:
        return None
    if now - link.used_at > SESSION_LIFETIME:
        return None
    member = session.get(Member, member_id)
    return member if may_use_dashboard(member) else None
