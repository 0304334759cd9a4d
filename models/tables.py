"""The database tables: the plan, its sections, people, their reports and what the bot said."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKeyConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.columns import aware, decimal, json_list
from models.rows import table_of
from models.types import utcnow

ACTION_STATUSES = ("未着手", "進行中", "遅延", "完了", "延期")
ROLES = ("staff", "manager", "admin")
KPI_KINDS = ("level", "increase", "reduction")
KPI_PERIODS = ("year", "month")
KPI_BETTER = ("higher", "lower")


# --- the plan -----------------------------------------------------------------------------------


def _of_initiative(*args: Any) -> tuple:
    """ARGS and the key by which a row of an initiative points at it: within its edition (1-1 is unique there)."""
    key = ForeignKeyConstraint(["edition_id", "initiative_id"], ["initiative.edition_id", "initiative.id"])
    return (*args, key)


class PlanEdition(SQLModel, table=True):
    """One adopted plan (FY2023–FY2026, then the next): fiscal years never shared, ids (1-1) unique within it."""

    id: int | None = Field(default=None, primary_key=True)
    title: str
    first_year: int = Field(index=True)
    last_year: int
    source: str
    imported_at: datetime = aware(default_factory=utcnow)
    imported_by: str | None = None


class Measure(SQLModel, table=True):
    """A 施策 of the plan, numbered (1)–(12) within its edition."""

    __table_args__ = (UniqueConstraint("edition_id", "no"),)

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="planedition.id", index=True)
    no: int
    title: str


class Section(SQLModel, table=True):
    """A 課・室 of the city (or one of its sites), with the department (部局) it belongs to."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    department: str | None = Field(default=None, index=True)
    short_name: str | None = Field(default=None, index=True)  # 上水道課 for 上水道課 薪浄水場
    created_at: datetime = aware(default_factory=utcnow)


class SectionFormerName(SQLModel, table=True):
    """A name a section had before 課の統廃合 (renamed, or merged into another), so old names still find it."""

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", index=True)  # the section row that had the name
    name: str = Field(index=True)
    until: datetime = aware()
    reason: str  # renamed | merged
    merged_into_id: int | None = Field(default=None, foreign_key="section.id")  # merged: its successor


class Initiative(SQLModel, table=True):
    """A 取組み, identified within its edition as measure-position (e.g. 8-1); PK is a surrogate."""

    __table_args__ = (
        UniqueConstraint("edition_id", "id"),
        ForeignKeyConstraint(["edition_id", "measure_no"], ["measure.edition_id", "measure.no"]),
    )

    pk: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="planedition.id", index=True)
    id: str = Field(max_length=16, index=True)
    measure_no: int = Field(index=True)
    position: int
    title: str
    summary: str
    departments: list[str] = json_list()


class InitiativeSection(SQLModel, table=True):
    """One entry of an initiative's 担当課・室: a section, or a group placeholder resolved at query time."""

    __table_args__ = _of_initiative(UniqueConstraint("edition_id", "initiative_id", "position"))

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="planedition.id", index=True)
    initiative_id: str = Field(index=True)
    position: int
    label: str  # as written in the plan: 社会教育課 中央公民館, 建設部の全所属
    section_id: int | None = Field(default=None, foreign_key="section.id", index=True)
    group_kind: str | None = None  # all | department | related
    group_department: str | None = None
    is_lead: bool = False


class ActionItem(SQLModel, table=True):
    """One 行動計画 item of an initiative for one fiscal year; STATUS is the roll-up of its sections' statuses."""

    __table_args__ = _of_initiative(Index("ix_actionitem_initiative_year", "initiative_id", "fiscal_year"))

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="planedition.id", index=True)
    initiative_id: str
    fiscal_year: int = Field(index=True)
    position: int
    text: str
    status: str = "未着手"
    status_changed_at: datetime | None = aware(nullable=True)
    removed_at: datetime | None = aware(nullable=True)  # dropped by a later plan revision; history kept


class ActionStatusChange(SQLModel, table=True):
    """Who moved an action item to which status, when, and from which message."""

    id: int | None = Field(default=None, primary_key=True)
    action_item_id: int = Field(foreign_key="actionitem.id", index=True)
    previous_status: str
    status: str
    changed_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    source_message_id: str | None = None
    note: str | None = None
    changed_at: datetime = aware(default_factory=utcnow)
    # The section whose status moved: a shared item has one status per section (None: an item no section has).
    section_id: int | None = Field(default=None, foreign_key="section.id", index=True)


class ActionSectionStatus(SQLModel, table=True):
    """One section's current status of an action item; no row means the section has not touched it (未着手)."""

    __table_args__ = (UniqueConstraint("action_item_id", "section_id"),)

    id: int | None = Field(default=None, primary_key=True)
    action_item_id: int = Field(foreign_key="actionitem.id")
    section_id: int = Field(foreign_key="section.id", index=True)
    status: str = "未着手"
    status_changed_at: datetime = aware(default_factory=utcnow)


class KpiTarget(SQLModel, table=True):
    """The target of one KPI series for one fiscal year (e.g. 8-1/a in FY2024: 100%)."""

    __table_args__ = _of_initiative(UniqueConstraint("edition_id", "series_id", "fiscal_year"))

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="planedition.id", index=True)
    series_id: str = Field(index=True, max_length=24)
    initiative_id: str = Field(index=True)
    fiscal_year: int = Field(index=True)
    position: int
    name: str
    target: Decimal = decimal()
    unit: str
    period: str | None = None  # year | month | None
    kind: str = "level"  # level | increase | reduction
    better: str = "higher"  # higher | lower
    note: str | None = None
    raw: str
    removed_at: datetime | None = aware(nullable=True)
    updated_at: datetime = aware(default_factory=utcnow)


class KpiTargetRevision(SQLModel, table=True):
    """An earlier value of a KPI target, kept when a revised plan (毎年度見直し) changes it."""

    id: int | None = Field(default=None, primary_key=True)
    kpi_target_id: int = Field(foreign_key="kpitarget.id", index=True)
    name: str
    target: Decimal = decimal()
    unit: str
    period: str | None = None
    kind: str
    better: str
    note: str | None = None
    raw: str
    replaced_at: datetime = aware(default_factory=utcnow)


class PlanImport(SQLModel, table=True):
    """A record of each plan load: when, from where, and what changed."""

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int | None = Field(default=None, foreign_key="planedition.id")
    source: str
    digest: str
    imported_at: datetime = aware(default_factory=utcnow)
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- people -------------------------------------------------------------------------------------


TRANSPORTS = ("line", "lineworks")  # the chat platforms a member, group, event or outbox row belongs to


def transport_field():
    """Which platform a row is for: `line` (the default, also for every row older than LINE WORKS) or `lineworks`."""
    return Field(default="line", max_length=16, sa_column_kwargs={"server_default": "line"})


class Member(SQLModel, table=True):
    """A person the bot talks to: section staff, a manager or an admin.

    `line_user_id` is the person's id on their platform (`transport`): unique per platform, so one id may
    be a member on LINE and another on LINE WORKS (the name stays: it is a JSON key and a contract).
    """

    __table_args__ = (Index("ux_member_transport_user", "transport", "line_user_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    line_user_id: str = Field(index=True, max_length=64)
    transport: str = transport_field()
    display_name: str
    role: str = "staff"
    locale: str = "ja"
    active: bool = True
    inactive_reason: str | None = None  # unfollow (they blocked the bot) | removed (by an admin)
    created_at: datetime = aware(default_factory=utcnow)
    updated_at: datetime = aware(default_factory=utcnow)


class StaffNumber(SQLModel, table=True):
    """A member's 職員番号 from the personnel system's roster (`dxbot member import`); purging deletes it."""

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    number: str = Field(unique=True, index=True, max_length=32)


class MemberSection(SQLModel, table=True):
    """A member's assignment to a section; ended (not deleted) by 人事異動 so history stays."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    section_id: int = Field(foreign_key="section.id", index=True)
    since: datetime = aware(default_factory=utcnow)
    until: datetime | None = aware(nullable=True)


# --- reports ------------------------------------------------------------------------------------


class KpiReport(SQLModel, table=True):
    """A figure a section reported for a KPI target; corrected by voiding, never deleted."""

    # Lookups by (KPI target, section) use ix_kpireport_latest (declared below the class), which starts
    # with those two columns; a separate two-column index only tempted PostgreSQL into a sort.

    id: int | None = Field(default=None, primary_key=True)
    kpi_target_id: int = Field(foreign_key="kpitarget.id")
    section_id: int = Field(foreign_key="section.id", index=True)
    value: Decimal = decimal()
    unit_written: str | None = None
    reporter_member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    source_message_id: str | None = Field(default=None, index=True)
    source_text: str | None = None
    reported_at: datetime = aware(default_factory=utcnow, index=True)
    voided_at: datetime | None = aware(nullable=True)
    voided_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    void_reason: str | None = None


# --- what the bot said --------------------------------------------------------------------------


class TranscriptEntry(SQLModel, table=True):
    """One request the console sender printed instead of sending to LINE."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = aware(default_factory=utcnow, index=True)
    kind: str  # reply | push | multicast
    transport: str = transport_field()  # the platform the message was for (line | lineworks)
    recipients: list[str] = json_list()
    reply_token: str | None = None
    messages: list[dict] = json_list()


# --- conversation -------------------------------------------------------------------------------


class InboxEvent(SQLModel, table=True):
    """Every webhook event LINE delivered, written before it is handled (dedup by webhookEventId)."""

    # The event worker's sweep and the /metrics backlog gauge look for unhandled rows only: a partial
    # index keeps that a small seek however many handled rows the inbox collects over the years.
    __table_args__ = (
        Index(
            "ix_inboxevent_unhandled",
            "id",
            sqlite_where=text("handled_at IS NULL"),
            postgresql_where=text("handled_at IS NULL"),
        ),
        # /metrics and `dxbot doctor` count the failed rows: a seek too, however large the inbox grows.
        Index(
            "ix_inboxevent_failed",
            "id",
            sqlite_where=text("failed_at IS NOT NULL"),
            postgresql_where=text("failed_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_event_id: str = Field(unique=True, index=True, max_length=64)
    transport: str = transport_field()  # which platform's callback stored it (its body's format)
    event_type: str
    event_timestamp: datetime = aware()
    is_redelivery: bool = False
    source_type: str | None = None  # user | group | room
    received_at: datetime = aware(default_factory=utcnow)  # by the app's clock (DXBOT_NOW when frozen)
    # By the real clock whatever DXBOT_NOW says: how long a row has waited, for the event worker's sweep.
    stored_at: datetime | None = aware(nullable=True, default_factory=utcnow)
    handled_at: datetime | None = aware(nullable=True)
    # Which process's sweep took the row, and when by the real clock: the process that queued it at
    # /callback then skips it instead of handling it at the same time, and other sweeps leave it alone
    # until it is stale again (the sweeping process stopped before handling it).
    swept_at: datetime | None = aware(nullable=True)
    swept_by: str | None = Field(default=None, max_length=128)
    body: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # registered members only
    outcome: str | None = None  # what handling did, in a word (recorded, question, ignored, error…)
    # Handlings that did not finish (taken by a sweep, or raised): after MAX_ATTEMPTS the event is set
    # aside as failed (dead-lettered) — failed_at and handled_at set, outcome "failed", the class of
    # the last error, and the body kept without its text — so it is never taken again by itself.
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    failed_at: datetime | None = aware(nullable=True)
    error_class: str | None = None


class InviteCode(SQLModel, table=True):
    """A single-use registration code an admin hands out: whoever sends it joins SECTION with ROLE."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=16)
    section_id: int = Field(foreign_key="section.id")
    role: str = "staff"
    created_at: datetime = aware(default_factory=utcnow)
    expires_at: datetime = aware()
    created_by: str | None = None
    used_at: datetime | None = aware(nullable=True)
    used_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    used_for_group_id: str | None = None
    staff_number: str | None = Field(default=None, index=True, max_length=32)  # a roster's new person
    display_name: str | None = None  # their name in the roster, used instead of the LINE name


class GroupBinding(SQLModel, table=True):
    """A LINE group chat (or LINE WORKS room, `channel:{id}`) bound to a section (by an invite code sent in it)."""

    __table_args__ = (Index("ux_groupbinding_transport_group", "transport", "group_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(index=True, max_length=64)
    transport: str = transport_field()
    section_id: int = Field(foreign_key="section.id")
    bound_at: datetime = aware(default_factory=utcnow)
    active: bool = True


class ConversationState(SQLModel, table=True):
    """Where a member's conversation stands (a named state and its data), so a reply can continue it."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", unique=True)
    state: str  # e.g. awaiting_number, awaiting_kpi_choice
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = aware(default_factory=utcnow)
    expires_at: datetime = aware()


# --- scheduling and delivery ---------------------------------------------------------------------

OUTBOX_STATUSES = ("pending", "sent", "failed", "held")
ANSWER_KIND = "answer"  # an outbox row holding the handling's answer to a webhook event


class OutboxMessage(SQLModel, table=True):
    """One LINE request waiting to be sent (≤ 5 messages, ≤ 500 recipients), written by a job in its transaction.

    The dedup key makes re-running a job for the same period add nothing; the retry key (sent as
    X-Line-Retry-Key) makes a retry after a timeout impossible to deliver twice.
    """

    __table_args__ = (Index("ix_outboxmessage_due", "status", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=32)
    kind: str = Field(
        max_length=32
    )  # kickoff | kpi-request | final-actuals | nudge | escalation | digest | notice | answer (webhook)
    section_id: int | None = Field(default=None, foreign_key="section.id", index=True)
    recipients: list[str] = json_list()
    # LINE message JSON (transport line), or LINE WORKS send bodies (lineworks: one recipient per row)
    messages: list[dict] = json_list()
    transport: str = transport_field()
    dedup_key: str = Field(unique=True, max_length=200)
    status: str = Field(default="pending", max_length=16)
    retry_key: str = Field(max_length=36)
    not_before: datetime = aware()
    attempts: int = 0
    next_attempt_at: datetime | None = aware(nullable=True)
    created_at: datetime = aware(default_factory=utcnow)
    sent_at: datetime | None = aware(nullable=True)
    error: str | None = None


class KpiRequestRound(SQLModel, table=True):
    """One request to one section for its KPI figures of a period, and how it was followed up."""

    __table_args__ = (UniqueConstraint("section_id", "fiscal_year", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", index=True)
    fiscal_year: int
    period: str = Field(max_length=16)  # Q1 | Q2 | Q3 | final
    requested_at: datetime = aware()
    due_at: datetime = aware()
    answered_at: datetime | None = aware(nullable=True)
    nudges: int = 0
    last_nudged_at: datetime | None = aware(nullable=True)
    escalated_at: datetime | None = aware(nullable=True)
    snoozed_until: datetime | None = aware(nullable=True)
    closed_at: datetime | None = aware(nullable=True)  # its section was merged away before it answered


class KpiRoundAsk(SQLModel, table=True):
    """Who a KPI request round asked, by member id, fixed when sent: purges and moves never change a rate."""

    __table_args__ = (UniqueConstraint("round_id", "member_id"),)  # a re-run or a nudge asks nobody twice

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="kpirequestround.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    asked_at: datetime = aware()  # when the request goes out (its send window), not when it was queued


class SectionPause(SQLModel, table=True):
    """A section an admin paused (e.g. during 人事異動): it receives nothing until resumed or UNTIL passes."""

    id: int | None = Field(default=None, primary_key=True)
    section_id: int = Field(foreign_key="section.id", unique=True)
    paused_at: datetime = aware(default_factory=utcnow)
    until: datetime | None = aware(nullable=True)
    paused_by: str | None = None


# The dashboard's "latest valid report per (KPI target, section) as of a moment": one index seek per pair.
Index(
    "ix_kpireport_latest",
    *(
        table_of(KpiReport).c[name]
        for name in ("kpi_target_id", "section_id", "voided_at", "reported_at", "id")
    ),
)


# The bot process's own bookkeeping (leases, job runs, the simulator's clock, dashboard logins) lives in
# models/runtime_tables.py; imported here so one import of models.tables registers every table.
from models.runtime_tables import (  # noqa: E402
    ClockLease,
    DashboardSession,
    JobRun,
    LineWorksToken,
    LoginLink,
    SimulatorClock,
)

__all__ = ["ClockLease", "DashboardSession", "JobRun", "LineWorksToken", "LoginLink", "SimulatorClock"]
