"""Operating the web process: readiness, metrics, structured logs, request size limits."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add /readyz, /metrics, request ids and JSON logs, and the webhook body size limit."""
