"""The throttled LINE WORKS sender against the stand-in: rounds paced to the rate, 429s waited out, the proxy.

Time is a fake that only moves when the sender sleeps: the stand-in, the token's expiry and the throttle
all read it, so a round of minutes runs in a moment and a 2-second token expires mid-round.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from messages.lineworks_client import make_lineworks_sender
from messages.lineworks_throttle import Throttle, reset_seconds, round_minutes, round_note, round_seconds
from messages.model import Text
from models.config import Config
from models.db import session_factory
from tests.lineworks.test_sender import USER, token_requests
from tests.proxy import Proxy


class FakeTime:
    """Seconds since the start on a fake clock; sleep() moves it on at once."""

    def __init__(self) -> None:
        self.start = time.time()
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def epoch(self) -> float:
        return self.start + self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)


@pytest.fixture
def fake(lineworks) -> FakeTime:
    """A fake time the stand-in runs on too (its rate window and tokens' expiry)."""
    fake = FakeTime()
    lineworks.clock = fake.epoch
    lineworks.window_start = fake.epoch()
    return fake


@pytest.fixture
def make(lineworks, lineworks_keys, db, fake):
    """make_lineworks_sender on the stand-in and the test database, on the fake time."""

    def make(**env: str):
        config = Config.from_env(
            {**lineworks.env(), "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem, **env}
        )
        return make_lineworks_sender(
            config, session_factory(db), monotonic=fake.monotonic, sleep=fake.sleep, now=fake.now
        )

    return make


def api_statuses(lineworks) -> list[int]:
    return [seen.status for seen in lineworks.seen if seen.path.startswith("/v1.0/")]


# -- the throttle alone ------------------------------------------------------------------------------


def test_requests_are_spaced_evenly_at_the_rate_and_a_pause_in_between_costs_nothing():
    fake = FakeTime()
    throttle = Throttle(120, monotonic=fake.monotonic, sleep=fake.sleep)
    starts = []
    for _ in range(4):
        throttle.wait()
        starts.append(fake.t)
    assert starts == [0.0, 0.5, 1.0, 1.5]
    fake.t += 10  # nothing to send for a while: the next one goes at once
    throttle.wait()
    assert fake.t == 11.5


def test_a_round_to_200_staff_at_60_a_minute_is_foretold_as_over_3_minutes():
    assert round_seconds(200, 60) == 199 and round_seconds(200, 240) == 49.75
    assert round_seconds(1, 60) == round_seconds(0, 60) == 0
    assert round_minutes(200, 60) == 4 and round_minutes(61, 60) == 1
    assert round_minutes(60, 60) is None and round_minutes(200, 240) is None  # within a minute: no word
    assert round_note(200, 60) == (
        "LINE WORKS: delivering 200 messages at 60 a minute takes about 4 minutes (LINEWORKS_RATE_PER_MINUTE)"
    )
    assert round_note(61, 60) is not None and round_note(61, 60).endswith(
        "about 1 minute (LINEWORKS_RATE_PER_MINUTE)"
    )


def test_a_429_holds_the_next_requests_until_the_reset():
    fake = FakeTime()
    throttle = Throttle(60, monotonic=fake.monotonic, sleep=fake.sleep)
    throttle.wait()
    assert throttle.back_off({"rateLimit-reset": "7"}) == 7
    assert fake.t == 7
    throttle.wait()  # the reset is the slot: no extra second on top
    assert fake.t == 7


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"rateLimit-reset": "12"}, 12),
        ({"ratelimit-reset": "3", "Retry-After": "30"}, 3),
        ({"Retry-After": "30"}, 30),
        ({"rateLimit-reset": "3600"}, 60),  # bounded: the limit counts per minute
        ({"rateLimit-reset": "-5"}, 0),
        ({}, 10),
        ({"rateLimit-reset": "soon", "Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, 10),
    ],
)
def test_the_wait_after_a_429_comes_from_its_headers_within_bounds(headers, seconds):
    assert reset_seconds(headers) == seconds


# -- against the stand-in ------------------------------------------------------------------------------


def test_a_429_is_waited_out_and_the_same_message_then_arrives_once(lineworks, make, fake):
    lineworks.fail_next(1, 429, reset=7)
    result = make().send(USER, [Text("受け付けました")])
    assert result.ok and result.http_status == 201
    assert [s.content["text"] for s in lineworks.sent] == ["受け付けました"]
    assert api_statuses(lineworks) == [429, 201]
    assert fake.t == 7


def test_a_second_429_gives_the_failure_back_for_the_outbox_after_one_wait(lineworks, make, fake):
    lineworks.fail_next(2, 429, reset=20)
    result = make().send(USER, [Text("受け付けました")])
    assert not result.ok and result.http_status == 429
    assert "rateLimit-reset: 20" in result.details
    assert lineworks.sent == [] and api_statuses(lineworks) == [429, 429]
    assert fake.t == 20  # one wait, not a loop


def test_a_429_with_a_long_reset_waits_at_most_the_bound(lineworks, make, fake):
    lineworks.fail_next(1, 429, reset=600)
    assert make().send(USER, [Text("はい")]).ok
    assert fake.t == 60


def test_a_server_error_is_not_retried_here(lineworks, make, fake):
    lineworks.fail_next(1, 503)
    result = make().send(USER, [Text("はい")])
    assert result.http_status == 503 and api_statuses(lineworks) == [503] and fake.t == 0


@pytest.mark.parametrize(("count", "rate"), [(150, 60), (200, 240)])
def test_a_round_of_n_sends_at_rate_r_takes_n_over_r_minutes_and_meets_the_limit(
    lineworks, make, fake, count, rate
):
    lineworks.rate_per_minute = rate  # the stand-in answers 429 past `rate` calls in its minute
    sender = make(LINEWORKS_RATE_PER_MINUTE=str(rate))
    results = [sender.send(f"user{i}", [Text(f"KPIのご報告をお願いします {i}")]) for i in range(count)]
    assert all(r.ok for r in results)
    assert 429 not in api_statuses(lineworks) and len(lineworks.sent) == count
    # The last request starts one interval before count/rate minutes are up, as run-job can foretell.
    assert fake.t == pytest.approx((count - 1) * 60 / rate) == round_seconds(count, rate)


def test_without_the_throttle_the_same_round_runs_into_the_limit(lineworks, lineworks_keys, db, fake):
    """The check above can fail: unpaced, the stand-in refuses past its rate."""
    from messages.lineworks_sender import LineWorksSender

    lineworks.rate_per_minute = 60
    settings = Config.from_env(
        {**lineworks.env(), "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem}
    ).lineworks
    assert settings is not None
    sender = LineWorksSender(settings, session_factory(db), now=fake.now)
    results = [sender.send(f"user{i}", [Text("KPI")]) for i in range(70)]
    assert sum(not r.ok for r in results) == 10


def test_a_message_of_several_bodies_counts_every_body(lineworks, make, fake):
    long = "\n".join(
        ["オンライン申請率の進捗をご報告ください。" * 10] * 20
    )  # over 2,000 characters: 3 bodies
    assert make().send(USER, [Text(long)]).ok
    assert len(lineworks.sent) == 3 and fake.t == 2


def test_a_two_second_token_expiring_mid_round_is_renewed_and_nothing_is_refused(lineworks, make, fake):
    lineworks.token_lifetime = 2
    sender = make()
    assert all(sender.send(f"user{i}", [Text("KPI")]).ok for i in range(10))
    assert len(lineworks.sent) == 10 and fake.t == 9
    assert token_requests(lineworks) >= 4  # a new token every ~2 seconds of the round
    assert set(api_statuses(lineworks)) == {201}  # renewed before expiry, never refused


def test_a_token_expiring_during_a_429_wait_is_renewed_for_the_retry(lineworks, make, fake):
    lineworks.token_lifetime = 5
    lineworks.fail_next(1, 429, reset=30)
    assert make().send(USER, [Text("はい")]).ok
    assert api_statuses(lineworks) == [429, 201] and token_requests(lineworks) == 2


# -- the proxy ------------------------------------------------------------------------------------------


@pytest.fixture
def proxy():
    started = Proxy().start()
    yield started
    started.stop()


def test_token_and_send_go_through_the_proxy_set_for_line(lineworks, make, proxy):
    sender = make(HTTP_PROXY=f"http://dx:s3cret@127.0.0.1:{proxy.port}", DXBOT_LINE_READ_TIMEOUT="20")
    assert sender.send(USER, [Text("プロキシ経由")]).ok
    assert [s.content["text"] for s in lineworks.sent] == ["プロキシ経由"]
    targets = [(seen.method, seen.target) for seen in proxy.seen]
    assert ("POST", f"{lineworks.auth_url}/token") in targets
    assert ("POST", f"{lineworks.api_url}/bots/{lineworks.bot_id}/users/{USER}/messages") in targets
    expected = "Basic " + base64.b64encode(b"dx:s3cret").decode()
    assert {seen.proxy_authorization for seen in proxy.seen} == {expected}
    assert sender.timeout.read_timeout == 20


def test_no_proxy_for_the_token_host_only_sends_just_the_api_through_it(lineworks, make, proxy):
    auth_url = lineworks.auth_url.replace("127.0.0.1", "localhost")
    sender = make(
        HTTP_PROXY=f"http://127.0.0.1:{proxy.port}", NO_PROXY="localhost", LINEWORKS_AUTH_URL=auth_url
    )
    assert sender.send(USER, [Text("はい")]).ok
    assert [seen.target.rsplit("/", 1)[-1] for seen in proxy.seen] == ["messages"]
    assert token_requests(lineworks) == 1  # it came direct


def test_no_proxy_covering_both_hosts_goes_direct(lineworks, make, proxy):
    sender = make(
        HTTPS_PROXY=f"http://127.0.0.1:{proxy.port}",
        HTTP_PROXY=f"http://127.0.0.1:{proxy.port}",
        NO_PROXY="127.0.0.1",
    )
    assert sender.send(USER, [Text("はい")]).ok
    assert proxy.seen == []
