"""load_settings: defaults, credentials.yml tunables with coercion, environment for secrets and addresses."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest
import yaml

from whatsapp.settings import ENVIRONMENT, EvolutionSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_KEY = "connectors.evolution.EvolutionInput"

FULL_ENV = {
    "EVOLUTION_URL": "https://evo.example.com",
    "EVOLUTION_API_KEY": "api-key-from-env",
    "EVOLUTION_INSTANCE": "other-instance",
    "EVOLUTION_WEBHOOK_TOKEN": "token-from-env",
    "EVOLUTION_WEBHOOK_JWT_KEY": "jwt-key-from-env",
    "WEBHOOK_HMAC_SECRET": "hmac-from-env",
    "REDIS_HOST": "redis.internal",
    "REDIS_PORT": "6380",
    "REDIS_DB": "3",
    "REDIS_PASSWORD": "redis-pass",
    "REDIS_KEY_PREFIX": "prod",
}


def test_defaults_without_credentials_or_environment():
    settings = load_settings(None, environ={})
    assert settings == EvolutionSettings()
    assert settings.evolution_url == "http://localhost:8080"
    assert settings.instance == "solarprime"
    assert settings.api_key is None
    assert settings.webhook_token is None and settings.webhook_jwt_key is None
    assert settings.webhook_hmac_secret is None
    assert (settings.redis_host, settings.redis_port, settings.redis_db) == ("localhost", 6379, 0)
    assert settings.redis_password is None
    assert settings.redis_key_prefix == "aisdr"
    assert settings.allow_unauthenticated is False
    assert settings.debounce_seconds == 2.5
    assert settings.max_text_chars == 4096
    assert settings.typing_delay is True
    assert settings.quote_replies is False


def test_empty_credentials_mapping_is_the_defaults():
    assert load_settings({}, environ={}) == EvolutionSettings()


def test_none_environ_reads_the_process_environment(monkeypatch):
    for name in ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVOLUTION_INSTANCE", "from-process-env")
    monkeypatch.setenv("REDIS_PORT", "7000")
    settings = load_settings({})
    assert settings.instance == "from-process-env"
    assert settings.redis_port == 7000


def test_credentials_override_defaults():
    settings = load_settings(
        {"debounce_seconds": 0.5, "max_text_chars": 160, "quote_replies": True, "typing_delay": False},
        environ={},
    )
    assert settings.debounce_seconds == 0.5
    assert settings.max_text_chars == 160
    assert settings.quote_replies is True
    assert settings.typing_delay is False
    # Everything else stays at its default.
    assert settings.rate_limit_per_minute == EvolutionSettings().rate_limit_per_minute


def test_string_values_are_coerced_to_the_field_types():
    settings = load_settings(
        {
            "quote_replies": "true",
            "mark_read": "false",
            "allow_unauthenticated": "yes",
            "debounce_seconds": "2.5",
            "http_timeout_seconds": "60",
            "rate_limit_per_minute": "60",
            "max_body_bytes": "1024",
            "rate_limit_notice": "Calma!",
        },
        environ={},
    )
    assert settings.quote_replies is True
    assert settings.mark_read is False
    assert settings.allow_unauthenticated is True
    assert settings.debounce_seconds == 2.5 and isinstance(settings.debounce_seconds, float)
    assert settings.http_timeout_seconds == 60.0 and isinstance(settings.http_timeout_seconds, float)
    assert settings.rate_limit_per_minute == 60 and type(settings.rate_limit_per_minute) is int
    assert settings.max_body_bytes == 1024 and type(settings.max_body_bytes) is int
    assert settings.rate_limit_notice == "Calma!"


@pytest.mark.parametrize("word", ["true", "True", " TRUE ", "1", "yes", "on", "sim"])
def test_true_words(word):
    assert load_settings({"quote_replies": word}, environ={}).quote_replies is True


@pytest.mark.parametrize("word", ["false", "0", "no", "off", "não"])
def test_false_words(word):
    assert load_settings({"typing_delay": word}, environ={}).typing_delay is False


def test_yaml_numbers_for_float_fields_become_floats():
    settings = load_settings({"debounce_seconds": 3, "outbox_retry_seconds": 1}, environ={})
    assert settings.debounce_seconds == 3.0 and isinstance(settings.debounce_seconds, float)
    assert isinstance(settings.outbox_retry_seconds, float)


def test_a_non_numeric_string_for_a_number_is_an_error():
    with pytest.raises(ValueError):
        load_settings({"max_text_chars": "lots"}, environ={})


def test_secrets_given_in_credentials_are_strings():
    # YAML reads `webhook_token: 12345` as an int; the auth code compares strings.
    settings = load_settings({"webhook_token": 12345, "redis_password": 987}, environ={})
    assert settings.webhook_token == "12345"
    assert settings.redis_password == "987"


def test_environment_sets_its_names():
    settings = load_settings({}, environ=FULL_ENV)
    assert settings.evolution_url == "https://evo.example.com"
    assert settings.api_key == "api-key-from-env"
    assert settings.instance == "other-instance"
    assert settings.webhook_token == "token-from-env"
    assert settings.webhook_jwt_key == "jwt-key-from-env"
    assert settings.webhook_hmac_secret == "hmac-from-env"
    assert settings.redis_host == "redis.internal"
    assert settings.redis_port == 6380 and type(settings.redis_port) is int
    assert settings.redis_db == 3 and type(settings.redis_db) is int
    assert settings.redis_password == "redis-pass"
    assert settings.redis_key_prefix == "prod"


def test_environment_wins_over_credentials_for_its_names():
    credentials = {
        "evolution_url": "http://from-credentials:8080",
        "instance": "from-credentials",
        "webhook_token": "token-from-credentials",
        "redis_port": 1111,
    }
    settings = load_settings(credentials, environ=FULL_ENV)
    assert settings.evolution_url == "https://evo.example.com"
    assert settings.instance == "other-instance"
    assert settings.webhook_token == "token-from-env"
    assert settings.redis_port == 6380


def test_credentials_apply_when_the_environment_does_not_set_the_name():
    settings = load_settings({"instance": "from-credentials", "redis_port": "1111"}, environ={"REDIS_HOST": "h"})
    assert settings.instance == "from-credentials"
    assert settings.redis_port == 1111
    assert settings.redis_host == "h"


def test_environment_does_not_reach_tunables():
    # Only the contract's names are read from the environment.
    settings = load_settings({}, environ={"MAX_TEXT_CHARS": "10", "DEBOUNCE_SECONDS": "9", "max_text_chars": "10"})
    assert settings.max_text_chars == 4096
    assert settings.debounce_seconds == 2.5


def test_empty_environment_values_fall_back_to_credentials_then_defaults():
    empty = {name: "" for name in FULL_ENV}
    settings = load_settings({"instance": "from-credentials"}, environ=empty)
    assert settings.instance == "from-credentials"
    assert settings.evolution_url == "http://localhost:8080"
    assert settings.redis_port == 6379
    assert settings.redis_password is None
    assert settings.webhook_token is None
    assert settings.auth_configured is False


def test_empty_credential_values_fall_back_to_defaults():
    settings = load_settings({"instance": "", "debounce_seconds": None, "api_key": ""}, environ={})
    assert settings.instance == "solarprime"
    assert settings.debounce_seconds == 2.5
    assert settings.api_key is None


def test_unknown_credential_keys_raise_naming_them():
    with pytest.raises(ValueError) as caught:
        load_settings({"debounce_seconds": 1, "debounce_secs": 1, "max_chars": 10}, environ={})
    message = str(caught.value)
    assert "debounce_secs" in message
    assert "max_chars" in message
    assert "'debounce_seconds'" not in message


def test_every_field_is_known():
    every = {f.name: getattr(EvolutionSettings(), f.name) for f in fields(EvolutionSettings)}
    assert load_settings({k: v for k, v in every.items() if v is not None}, environ={}) == EvolutionSettings()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, False),
        ({"EVOLUTION_WEBHOOK_TOKEN": "t"}, True),
        ({"EVOLUTION_WEBHOOK_JWT_KEY": "k"}, True),
        ({"WEBHOOK_HMAC_SECRET": "s"}, True),
        ({"EVOLUTION_WEBHOOK_TOKEN": "", "WEBHOOK_HMAC_SECRET": ""}, False),
        ({"EVOLUTION_API_KEY": "only-the-api-key"}, False),
    ],
)
def test_auth_configured(env, expected):
    assert load_settings({}, environ=env).auth_configured is expected


def test_allow_unauthenticated_does_not_count_as_auth():
    assert load_settings({"allow_unauthenticated": True}, environ={}).auth_configured is False


def test_redis_prefix_is_under_the_key_prefix():
    assert load_settings({}, environ={}).redis_prefix == "aisdr:evo"
    assert load_settings({}, environ={"REDIS_KEY_PREFIX": "test"}).redis_prefix == "test:evo"
    assert load_settings({"redis_key_prefix": "tenant1"}, environ={}).redis_prefix == "tenant1:evo"


def test_settings_are_immutable():
    settings = load_settings({}, environ={})
    with pytest.raises(FrozenInstanceError):
        settings.instance = "x"  # type: ignore[misc]


# --- the repository's credentials.yml ------------------------------------------------------------------


@pytest.fixture(scope="module")
def channel_block():
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert CHANNEL_KEY in credentials, f"credentials.yml has no {CHANNEL_KEY} block"
    return credentials[CHANNEL_KEY] or {}


def test_repository_credentials_block_loads_and_equals_the_defaults(channel_block):
    assert channel_block, "the block should list the tunables"
    settings = load_settings(channel_block, environ={})
    assert settings == EvolutionSettings()


def test_repository_credentials_block_lists_only_tunables(channel_block):
    # Secrets and addresses come from the environment, never from the committed file.
    assert not set(channel_block) & set(ENVIRONMENT)
