"""LineSender against a local mock LINE: results instead of exceptions, timeouts on every call, the proxy."""

from __future__ import annotations

import base64
import socket
import threading
import time

import pytest

from messages.line_sender import LineSender, make_sender
from messages.model import Text
from messages.senders import SendResult
from models.config import Config, ConfigError
from tests.proxy import Proxy
from tests.scheduler.test_delivery import TOKEN, FakeLine

USER = "U" + "a1" * 16
GROUP = "C" + "c3" * 16
RETRY_KEY = "123e4567-e89b-12d3-a456-426614174000"


def line_config(**env: str) -> Config:
    """The configuration a LINE deployment reads (no database is opened here)."""
    base = {
        "DXBOT_DATABASE_URL": "sqlite://",
        "DXBOT_SENDER": "line",
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_CHANNEL_SECRET": "test-secret",
        "DXBOT_SECRET_KEY": "test-key",
    }
    return Config.from_env({**base, **env})


def sender_for(clock, **env: str) -> LineSender:
    sender = make_sender(line_config(**env), None, clock)
    assert isinstance(sender, LineSender)
    return sender


def within(seconds: float, call):
    """CALL's value, failing the test (instead of hanging it) when it takes longer than SECONDS."""
    box: list = []
    worker = threading.Thread(target=lambda: box.append(call()), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert box, f"still waiting after {seconds} s: the call has no timeout"
    return box[0], time.monotonic() - started


@pytest.fixture
def fake():
    line = FakeLine().start()
    yield line
    line.stop()


@pytest.fixture
def proxy():
    server = Proxy().start()
    yield server
    server.stop()


@pytest.fixture
def silent_host():
    """A port that accepts connections and never answers (a firewall that swallows, a hung proxy)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def text(body: str = "記録しました") -> list[Text]:
    return [Text(body)]


# --- results --------------------------------------------------------------------------------------


def test_every_answer_of_line_becomes_a_result_not_an_exception(fake, clock):
    sender = sender_for(clock, LINE_API_BASE_URL=fake.url)
    fake.script = [
        "ok",
        (400, {"message": "Invalid reply token"}),
        (500, {"message": "Internal server error"}),
        (
            400,
            {
                "message": "The request body has 1 error(s)",
                "details": [{"message": "May not be empty", "property": "messages[0].text"}],
            },
        ),
    ]
    assert sender.reply("fresh-token", text(), to=USER) == SendResult("accepted", 200)
    assert sender.reply("stale-token", text(), to=USER) == SendResult("failed", 400, "Invalid reply token")
    assert sender.push(USER, text(), retry_key=RETRY_KEY) == SendResult(
        "failed", 500, "Internal server error"
    )
    refused = sender.multicast([USER, "U" + "b2" * 16], text())
    assert (refused.status, refused.http_status, refused.details) == (
        "failed",
        400,
        ("messages[0].text: May not be empty",),
    )
    assert sender.push(USER, text(), retry_key=RETRY_KEY) == SendResult("accepted", 200)
    again = sender.push(USER, text(), retry_key=RETRY_KEY)  # LINE answers 409: it has this one already
    assert (again.status, again.http_status, again.ok) == ("accepted-before", 409, True)
    assert fake.deliveries() == 2


# --- timeouts -------------------------------------------------------------------------------------


def test_a_reply_to_a_host_that_never_answers_fails_within_the_timeout(silent_host, clock):
    sender = sender_for(
        clock,
        LINE_API_BASE_URL=silent_host,
        DXBOT_LINE_CONNECT_TIMEOUT="0.5",
        DXBOT_LINE_READ_TIMEOUT="0.3",
    )
    assert sender.timeout == (0.5, 0.3)
    result, took = within(10, lambda: sender.reply("token", text(), to=USER))
    assert (result.status, result.http_status) == ("failed", None)
    assert "timed out" in result.message.lower()
    assert took < 3
    push, _ = within(10, lambda: sender.push(USER, text(), retry_key=RETRY_KEY))
    assert push.status == "failed"
    profile, took = within(10, lambda: sender.profile(USER, GROUP))  # the profile look-up at registration
    assert profile is None and took < 3


def test_the_timeouts_default_to_5_and_15_seconds_and_bad_values_name_their_variable(clock):
    assert sender_for(clock).timeout == (5.0, 15.0)
    with pytest.raises(ConfigError, match="DXBOT_LINE_READ_TIMEOUT"):
        line_config(DXBOT_LINE_READ_TIMEOUT="soon")
    with pytest.raises(ConfigError, match="DXBOT_LINE_CONNECT_TIMEOUT"):
        line_config(DXBOT_LINE_CONNECT_TIMEOUT="0")
    with pytest.raises(ConfigError, match="DXBOT_LINE_READ_TIMEOUT"):
        line_config(DXBOT_LINE_READ_TIMEOUT="600")  # longer than the outbox's lease on a row


# --- the proxy ------------------------------------------------------------------------------------


def test_a_push_goes_through_the_proxy_the_environment_names(fake, proxy, clock):
    sender = sender_for(clock, LINE_API_BASE_URL=fake.url, HTTP_PROXY=proxy.url)
    assert sender.push(USER, text(), retry_key=RETRY_KEY).status == "accepted"
    assert [(s.method, s.target) for s in proxy.seen] == [("POST", f"{fake.url}/v2/bot/message/push")]
    assert [c.retry_key for c in fake.sends()] == [RETRY_KEY]  # it arrived, retry key and all


def test_no_proxy_lets_lines_host_bypass_the_proxy(fake, proxy, clock):
    sender = sender_for(
        clock, LINE_API_BASE_URL=fake.url, HTTP_PROXY=proxy.url, NO_PROXY="localhost,127.0.0.1"
    )
    assert sender.push(USER, text()).status == "accepted"
    assert proxy.seen == [] and len(fake.sends()) == 1


def test_dxbot_line_proxy_wins_and_its_credentials_go_in_a_header_never_in_the_description(
    fake, proxy, clock
):
    config = line_config(
        LINE_API_BASE_URL=fake.url,
        HTTP_PROXY="http://127.0.0.1:9",  # the machine's proxy for everything else: not for LINE
        NO_PROXY="127.0.0.1",
        DXBOT_LINE_PROXY=f"http://dx%40city:s3cret@127.0.0.1:{proxy.port}",
    )
    assert "s3cret" not in config.line_network.describe() and "s3cret" not in repr(config)
    assert f"127.0.0.1:{proxy.port} (DXBOT_LINE_PROXY)" in config.line_network.describe()
    sender = make_sender(config, None, clock)
    assert sender.push(USER, text()).status == "accepted"
    [seen] = proxy.seen
    assert seen.proxy_authorization == "Basic " + base64.b64encode(b"dx@city:s3cret").decode()


def test_https_proxy_carries_calls_to_lines_own_host(proxy, clock):
    """LINE's real host through HTTPS_PROXY: the proxy is asked for a tunnel (and, here, refuses it)."""
    sender = sender_for(clock, HTTPS_PROXY=proxy.url)
    result, _ = within(30, lambda: sender.push(USER, text()))
    assert result.status == "failed"
    assert [(s.method, s.target) for s in proxy.seen] == [("CONNECT", "api.line.me:443")]


def test_which_proxy_applies_to_line(clock):
    assert line_config().line_network.proxy is None
    https = line_config(https_proxy="http://proxy.city.example:8080", HTTP_PROXY="http://other:3128")
    assert https.line_network.proxy == "http://proxy.city.example:8080"
    assert https.line_network.describe() == (
        "through proxy http://proxy.city.example:8080 (https_proxy), timeouts 5 s connect / 15 s read"
    )
    bypassed = line_config(HTTPS_PROXY="http://proxy.city.example:8080", NO_PROXY=".line.me")
    assert bypassed.line_network.proxy is None
    assert bypassed.line_network.describe().startswith("direct (NO_PROXY covers api.line.me)")
    with pytest.raises(ConfigError, match="HTTPS_PROXY"):
        line_config(HTTPS_PROXY="socks5://proxy.city.example:1080")
