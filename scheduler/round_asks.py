"""Who a request round asked is fixed when its request goes out, not when a paused section's is held."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session, col, select

from models.participation import record_asked, withdraw_asked
from models.rounds import find_round
from models.tables import Member, OutboxMessage, Section

REQUEST_KINDS = ("kpi-request", "final-actuals")
_REQUEST_KEY = re.compile(
    r"^(?:kpi-request:(?P<fy>\d+):(?P<period>[^:]+)|final-actuals:(?P<final_fy>\d+)):(?P<sid>\d+)"
)


def request_key(section: Section, fiscal_year: int, period: str, final: bool) -> str:
    """The outbox key of a section's request for one period (one request per period, however often it runs)."""
    if final:
        return f"final-actuals:{fiscal_year}:{section.id}"
    return f"kpi-request:{fiscal_year}:{period}:{section.id}"


def _round_of(session: Session, row: OutboxMessage):
    """The request round an outbox row of a KPI request belongs to (from its dedup key), or None."""
    found = _REQUEST_KEY.match(row.dedup_key) if row.kind in REQUEST_KINDS else None
    if found is None:
        return None
    if found["final_fy"] is not None:
        return find_round(session, int(found["sid"]), int(found["final_fy"]), "final")
    return find_round(session, int(found["sid"]), int(found["fy"]), found["period"])


def _members(session: Session, line_ids: Iterable[str], transport: str = "line") -> list[Member]:
    return list(
        session.exec(
            select(Member).where(
                col(Member.line_user_id).in_(list(line_ids)), col(Member.transport) == transport
            )
        ).all()
    )


def asked_when_released(session: Session, rows: Iterable[OutboxMessage]) -> None:
    """Record the people of released KPI requests as asked, from when the request now goes out."""
    for row in rows:
        request_round = _round_of(session, row)
        if request_round is not None:
            record_asked(session, request_round, _members(session, row.recipients, row.transport), [row])


def withdrawn_when_held(session: Session, row: OutboxMessage) -> None:
    """A queued KPI request held at delivery (its section was paused since) has asked nobody yet."""
    request_round = _round_of(session, row)
    if request_round is not None:
        withdraw_asked(session, request_round, _members(session, row.recipients, row.transport))
