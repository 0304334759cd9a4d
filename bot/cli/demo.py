"""`dxbot demo`: a ready-to-play local bot — SQLite, the plan, demo members, the simulator."""

from __future__ import annotations

from dataclasses import replace

import click

from bot.cli.common import CliError, Runtime, pass_runtime
from bot.cli.db import load_bundled_plan
from bot.cli.serve import serve
from bot.simulator.demo_data import describe, ensure_demo_members
from models import migrate
from models.members import MemberError
from models.sections import UnknownSectionError


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up the database and demo members, then stop.")
@click.pass_context
@pass_runtime
def demo(runtime: Runtime, ctx: click.Context, host: str, port: int, no_serve: bool) -> None:
    """Set up a database with the plan and demo members, then serve the chat simulator (safe to re-run).

    The database is DXBOT_DATABASE_URL (default: SQLite in instance/); the app runs in development mode
    (DXBOT_ENV=development) with the console sender and the simulator on, whatever LINE_* variables say,
    so nothing goes to LINE.
    """
    migrate.upgrade(runtime.engine)
    where = runtime.engine.url.render_as_string(hide_password=True)
    click.echo(f"database: at revision {migrate.current_revision(runtime.engine)} ({where})")
    click.echo(load_bundled_plan(runtime))
    # A bot that speaks only LINE WORKS could never hear a LINE member: the demo members are on LINE WORKS then.
    demo_transport = "line" if runtime.config.speaks("line") else "lineworks"
    try:
        with runtime.write() as session:
            rows = [
                (describe(session, m), added)
                for m, added in ensure_demo_members(session, runtime.clock.now(), transport=demo_transport)
            ]
    except (UnknownSectionError, MemberError) as exc:
        raise CliError(f"demo members: {exc}") from exc
    added = sum(1 for _row, was_added in rows if was_added)
    click.echo(f"demo members ({added} added, {len(rows) - added} already there):")
    for (user_id, name, role, sections), _added in rows:
        click.echo(f"  {name}\t{role}\t{sections}\t{user_id}")
    url = f"http://{host}:{port}/simulator/"
    if no_serve:
        click.echo(f"simulator: {url} (start it with `dxbot demo`)")
        return
    click.echo(f"simulator: open {url} in a browser — pick a demo member, or add a new person")
    # Serve exactly as `dxbot serve` does, in development mode: the console sender and the simulator on.
    runtime.config = replace(runtime.config, environment="development", sender="console", simulator=True)
    ctx.invoke(serve, host=host, port=port)
