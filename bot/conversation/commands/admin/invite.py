"""「招待 職員課 staff」: a single-use registration code, as `dxbot invite create` makes it (admins only)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.conversation.commands.admin.common import Answer, Request, lookup_section
from messages.builders.text import ROLE_NAMES
from messages.formatting import format_moment
from messages.intents import AdminPage
from models.invites import create_invite
from models.sections import UnknownSectionError, find_section

PATTERN = re.compile(r"(?:招待|invite)(?:\s+(?P<rest>.{1,100}))?", re.I)
KEYWORD = "招待"
ROLE_WORDS = {
    "staff": "staff",
    "担当者": "staff",
    "担当": "staff",
    "職員": "staff",
    "スタッフ": "staff",
    "manager": "manager",
    "管理職": "manager",
    "課長": "manager",
    "所属長": "manager",
    "admin": "admin",
    "管理者": "admin",
}
DURATION_RE = re.compile(r"(\d{1,3})\s*(日間?|d|days?|時間|h|hours?)", re.I)
DEFAULT_VALID = timedelta(days=7)
MAX_VALID = timedelta(days=90)


def parse(rest: str) -> tuple[list[str], str | None, timedelta | None, list[str]]:
    """Split 「職員課 staff 14日」 into the section's words, the role, the validity (None when not given) and
    the words that gave those two."""
    words = rest.split()
    role = valid = None
    tail: list[str] = []
    while words:
        last = words[-1]
        duration = DURATION_RE.fullmatch(last)
        if duration and valid is None:
            amount = int(duration.group(1))
            valid = timedelta(hours=amount) if duration.group(2)[0] in "時hH" else timedelta(days=amount)
        elif last.lower() in ROLE_WORDS and role is None:
            role = ROLE_WORDS[last.lower()]
        else:
            break
        tail.insert(0, words.pop())
    return words, role, valid, tail


def handle(req: Request, match: re.Match) -> AdminPage:
    """Create the code and say how the person registers with it."""
    _ = req._
    usage = _(
        "Send 「招待」, the section and the role (staff, manager or admin), e.g. 「招待 職員課 staff」."
    )
    if not match.group("rest"):
        raise Answer(AdminPage(title=_("Which section and role?"), lines=(usage,)))
    words, role, valid, tail = parse(match.group("rest"))
    if not words:
        raise Answer(AdminPage(title=_("Which section?"), lines=(usage,)))
    try:
        section = find_section(req.session, " ".join(words))
    except UnknownSectionError:
        if role is None and len(words) > 1:
            try:  # 「招待 職員課 boss」: a known section followed by an unknown role
                find_section(req.session, " ".join(words[:-1]))
            except UnknownSectionError:
                pass
            else:
                raise Answer(
                    AdminPage(title=_("「%(role)s」 is not a role.", role=words[-1]), lines=(usage,))
                ) from None
        section = lookup_section(req, " ".join(words), KEYWORD, " ".join(tail))
    role = role or "staff"
    valid = valid or DEFAULT_VALID
    if not timedelta(hours=1) <= valid <= MAX_VALID:
        raise Answer(AdminPage(title=_("A code can be valid for 1 hour to 90 days."), lines=(usage,)))
    invite = create_invite(
        req.session,
        section=section,
        role=role,
        now=req.now,
        valid_for=valid,
        created_by=f"chat:member:{req.ctx.registered_member.id}",
    )
    return AdminPage(
        title=_("Invite code %(code)s", code=invite.code),
        lines=(
            _(
                "For %(section)s, as %(role)s. Valid until %(when)s, once.",
                section=section.name,
                role=_(ROLE_NAMES[role]),
                when=format_moment(invite.expires_at, req.locale, req.ctx.clock.tz),
            ),
            _(
                "How to register: add this bot as a friend in LINE and send 「登録 %(code)s」 (the code alone works too).",
                code=invite.code,
            ),
        ),
    )
