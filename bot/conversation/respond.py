"""The conversation's entry point: one incoming event → what to say back. Same for /callback and `dxbot say`."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlmodel import Session, select

from bot.conversation.commands import find_command
from bot.conversation.context import Context, load_context
from bot.conversation.incoming import Incoming, Response
from bot.conversation.kpi_reply import reply_with_figures, split_key
from bot.conversation.postbacks import answer_typed, handle_postback
from bot.conversation.state import AWAITING_CONFIRMATION, AWAITING_NUMBER, get_state
from bot.conversation.typed_answers import typed_answer
from messages.intents import Notice
from models.clock import Clock
from models.config import Config
from models.invites import InviteError, find_code_in, group_section, redeem_for_group, redeem_for_member
from models.members import get_member
from models.tables import GroupBinding, KpiTarget

MENTION_RE = re.compile(r"^\s*@\S+\s*")
# A new member's name when neither the invite (the roster) nor the platform gives one: LINE WORKS' `bot`
# scope reads no profiles, so there it is the invite's name or this (an admin renames with `dxbot member`).
UNNAMED = {"line": "LINE user", "lineworks": "LINE WORKS user"}


def respond(session: Session, incoming: Incoming, *, clock: Clock, config: Config) -> Response:
    """Decide what to say (and record) for one event; the caller commits and delivers.

    CONFIG is the process's own, read once: the base URL of dashboard links, the calendar, the grades."""
    transport = incoming.transport
    member = None
    if incoming.user_id:  # LINE's lookup keeps its two-argument form (tests stand in for it)
        member = (
            get_member(session, incoming.user_id)
            if transport == "line"
            else get_member(session, incoming.user_id, transport)
        )
    bound = group_section(session, incoming.group_id, transport) if incoming.group_id else None
    ctx = load_context(session, incoming, clock, member, bound, config)
    response = HANDLERS[incoming.kind](ctx)
    if response.member is None:
        response.member = ctx.member
    return response


def registered(ctx: Context) -> bool:
    """An active member (someone removed or blocked is treated as unregistered)."""
    return ctx.member is not None and ctx.member.active


def on_follow(ctx: Context) -> Response:
    """Greet; someone who blocked and unblocked the bot is a member again."""
    if ctx.member is not None and not ctx.member.active and ctx.member.inactive_reason == "unfollow":
        ctx.member.active, ctx.member.inactive_reason = True, None
        ctx.session.add(ctx.member)
    if registered(ctx):
        from bot.conversation.commands.help import help_intent

        return Response(intents=[help_intent(ctx)], locale=ctx.locale, outcome="help")
    return Response(intents=[Notice("greeting")], outcome="help")


def on_unfollow(ctx: Context) -> Response:
    """They blocked the bot: stop writing to them, keep everything they reported."""
    if ctx.member is not None and ctx.member.active:
        ctx.member.active, ctx.member.inactive_reason = False, "unfollow"
        ctx.session.add(ctx.member)
    return Response(outcome="command")


def on_join(ctx: Context) -> Response:
    """The bot was added to a group: explain how to bind it to a section."""
    return Response(intents=[Notice("group_greeting")], outcome="help", plain=True)


def on_leave(ctx: Context) -> Response:
    """The bot was removed from a group: unbind it."""
    binding = ctx.session.exec(
        select(GroupBinding).where(
            GroupBinding.group_id == ctx.incoming.group_id, GroupBinding.transport == ctx.incoming.transport
        )
    ).first()
    if binding is not None:
        binding.active = False
        ctx.session.add(binding)
    return Response(outcome="command")


def on_other_message(ctx: Context) -> Response:
    """Stickers, images…: a short hint in a 1:1 chat, silence in a group."""
    if ctx.in_group:
        return Response(outcome="ignored")
    return Response(
        intents=[Notice("unsupported" if registered(ctx) else "register_first")],
        locale=ctx.locale,
        outcome="help",
    )


def on_text(ctx: Context) -> Response:
    """Registration, commands, a pending question, or figures — in that order."""
    text = ctx.incoming.text or ""
    if ctx.incoming.mentioned_bot:
        text = MENTION_RE.sub("", text)
    addressed = not ctx.in_group or ctx.incoming.mentioned_bot
    code = find_code_in(text)
    if code and (
        ctx.in_group and ctx.group_section is None or not registered(ctx) or text.strip().startswith("登録")
    ):
        return register(ctx, code)
    if not registered(ctx):
        if ctx.in_group:
            return Response(outcome="ignored")  # never answer or record strangers in a group
        return Response(intents=[Notice("register_first")], outcome="refused")
    if (
        ctx.in_group
        and ctx.group_section is not None
        and ctx.registered_member.role != "admin"
        and ctx.group_section.id not in {s.id for s in ctx.sections}
    ):
        if not addressed:
            return Response(outcome="ignored")
        return Response(
            intents=[Notice("not_allowed", {"section": ctx.group_section.name})],
            locale=ctx.locale,
            outcome="refused",
            plain=True,
        )
    state = get_state(ctx.session, ctx.registered_member, ctx.now)
    if state is not None and state.state == AWAITING_CONFIRMATION:
        answer = typed_answer(text)
        if answer is not None:
            response = answer_typed(ctx, state.data, answer)
            response.plain = response.plain or ctx.in_group
            return response
    command = find_command(text)
    if command is not None:
        handler, match = command
        response = handler(ctx, match)
        response.plain = response.plain or ctx.in_group
        return response
    guided = state is not None and state.state == AWAITING_CONFIRMATION and state.data.get("guided")
    if state is not None and (state.state == AWAITING_NUMBER or guided):
        target_id, section_id = split_key(state.data["key"])
        target = ctx.session.get(KpiTarget, target_id)
        if target is not None:
            return reply_with_figures(ctx, text, pending_target=target, section_id=section_id)
    return reply_with_figures(ctx, text, addressed=addressed)


def register(ctx: Context, code: str) -> Response:
    """Use an invite code: join its section (a person), or bind the group chat to it."""
    try:
        if ctx.in_group and (ctx.group_section is None):
            section = redeem_for_group(
                ctx.session,
                code,
                group_id=ctx.incoming.group_id,
                now=ctx.now,
                transport=ctx.incoming.transport,
            )
            return Response(
                intents=[Notice("group_bound", {"section": section.name})], outcome="registered", plain=True
            )
        member, section = redeem_for_member(
            ctx.session,
            code,
            line_user_id=ctx.incoming.user_id,
            display_name=ctx.incoming.sender_name() or UNNAMED[ctx.incoming.transport],
            now=ctx.now,
            transport=ctx.incoming.transport,
        )
    except InviteError:
        return Response(intents=[Notice("bad_code")], locale=ctx.locale, outcome="refused")
    return Response(
        intents=[
            Notice("registered", {"name": member.display_name, "section": section.name, "role": member.role})
        ],
        locale=member.locale,
        outcome="registered",
        member=member,
    )


def on_postback(ctx: Context) -> Response:
    """Buttons and quick replies (members only)."""
    if not registered(ctx):
        return Response(intents=[Notice("register_first")], outcome="refused")
    return handle_postback(ctx)


def on_ignored(ctx: Context) -> Response:
    """Events the bot has nothing to say about."""
    return Response(outcome="ignored")


HANDLERS: dict[str, Callable[[Context], Response]] = {
    "text": on_text,
    "postback": on_postback,
    "follow": on_follow,
    "unfollow": on_unfollow,
    "join": on_join,
    "leave": on_leave,
    "other_message": on_other_message,
    "ignored": on_ignored,
}
