"""The managers' dashboard: overview, initiatives with KPI trend charts, sections, overdue, audit."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from bot.dashboard.links import SESSION_LIFETIME
from bot.services import services


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure also when the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    """Register the dashboard blueprint and its one-time-link login."""
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
