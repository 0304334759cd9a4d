"""「管理」/「管理コマンド」/「admin」: the admin commands with examples; an unknown admin keyword gets the same list."""

from __future__ import annotations

import re

from bot.conversation.commands.admin.common import Request
from bot.conversation.commands.admin.permissions import may_run
from messages.intents import AdminPage

PATTERN = re.compile(r"(?:管理|管理コマンド|管理メニュー|admin|adm)", re.I)
# 「管理 …」「admin …」「送信 …」 that no command understood
UNKNOWN = re.compile(r"(?:管理|管理コマンド|admin|送信|send)\s+(?P<text>.{1,100})", re.I)


def handle(req: Request, match: re.Match) -> AdminPage:
    """Every command this person may run, with an example each."""
    return command_list(req)


def handle_unknown(req: Request, match: re.Match) -> AdminPage:
    """An admin-ish message no command understood: say so, then the list."""
    page = command_list(req)
    note = req._("「%(text)s」 is not a command I know.", text=match.string)
    return AdminPage(title=note, lines=(page.title, *page.lines))


def command_list(req: Request) -> AdminPage:
    """The commands the person's role allows, in the table's order."""
    _ = req._
    member = req.ctx.registered_member
    lines = [f"・{_(c.usage)}" for c in req.commands if c.usage and may_run(member, c.permission)]
    if member.role == "manager":
        lines.append(_("As a manager you see your own sections; sending requests and invites is for admins."))
    lines.append(_("Long answers come a page at a time: tap 「%(label)s」 for more.", label=_("Next")))
    return AdminPage(title=_("Admin commands"), lines=tuple(lines))
