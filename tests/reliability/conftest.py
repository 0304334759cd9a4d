"""Fixtures for the reliability and abuse tests: hypothesis profiles, a registered member, row counts.

Hypothesis profiles (chosen with HYPOTHESIS_PROFILE): ``ci`` (the default: a few hundred examples,
derandomized so CI is reproducible) and ``long`` (thousands of random examples, for a run by hand:
``HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/reliability -k fuzz``). Neither writes an
example database into the repository.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import func
from sqlmodel import Session, select

from bot.app import close_app
from bot.services import services
from models.tables import ConversationState, InboxEvent, KpiReport, OutboxMessage, TranscriptEntry
from tests.app_services import swap_services
from tests.bot.conftest import Line

STAFF = "U" + "a1" * 16  # a registered member of 国保医療課 (its KPI: オンライン申請率, % )
STRANGER = "U" + "c3" * 16

# Hypothesis keeps caches under .hypothesis in the working directory: keep them out of the repository.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"dxbot-hypothesis-{os.getuid()}")

_COMMON = {
    "deadline": None,  # the PostgreSQL leg is slower; a deadline would only make it flaky
    "database": None,  # no .hypothesis example database in the repository
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=200, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def fuzz_settings(**overrides) -> settings:
    """The chosen profile (ci unless HYPOTHESIS_PROFILE says otherwise), applied per test, not globally."""
    return settings(settings.get_profile(PROFILE), **overrides)


def counts(engine) -> dict[str, int]:
    """How many rows the tables an abuser could fill hold now."""
    with Session(engine) as s:
        return {
            table.__name__: s.exec(select(func.count()).select_from(table)).one()
            for table in (InboxEvent, KpiReport, TranscriptEntry, OutboxMessage, ConversationState)
        }


@pytest.fixture
def console_line(app, client, config, clock):
    """Sign and post bodies to the app as configured (console sender: what it 'sends' is a TranscriptEntry)."""
    yield Line(client, config.effective_channel_secret, clock, services(app).sender)
    close_app(app)


@pytest.fixture
def line(app, client, config, clock, sender):
    """Sign and post bodies; the app's sender is the recording fake (line.sender)."""
    swap_services(app, sender=sender)
    yield Line(client, config.effective_channel_secret, clock, sender)
    close_app(app)
