"""`dxbot import-actuals PATH`: read back the filled-in template of past years' statuses and actuals."""

from __future__ import annotations

import click


@click.command("import-actuals")
def import_actuals() -> None:
    """Import past years' action statuses and KPI actuals from the template workbook."""
    raise click.ClickException("dxbot import-actuals is not available yet")
