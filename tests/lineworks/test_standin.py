"""The stand-in LINE WORKS answers as the reference says: tokens, sends, bot info, faults and callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from urllib.parse import urlencode, urlsplit

import pytest

from tests.lineworks import callbacks
from tests.lineworks.conftest import BOT_ID, BOT_SECRET, CLIENT_ID, CLIENT_SECRET, SERVICE_ACCOUNT
from tests.lineworks.signing import KeyPair, jwt_assertion, service_account_claims
from tests.lineworks.standin import JWT_BEARER

USER = "userf7da-f82c-4284-13e7-030f3b4c756x"  # the reference's example user ID
CHANNEL = "12345a12-b12c-12d3-e123fghijkl"  # the reference's example channel ID
HELLO = {"content": {"type": "text", "text": "hello"}}


def call(url: str, method: str = "GET", *, body: bytes | None = None, headers: dict | None = None):
    """One HTTP request straight to 127.0.0.1 (no proxy): (status, headers, parsed JSON or None)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, parts.path, body=body, headers=headers or {})
        answer = connection.getresponse()
        data = answer.read()
        return answer.status, dict(answer.getheaders()), json.loads(data) if data else None
    finally:
        connection.close()


def token_request(standin, assertion: str, **overrides):
    form = {
        "assertion": assertion,
        "grant_type": JWT_BEARER,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "bot",
        **overrides,
    }
    return call(
        f"{standin.auth_url}/token",
        "POST",
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def valid_assertion(keys: KeyPair, **claims) -> str:
    return jwt_assertion(keys, {**service_account_claims(CLIENT_ID, SERVICE_ACCOUNT), **claims})


def access_token(standin, keys) -> str:
    status, _, body = token_request(standin, valid_assertion(keys))
    assert status == 200, body
    return body["access_token"]


def send(
    standin, token: str | None, body=HELLO, *, kind: str = "users", target: str = USER, bot: str = BOT_ID
):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body, ensure_ascii=False).encode()
    return call(f"{standin.api_url}/bots/{bot}/{kind}/{target}/messages", "POST", body=data, headers=headers)


# -- token endpoint --------------------------------------------------------------------------------------


def test_a_signed_service_account_jwt_gets_a_bearer_token(lineworks, lineworks_keys):
    status, _, body = token_request(lineworks, valid_assertion(lineworks_keys))
    assert status == 200
    assert set(body) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["scope"] == "bot"
    assert body["expires_in"] == "86400"  # 24 hours, as a string ("String/Integer" in the reference)


def test_the_official_samples_float_timestamps_are_accepted(lineworks, lineworks_keys):
    """lineworks/works-api-code-samples signs iat/exp as datetime.now().timestamp() (floats)."""
    now = time.time()
    status, _, _ = token_request(lineworks, valid_assertion(lineworks_keys, iat=now, exp=now + 3600))
    assert status == 200


@pytest.mark.parametrize(
    "claims, why",
    [
        ({"iss": "someone-else"}, "iss must be the client ID"),
        ({"sub": "other.serviceaccount@example.com"}, "sub must be the service account"),
        ({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "expired"),
        ({"iat": int(time.time()) + 600}, "iat is in the future"),
        ({"iat": "now"}, "numbers"),
    ],
    ids=["iss", "sub", "exp", "iat-future", "iat-string"],
)
def test_wrong_claims_are_refused(lineworks, lineworks_keys, claims, why):
    status, _, body = token_request(lineworks, valid_assertion(lineworks_keys, **claims))
    assert status == 400 and body["error"] == "invalid_grant" and why in body["error_description"]


def test_a_jwt_signed_with_another_key_is_refused(lineworks):
    status, _, body = token_request(lineworks, valid_assertion(KeyPair.generate()))
    assert status == 400 and body["error"] == "invalid_grant"
    assert "signature" in body["error_description"]


def test_an_hs256_jwt_is_refused(lineworks, lineworks_keys):
    status, _, body = token_request(lineworks, jwt_assertion(lineworks_keys, {}, alg="HS256"))
    assert status == 400 and "RS256" in body["error_description"]


@pytest.mark.parametrize(
    "field, value, status, error",
    [
        ("client_secret", "wrong", 401, "invalid_client"),
        ("client_id", "wrong", 401, "invalid_client"),
        ("grant_type", "client_credentials", 400, "unsupported_grant_type"),
        ("scope", "user.read", 400, "invalid_scope"),
    ],
)
def test_wrong_form_fields_are_refused(lineworks, lineworks_keys, field, value, status, error):
    answer, _, body = token_request(lineworks, valid_assertion(lineworks_keys), **{field: value})
    assert (answer, body["error"]) == (status, error)
    assert lineworks.tokens == {}


def test_a_refresh_token_gets_a_new_access_token(lineworks, lineworks_keys):
    _, _, first = token_request(lineworks, valid_assertion(lineworks_keys))
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    form |= {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    status, _, body = call(
        f"{lineworks.auth_url}/token",
        "POST",
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and body["access_token"] != first["access_token"]
    assert send(lineworks, body["access_token"])[0] == 201


# -- sending -----------------------------------------------------------------------------------------------


def test_a_valid_send_to_a_user_is_201_and_recorded(lineworks, lineworks_keys):
    status, headers, body = send(lineworks, access_token(lineworks, lineworks_keys))
    assert (status, body) == (201, None)
    [sent] = lineworks.sent
    assert (sent.bot_id, sent.kind, sent.target, sent.content) == (BOT_ID, "users", USER, HELLO["content"])
    assert headers["rateLimit-limit"] == "240" and headers["rateLimit-remaining"] == "239"


def test_a_send_to_a_channel_is_recorded_as_such(lineworks, lineworks_keys):
    assert send(lineworks, access_token(lineworks, lineworks_keys), kind="channels", target=CHANNEL)[0] == 201
    assert [(s.kind, s.target) for s in lineworks.sent] == [("channels", CHANNEL)]


@pytest.mark.parametrize("token", [None, "made-up"], ids=["no-token", "unknown-token"])
def test_a_send_without_a_valid_token_is_401_and_not_recorded(lineworks, token):
    status, _, body = send(lineworks, token)
    assert status == 401 and body["code"] == "UNAUTHORIZED"
    assert lineworks.sent == []


def test_a_two_second_token_is_refused_once_it_expired(lineworks, lineworks_keys):
    lineworks.token_lifetime = 2
    status, _, body = token_request(lineworks, valid_assertion(lineworks_keys))
    assert body["expires_in"] == "2"
    assert send(lineworks, body["access_token"])[0] == 201
    time.sleep(2.1)
    status, _, answer = send(lineworks, body["access_token"])
    assert status == 401 and answer["code"] == "UNAUTHORIZED"
    assert len(lineworks.sent) == 1


def test_an_invalid_body_is_400_with_the_reason_and_not_recorded(lineworks, lineworks_keys):
    long_text = {"content": {"type": "text", "text": "あ" * 2001}}
    status, _, body = send(lineworks, access_token(lineworks, lineworks_keys), long_text)
    assert status == 400 and body["code"] == "INVALID_PARAMETER"
    assert "content/text" in body["description"]
    assert lineworks.sent == [] and lineworks.refused[0][0] == USER


def test_an_unknown_bot_is_404(lineworks, lineworks_keys):
    status, _, body = send(lineworks, access_token(lineworks, lineworks_keys), bot="999")
    assert status == 404 and body["code"] == "NOT_FOUND"


def test_a_body_that_is_not_json_is_400(lineworks, lineworks_keys):
    token = access_token(lineworks, lineworks_keys)
    status, _, body = call(
        f"{lineworks.api_url}/bots/{BOT_ID}/users/{USER}/messages",
        "POST",
        body=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert status == 400 and body["code"] == "BAD_REQUEST"


# -- faults and rate limits --------------------------------------------------------------------------------


def test_429_on_demand_carries_the_rate_limit_headers_then_recovers(lineworks, lineworks_keys):
    token = access_token(lineworks, lineworks_keys)
    lineworks.fail_next(2, 429, reset=7)
    for _ in range(2):
        status, headers, body = send(lineworks, token)
        assert status == 429
        assert body == {"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"}
        assert headers["rateLimit-remaining"] == "0" and headers["rateLimit-reset"] == "7"
        assert headers["rateLimit-limit"] == "240"
    assert send(lineworks, token)[0] == 201
    assert len(lineworks.sent) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_demand_then_recovers(lineworks, lineworks_keys, status):
    token = access_token(lineworks, lineworks_keys)
    lineworks.fail_next(1, status)
    assert send(lineworks, token)[0] == status
    assert send(lineworks, token)[0] == 201


def test_a_per_minute_limit_answers_429_past_it(lineworks, lineworks_keys):
    lineworks.rate_per_minute = 2
    token = access_token(lineworks, lineworks_keys)
    assert [send(lineworks, token)[0] for _ in range(3)] == [201, 201, 429]
    status, headers, _ = send(lineworks, token)
    assert 1 <= int(headers["rateLimit-reset"]) <= 60


# -- read-only calls for dxbot doctor ------------------------------------------------------------------------


def test_get_bot_answers_the_bot_details(lineworks, lineworks_keys):
    headers = {"Authorization": f"Bearer {access_token(lineworks, lineworks_keys)}"}
    status, _, body = call(f"{lineworks.api_url}/bots/{BOT_ID}", headers=headers)
    assert status == 200 and body["botId"] == int(BOT_ID) and body["botName"]
    assert call(f"{lineworks.api_url}/bots/999", headers=headers)[0] == 404
    assert call(f"{lineworks.api_url}/bots/{BOT_ID}")[0] == 401
    status, _, listed = call(f"{lineworks.api_url}/bots", headers=headers)
    assert status == 200 and [b["botId"] for b in listed["bots"]] == [int(BOT_ID)]


def test_env_points_the_bot_at_the_standin(lineworks):
    env = lineworks.env()
    assert env["LINEWORKS_API_BASE_URL"].endswith("/v1.0") and env["LINEWORKS_BOT_ID"] == BOT_ID
    assert env["LINEWORKS_AUTH_URL"].endswith("/oauth2/v2.0")


# -- callbacks ------------------------------------------------------------------------------------------------


def test_a_signed_callback_carries_the_documented_headers_and_signature():
    callback = callbacks.signed(
        callbacks.text_event(USER, "オンライン申請率 41%"), bot_id=BOT_ID, bot_secret=BOT_SECRET
    )
    expected = base64.b64encode(
        hmac.new(BOT_SECRET.encode(), callback.body, hashlib.sha256).digest()
    ).decode()
    assert callback.headers["X-WORKS-Signature"] == expected
    assert callback.headers["X-WORKS-BotId"] == BOT_ID
    assert callback.event["content"] == {"type": "text", "text": "オンライン申請率 41%"}
    assert "channelId" not in callback.event["source"]  # 1:1 rooms send no channelId


def test_a_wrong_signature_can_be_sent_on_purpose():
    callback = callbacks.signed(
        callbacks.join_event(CHANNEL), bot_id=BOT_ID, bot_secret=BOT_SECRET, signature="AAAA"
    )
    assert callback.headers["X-WORKS-Signature"] == "AAAA"


def test_sample_events_have_the_documented_shapes():
    at = callbacks.issued_time()
    assert len(at) == len("2022-01-04T05:16:05.716Z") and at.endswith("Z")
    postback = callbacks.postback_event(USER, "action=buy", channel_id=CHANNEL)
    assert postback["type"] == "postback" and postback["data"] == "action=buy"
    assert postback["source"] == {"userId": USER, "channelId": CHANNEL, "domainId": callbacks.DOMAIN_ID}
    tapped = callbacks.message_postback_event(USER, "報告", "kpi=1")
    assert tapped["content"] == {"type": "text", "text": "報告", "postback": "kpi=1"}
    for event in (callbacks.join_event(CHANNEL), callbacks.leave_event(CHANNEL)):
        assert set(event) == {"type", "source", "issuedTime"} and "userId" not in event["source"]
    for event in (callbacks.joined_event(CHANNEL, [USER]), callbacks.left_event(CHANNEL, [USER])):
        assert event["members"] == [USER]
