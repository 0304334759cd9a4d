"""The Flask app factory: everything the web process needs, built from one Config."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from flask import Flask, jsonify

from bot import dashboard, ops, simulator
from bot.inbox.worker import EventWorker
from bot.inbox.writer import InboxWriter
from bot.line.edge import CallbackEdge
from bot.line.handling import handle_stored
from bot.lineworks.edge import LineWorksCallbackEdge
from bot.services import EXTENSION, Services, services
from messages.line_sender import make_sender
from messages.lineworks_throttle import ANSWER_MAX_WAIT
from messages.senders import Sender
from models.clock import Clock
from models.config import Config
from models.db import make_engine, session_factory
from models.types import utcnow

log = logging.getLogger(__name__)


def create_app(
    config: Config | None = None,
    *,
    sender: Sender | None = None,
    clock: Clock | None = None,
    wall_clock: Callable[[], datetime] | None = None,
    served_url: str | None = None,
) -> Flask:
    """Build the web app: its Services (bot/services.py) live in app.extensions; nothing happens at import.

    SENDER and CLOCK replace the ones the configuration names (tests: a recording sender, a frozen clock);
    WALL_CLOCK replaces real time; SERVED_URL is where `dxbot serve` answers. Raises ConfigError (one line
    naming the variable) when a secret the web process uses is missing.
    """
    config = config or Config.from_env()
    config.require_web()
    app = Flask(__name__, instance_relative_config=False)
    # Without DXBOT_SECRET_KEY (development, tests): a fresh random key, never a public one.
    app.config.update(TESTING=config.testing, SECRET_KEY=config.secret_key or secrets.token_hex(32))
    engine = make_engine(config.database_url)
    factory = session_factory(engine)
    wall_clock = wall_clock or utcnow
    clock = clock or config.clock()
    profiles: dict[str, str] = {}  # the simulator's made-up people: the console sender's profile source
    if config.simulator_enabled:
        from bot.simulator.platform import SimulatedClock, remembering

        # The dashboard, the chat and `dxbot say` in another process all run on the simulated clock.
        if not isinstance(clock, SimulatedClock):
            clock = SimulatedClock(clock, remember=remembering(factory, wall_clock))
    # Webhook events are handled here after /callback has answered; each event finds the services in force.
    events = EventWorker(
        lambda stored: _handle_in_app(app, stored), factory, lambda: services(app).clock.now()
    )
    app.extensions[EXTENSION] = Services(
        config=config,
        engine=engine,
        session_factory=factory,
        # Answers wait seconds, not a minute, after a LINE WORKS 429 (the outbox retries the rest).
        sender=sender
        or make_sender(config, factory, clock, profiles=profiles, lineworks_max_wait=ANSWER_MAX_WAIT),
        clock=clock,
        inbox_writer=InboxWriter.for_database(config.database_url),
        events=events,
        wall_clock=wall_clock,
        served_url=served_url,
    )
    # Inline handling needs it too: its sweeps retry an event whose handling raised (bot/inbox/dead_letter.py).
    if config.webhook_handling in ("background", "inline") and not config.testing:
        events.start()  # tests start it on their first webhook (and stop it after)

    if config.development:
        log.warning(
            "DXBOT_ENV=development: development mode (sender: %s, /simulator %s). Never on a public deployment.",
            config.sender,
            "on" if config.simulator_enabled else "off",
        )
    elif config.simulator:
        log.warning("DXBOT_SIMULATOR is ignored outside development mode: /simulator is not served")
    if config.uses_development_secret and config.speaks("line"):
        log.warning(
            "LINE_CHANNEL_SECRET is not set: webhook signatures are checked with a DEVELOPMENT secret. "
            "Never run like this in production."
        )

    if config.speaks("line"):
        app.wsgi_app = CallbackEdge(app, app.wsgi_app)  # POST /callback: bot/line/edge.py
    if config.speaks("lineworks"):
        app.wsgi_app = LineWorksCallbackEdge(app, app.wsgi_app)  # POST /lineworks/callback
    ops.init_app(app)
    simulator.init_app(app, profiles)
    dashboard.init_app(app)

    @app.get("/healthz")
    def healthz():
        """Say the process is up (no database access: load balancers call this often)."""
        return jsonify(status="ok")

    return app


def _handle_in_app(app: Flask, stored) -> None:
    """Handle a stored event on the event worker's thread as /callback would.

    The services are looked up per event: a test may replace them after the app is built.
    """
    found = services(app)
    handle_stored(
        stored,
        session_factory=found.session_factory,
        sender=found.sender,
        clock=found.clock,
        config=found.chat_config,
    )


def close_app(app: Flask) -> None:
    """Stop the app's event thread (after the event in hand), then close its database connections."""
    found = services(app)
    found.events.stop()
    if found.inbox_writer is not None:
        found.inbox_writer.dispose()
    found.engine.dispose()
