"""「今年度の行動計画」 lists the section's action items; 「2 完了」/「完了 2」 sets one's status."""

from __future__ import annotations

import re

from bot.conversation.context import Context
from bot.conversation.incoming import Response
from messages.intents import ActionList, ActionUpdated, Notice
from messages.lines import action_line
from models.actions import section_action_items, section_status, section_statuses, set_status, status_for
from models.fiscal_year import parse_fiscal_year, reiwa_year
from models.plan_queries import plan_years
from models.rows import row_id
from models.tables import Section

STATUS_WORDS = {
    "未着手": "未着手",
    "まだ": "未着手",
    "進行中": "進行中",
    "着手": "進行中",
    "実施中": "進行中",
    "対応中": "進行中",
    "開始": "進行中",
    "遅延": "遅延",
    "遅れ": "遅延",
    "遅れています": "遅延",
    "遅れてる": "遅延",
    "遅れ気味": "遅延",
    "完了": "完了",
    "済み": "完了",
    "済": "完了",
    "終了": "完了",
    "終わりました": "完了",
    "完了しました": "完了",
    "延期": "延期",
    "見送り": "延期",
}
_WORDS = "|".join(sorted(map(re.escape, STATUS_WORDS), key=len, reverse=True))
LIST_RE = re.compile(
    r"(?:(?P<which>今年度|昨年度|前年度|来年度)|(?P<before>(?:令和|R|FY)?\s*\S{1,4}年度|R\d+|FY\d{4}))?\s*の?"
    r"行動計画(?:\s*(?P<year>\S+))?",
    re.I,
)
UPDATE_RE = re.compile(
    rf"(?:No\.?|#|番号)?\s*(?P<no>\d{{1,3}})\s*(?:番|\.|:)?\s*(?:は|を|が)?\s*(?P<status>{_WORDS})(?:です|にする|にして)?[。!]?"
)
UPDATE_REVERSED_RE = re.compile(rf"(?P<status>{_WORDS})\s*(?:No\.?|#)?\s*(?P<no>\d{{1,3}})\s*番?")


def _year(ctx: Context, match: re.Match) -> int | None:
    which, year = match.group("which"), match.group("year") or match.group("before")
    if year:
        try:
            return parse_fiscal_year(year)
        except ValueError:
            return None
    return ctx.fiscal_year + {"昨年度": -1, "前年度": -1, "来年度": 1}.get(which or "", 0)


def numbered_lists(ctx: Context, fiscal_year: int) -> list[tuple[Section, list[tuple[int, object, object]]]]:
    """Each reporting section's items of FISCAL_YEAR, numbered on across the lists as they are shown."""
    lists, number = [], 0
    for section in ctx.reporting_sections:
        rows = []
        for item, initiative in section_action_items(ctx.session, section, fiscal_year):
            number += 1
            rows.append((number, item, initiative))
        lists.append((section, rows))
    return lists


def list_intent(ctx: Context, fiscal_year: int) -> list:
    """The numbered action list of each reporting section for FISCAL_YEAR, with that section's status."""
    intents = []
    lists = numbered_lists(ctx, fiscal_year)
    statuses = section_statuses(ctx.session, [item.id for _, rows in lists for _, item, _ in rows])
    years = tuple(plan_years(ctx.session))
    for section, rows in lists:
        items = tuple(
            action_line(
                n, item, initiative, section=section, status=status_for(statuses, item, row_id(section))[0]
            )
            for n, item, initiative in rows
        )
        intents.append(ActionList(section=section.name, fiscal_year=fiscal_year, items=items, years=years))
    return intents


def handle_list(ctx: Context, match: re.Match) -> Response:
    """List action items (this year unless another year is named)."""
    year = _year(ctx, match)
    if year is None:  # the example is this year's, in both forms: never a year of the bundled plan
        this_year = ctx.fiscal_year
        example = {"reiwa": f"令和{reiwa_year(this_year)}年度", "year": str(this_year)}
        written = match.group("year") or match.group("before")
        return Response(
            intents=[Notice("bad_year", {"text": written, **example})], locale=ctx.locale, outcome="refused"
        )
    return Response(intents=list_intent(ctx, year), locale=ctx.locale, outcome="command")


def handle_update(ctx: Context, match: re.Match) -> Response:
    """Set the status of item number N of this year's lists (numbered as 「今年度の行動計画」 shows them)."""
    number = int(match.group("no"))
    status = STATUS_WORDS[match.group("status")]
    rows = [(section, row) for section, numbered in numbered_lists(ctx, ctx.fiscal_year) for row in numbered]
    if not 1 <= number <= len(rows):
        return Response(
            intents=[Notice("no_such_action", {"no": number, "count": len(rows)})],
            locale=ctx.locale,
            outcome="refused",
        )
    section, (_, item, initiative) = rows[number - 1]
    return update_item(ctx, item, initiative, number, status, section)


def update_item(ctx: Context, item, initiative, number: int, status: str, section: Section) -> Response:
    """Change SECTION's status of one item (history kept) and confirm."""
    previous, _ = section_status(ctx.session, item, section)
    set_status(
        ctx.session,
        item,
        status,
        section=section,
        now=ctx.now,
        by=ctx.member,
        source_message_id=ctx.incoming.message_id,
    )
    line = action_line(number, item, initiative, section=section, status=status)
    return Response(
        intents=[ActionUpdated(item=line, previous_status=previous)], locale=ctx.locale, outcome="recorded"
    )
