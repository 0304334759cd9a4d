"""Run Alembic migrations from code (`dxbot db init`, tests) and check the schema has not drifted."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from models.rows import known

# migrations/ installs as the package models.migrations (setup.py); Alembic finds it as a package resource,
# in a checkout (editable install) and in a wheel alike.
SCRIPT_LOCATION = "models.migrations:"
# Tables that other libraries own (APScheduler's job store) and Alembic must leave alone.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Keep tables that are not ours out of migrations and the drift check."""
    if type_ == "table" and name in FOREIGN_TABLES:
        return False
    table = getattr(obj, "table", None)
    return not (table is not None and table.name in FOREIGN_TABLES)


def alembic_config() -> AlembicConfig:
    """Alembic's configuration pointing at the project's migrations (the package models.migrations)."""
    config = AlembicConfig()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ENGINE up to REVISION."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database behind ENGINE down to REVISION."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step, revision: str) -> None:
    """Run STEP in one transaction; on SQLite with foreign keys off, as rebuilding a referenced table needs.

    The keys are checked (PRAGMA foreign_key_check) before the commit, so a rebuild cannot leave a dangling one.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside a transaction, or SQLite ignores it
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config, revision)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"the migration left {len(broken)} broken foreign keys: {broken[:3]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in the migrations folder."""
    return known(ScriptDirectory.from_config(alembic_config()).get_current_head(), "a migration head")


def schema_drift(engine: Engine) -> list:
    """Differences between the tables in code and the migrated database (empty when in step)."""
    import models.tables  # noqa: F401

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, SQLModel.metadata)
