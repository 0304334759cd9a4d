"""`dxbot demo`: a ready-to-play local bot — SQLite, the plan, demo members, the simulator."""

from __future__ import annotations

import click


@click.command("demo")
def demo() -> None:
    """Set up demo data and serve the simulator (see README)."""
    raise click.ClickException("dxbot demo is not available yet")
