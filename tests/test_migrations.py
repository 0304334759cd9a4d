"""Migrations on a fresh database of the run's kind (SQLite, or PostgreSQL with DXBOT_TEST_DATABASE_URL):
every step from the first migration to the newest, the tables then match the models, and the newest
migration goes down and up again without losing the rows of the tables it does not own."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Engine

from models import migrate
from models.db import make_engine
from tests.databases import fresh_database


def revisions_in_order() -> list[str]:
    """Every revision from the first migration to the head."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [s.revision for s in reversed(list(script.walk_revisions()))]


@pytest.fixture
def empty(database_url, tmp_path):
    """An engine on a new, empty database of the run's kind."""
    with fresh_database(database_url, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def row_counts(engine: Engine, names: set[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in sorted(names)
        }


def test_an_empty_database_upgrades_one_migration_at_a_time_to_the_models(empty):
    chain = revisions_in_order()
    assert chain[0] == "2828020d7a0e" and chain[-1] == migrate.head_revision()
    assert migrate.current_revision(empty) is None
    seen: list[set[str]] = []
    for revision in chain:
        migrate.upgrade(empty, revision)
        assert migrate.current_revision(empty) == revision
        seen.append(tables(empty))
    assert all(a <= b for a, b in zip(seen, seen[1:], strict=False)), "a migration dropped a table"
    assert migrate.schema_drift(empty) == []
    assert "measure" in seen[0] and "kpireport" in seen[0]


def test_the_newest_migration_goes_down_and_up_keeping_the_other_tables_rows(empty, dxbot):
    from click.testing import CliRunner

    from bot.cli import cli  # `dxbot db init` on the fresh database: schema and the real plan

    url = empty.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["db", "init"], env={**dxbot.env, "DXBOT_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    head = migrate.head_revision()
    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(head).down_revision
    at_head = tables(empty)
    counts = row_counts(empty, at_head)
    assert counts["measure"] == 12 and counts["kpitarget"] == 153

    migrate.downgrade(empty, "-1")
    assert migrate.current_revision(empty) == previous
    kept = tables(empty)
    assert kept <= at_head
    assert row_counts(empty, kept) == {n: counts[n] for n in kept}

    migrate.upgrade(empty)
    assert migrate.current_revision(empty) == head
    assert tables(empty) == at_head
    assert migrate.schema_drift(empty) == []
    assert {n: c for n, c in row_counts(empty, at_head).items() if n in kept} == {n: counts[n] for n in kept}


def test_every_migration_can_be_undone_down_to_an_empty_database_and_redone(empty):
    migrate.upgrade(empty)
    migrate.downgrade(empty, "base")
    assert migrate.current_revision(empty) is None
    assert tables(empty) == set()
    migrate.upgrade(empty)
    assert migrate.current_revision(empty) == migrate.head_revision()
    assert migrate.schema_drift(empty) == []
