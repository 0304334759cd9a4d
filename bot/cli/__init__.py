"""The `dxbot` command line: one click group per area, each in its own module, imported when used."""

from __future__ import annotations

import importlib

import click

# name → (module:attribute, the command's summary). Only the command that runs is imported, so
# `dxbot --help` starts at once; tests/test_cli_start.py keeps each summary equal to the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "backup": (
        "bot.cli.backup:backup",
        "Back up the database to PATH (SQLite: a database file; PostgreSQL: a pg_dump custom-format file).",
    ),
    "clock": (
        "bot.cli.jobs:clock",
        "Run the scheduler (the Procfile's clock process); a second one waits as a standby.",
    ),
    "db": ("bot.cli.db:group", "The database: migrations and the bundled plan."),
    "demo": (
        "bot.cli.demo:demo",
        "Set up a database with the plan and demo members, then serve the chat simulator (safe to re-run).",
    ),
    "digest": (
        "bot.cli.digest:digest",
        "Show the weekly digest: overdue and postponed items, at-risk KPIs and grades (nothing is sent).",
    ),
    "doctor": (
        "bot.cli.doctor:doctor",
        "Check that this deployment can work: configuration, database, plan, LINE channel, clock (exit 1 on FAIL).",
    ),
    "events": (
        "bot.cli.events:events",
        "Handle the webhook events /callback stored (DXBOT_WEBHOOK_HANDLING=worker); SIGTERM stops it.",
    ),
    "export": (
        "bot.cli.export:export",
        "Export a year's KPI table and action items, the open-data KPI results, or the past-years template.",
    ),
    "import-actuals": (
        "bot.cli.import_actuals:import_actuals",
        "Import past years' action statuses and KPI actuals from the template (`dxbot export --template`).",
    ),
    "inbox": (
        "bot.cli.inbox:group",
        "Webhook events that could not be handled: list them, handle one again.",
    ),
    "invite": ("bot.cli.invites:group", "Registration codes (単回使用, with an expiry)."),
    "jobs": ("bot.cli.jobs:group", "The clock's schedule."),
    "kpi": ("bot.cli.kpi:group", "KPI reports."),
    "member": ("bot.cli.members:group", "People the bot talks to."),
    "outbox": (
        "bot.cli.outbox:group",
        "Messages queued for LINE and LINE WORKS (the outbox): list them, deliver what is due.",
    ),
    "pause": (
        "bot.cli.pause:pause",
        "Pause SECTION: its scheduled messages are held (not sent) until `dxbot resume` or --until.",
    ),
    "plan": (
        "bot.cli.plan:group",
        "The DX execution plan: measures, initiatives, action items and KPI targets.",
    ),
    "resume": (
        "bot.cli.pause:resume",
        "Resume SECTION: held messages go out again, only the newest of each kind (no flood).",
    ),
    "richmenu": ("bot.cli.richmenu:group", "Rich menus: draw their images and deploy them to LINE."),
    "run-job": (
        "bot.cli.jobs:run_job",
        "Run one job now (kickoff, kpi-request, final-actuals, nudge, weekly-digest, deliver, retention) "
        "and print what it did.",
    ),
    "say": (
        "bot.cli.say:say",
        "Send TEXT (or a --postback) as LINE_USER_ID and print what the bot answers; nothing goes to LINE.",
    ),
    "section": ("bot.cli.sections:group", "Sections (課・室) and their departments (部局)."),
    "serve": ("bot.cli.serve:serve", "Run the bot's web app on HOST:PORT with Flask's development server."),
}


def load_command(name: str) -> click.Command:
    """Import the module of one command and return the command."""
    module_name, attribute = COMMANDS[name][0].split(":")
    return getattr(importlib.import_module(module_name), attribute)


class LazyGroup(click.Group):
    """A group whose commands are imported only when one runs (or asks for its own --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._summary(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _summary(self, ctx: click.Context, name: str, limit: int) -> str:
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        return click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Operate dx-progress-bot: database, plan, members and sections (settings come from DXBOT_* variables)."""
    from bot.cli.common import Runtime

    ctx.obj = Runtime()
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Entry point of the `dxbot` console script."""
    cli(prog_name="dxbot")


def __getattr__(name: str):
    """Keep `from bot.cli import CliError` working without importing the commands' libraries up front."""
    if name == "CliError":
        from bot.cli.common import CliError

        return CliError
    raise AttributeError(name)


__all__ = ["CliError", "cli", "main"]
