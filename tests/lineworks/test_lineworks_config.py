"""LINE WORKS settings (LINEWORKS_*): read once at start, defaults, and one clear line per bad value."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from models.config import Config, ConfigError, LogSettings
from tests.lineworks.conftest import BOT_ID, CLIENT_ID, CLIENT_SECRET, SERVICE_ACCOUNT

BASE = {
    "LINEWORKS_CLIENT_ID": CLIENT_ID,
    "LINEWORKS_CLIENT_SECRET": CLIENT_SECRET,
    "LINEWORKS_SERVICE_ACCOUNT": SERVICE_ACCOUNT,
    "LINEWORKS_BOT_ID": BOT_ID,
    "LINEWORKS_BOT_SECRET": "bot-secret-value",
}


@pytest.fixture
def env(lineworks_keys):
    """Every required LINEWORKS_* variable, the private key given inline."""
    return {**BASE, "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem}


def test_without_any_lineworks_variable_there_is_no_lineworks_configuration():
    assert Config.from_env({}).lineworks is None
    assert Config.from_env({"LINE_CHANNEL_ACCESS_TOKEN": "token"}).lineworks is None


def test_the_settings_are_read_with_the_real_hosts_and_60_requests_a_minute_by_default(env, lineworks_keys):
    settings = Config.from_env(env).lineworks
    assert settings is not None
    assert (settings.client_id, settings.service_account, settings.bot_id) == (
        CLIENT_ID,
        SERVICE_ACCOUNT,
        BOT_ID,
    )
    assert settings.client_secret == CLIENT_SECRET and settings.bot_secret == "bot-secret-value"
    assert settings.api_base_url == "https://www.worksapis.com/v1.0"
    assert settings.auth_url == "https://auth.worksmobile.com/oauth2/v2.0"
    assert settings.rate_per_minute == 60
    assert settings.private_key().private_numbers() == lineworks_keys.private_key.private_numbers()


def test_a_mock_server_and_a_rate_can_be_set(env):
    settings = Config.from_env(
        {
            **env,
            "LINEWORKS_API_BASE_URL": "http://127.0.0.1:9/v1.0/",
            "LINEWORKS_AUTH_URL": "http://127.0.0.1:9/oauth2/v2.0/",
            "LINEWORKS_RATE_PER_MINUTE": " 240 ",
        }
    ).lineworks
    assert settings is not None
    assert settings.api_base_url == "http://127.0.0.1:9/v1.0"  # no trailing slash: paths are appended
    assert settings.auth_url == "http://127.0.0.1:9/oauth2/v2.0"
    assert settings.rate_per_minute == 240


def test_the_key_may_come_from_a_file_or_with_escaped_line_breaks(env, lineworks_keys, tmp_path):
    key_file = tmp_path / "private.key"
    key_file.write_text(lineworks_keys.private_pem, encoding="ascii")
    from_file = {**{k: v for k, v in env.items() if k != "LINEWORKS_PRIVATE_KEY"}}
    from_file["LINEWORKS_PRIVATE_KEY_FILE"] = str(key_file)
    escaped = {**env, "LINEWORKS_PRIVATE_KEY": lineworks_keys.private_pem.replace("\n", "\\n")}
    expected = lineworks_keys.private_key.private_numbers()
    for variables in (from_file, escaped):
        settings = Config.from_env(variables).lineworks
        assert settings is not None and settings.private_key().private_numbers() == expected


def test_no_secret_shows_in_the_configuration_s_repr(env, lineworks_keys):
    config = Config.from_env(env)
    shown = repr(config) + repr(config.lineworks)
    assert CLIENT_ID in shown  # the identifiers may be shown: they say which app is configured
    for secret in (CLIENT_SECRET, "bot-secret-value", "PRIVATE KEY", lineworks_keys.private_pem[40:80]):
        assert secret not in shown


def test_the_secrets_are_kept_out_of_log_lines(env):
    secrets = LogSettings.from_env(env).secrets
    assert CLIENT_SECRET in secrets and "bot-secret-value" in secrets


@pytest.mark.parametrize("missing", sorted(BASE.keys() - {"LINEWORKS_BOT_SECRET"}))
def test_a_partial_configuration_names_what_is_missing(env, missing):
    with pytest.raises(ConfigError, match=missing):
        Config.from_env({k: v for k, v in env.items() if k != missing})


def test_a_configuration_without_a_private_key_names_both_variables():
    with pytest.raises(ConfigError, match="LINEWORKS_PRIVATE_KEY or LINEWORKS_PRIVATE_KEY_FILE"):
        Config.from_env(BASE)


def test_the_key_is_given_one_way_only(env, tmp_path):
    key_file = tmp_path / "private.key"
    key_file.write_text(env["LINEWORKS_PRIVATE_KEY"], encoding="ascii")
    with pytest.raises(ConfigError, match="LINEWORKS_PRIVATE_KEY and LINEWORKS_PRIVATE_KEY_FILE"):
        Config.from_env({**env, "LINEWORKS_PRIVATE_KEY_FILE": str(key_file)})


@pytest.mark.parametrize("rate", ["fast", "0", "-5", "1.5", "100000"])
def test_a_rate_that_is_not_a_whole_number_of_requests_stops_the_start(env, rate):
    with pytest.raises(ConfigError, match=f"LINEWORKS_RATE_PER_MINUTE={rate!r}"):
        Config.from_env({**env, "LINEWORKS_RATE_PER_MINUTE": rate})


def test_an_unreadable_key_file_is_named(env, tmp_path):
    variables = {k: v for k, v in env.items() if k != "LINEWORKS_PRIVATE_KEY"}
    missing = tmp_path / "nowhere.key"
    with pytest.raises(ConfigError, match="LINEWORKS_PRIVATE_KEY_FILE") as raised:
        Config.from_env({**variables, "LINEWORKS_PRIVATE_KEY_FILE": str(missing)})
    assert str(missing) in str(raised.value)


def _ec_private_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@pytest.mark.parametrize(
    "value, reason",
    [
        ("not a key at all", "not a PEM private key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a PEM private key"),
        (_ec_private_pem(), "not an RSA private key"),
    ],
    ids=["text", "broken-pem", "ec-key"],
)
def test_a_value_that_is_not_an_rsa_private_key_stops_the_start_without_showing_it(env, value, reason):
    with pytest.raises(ConfigError, match=reason) as raised:
        Config.from_env({**env, "LINEWORKS_PRIVATE_KEY": value})
    assert "LINEWORKS_PRIVATE_KEY" in str(raised.value)
    assert value.strip() not in str(raised.value)


def test_a_public_key_is_not_taken_for_the_private_one(env, lineworks_keys, tmp_path):
    public = lineworks_keys.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    key_file = tmp_path / "public.pem"
    key_file.write_text(public, encoding="ascii")
    variables = {k: v for k, v in env.items() if k != "LINEWORKS_PRIVATE_KEY"}
    with pytest.raises(ConfigError, match="LINEWORKS_PRIVATE_KEY_FILE.*not a PEM private key"):
        Config.from_env({**variables, "LINEWORKS_PRIVATE_KEY_FILE": str(key_file)})


@pytest.mark.parametrize("variable", ["LINEWORKS_API_BASE_URL", "LINEWORKS_AUTH_URL"])
def test_a_host_that_is_not_an_http_url_is_named(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Config.from_env({**env, variable: "www.worksapis.com"})


def test_a_bot_id_that_is_not_a_number_is_named(env):
    with pytest.raises(ConfigError, match="LINEWORKS_BOT_ID='my-bot'"):
        Config.from_env({**env, "LINEWORKS_BOT_ID": "my-bot"})
