"""`dxbot backup PATH` and `--restore`: a consistent copy (SQLite online backup, pg_dump) that restores into
a fresh database with every KPI report; clear errors, nothing overwritten by accident."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from models.db import make_engine
from models.members import add_member
from models.sections import find_section
from models.tables import KpiReport, KpiTarget
from tests.databases import fresh_database, is_postgres

STAFF = "U" + "b7" * 16


@pytest.fixture
def reports(db, plan, clock):
    """Seven KPI reports of 国保医療課 and 財政課 over two years (one voided), by a registered member."""
    with Session(db) as s:
        kokuho, zaisei = find_section(s, "国保医療課"), find_section(s, "財政課")
        member, _ = add_member(
            s, line_user_id=STAFF, name="山田", sections=[kokuho], role="staff", now=clock.now()
        )
        targets = s.exec(
            select(KpiTarget).where(KpiTarget.fiscal_year.in_((2025, 2026))).order_by(KpiTarget.id)
        ).all()
        for n, target in enumerate(targets[:7]):
            s.add(
                KpiReport(
                    kpi_target_id=target.id,
                    section_id=(kokuho if n % 2 else zaisei).id,
                    value=Decimal("18.5") + n,
                    unit_written=target.unit,
                    reporter_member_id=member.id,
                    source_message_id=f"msg-{n}",
                    source_text=f"{target.name} {18.5 + n}{target.unit}",
                    reported_at=clock.now() - timedelta(days=n),
                    voided_at=clock.now() if n == 3 else None,
                    voided_by_member_id=member.id if n == 3 else None,
                )
            )
        s.commit()
    return 7


def kpi_list(dxbot, url: str) -> list[dict]:
    result = dxbot("kpi", "list", "--json", env={"DXBOT_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["reports"]


def count_reports(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return s.exec(select(func.count()).select_from(KpiReport)).one()
    finally:
        engine.dispose()


def test_a_backup_restores_into_a_fresh_database_with_every_report(dxbot, database_url, reports, tmp_path):
    original = kpi_list(dxbot, database_url)
    assert len(original) == reports and sum(r["voided"] for r in original) == 1
    path = tmp_path / "backups" / "dxbot.backup"
    result = dxbot("backup", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("backed up ") and path.is_file()
    assert "restore:" in result.output

    with fresh_database(database_url, tmp_path) as fresh:
        restored = dxbot("backup", "--restore", "--yes", str(path), env={"DXBOT_DATABASE_URL": fresh})
        assert restored.exit_code == 0, restored.output
        assert restored.output.startswith(f"restored {path} into ")
        assert kpi_list(dxbot, fresh) == original
        status = dxbot("db", "status", env={"DXBOT_DATABASE_URL": fresh})
        assert "up to date" in status.output


def test_the_backup_is_one_consistent_snapshot(dxbot, database_url, db, reports, tmp_path, clock):
    # A writer's transaction that has not committed when the backup starts is not in it.
    engine = make_engine(database_url)
    session = Session(engine)
    try:
        target = session.exec(select(KpiTarget).order_by(KpiTarget.id)).first()
        section = find_section(session, "国保医療課")
        session.add(
            KpiReport(
                kpi_target_id=target.id, section_id=section.id, value=Decimal(1), reported_at=clock.now()
            )
        )
        session.flush()  # written, not committed
        path = tmp_path / "snapshot.backup"
        assert dxbot("backup", str(path)).exit_code == 0
    finally:
        session.rollback()
        session.close()
        engine.dispose()
    with fresh_database(database_url, tmp_path) as fresh:
        assert (
            dxbot("backup", "--restore", "--yes", str(path), env={"DXBOT_DATABASE_URL": fresh}).exit_code == 0
        )
        assert count_reports(fresh) == reports


def test_a_sqlite_backup_is_a_database_file_that_can_simply_be_copied_back(
    dxbot, database_url, reports, tmp_path
):
    if is_postgres(database_url):
        pytest.skip("the plain file copy is SQLite's restore")
    path = tmp_path / "copy.sqlite3"
    assert dxbot("backup", str(path)).exit_code == 0
    target = tmp_path / "restored" / "dxbot.sqlite3"
    target.parent.mkdir()
    shutil.copyfile(path, target)
    assert len(kpi_list(dxbot, f"sqlite:///{target}")) == reports


def test_an_existing_file_is_not_overwritten_without_force(dxbot, reports, tmp_path):
    path = tmp_path / "taken.backup"
    path.write_bytes(b"precious")
    result = dxbot("backup", str(path))
    assert result.exit_code == 2
    assert result.output == f"error: {path} exists; choose another path or add --force to overwrite it\n"
    assert path.read_bytes() == b"precious"
    assert dxbot("backup", "--force", str(path)).exit_code == 0
    assert path.read_bytes() != b"precious"


def test_restore_asks_first_and_refuses_what_is_not_a_backup(dxbot, database_url, reports, tmp_path):
    path = tmp_path / "x.backup"
    assert dxbot("backup", str(path)).exit_code == 0
    cancelled = dxbot("backup", "--restore", str(path))  # no --yes, no answer: nothing happens
    assert cancelled.exit_code == 2 and "restore cancelled; nothing changed" in cancelled.output
    assert count_reports(database_url) == reports
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    refused = dxbot("backup", "--restore", "--yes", str(junk))
    assert refused.exit_code == 2 and refused.output.startswith("error: ")
    assert count_reports(database_url) == reports
    missing = dxbot("backup", "--restore", "--yes", str(tmp_path / "nothing.backup"))
    assert missing.exit_code == 2 and "is not a backup file" in missing.output


def test_without_pg_dump_the_error_says_how_to_get_it(dxbot, db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump here
    result = dxbot(
        "backup", str(tmp_path / "b.dump"), env={"DXBOT_DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"}
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: pg_dump is not installed; install PostgreSQL's client tools")
    assert not (tmp_path / "b.dump").exists()


def test_a_failing_pg_dump_says_why_without_the_password(dxbot, db, tmp_path):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://dxbot:s3cret-pw@127.0.0.1:{port}/dxbot"
    result = dxbot("backup", str(tmp_path / "b.dump"), env={"DXBOT_DATABASE_URL": url})
    assert result.exit_code == 2
    assert result.output.startswith("error: pg_dump failed: ") and "s3cret-pw" not in result.output
    assert not (tmp_path / "b.dump").exists() and not (tmp_path / "b.dump.partial").exists()


def test_restoring_over_the_live_database_puts_it_back_as_it_was(
    dxbot, database_url, reports, tmp_path, clock
):
    path = tmp_path / "before.backup"
    assert dxbot("backup", str(path)).exit_code == 0
    before = kpi_list(dxbot, database_url)
    engine = make_engine(database_url)
    with Session(engine) as s:
        target = s.exec(select(KpiTarget).order_by(KpiTarget.id)).first()
        s.add(
            KpiReport(
                kpi_target_id=target.id,
                section_id=find_section(s, "財政課").id,
                value=Decimal(99),
                reported_at=clock.now(),
            )
        )
        s.commit()
    engine.dispose()
    assert count_reports(database_url) == reports + 1
    result = dxbot("backup", "--restore", "--yes", str(path))
    assert result.exit_code == 0, result.output
    assert kpi_list(dxbot, database_url) == before
