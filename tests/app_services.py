"""Replace part of a built app's services (tests only: the app itself never changes them once built)."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from bot.services import EXTENSION, Services, services


def swap_services(app: Flask, **changes) -> Services:
    """Give APP new services with CHANGES (a recording sender, another clock…); the event thread sees them
    from its next event on, as a freshly built app would."""
    app.extensions[EXTENSION] = replace(services(app), **changes)
    return services(app)
