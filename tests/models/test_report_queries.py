"""The newest-report lookup stays an index seek when one (KPI target, section) pair has piled up reports.

A staff member's KPI reply, the digest and the dashboard all ask for a pair's newest valid report. With
many reports for one pair and statistics taken while the table was small (a new deployment), PostgreSQL
once read all of the pair's reports through a two-column index and sorted them (31 ms instead of 0.5 ms
per lookup, on every reply)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from models.reports import _OPEN_TARGETS, open_targets
from models.sections import find_section

PILE = 40_000  # reports for one pair (a bench's pile, not a city's): with ~20,000 the costs happened to tie


def _pile_up(session: Session, target_id: int, section_id: int) -> None:
    """PILE reports for one pair, written after the table's statistics were taken (as on a new deployment)."""
    params = {"t": target_id, "s": section_id, "n": PILE}
    if session.get_bind().dialect.name == "postgresql":
        # A new deployment's table: empty on disk too (the tests empty tables with DELETE, which leaves
        # earlier tests' dead rows behind until a vacuum, and those change what ANALYZE records).
        session.execute(text("TRUNCATE kpireport CASCADE"))
        session.execute(text("ANALYZE kpireport"))
        session.execute(
            text(
                "INSERT INTO kpireport (kpi_target_id, section_id, value, reported_at) "
                "SELECT :t, :s, g, now() - g * interval '1 minute' FROM generate_series(1, :n) g"
            ),
            params,
        )
    else:
        session.execute(
            text(
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
                "INSERT INTO kpireport (kpi_target_id, section_id, value, reported_at) "
                "SELECT :t, :s, i, datetime('now', '-' || i || ' minutes') FROM g"
            ),
            params,
        )
    session.commit()


def _plan_lines(session: Session, section_id: int, fiscal_year: int) -> list[str]:
    dialect = session.get_bind().dialect
    sql = str(
        _OPEN_TARGETS.params(section_ids=[section_id], fiscal_years=[fiscal_year]).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}
        )
    )
    if dialect.name == "postgresql":
        return list(session.execute(text("EXPLAIN " + sql)).scalars())
    rows = session.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
    depth = {0: -1}
    lines = []
    for node, parent, _, detail in rows:  # indent each node under its parent, as PostgreSQL's plan is
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def _subquery(lines: list[str]) -> list[str]:
    """The plan of the correlated newest-report subquery: the lines indented under its heading."""
    start = next(
        i
        for i, line in enumerate(lines)
        if line.strip().startswith(("SubPlan", "CORRELATED SCALAR SUBQUERY"))
    )
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = []
    for line in lines[start + 1 :]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line.strip())
    return block


def test_a_pairs_newest_report_is_read_backwards_from_the_index_without_a_sort(session, plan, staff, clock):
    section = find_section(session, "国保医療課")
    fiscal_year = 2026
    (first, *_) = open_targets(session, section, fiscal_year)
    _pile_up(session, first.target.id, section.id)

    subplan = _subquery(_plan_lines(session, section.id, fiscal_year))
    assert any("ix_kpireport_latest" in line for line in subplan), subplan
    assert not any("Sort" in line or "TEMP B-TREE" in line for line in subplan), subplan

    # …and it still finds the newest one (reported a minute ago).
    session.expire_all()
    newest = open_targets(session, section, fiscal_year)[0].latest
    assert newest is not None and int(newest.value) == 1
