"""`dxbot backup PATH`: a consistent copy of the database (SQLite online backup, pg_dump for PostgreSQL)."""

from __future__ import annotations

import click


@click.command("backup")
def backup() -> None:
    """Back up the database (see README for restoring)."""
    raise click.ClickException("dxbot backup is not available yet")
