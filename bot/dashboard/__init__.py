"""The managers' dashboard: overview, initiatives with KPI trend charts, sections, overdue, audit."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard blueprint and its one-time-link login."""
