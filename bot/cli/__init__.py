"""The `dxbot` command line: one click group per area, each in its own module."""

from __future__ import annotations

import click

from bot.cli import (
    backup,
    db,
    demo,
    digest,
    doctor,
    events,
    export,
    import_actuals,
    inbox,
    invites,
    jobs,
    kpi,
    members,
    outbox,
    pause,
    plan,
    richmenu,
    say,
    sections,
    serve,
)
from bot.cli.common import CliError, Runtime


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Operate dx-progress-bot: database, plan, members and sections (settings come from DXBOT_* variables)."""
    ctx.obj = Runtime()
    ctx.call_on_close(ctx.obj.close)


COMMANDS = (
    db.group,
    plan.group,
    members.group,
    sections.group,
    invites.group,
    kpi.group,
    serve.serve,
    say.say,
    richmenu.group,
    outbox.group,
    pause.pause,
    pause.resume,
    jobs.clock,
    events.events,
    inbox.group,
    jobs.run_job,
    jobs.group,
    digest.digest,
    export.export,
    import_actuals.import_actuals,
    demo.demo,
    doctor.doctor,
    backup.backup,
)
for group in COMMANDS:
    cli.add_command(group)


def main() -> None:
    """Entry point of the `dxbot` console script."""
    cli(prog_name="dxbot")


__all__ = ["CliError", "cli", "main"]
