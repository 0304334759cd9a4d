"""Purge a member: their LINE id, name and stored messages leave the database; their reports stay, as 退職者N.

個人情報保護法 and the city's 条例 expect personal data to be deleted once its purpose has ended (a person
who left). Reports, action status changes and section history are the plan's record, not the person's:
they stay, attributed to the same member row renamed to a numbered placeholder, so the plan's history
and grades do not change. Everything else that names the person is removed or rewritten:

- the member row: LINE id → ``purged-N``, display name → ``退職者N`` (any other identifying text column
  added later is cleared too), deactivated with the reason ``purged``;
- webhook bodies they sent (InboxEvent.body; the row and its outcome stay);
- outbox and transcript recipient lists (a row left with no recipient is deleted: what was said to that
  person alone goes with them, and a pending one could go to nobody);
- their conversation state and dashboard login links;
- then every text and JSON column of every other table (the plan's own tables excepted): the LINE id
  and the name, as written or JSON-escaped, are replaced by the placeholders (「登録しました：退職者1さん」).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    null,
    or_,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from models.members import MemberError, require_member
from models.rows import row_id as stored_id
from models.rows import table_of
from models.tables import (
    ActionStatusChange,
    ConversationState,
    DashboardSession,
    InboxEvent,
    InviteCode,
    KpiReport,
    LoginLink,
    Member,
    OutboxMessage,
    StaffNumber,
    TranscriptEntry,
)

PURGED = "purged"  # Member.inactive_reason of a purged member
PLACEHOLDER_NAME = "退職者{number}"
PLACEHOLDER_ID = "purged-{number}"
# The plan's own tables hold no personal data; a name that is also a place or section name stays there.
PLAN_TABLES = frozenset(
    {
        "measure",
        "section",
        "initiative",
        "initiativesection",
        "actionitem",
        "kpitarget",
        "kpitargetrevision",
        "planimport",
    }
)
# Member columns that say what the member does, not who they are.
NOT_PERSONAL = frozenset({"role", "locale", "inactive_reason"})
MIN_NAME_LENGTH = 2  # a one-character name would rewrite every text that contains that character
BATCH = 500
MAX_MEMBER_ID = 2**31 - 1  # larger "ids" are not ids (PostgreSQL's integer would refuse them)


@dataclass
class PurgeSummary:
    """What a purge changed, for the operator (counts only: nothing in it names the person)."""

    member_id: int
    placeholder: str
    inbox_bodies: int = 0
    outbox_rows_changed: int = 0
    outbox_rows_dropped: int = 0
    transcript_entries_changed: int = 0
    transcript_entries_dropped: int = 0
    rows_rewritten: dict[str, int] = field(default_factory=dict)  # table → rows whose texts named them
    reports_kept: int = 0
    status_changes_kept: int = 0
    name_searched: bool = True  # False when the name was too short to look for in texts


def find_member(session: Session, reference: str, transport: str | None = None) -> Member:
    """The member REFERENCE names: their id (`member list --json`) or platform user id (on TRANSPORT, or on
    either when None: two members with that id is a MemberError asking which); MemberError if none."""
    reference = reference.strip()
    if reference.isdigit():
        member = session.get(Member, int(reference)) if int(reference) <= MAX_MEMBER_ID else None
        if member is None:
            raise MemberError(f"no member with id {reference}; `dxbot member list --json` shows the ids")
        return member
    return require_member(session, reference, transport)


def purge_member(session: Session, member: Member, *, now: datetime) -> PurgeSummary:
    """Remove MEMBER's personal data everywhere (see the module's docstring); the caller commits."""
    if member.inactive_reason == PURGED:
        raise MemberError(f"member {member.id} was already purged ({member.display_name})")
    number = (
        session.exec(select(func.count()).select_from(Member).where(Member.inactive_reason == PURGED)).one()
        + 1
    )
    name, placeholder_id = PLACEHOLDER_NAME.format(number=number), PLACEHOLDER_ID.format(number=number)
    summary = PurgeSummary(member_id=stored_id(member), placeholder=name)
    line_id = member.line_user_id
    replacements = _replacements(member, name, placeholder_id)
    summary.name_searched = member.display_name in replacements

    summary.inbox_bodies = _drop_inbox_bodies(session, line_id, now)
    summary.outbox_rows_changed, summary.outbox_rows_dropped = _strip_recipients(
        session, OutboxMessage, line_id
    )
    summary.transcript_entries_changed, summary.transcript_entries_dropped = _strip_recipients(
        session, TranscriptEntry, line_id
    )
    session.execute(delete(ConversationState).where(col(ConversationState.member_id) == member.id))
    session.execute(delete(LoginLink).where(col(LoginLink.member_id) == member.id))
    session.execute(delete(DashboardSession).where(col(DashboardSession.member_id) == member.id))
    session.execute(
        delete(StaffNumber).where(col(StaffNumber.member_id) == member.id)
    )  # 職員番号 identifies them
    session.execute(
        update(InviteCode).where(col(InviteCode.used_by_member_id) == member.id).values(staff_number=None)
    )
    _anonymise(member, name, placeholder_id, now)
    session.add(member)
    session.flush()
    summary.rows_rewritten = _rewrite_everywhere(session, replacements)

    summary.reports_kept = session.exec(
        select(func.count())
        .select_from(KpiReport)
        .where(
            or_(
                col(KpiReport.reporter_member_id) == member.id,
                col(KpiReport.voided_by_member_id) == member.id,
            )
        )
    ).one()
    summary.status_changes_kept = session.exec(
        select(func.count())
        .select_from(ActionStatusChange)
        .where(ActionStatusChange.changed_by_member_id == member.id)
    ).one()
    return summary


# --- the member row ------------------------------------------------------------------------------


def _is_string(column: Column) -> bool:
    """A text column, SQLModel's AutoString (a TypeDecorator around String) included."""
    return isinstance(column.type, String) or isinstance(getattr(column.type, "impl", None), String)


def _personal_columns() -> list[Column]:
    """The member's text columns that identify the person (LINE id, name, any platform id added later)."""
    return [
        c
        for c in table_of(Member).columns
        if _is_string(c) and not c.primary_key and c.name not in NOT_PERSONAL
    ]


def _replacements(member: Member, name: str, placeholder_id: str) -> dict[str, str]:
    """Each identifying value of MEMBER → what replaces it in texts, longest first."""
    found: dict[str, str] = {}
    for column in _personal_columns():
        value = getattr(member, column.name)
        if not isinstance(value, str) or not value.strip():
            continue
        if column.name == "display_name":
            if len(value.strip()) >= MIN_NAME_LENGTH:
                found[value] = found[value.strip()] = name
        else:
            found[value] = placeholder_id
    return dict(sorted(found.items(), key=lambda item: len(item[0]), reverse=True))


def _anonymise(member: Member, name: str, placeholder_id: str, now: datetime) -> None:
    for column in _personal_columns():
        if column.name == "display_name":
            member.display_name = name
        elif column.name == "line_user_id":
            member.line_user_id = placeholder_id
        else:
            setattr(member, column.name, None if column.nullable else placeholder_id)
    member.active, member.inactive_reason, member.updated_at = False, PURGED, now


# --- rows that belong to the person ----------------------------------------------------------------


def _escaped(text: str) -> str:
    """TEXT as the JSON columns store it (non-ASCII as \\uXXXX escapes), without the quotes."""
    return json.dumps(text)[1:-1]


def _contains(column: Column, needle: str) -> ColumnElement[bool]:
    """COLUMN's text holds NEEDLE as written or JSON-escaped; a LIKE that SQLite and PostgreSQL both run."""
    text = column if _is_string(column) else cast(column, Text)
    forms = dict.fromkeys((needle, _escaped(needle)))
    return or_(*(text.contains(form, autoescape=True) for form in forms))


def _sender_of(body: Any) -> Any:
    source = body.get("source") if isinstance(body, Mapping) else None
    return source.get("userId") if isinstance(source, Mapping) else None


def _drop_inbox_bodies(session: Session, line_id: str, now: datetime) -> int:
    """Clear the stored webhook bodies the person sent; the rows and outcomes stay. Returns rows cleared."""
    table = table_of(InboxEvent)
    dropped, last = 0, 0
    while True:
        rows = session.execute(
            sa_select(table.c.id, table.c.body, table.c.handled_at)
            .where(_contains(table.c.body, line_id), table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        for row_id, body, handled_at in rows:
            if _sender_of(body) != line_id:
                continue  # someone else's event that names them: rewritten with the other texts
            values: dict[str, Any] = {"body": null()}
            if handled_at is None:  # not handled yet: never handle it for a person who is gone
                values.update(handled_at=now, outcome="ignored")
            session.execute(table.update().where(table.c.id == row_id).values(**values))
            dropped += 1
        if len(rows) < BATCH:
            return dropped
        last = rows[-1][0]


def _strip_recipients(session: Session, model: type[SQLModel], line_id: str) -> tuple[int, int]:
    """Take the person off MODEL's recipient lists; rows left with nobody are deleted. (changed, deleted)."""
    table = table_of(model)
    changed = dropped = 0
    last = 0
    while True:
        rows = session.execute(
            sa_select(table.c.id, table.c.recipients)
            .where(_contains(table.c.recipients, line_id), table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        for row_id, recipients in rows:
            kept = [r for r in recipients or [] if r != line_id]
            if len(kept) == len(recipients or []):
                continue
            if kept:
                session.execute(table.update().where(table.c.id == row_id).values(recipients=kept))
                changed += 1
            else:
                session.execute(table.delete().where(table.c.id == row_id))
                dropped += 1
        if len(rows) < BATCH:
            return changed, dropped
        last = rows[-1][0]


# --- every other text ------------------------------------------------------------------------------


def _holds_text(column: Column) -> bool:
    return not column.primary_key and (_is_string(column) or isinstance(column.type, JSON))


def _replace(value: Any, replacements: Mapping[str, str]) -> Any:
    """VALUE (a string, or JSON data) with each needle replaced, as written and as JSON escapes it."""
    if isinstance(value, str):
        for needle, replacement in replacements.items():
            value = value.replace(needle, replacement)
            value = value.replace(_escaped(needle), _escaped(replacement))
        return value
    if isinstance(value, list):
        return [_replace(v, replacements) for v in value]
    if isinstance(value, dict):
        return {_replace(k, replacements): _replace(v, replacements) for k, v in value.items()}
    return value


def _fit(value: Any, column: Column) -> Any:
    """Cut a rewritten string to the column's length (a placeholder can be longer than a short name)."""
    length = getattr(column.type, "length", None)
    return value[:length] if isinstance(value, str) and length else value


def _rewrite_everywhere(session: Session, replacements: Mapping[str, str]) -> dict[str, int]:
    """Replace the person's identifiers in every text and JSON column outside the plan and member tables."""
    rewritten: dict[str, int] = {}
    if not replacements:
        return rewritten
    for table in SQLModel.metadata.sorted_tables:
        columns = [c for c in table.columns if _holds_text(c)]
        keys = list(table.primary_key.columns)
        if table.name in PLAN_TABLES or table.name == Member.__tablename__ or not columns or not keys:
            continue
        matches = or_(*(_contains(c, needle) for c in columns for needle in replacements))
        count = _rewrite_table(session, table, keys, columns, matches, replacements)
        if count:
            rewritten[table.name] = count
    return rewritten


def _rewrite_table(session, table: Table, keys, columns, matches, replacements) -> int:
    count = 0
    last = None
    while True:
        query = sa_select(*keys, *columns).where(matches)
        if len(keys) == 1:  # page through large tables by key; a composite key is read at once
            query = query.order_by(keys[0]).limit(BATCH)
            if last is not None:
                query = query.where(keys[0] > last)
        rows = session.execute(query).all()
        for row in rows:
            values = {}
            for column in columns:
                old = row._mapping[column]
                new = _replace(old, replacements)
                if new != old:
                    values[column.name] = _fit(new, column)
            if values:
                where = and_(*(key == row._mapping[key] for key in keys))
                session.execute(table.update().where(where).values(**values))
                count += 1
        if len(keys) != 1 or len(rows) < BATCH:
            return count
        last = rows[-1][0]


__all__ = ["PURGED", "PurgeSummary", "find_member", "purge_member"]
