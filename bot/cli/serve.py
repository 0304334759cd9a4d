"""`dxbot serve`: run the web app locally (development server; production uses gunicorn)."""

from __future__ import annotations

import click
from sqlmodel import col, select

from bot.cli.common import CliError, Runtime, pass_runtime
from models.tables import InitiativeSection, Section


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int) -> None:
    """Run the bot's web app on HOST:PORT with Flask's development server."""
    from bot.app import create_app
    from bot.logging_setup import configure
    from models.config import ConfigError

    configure("text")  # DXBOT_LOG_FORMAT=json for JSON lines
    runtime.require_schema()
    # Dashboard links point where this server answers, unless DXBOT_BASE_URL names the public address.
    local_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        app = create_app(runtime.config, served_url=f"http://{local_host}:{port}")
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    click.echo(f"dx-progress-bot on http://{host}:{port}/ (sender: {runtime.config.sender}; Ctrl+C stops)")
    click.echo(f"LINE webhook: POST http://{host}:{port}/callback (signed with LINE_CHANNEL_SECRET)")
    click.echo("Talk to it without LINE, in another terminal:")
    with runtime.read() as session:  # the example names a section of the loaded plan, whichever city's
        section = session.exec(
            select(Section.name).join(InitiativeSection).order_by(col(InitiativeSection.id))
        ).first()
    shown = (f'"{section}"' if " " in section else section) if section else "<課・室>"
    click.echo(f"  .venv/bin/dxbot invite create --section {shown} --role staff")
    click.echo('  .venv/bin/dxbot say --as U00000000000000000000000000000001 --name 山田 "登録 <code>"')
    click.echo('  .venv/bin/dxbot say --as U00000000000000000000000000000001 "オンライン申請率 18%"')
    app.run(host=host, port=port, debug=False, use_reloader=False)
