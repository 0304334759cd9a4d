"""Admin chat commands: デジタル情報課 runs the plan from chat; managers read their own sections; staff are refused.

ADMIN_COMMANDS is the table from keyword pattern to handler with the permission each needs (one module per
command). dispatch() is the one place that checks permissions and pages the answer; handlers only say what
they touch (Scope.require_section / require_initiative) and return an AdminPage with all their lines.
"""

from __future__ import annotations

import logging
import re
from functools import partial

from bot.conversation.commands.admin import (
    initiatives,
    invite,
    measures,
    members,
    menu,
    overdue,
    section_status,
    send_request,
)
from bot.conversation.commands.admin.common import AdminCommand, Answer, Request
from bot.conversation.commands.admin.paging import paginate, parse_page
from bot.conversation.commands.admin.permissions import ADMIN, READ, Refusal, Scope, may_run, refusal_for
from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.i18n import N_, Translator
from messages.intents import AdminPage

log = logging.getLogger(__name__)

ADMIN_COMMANDS: tuple[AdminCommand, ...] = (
    AdminCommand(
        "計画",
        measures.PATTERN,
        READ,
        measures.handle,
        N_("「計画」 the measures; 「計画 8」 one measure's initiatives and grades"),
    ),
    AdminCommand(
        "取組",
        initiatives.PATTERN,
        READ,
        initiatives.handle,
        N_("「取組 子育て」 or 「取組 1-2」 an initiative: sections, actions, KPIs, grades"),
    ),
    AdminCommand(
        "課",
        section_status.PATTERN,
        READ,
        section_status.handle,
        N_("「課 職員課」 a section's KPIs, grades and what is late"),
    ),
    AdminCommand(
        "遅延",
        overdue.PATTERN,
        READ,
        overdue.handle,
        N_("「未報告」 or 「遅延 職員課」 what is overdue, by section"),
    ),
    AdminCommand(
        "送信",
        send_request.PATTERN,
        ADMIN,
        send_request.handle,
        N_("「送信 依頼 職員課」 send the section its KPI request now"),
    ),
    AdminCommand(
        "招待",
        invite.PATTERN,
        ADMIN,
        invite.handle,
        N_("「招待 職員課 staff」 an invite code (staff, manager or admin)"),
    ),
    AdminCommand(
        "メンバー",
        members.PATTERN,
        READ,
        members.handle,
        N_("「メンバー 職員課」 who is registered, with role and since when"),
    ),
    AdminCommand("管理", menu.PATTERN, READ, menu.handle, N_("「管理」 this list")),
    AdminCommand("?", menu.UNKNOWN, READ, menu.handle_unknown),
)


def find(text: str) -> tuple[AdminCommand, re.Match] | None:
    """The admin command TEXT (normalised) is, if any."""
    for command in ADMIN_COMMANDS:
        match = command.pattern.fullmatch(text)
        if match:
            return command, match
    return None


def dispatch(command: AdminCommand, ctx: Context, match: re.Match, page: int = 1) -> Response:
    """Check who may run COMMAND, run it, and answer with PAGE of the result; refusals write nothing."""
    _ = Translator(ctx.locale)
    if not may_run(ctx.registered_member, command.permission):
        return _answer(
            ctx, AdminPage(title=refusal_for(ctx.registered_member, command.permission, _).message), "refused"
        )
    request = Request(
        ctx=ctx, _=_, scope=Scope(ctx.registered_member, ctx.sections, _), commands=ADMIN_COMMANDS
    )
    try:
        result, outcome = command.handler(request, match), "command"
    except Refusal as refusal:
        return _answer(ctx, AdminPage(title=refusal.message), "refused")
    except Answer as answer:
        result, outcome = answer.page, "command"
    log.info(
        "admin command",
        extra={"command": command.name, "role": ctx.registered_member.role, "outcome": outcome},
    )
    return _answer(ctx, paginate(result, page, match.string, _), outcome)


def _answer(ctx: Context, page: AdminPage, outcome: str) -> Response:
    return Response(intents=[page], locale=ctx.locale, outcome=outcome)


def run_page(ctx: Context, page: str, command: str) -> Response | None:
    """A 「次へ」 or choice postback (see paging.run_data): run its command for its page; None if not one."""
    parsed = parse_page(page, command)
    if parsed is None:
        return None
    page, text = parsed
    found = find(text)
    if found is None:
        return None
    command, match = found
    return dispatch(command, ctx, match, page)


# Entries for the chat command table (bot.conversation.commands.COMMANDS), after the staff commands.
COMMAND_ENTRIES = [(command.pattern, partial(dispatch, command)) for command in ADMIN_COMMANDS]
