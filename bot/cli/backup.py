"""`dxbot backup PATH`: a consistent copy of the database (SQLite online backup, pg_dump for PostgreSQL).

SQLite: sqlite3's online backup API copies every page of one consistent snapshot while the web and
clock processes keep working (WAL included). PostgreSQL: `pg_dump --format=custom` (one snapshot too),
restored with `pg_restore`. `dxbot backup --restore PATH` puts a backup back (see docs/operations.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from sqlalchemy.engine import URL, make_url

from bot.cli.common import CliError, Runtime, pass_runtime
from models.db import normalise_database_url

PG_TIMEOUT = 3600  # seconds: a dump or restore that takes longer than an hour is stuck


def database_url(runtime: Runtime) -> URL:
    return make_url(normalise_database_url(runtime.config.database_url))


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise CliError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def sqlite_copy(source: Path, target: Path) -> int:
    """Copy SOURCE into TARGET with the online backup API (one consistent snapshot); returns pages copied."""
    pages = 0

    def progress(_status, remaining, total):
        nonlocal pages
        pages = total

    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024, progress=progress)
    finally:
        dst.close()
        src.close()
    return pages


def pg_command(name: str) -> str:
    """The path of pg_dump / pg_restore, or a clear error saying how to get it."""
    found = shutil.which(name)
    if not found:
        raise CliError(
            f"{name} is not installed; install PostgreSQL's client tools (Debian: apt-get install "
            f"postgresql-client, the same major version as the server or newer)"
        )
    return found


def pg_environment(url: URL) -> dict[str, str]:
    """libpq's variables for URL (the password travels in PGPASSWORD, never on the command line)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")}
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[variable] = value
    sslmode = url.query.get("sslmode")  # e.g. ?sslmode=require on a hosted database
    if sslmode:
        env["PGSSLMODE"] = sslmode if isinstance(sslmode, str) else sslmode[0]
    return env


def run_pg(args: list[str], url: URL) -> None:
    try:
        done = subprocess.run(
            args, env=pg_environment(url), capture_output=True, text=True, timeout=PG_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CliError(f"{Path(args[0]).name} did not finish within {PG_TIMEOUT} s") from exc
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        detail = " / ".join(message[-3:]) if message else f"exit code {done.returncode}"
        raise CliError(f"{Path(args[0]).name} failed: {detail}")


def where(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option(
    "--restore",
    is_flag=True,
    help="Put the backup at PATH back into the database (replaces what is there; stop web and clock first).",
)
@click.option("--yes", is_flag=True, help="With --restore: do not ask for confirmation.")
@pass_runtime
def backup(runtime: Runtime, path: Path, force: bool, restore: bool, yes: bool) -> None:
    """Back up the database to PATH (SQLite: a database file; PostgreSQL: a pg_dump custom-format file)."""
    url = database_url(runtime)
    if restore:
        _restore(url, path, yes)
        return
    if path.exists() and not force:
        raise CliError(f"{path} exists; choose another path or add --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = sqlite_path(url)
        if not source.exists():
            raise CliError(f"the database file {source} does not exist; check DXBOT_DATABASE_URL")
        temporary = path.with_name(path.name + ".partial")
        temporary.unlink(missing_ok=True)
        try:
            pages = sqlite_copy(source, temporary)
            check = sqlite3.connect(temporary)
            try:
                verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                check.close()
            if verdict != "ok":
                raise CliError(f"the copy failed its integrity check: {verdict}")
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)
        click.echo(f"backed up {where(url)} to {path} ({pages} pages, {path.stat().st_size} bytes)")
        click.echo(
            f"restore: stop web and clock, then `dxbot backup --restore {path}` (or copy the file back)"
        )
        return
    if url.get_backend_name() != "postgresql":
        raise CliError(f"cannot back up a {url.get_backend_name()} database; SQLite and PostgreSQL only")
    temporary = path.with_name(path.name + ".partial")
    try:
        run_pg([pg_command("pg_dump"), "--format=custom", "--no-password", f"--file={temporary}"], url)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    click.echo(f"backed up {where(url)} to {path} (pg_dump custom format, {path.stat().st_size} bytes)")
    click.echo(
        f"restore: `pg_restore --clean --if-exists --no-owner -d <URL> {path}` or `dxbot backup --restore {path}`"
    )


def _confirm(question: str) -> bool:
    try:
        return click.confirm(question, default=False)
    except click.Abort:  # no terminal to answer from (or Ctrl+C): that is a no
        return False


def _restore(url: URL, path: Path, yes: bool) -> None:
    if not path.is_file():
        raise CliError(f"{path} is not a backup file")
    if not yes and not _confirm(
        f"Replace everything in {where(url)} with {path}? Stop the web and clock processes first."
    ):
        raise CliError("restore cancelled; nothing changed")
    if url.get_backend_name() == "sqlite":
        target = sqlite_path(url)
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise CliError(f"{path} is not a SQLite database: {exc}") from exc
        finally:
            check.close()
        if verdict != "ok":
            raise CliError(f"{path} failed its integrity check: {verdict}")
        target.parent.mkdir(parents=True, exist_ok=True)
        sqlite_copy(path, target)  # through SQLite, so WAL and open readers stay consistent
        click.echo(f"restored {path} into {where(url)}")
        return
    if url.get_backend_name() != "postgresql":
        raise CliError(f"cannot restore into a {url.get_backend_name()} database; SQLite and PostgreSQL only")
    run_pg(
        [
            pg_command("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--no-password",
            f"--dbname={url.database}",
            str(path),
        ],
        url,
    )
    click.echo(f"restored {path} into {where(url)}")
