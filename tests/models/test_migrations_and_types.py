"""The schema: migrations match the tables on both databases; decimals and times survive a round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import Session, select

from models import migrate
from models.tables import Measure, Section, TranscriptEntry


def test_migrated_database_matches_the_tables(engine):
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.schema_drift(engine) == []


def test_downgrade_and_upgrade_of_the_latest_migration(tmp_path):
    from models.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/roundtrip.sqlite3")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "-1")
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.schema_drift(engine) == []
    engine.dispose()


def test_decimal_values_are_exact(session):
    from models.tables import KpiReport, KpiTarget, PlanEdition

    edition = PlanEdition(title="t", first_year=2026, last_year=2026, source="t")
    session.add(edition)
    session.flush()
    session.add(Measure(edition_id=edition.id, no=1, title="t"))
    session.add(Section(name="国保医療課"))
    session.flush()
    from models.tables import Initiative

    session.add(Initiative(edition_id=edition.id, id="1-1", measure_no=1, position=1, title="t", summary="s"))
    session.flush()
    target = KpiTarget(
        edition_id=edition.id,
        series_id="1-1/a",
        initiative_id="1-1",
        fiscal_year=2026,
        position=1,
        name="率",
        target=Decimal("12000"),
        unit="件",
        raw="率：12,000件",
    )
    session.add(target)
    session.flush()
    section = session.exec(select(Section)).one()
    for value in ("18.5", "0.1", "12000", "33.333333"):
        session.add(KpiReport(kpi_target_id=target.id, section_id=section.id, value=Decimal(value)))
    session.commit()
    session.expire_all()
    values = sorted(str(r.value) for r in session.exec(select(KpiReport)).all())
    assert values == ["0.1", "12000", "18.5", "33.333333"]
    assert str(session.get(KpiTarget, target.id).target) == "12000"


def test_times_come_back_aware_and_equal(session):
    moment = datetime(2026, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    session.add(TranscriptEntry(at=moment, kind="push", recipients=["U1"], messages=[{"type": "text"}]))
    session.commit()
    session.expire_all()
    stored = session.exec(select(TranscriptEntry)).one().at
    assert stored.tzinfo is not None
    assert stored == moment
    assert stored.astimezone(UTC).hour == 0


def test_naive_times_are_refused(db):
    with Session(db) as session:
        session.add(TranscriptEntry(at=datetime(2026, 4, 1, 9, 0), kind="push", recipients=[], messages=[]))
        with pytest.raises(StatementError, match="naive datetime"):
            session.commit()
