"""Plan editions: which edition a fiscal year or a moment belongs to, so a plan's ids (1-1) resolve in it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from models.fiscal_year import fiscal_year_of
from models.tables import Initiative, PlanEdition


class EditionConflict(ValueError):
    """A plan whose fiscal years only partly overlap an edition's: neither a revision nor a new edition."""


_CACHE = "dxbot.plan_editions"


def editions(session: Session) -> list[PlanEdition]:
    """Every edition, oldest first; read once per session (a page or a reply asks several times)."""
    known = session.info.get(_CACHE)
    if known is None:
        known = session.info[_CACHE] = list(
            session.exec(select(PlanEdition).order_by(col(PlanEdition.first_year)))
        )
    return list(known)


def forget_editions(session: Session) -> None:
    """Drop the session's list of editions (after adding one)."""
    session.info.pop(_CACHE, None)


def edition_years(edition: PlanEdition) -> list[int]:
    """The fiscal years an edition covers, ascending."""
    return list(range(edition.first_year, edition.last_year + 1))


def edition_for_year(session: Session, fiscal_year: int) -> PlanEdition | None:
    """The edition covering FISCAL_YEAR (editions never share a year), or None."""
    return next((e for e in editions(session) if e.first_year <= fiscal_year <= e.last_year), None)


def edition_of_year(session: Session, fiscal_year: int) -> PlanEdition | None:
    """The edition covering FISCAL_YEAR; between or after editions the latest before it; before all, the first."""
    found = edition_for_year(session, fiscal_year)
    if found is not None:
        return found
    known = editions(session)
    earlier = [e for e in known if e.last_year < fiscal_year]
    return earlier[-1] if earlier else (known[0] if known else None)


def current_edition(session: Session, now: datetime, tz: ZoneInfo | None = None) -> PlanEdition | None:
    """The edition jobs, chat and the dashboard use at NOW: the one covering NOW's fiscal year."""
    return edition_of_year(session, fiscal_year_of(now, tz) if tz is not None else fiscal_year_of(now))


def edition_id_of_year(session: Session, fiscal_year: int) -> int | None:
    """edition_of_year's id (None when no plan is loaded)."""
    edition = edition_of_year(session, fiscal_year)
    return edition.id if edition is not None else None


def latest_edition(session: Session) -> PlanEdition | None:
    """The newest edition (the plan `dxbot plan export` writes when no year is asked for)."""
    known = editions(session)
    return known[-1] if known else None


def edition_for_plan(session: Session, years: list[int]) -> PlanEdition | None:
    """The edition a plan covering YEARS revises (same years), None for a new one (new years); else refuse."""
    wanted = set(years)
    for edition in editions(session):
        covered = set(edition_years(edition))
        if covered == wanted:
            return edition
        if covered & wanted:
            raise EditionConflict(
                f"the plan's fiscal years FY{min(wanted)}–FY{max(wanted)} partly overlap edition {edition.id} "
                f"({edition.title}, FY{edition.first_year}–FY{edition.last_year}); a plan either revises an "
                "edition (the same years) or starts a new one (years no edition has)"
            )
    return None


def in_edition(model, other=Initiative) -> ColumnElement[bool]:
    """The join condition from MODEL's rows (action items, KPI targets, links) to their initiative (or OTHER's
    rows of the same initiative, e.g. its links): the same id in the same edition."""
    key = other.id if other is Initiative else other.initiative_id
    return and_(key == model.initiative_id, other.edition_id == model.edition_id)


def initiative_of(session: Session, row) -> Initiative | None:
    """The initiative of ROW (an action item, a KPI target, a link) in ROW's edition."""
    return find_initiative(session, row.edition_id, row.initiative_id)


def find_initiative(session: Session, edition_id: int | None, code: str) -> Initiative | None:
    """The initiative CODE (e.g. 1-1) of an edition; one the session already holds costs no query."""
    for held in session.identity_map.values():
        if isinstance(held, Initiative) and held.edition_id == edition_id and held.id == code:
            return held
    return session.exec(
        select(Initiative).where(Initiative.edition_id == edition_id, Initiative.id == code)
    ).first()
