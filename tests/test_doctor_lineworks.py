"""`dxbot doctor` with LINE WORKS set: a real token request and the bot read from the stand-in LINE WORKS."""

from __future__ import annotations

import json
import socket

import pytest

from tests.lineworks import conftest as lineworks_fixtures
from tests.lineworks.conftest import BOT_ID, BOT_SECRET, CLIENT_SECRET, SERVICE_ACCOUNT
from tests.lineworks.signing import KeyPair

lineworks = lineworks_fixtures.lineworks  # the stand-in and its keys, as fixtures here too
lineworks_keys = lineworks_fixtures.lineworks_keys
BASE_URL = "https://example.com"  # the stand-in's bot has https://example.com/lineworks/callback on record


@pytest.fixture
def lw_env(lineworks, lineworks_keys):
    return {
        **lineworks.env(),
        "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem,
        "DXBOT_BASE_URL": BASE_URL,
        "DXBOT_TRANSPORT": "lineworks",
    }


def run(dxbot, env):
    result = dxbot("doctor", env={"DXBOT_NOW": "", **env})
    findings = json.loads(dxbot("doctor", "--json", env={"DXBOT_NOW": "", **env}).output)["findings"]
    return result, [f for f in findings if f["area"].startswith("lineworks")]


def by_area(findings) -> dict[str, dict]:
    return {f["area"]: f for f in findings if f["area"] != "lineworks mock"}


def no_secrets_in(output: str, lineworks, keys) -> None:
    assert CLIENT_SECRET not in output and BOT_SECRET not in output
    assert keys.private_pem.splitlines()[1] not in output  # a line of the key's body
    assert lineworks.tokens and not any(token in output for token in lineworks.tokens)


def test_a_good_lineworks_configuration_is_all_ok_and_sends_nothing(
    dxbot, db, lineworks, lineworks_keys, lw_env
):
    result, findings = run(dxbot, lw_env)
    found = by_area(findings)
    assert {area: f["level"] for area, f in found.items()} == {
        "lineworks network": "OK",
        "lineworks token": "OK",
        "lineworks bot": "OK",
        "lineworks callback": "OK",
    }
    assert found["lineworks network"]["what"] == "direct (no proxy set), timeouts 5 s connect / 15 s read"
    assert found["lineworks token"]["what"] == (
        f"an access token for service account {SERVICE_ACCOUNT} (scope bot, 24 h)"
    )
    assert found["lineworks bot"]["what"] == f"bot DX進捗ボット ({BOT_ID})"
    assert (
        found["lineworks callback"]["what"] == f"LINE WORKS sends callbacks to {BASE_URL}/lineworks/callback"
    )
    # The stand-in's addresses are a mock's, and the doctor says so.
    mocks = [f["what"] for f in findings if f["area"] == "lineworks mock"]
    assert [m.split("=")[0] for m in mocks] == ["LINEWORKS_API_BASE_URL", "LINEWORKS_AUTH_URL"]
    assert lineworks.sent == []
    assert {(s.method, s.path) for s in lineworks.seen} == {
        ("POST", "/oauth2/v2.0/token"),
        ("GET", f"/v1.0/bots/{BOT_ID}"),
    }
    no_secrets_in(result.output, lineworks, lineworks_keys)
    assert "lineworks bot" in result.output and "OK    lineworks token" in result.output


def test_a_wrong_client_secret_names_the_variables_to_fix(dxbot, db, lineworks, lineworks_keys, lw_env):
    result, findings = run(dxbot, {**lw_env, "LINEWORKS_CLIENT_SECRET": "not-the-secret-xyz"})
    found = by_area(findings)
    assert result.exit_code == 1
    assert found["lineworks token"]["level"] == "FAIL"
    assert "answered 401" in found["lineworks token"]["what"]
    assert "LINEWORKS_CLIENT_SECRET" in found["lineworks token"]["fix"]
    assert found["lineworks bot"]["level"] == "SKIP"
    assert "not-the-secret-xyz" not in result.output and CLIENT_SECRET not in result.output


def test_a_private_key_lineworks_does_not_know_is_named(dxbot, db, lineworks, lw_env):
    other = KeyPair.generate()
    result, findings = run(dxbot, {**lw_env, "LINEWORKS_PRIVATE_KEY": other.private_pem})
    token = by_area(findings)["lineworks token"]
    assert token["level"] == "FAIL" and "invalid_grant" in token["what"]
    assert "LINEWORKS_PRIVATE_KEY" in token["fix"] and "LINEWORKS_SERVICE_ACCOUNT" in token["fix"]
    assert other.private_pem.splitlines()[1] not in result.output


def test_an_unknown_bot_id_is_named(dxbot, db, lineworks, lineworks_keys, lw_env):
    result, findings = run(dxbot, {**lw_env, "LINEWORKS_BOT_ID": "9999999"})
    found = by_area(findings)
    assert found["lineworks token"]["level"] == "OK"
    assert found["lineworks bot"]["level"] == "FAIL"
    assert found["lineworks bot"]["what"].startswith("LINE WORKS knows no bot 9999999")
    assert "LINEWORKS_BOT_ID" in found["lineworks bot"]["fix"]
    assert result.exit_code == 1
    no_secrets_in(result.output, lineworks, lineworks_keys)


def test_an_unreachable_host_names_the_network_and_proxy_variables(dxbot, db, lw_env):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nowhere = f"http://127.0.0.1:{port}"
    result, findings = run(
        dxbot,
        {
            **lw_env,
            "LINEWORKS_API_BASE_URL": f"{nowhere}/v1.0",
            "LINEWORKS_AUTH_URL": f"{nowhere}/oauth2/v2.0",
        },
    )
    found = by_area(findings)
    assert found["lineworks token"]["level"] == "FAIL"
    assert found["lineworks token"]["what"].startswith(
        f"the token endpoint 127.0.0.1:{port} could not be reached"
    )
    assert "HTTPS_PROXY" in found["lineworks token"]["fix"] and "NO_PROXY" in found["lineworks token"]["fix"]
    assert found["lineworks bot"]["level"] == "SKIP"
    assert result.exit_code == 1


def test_a_callback_url_elsewhere_is_a_failure_naming_the_console_setting(dxbot, db, lineworks, lw_env):
    _, findings = run(dxbot, {**lw_env, "DXBOT_BASE_URL": "https://dxbot.city.example.jp"})
    callback = by_area(findings)["lineworks callback"]
    assert callback["level"] == "FAIL"
    assert "https://dxbot.city.example.jp/lineworks/callback" in callback["fix"]


def test_the_checks_go_through_the_proxy_set_for_line(dxbot, db, lineworks, lw_env):
    from tests.proxy import Proxy

    proxy = Proxy().start()
    try:
        result, findings = run(dxbot, {**lw_env, "HTTP_PROXY": f"http://dx:s3cret@127.0.0.1:{proxy.port}"})
    finally:
        proxy.stop()
    found = by_area(findings)
    assert found["lineworks network"]["what"].startswith(
        f"through proxy http://127.0.0.1:{proxy.port} (HTTP_PROXY)"
    )
    assert found["lineworks bot"]["level"] == "OK"
    assert f"{lineworks.api_url}/bots/{BOT_ID}" in {seen.target for seen in proxy.seen}
    assert "s3cret" not in result.output


def test_lineworks_asked_for_but_not_configured_fails_naming_the_variables(db, database_url):
    from bot.cli.doctor import diagnose

    env = {"DXBOT_DATABASE_URL": database_url, "DXBOT_SENDER": "console", "DXBOT_TRANSPORT": "line,lineworks"}
    findings = [f for f in diagnose(env) if f.area.startswith("lineworks")]
    assert [(f.area, f.level) for f in findings] == [("lineworks", "FAIL")]
    assert "LINEWORKS_CLIENT_ID" in (findings[0].fix or "")


def test_without_lineworks_the_doctor_says_nothing_of_it(dxbot, db):
    _, findings = run(dxbot, {"DXBOT_TRANSPORT": ""})
    assert findings == []
