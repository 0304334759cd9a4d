"""The simulator's clock, kept in the database so `dxbot say` (another process) shares the simulated time."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.tables import SimulatorClock

ROW_ID = 1


def save_simulator_clock(session: Session, *, moment: datetime, runs: bool, real_now: datetime) -> None:
    """Remember that the simulated time is MOMENT at REAL_NOW (running on, or frozen); the caller commits."""
    row = session.get(SimulatorClock, ROW_ID) or SimulatorClock(id=ROW_ID, moment=moment)
    row.moment, row.set_at, row.runs = moment, real_now, runs
    session.add(row)


def simulator_now(session: Session, *, real_now: datetime) -> datetime | None:
    """The simulated time now, if a simulator has set one for this database."""
    row = session.get(SimulatorClock, ROW_ID)
    if row is None:
        return None
    return row.moment + (real_now - row.set_at) if row.runs else row.moment
