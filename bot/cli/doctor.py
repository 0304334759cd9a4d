"""`dxbot doctor`: check configuration, database, plan, LINE channel and clock; say how to fix problems."""

from __future__ import annotations

import click


@click.command("doctor")
def doctor() -> None:
    """Check that this deployment can work (see README)."""
    raise click.ClickException("dxbot doctor is not available yet")
