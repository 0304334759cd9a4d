"""What every `dxbot` command shares: configuration, the database, the clock and error reporting."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.clock import Clock
from models.config import Config, ConfigError
from models.db import make_engine, session_factory


class CliError(click.ClickException):
    """A one-line error for the operator; exit code 2, nothing written."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class Runtime:
    """Lazily built configuration, engine and clock for one command run."""

    @cached_property
    def config(self) -> Config:
        try:
            return Config.from_env()
        except ConfigError as exc:
            raise CliError(str(exc)) from exc

    def require_sender(self) -> None:
        """Stop a command that sends (clock, events, deliveries) when its sender cannot: LINE needs the token."""
        try:
            self.config.require_sender()
        except ConfigError as exc:
            raise CliError(str(exc)) from exc

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.config.database_url)

    @cached_property
    def clock(self) -> Clock:
        return self.config.clock()

    def close(self) -> None:
        """Release the database connections this command opened."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    def session(self) -> Session:
        return session_factory(self.engine)()

    def require_schema(self) -> None:
        """Stop with a helpful message when the database was never initialised."""
        if not inspect(self.engine).has_table("measure"):
            raise CliError("the database has no tables yet; run `dxbot db init` first")

    @contextmanager
    def write(self, dry_run: bool = False) -> Iterator[Session]:
        """A short write transaction; rolled back on error or when DRY_RUN."""
        self.require_schema()
        session = self.session()
        try:
            yield session
            if dry_run:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        self.require_schema()
        session = self.session()
        try:
            yield session
        finally:
            session.close()


def fiscal_year_option(text: str | None) -> int | None:
    """--fiscal-year as a Western year (2026, 令和8年度, R8), or a one-line error."""
    from models.fiscal_year import parse_fiscal_year

    if not text:
        return None
    try:
        return parse_fiscal_year(text)
    except ValueError as exc:
        raise CliError(f"--fiscal-year: {exc}") from exc


def section_option(session: Session, name: str | None):
    """--section as a Section (by name or a site's short name), or a one-line error naming the closest."""
    from models.sections import UnknownSectionError, find_section

    if not name:
        return None
    try:
        return find_section(session, name)
    except UnknownSectionError as exc:
        raise CliError(str(exc)) from exc


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """MOMENT on the city's clock with its label ('2026-11-24 10:00 JST'), so nobody reads UTC as local."""
    if moment is None:
        return "-"
    local = moment.astimezone(tz)
    label = local.tzname() or ""
    if not label.isalpha():  # zones without an abbreviation: the offset, '+05:30'
        label = local.isoformat()[-6:]
    return f"{local:%Y-%m-%d %H:%M} {label}"


def local_iso(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """MOMENT as ISO 8601 with the city's offset, for JSON."""
    return moment.astimezone(tz).isoformat() if moment is not None else None


def echo_json(data) -> None:
    """Print DATA as UTF-8 JSON (Japanese kept readable)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def xlsx_path(output: str | None, name: str) -> Path:
    """--output as the workbook's path (NAME in the current directory, or in --output when a directory)."""
    if not output:
        return Path.cwd() / name
    path = Path(output)
    if path.is_dir():
        return path / name
    if not path.parent.is_dir():
        raise CliError(f"--output: directory {path.parent} does not exist")
    return path


def refuse_overwrite(paths: list[Path], force: bool) -> None:
    """A one-line error before anything is written when a file exists and --force was not given."""
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise CliError(f"{existing[0]} exists; add --force to overwrite it")


pass_runtime = click.make_pass_decorator(Runtime)
