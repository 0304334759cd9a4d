"""Fixtures for the LINE WORKS stand-in: a test key pair per run and a started stand-in per test.

Tests outside tests/lineworks can use them by importing the fixtures into their own conftest:
`from tests.lineworks.conftest import lineworks, lineworks_keys  # noqa: F401`.
"""

from __future__ import annotations

import pytest

from tests.lineworks.signing import KeyPair
from tests.lineworks.standin import LineWorksStandin

CLIENT_ID = "dxbot-test-client"
CLIENT_SECRET = "dxbot-test-client-secret"
SERVICE_ACCOUNT = "abcde.serviceaccount@example.com"  # 'It ends with "serviceaccount"' (auth-jwt)
BOT_ID = "2000001"  # the reference's example bot ID
BOT_SECRET = "dxbot-test-bot-secret"


@pytest.fixture(scope="session")
def lineworks_keys() -> KeyPair:
    """The app's key pair for this run (2048-bit RSA, made once: generating one takes a moment)."""
    return KeyPair.generate()


@pytest.fixture
def lineworks(lineworks_keys):
    """A stand-in LINE WORKS that knows the test app, service account and bot."""
    standin = LineWorksStandin(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        service_account=SERVICE_ACCOUNT,
        public_key=lineworks_keys.public_key,
        bot_id=BOT_ID,
        bot_secret=BOT_SECRET,
    ).start()
    yield standin
    standin.stop()
