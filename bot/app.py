"""The Flask app factory: everything the web process needs, built from one Config."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify

from bot import dashboard, ops, simulator
from bot.inbox.worker import EventWorker
from bot.inbox.writer import InboxWriter
from bot.line.edge import CallbackEdge
from bot.line.handling import handle_stored
from messages.line_sender import make_sender
from models.config import Config
from models.db import make_engine, session_factory

log = logging.getLogger(__name__)


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: engine, clock and senders live in app.extensions; nothing happens at import.

    Raises ConfigError (one line naming the variable) when a secret the web process uses is missing.
    """
    config = config or Config.from_env()
    config.require_web()
    app = Flask(__name__, instance_relative_config=False)
    # Without DXBOT_SECRET_KEY (development, tests): a fresh random key, never a public one.
    app.config.update(TESTING=config.testing, SECRET_KEY=config.secret_key or secrets.token_hex(32))
    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    clock = config.clock()
    profiles: dict[str, str] = {}  # the simulator's made-up people: the console sender's profile source
    dxbot = app.extensions["dxbot"] = {
        "config": config,
        "engine": engine,
        "session_factory": factory,
        "clock": clock,
        # Everything the bot says goes through this one object; tests swap in a RecordingSender.
        "sender": make_sender(config, factory, clock, profiles=profiles),
        # /callback's inbox INSERT: one autocommitted statement on a pool of its own (bot/inbox/writer.py).
        "inbox_writer": InboxWriter.for_database(config.database_url),
    }
    # Webhook events are handled here after /callback has answered.
    dxbot["events"] = EventWorker(
        lambda stored: _handle_in_app(app, stored), factory, lambda: dxbot["clock"].now()
    )
    # Inline handling needs it too: its sweeps retry an event whose handling raised (bot/inbox/dead_letter.py).
    if config.webhook_handling in ("background", "inline") and not config.testing:
        dxbot["events"].start()  # tests start it on their first webhook (and stop it after)

    if config.development:
        log.warning(
            "DXBOT_ENV=development: development mode (sender: %s, /simulator %s). Never on a public deployment.",
            config.sender,
            "on" if config.simulator_enabled else "off",
        )
    elif config.simulator:
        log.warning("DXBOT_SIMULATOR is ignored outside development mode: /simulator is not served")
    if config.uses_development_secret:
        log.warning(
            "LINE_CHANNEL_SECRET is not set: webhook signatures are checked with a DEVELOPMENT secret. "
            "Never run like this in production."
        )

    app.wsgi_app = CallbackEdge(app, app.wsgi_app)  # POST /callback: bot/line/edge.py
    ops.init_app(app)
    simulator.init_app(app, profiles)
    dashboard.init_app(app)

    @app.get("/healthz")
    def healthz():
        """Say the process is up (no database access: load balancers call this often)."""
        return jsonify(status="ok")

    return app


def _handle_in_app(app: Flask, stored) -> None:
    """Handle a stored event on the event worker's thread as /callback would (in the app's context).

    The sender and the clock are looked up per event: tests and the simulator swap them.
    """
    dxbot = app.extensions["dxbot"]
    with app.app_context():
        handle_stored(
            stored, session_factory=dxbot["session_factory"], sender=dxbot["sender"], clock=dxbot["clock"]
        )


def close_app(app: Flask) -> None:
    """Stop the app's event thread (after the event in hand), then close its database connections."""
    app.extensions["dxbot"]["events"].stop()
    if app.extensions["dxbot"]["inbox_writer"] is not None:
        app.extensions["dxbot"]["inbox_writer"].dispose()
    app.extensions["dxbot"]["engine"].dispose()
