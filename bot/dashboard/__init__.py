"""The managers' dashboard: overview, initiatives with KPI trend charts, sections, overdue, audit.

Nothing here imports Flask at module level: the chat's 「ダッシュボード」 command imports bot.dashboard.links,
and `dxbot say` should not pay for Flask to issue a link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dashboard.links import SESSION_LIFETIME
from bot.services import services

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard blueprint and its one-time-link login."""
    from bot.dashboard import login_views  # noqa: F401  (registers the sign-in routes on the blueprint)
    from bot.dashboard.access import DashboardSessionInterface
    from bot.dashboard.views import blueprint

    config = services(app).config
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=(config.base_url or "").lower().startswith("https://"),
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.session_interface = DashboardSessionInterface()
    app.register_blueprint(blueprint)
