"""A fresh, empty database of the kind the test run uses (SQLite file or PostgreSQL database), for tests
that need a database of their own: migrations from scratch, restoring a backup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import make_engine, normalise_database_url


def is_postgres(database_url: str) -> bool:
    return make_url(normalise_database_url(database_url)).get_backend_name() == "postgresql"


@contextmanager
def fresh_database(database_url: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a new empty database beside DATABASE_URL's; a PostgreSQL one is dropped afterwards."""
    if not is_postgres(database_url):
        yield f"sqlite:///{directory / f'fresh-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    base = make_url(normalise_database_url(database_url))
    name = f"dxbot_fresh_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
