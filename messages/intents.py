"""Message intents: what the bot wants to say, as plain data. Builders in messages/ turn them into LINE messages.

Domain code (conversation, jobs, digests) returns these; it never builds LINE objects or texts itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class KpiLine:
    """One KPI target as people see it: what, how much, and where it stands."""

    key: str  # the KpiTarget id, used in postback data
    series_id: str  # 1-2/a
    name: str
    initiative_title: str
    unit: str
    target: Decimal
    fiscal_year: int
    kind: str = "level"
    better: str = "higher"
    last_value: Decimal | None = None
    last_reported_at: datetime | None = None
    achievement: Decimal | None = None  # percent of target reached, in the KPI's own direction
    due: date | None = None
    projected: Decimal | None = (
        None  # year-end projection of a per-year count, when it differs from the value
    )


@dataclass(frozen=True)
class InitiativePlan:
    """An initiative's part of one fiscal year: its actions and KPI targets."""

    id: str
    title: str
    actions: tuple[str, ...] = ()
    kpis: tuple[KpiLine, ...] = ()


@dataclass(frozen=True)
class Kickoff:
    """Start of a fiscal year: a section hears what the plan expects of it."""

    section: str
    fiscal_year: int
    initiatives: tuple[InitiativePlan, ...]


@dataclass(frozen=True)
class KpiRequest:
    """A request for a section's KPI figures, due by a date."""

    section: str
    fiscal_year: int
    due: date
    kpis: tuple[KpiLine, ...]
    final_actuals: bool = False  # the April request for the year just closed


@dataclass(frozen=True)
class Nudge:
    """A reminder that some figures are late."""

    section: str
    fiscal_year: int
    due: date
    days_late: int
    missing: tuple[KpiLine, ...]


@dataclass(frozen=True)
class Confirmation:
    """A report was recorded; say exactly what, and offer to undo it."""

    kpi: KpiLine  # with achievement computed for the new value
    value: Decimal
    report_id: int
    section: str
    reported_at: datetime


@dataclass(frozen=True)
class Voided:
    """A report was taken back (kept for audit)."""

    kpi: KpiLine
    value: Decimal
    replacement: Decimal | None = None


@dataclass(frozen=True)
class Choice:
    """One option of a question: its label and the postback data sent when tapped."""

    label: str
    data: str
    display_text: str | None = None


@dataclass(frozen=True)
class Question:
    """Nothing was recorded yet: ask, with choices to tap (≤ 13)."""

    reason: str  # which_kpi | unit_mismatch | impossible_value | malformed_number | no_figure | several_figures | which_figure | which_year
    text: str = ""  # what the member wrote, quoted back
    choices: tuple[Choice, ...] = ()
    kpi: KpiLine | None = None  # the KPI the question is about, if one
    value: Decimal | None = None


@dataclass(frozen=True)
class NumberPrompt:
    """Ask for the figure of one KPI, with the keyboard opened and prefilled."""

    kpi: KpiLine


@dataclass(frozen=True)
class RoundLine:
    """A section's open KPI request round and state, as the status model reads it (models/section_status.py)."""

    state: str  # late | unreported | at-risk | on-track
    period: str | None = None  # Q1… or final; None when no round is open
    due: date | None = None
    days_late: int = 0
    snoozed_until: date | None = None
    reported: int = 0  # of the open round's KPIs
    expected: int = 0
    unconfirmed: int = 0  # 未確認 items of years before go-live


@dataclass(frozen=True)
class KpiStatus:
    """A section's KPIs this year (latest value, target, achievement) and its delayed action items."""

    section: str
    fiscal_year: int
    kpis: tuple[KpiLine, ...]
    delayed_actions: tuple[str, ...] = ()
    round: RoundLine | None = None


@dataclass(frozen=True)
class ActionLine:
    """One numbered action item with its status."""

    no: int
    id: int
    text: str
    status: str
    initiative_title: str = ""
    section_id: int | None = None  # whose status this is (a shared item has one per section)


@dataclass(frozen=True)
class ActionList:
    """A section's action items for a fiscal year."""

    section: str
    fiscal_year: int
    items: tuple[ActionLine, ...]
    years: tuple[int, ...] = ()  # the fiscal years the plan covers: the other years are offered as chips


@dataclass(frozen=True)
class ActionUpdated:
    """An action item's status changed."""

    item: ActionLine
    previous_status: str


@dataclass(frozen=True)
class OverdueItem:
    """Something late, and for how long."""

    section: str
    what: str
    days_late: int


@dataclass(frozen=True)
class RoundRate:
    """Who answered one KPI request round (models/participation.py): answered of asked, time to a first figure."""

    fiscal_year: int
    period: str
    recorded: bool = True  # False: sent before who was asked was recorded (記録なし)
    sections_answered: int = 0
    sections_asked: int = 0
    people_answered: int = 0
    people_asked: int = 0
    section_rate: int | None = None  # percent
    people_rate: int | None = None
    median_hours: float | None = None  # request to first figure


@dataclass(frozen=True)
class ParticipationLine:
    """A scope's current and previous round and its grade counts ((grade, n), the scale's order then −)."""

    current: RoundRate | None = None
    previous: RoundRate | None = None
    grades: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DigestSection:
    """One section's page of a digest."""

    section: str
    reported: int
    expected: int
    overdue: tuple[OverdueItem, ...] = ()
    at_risk: tuple[KpiLine, ...] = ()
    round: RoundLine | None = None
    participation: ParticipationLine | None = None


@dataclass(frozen=True)
class Digest:
    """The weekly digest for a manager (their sections) or an admin (city-wide)."""

    title_scope: str  # e.g. 市全体 / a section name
    fiscal_year: int
    as_of: date
    sections: tuple[DigestSection, ...]
    dashboard_url: str | None = None
    participation: ParticipationLine | None = None  # the whole scope's


@dataclass(frozen=True)
class AdminResult:
    """The outcome of an admin command: a heading and lines."""

    title: str
    lines: tuple[str, ...]
    more_hint: str | None = None  # where to see the rest when the lines had to be cut


@dataclass(frozen=True)
class Help:
    """What a member can send, with examples drawn from their own KPIs."""

    role: str
    examples: tuple[str, ...] = ()
    registered: bool = True


@dataclass(frozen=True)
class Notice:
    """A short message: greetings, errors, explanations (a key and its values)."""

    key: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DashboardLink:
    """A single-use link that starts a dashboard session (managers and admins)."""

    url: str
    expires_at: datetime
    timezone: str | None = None  # DXBOT_TIMEZONE: the city's clock the expiry is told in (default Tokyo)


@dataclass(frozen=True)
class AdminPage:
    """One page of an admin chat command's answer: a heading, lines, choices to tap, which page of how many.

    Long answers are shown one message at a time; the next page is one of CHOICES (「次へ」), never cut silently.
    """

    title: str
    lines: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    page: int = 1
    pages: int = 1
