"""The Flask app factory: everything the web process needs, built from one Config."""

from __future__ import annotations

import logging

from flask import Flask, jsonify

from bot import dashboard, ops, simulator
from bot.config import Config
from bot.webhook import blueprint as webhook_blueprint
from messages.line_sender import make_sender
from models.db import make_engine, session_factory

log = logging.getLogger(__name__)


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: engine, clock and senders live in app.extensions; nothing happens at import."""
    config = config or Config.from_env()
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(TESTING=config.testing, SECRET_KEY=config.secret_key or "dev-only-secret-key")
    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    clock = config.clock()
    app.extensions["dxbot"] = {
        "config": config,
        "engine": engine,
        "session_factory": factory,
        "clock": clock,
        # Everything the bot says goes through this one object; tests swap in a RecordingSender.
        "sender": make_sender(config, factory, clock),
    }
    if config.uses_development_secret:
        log.warning(
            "LINE_CHANNEL_SECRET is not set: webhook signatures are checked with a DEVELOPMENT secret. "
            "Never run like this in production."
        )

    app.register_blueprint(webhook_blueprint)
    ops.init_app(app)
    simulator.init_app(app)
    dashboard.init_app(app)

    @app.get("/healthz")
    def healthz():
        """Say the process is up (no database access: load balancers call this often)."""
        return jsonify(status="ok")

    return app
