"""The LINE-style chat simulator at /simulator: try the bot in a browser without a LINE channel."""

from __future__ import annotations

from flask import Flask

from bot.services import services


def init_app(app: Flask, profiles: dict[str, str] | None = None) -> None:
    """Register the simulator when the configuration turns it on (see Config.simulator_enabled).

    PROFILES: the dict the app's sender reads display names from; the people the page makes up go there.
    """
    config = services(app).config
    if not config.simulator_enabled:
        return
    from bot.simulator.platform import Platform, simulated_clock
    from bot.simulator.views import blueprint

    app.extensions["simulator"] = Platform() if profiles is None else Platform(profiles=profiles)
    app.register_blueprint(blueprint)
    # The dashboard, the chat and `dxbot say` in another process all run on the simulated clock from the start.
    simulated_clock(app).remember()
