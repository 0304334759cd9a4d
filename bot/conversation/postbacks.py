"""Postbacks (buttons and quick replies): one handler per postback action, found through a table."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from bot.conversation.commands import actions as action_commands
from bot.conversation.commands import admin as admin_commands
from bot.conversation.commands import help as help_command
from bot.conversation.commands import report_menu, status
from bot.conversation.context import Context
from bot.conversation.incoming import Response
from bot.conversation.kpi_reply import doubt_question, record, split_key, target_key
from bot.conversation.state import (
    AWAITING_CONFIRMATION,
    AWAITING_KPI_CHOICE,
    AWAITING_NUMBER,
    clear_state,
    get_state,
    set_state,
)
from messages.intents import Notice, NumberPrompt, Voided
from messages.lines import kpi_line
from messages.postback import Postback, PostbackError, decode
from models.editions import initiative_of
from models.reports import latest_reports, open_targets, void_report
from models.rows import row_id
from models.tables import ACTION_STATUSES, KpiReport, KpiTarget


def _allowed_key(ctx: Context, key: str) -> bool:
    """Whether this member may report for that target and section (their sections, or any for an admin)."""
    try:
        target_id, section_id = split_key(key)
    except ValueError:
        return False
    if ctx.registered_member.role != "admin" and section_id not in {s.id for s in ctx.reporting_sections}:
        return False
    target = ctx.session.get(KpiTarget, target_id)
    if target is None or target.removed_at is not None:
        return False
    from models.tables import Section

    section = ctx.session.get(Section, section_id)
    return any(t.target.id == target_id for t in open_targets(ctx.session, section, target.fiscal_year))


def _old_button(ctx: Context) -> Response:
    return Response(intents=[Notice("old_button")], locale=ctx.locale, outcome="refused")


def on_kpi(ctx: Context, postback: Postback) -> Response:
    """A KPI was tapped: remember it and ask for the figure (the keyboard is already open)."""
    sections = {s.id for s in ctx.reporting_sections}
    target = ctx.session.get(KpiTarget, int(postback["target_id"]))
    section_id = next(iter(sections), None)
    if target is None or section_id is None:
        return _old_button(ctx)
    key = next(
        (target_key(row_id(target), s) for s in sections if _allowed_key(ctx, target_key(row_id(target), s))),
        None,
    )
    if key is None:
        return _old_button(ctx)
    set_state(ctx.session, ctx.registered_member, AWAITING_NUMBER, {"key": key}, ctx.now)
    latest = latest_reports(ctx.session, [row_id(target)], split_key(key)[1]).get(row_id(target))
    line = kpi_line(target, initiative_of(ctx.session, target), latest)
    return Response(intents=[NumberPrompt(kpi=line)], locale=ctx.locale, outcome="question")


def _record_choice(ctx: Context, key: str, raw_value: str, *, check: bool = True) -> Response:
    if not _allowed_key(ctx, key):
        return _old_button(ctx)
    try:
        value = Decimal(raw_value)
    except InvalidOperation:
        return _old_button(ctx)
    words = _asked_words(ctx, raw_value)
    question = doubt_question(ctx, key, value, words or raw_value) if check else None
    if question is not None:
        data = {"key": key, "value": raw_value, "text": words, "guided": False}
        set_state(ctx.session, ctx.registered_member, AWAITING_CONFIRMATION, data, ctx.now)
        return Response(intents=[question], locale=ctx.locale, outcome="question", plain=ctx.in_group)
    confirmation = record(ctx, key, value, None, words)
    clear_state(ctx.session, ctx.registered_member)
    return Response(intents=[confirmation], locale=ctx.locale, outcome="recorded", plain=ctx.in_group)


def _asked_words(ctx: Context, raw_value: str) -> str | None:
    """The words of the message the bot asked about, when the tap answers that question (for the audit)."""
    state = get_state(ctx.session, ctx.registered_member, ctx.now)
    if state is None or state.state not in (AWAITING_KPI_CHOICE, AWAITING_CONFIRMATION):
        return None
    asked = [state.data.get("value", "nan"), *state.data.get("values", ())]
    same = Decimal(raw_value) in {Decimal(str(v)) for v in asked}
    return state.data.get("text") if same else None


def on_pick(ctx: Context, postback: Postback) -> Response:
    """The member chose which KPI their figure was for: record it now (or ask when it looks wrong)."""
    return _record_choice(ctx, postback["target_id"], postback["value"])


def on_year(ctx: Context, postback: Postback) -> Response:
    """The member chose the fiscal year of a figure (April/May): record it for that year's target."""
    return _record_choice(ctx, postback["target_id"], postback["value"])


def on_confirm(ctx: Context, postback: Postback) -> Response:
    """記録する on a doubtful figure: the member says it is right, so record it as it is."""
    return _record_choice(ctx, postback["target_id"], postback["value"], check=False)


def answer_typed(ctx: Context, data: dict, answer: str) -> Response:
    """記録する / 修正する typed as words: the same as tapping that button on the question just asked."""
    key, value = data["key"], data["value"]
    if answer == "record":
        return _record_choice(ctx, key, value, check=False)
    target_id, _ = split_key(key)
    return on_kpi(ctx, Postback("kpi", {"target_id": str(target_id)}))


def on_void(ctx: Context, postback: Postback) -> Response:
    """取り消す on a confirmation: void that report if it is the member's and still valid."""
    report = ctx.session.get(KpiReport, int(postback["report_id"]))
    if (
        report is None
        or report.reporter_member_id != ctx.registered_member.id
        or report.voided_at is not None
    ):
        return Response(intents=[Notice("nothing_to_undo")], locale=ctx.locale, outcome="refused")
    void_report(ctx.session, report, by=ctx.member, now=ctx.now, reason="取り消し")
    target = ctx.session.get(KpiTarget, report.kpi_target_id)
    line = kpi_line(target, initiative_of(ctx.session, target))
    return Response(intents=[Voided(kpi=line, value=report.value)], locale=ctx.locale, outcome="recorded")


def on_action(ctx: Context, postback: Postback) -> Response:
    """A status button on an action item."""
    status_value = postback["status"]
    if status_value not in ACTION_STATUSES:
        return _old_button(ctx)
    item_id = int(postback["item_id"])
    section_id = int(postback["section_id"]) if "section_id" in postback.args else None
    for section, rows in action_commands.numbered_lists(ctx, ctx.fiscal_year):
        if section_id is not None and section.id != section_id:
            continue
        for number, item, initiative in rows:
            if item.id == item_id:
                return action_commands.update_item(ctx, item, initiative, number, status_value, section)
    return _old_button(ctx)


def on_actions_of_year(ctx: Context, postback: Postback) -> Response:
    """Show the action items of another fiscal year."""
    return Response(
        intents=action_commands.list_intent(ctx, int(postback["fiscal_year"])),
        locale=ctx.locale,
        outcome="command",
    )


MENU = {
    "report": report_menu.handle,
    "status": status.handle,
    "help": help_command.handle,
    "actions": lambda ctx, match: Response(
        intents=action_commands.list_intent(ctx, ctx.fiscal_year), locale=ctx.locale, outcome="command"
    ),
}


def on_menu(ctx: Context, postback: Postback) -> Response:
    """A rich menu item."""
    handler = MENU.get(postback["item"])
    return handler(ctx, None) if handler else _old_button(ctx)


def on_page(ctx: Context, postback: Postback) -> Response:
    """An admin command's 「次へ」 or one of its choices: the command's answer, at the page asked for."""
    paged = admin_commands.run_page(ctx, postback["page"], postback["command"])
    return paged if paged is not None else _old_button(ctx)


def on_language(ctx: Context, postback: Postback) -> Response:
    """Switch language from a button."""
    ctx.registered_member.locale = "en" if postback["locale"] == "en" else "ja"
    ctx.session.add(ctx.member)
    return Response(
        intents=[Notice("language" if ctx.registered_member.locale == "en" else "language_ja")],
        locale=ctx.registered_member.locale,
        outcome="command",
    )


POSTBACKS: dict[str, Callable[[Context, Postback], Response]] = {
    "kpi": on_kpi,
    "page": on_page,
    "pick": on_pick,
    "ok": on_confirm,
    "fy": on_year,
    "void": on_void,
    "act": on_action,
    "actsec": on_action,
    "acts": on_actions_of_year,
    "menu": on_menu,
    "lang": on_language,
}


def handle_postback(ctx: Context) -> Response:
    """Decode the data and dispatch; anything the bot did not make gets a polite 'old button' reply."""
    try:
        postback = decode(ctx.incoming.postback_data or "")
    except PostbackError:
        return _old_button(ctx)
    if not _numbers_fit(postback):
        return _old_button(ctx)
    try:
        return POSTBACKS[postback.action](ctx, postback)
    except (ValueError, KeyError):
        return _old_button(ctx)


_ID_ARGUMENTS = frozenset({"target_id", "report_id", "item_id", "fiscal_year"})
_DIGITS = re.compile(r"[0-9]+")


def _numbers_fit(postback: Postback) -> bool:
    """Ids and years a database INTEGER can hold: tampered data with huge numbers is an old button, not a crash."""
    return all(
        int(digits) < 2**31
        for name in _ID_ARGUMENTS & postback.args.keys()
        for digits in _DIGITS.findall(postback.args[name])
    )
