"""Configuration readers (sdr.env, sdr.redis_settings) and the start-up checks built on them."""
from __future__ import annotations

import logging

import pytest

from review.settings import ReviewSettings
from sdr.env import ConfigError, env_number, flag, number
from sdr.redis_settings import RedisSettings, check_key_prefix
from whatsapp.settings import load_settings


def test_number_reads_defaults_and_refuses_typos() -> None:
    assert number({}, "X", 3.5) == 3.5
    assert number({"X": " "}, "X", 3.5) == 3.5
    assert number({"X": "7"}, "X", 0, integer=True) == 7
    with pytest.raises(ConfigError, match="X must be a whole number"):
        number({"X": "7.5"}, "X", 0, integer=True)
    with pytest.raises(ConfigError, match="X must be at least 1"):
        number({"X": "0"}, "X", 5, minimum=1)
    with pytest.raises(ConfigError):
        number({"X": "nan"}, "X", 5)


def test_flag() -> None:
    assert flag({"F": "sim"}, "F") and flag({"F": "TRUE"}, "F")
    assert not flag({"F": "no"}, "F", default=True)
    assert flag({}, "F", default=True)


def test_env_number_falls_back_and_logs(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SOME_TUNABLE", "abc")
    with caplog.at_level(logging.WARNING):
        assert env_number("SOME_TUNABLE", 2.0, minimum=0) == 2.0
    assert "SOME_TUNABLE" in caplog.text
    monkeypatch.setenv("SOME_TUNABLE", "-1")
    assert env_number("SOME_TUNABLE", 2.0, minimum=0) == 2.0
    monkeypatch.setenv("SOME_TUNABLE", "4")
    assert env_number("SOME_TUNABLE", 2.0, minimum=0) == 4.0


@pytest.mark.parametrize("prefix", ["ai-sdr", "ai:sdr", "aisdr ", "a_b"])
def test_a_prefix_rasa_would_ignore_stops_every_process(prefix: str) -> None:
    # Rasa's RedisTrackerStore falls back to "tracker:" for these, silently.
    with pytest.raises(ConfigError, match="REDIS_KEY_PREFIX"):
        check_key_prefix(prefix)
    with pytest.raises(ConfigError, match="REDIS_KEY_PREFIX"):
        load_settings({}, environ={"REDIS_KEY_PREFIX": prefix})
    with pytest.raises(ConfigError, match="REDIS_KEY_PREFIX"):
        ReviewSettings.from_env({"REVIEW_TOKEN": "x" * 32, "REDIS_KEY_PREFIX": prefix})


def test_a_prefix_rasa_accepts_is_kept() -> None:
    assert load_settings({}, environ={"REDIS_KEY_PREFIX": "solar2"}).redis_prefix == "solar2:evo"
    assert ReviewSettings.from_env({"REVIEW_TOKEN": "x" * 32, "REDIS_KEY_PREFIX": "solar2"}).key_prefix == "solar2"


def test_redis_settings_from_env_and_repr_hides_the_password() -> None:
    settings = RedisSettings.from_env({"REDIS_HOST": "r", "REDIS_PORT": "6380", "REDIS_DB": "2",
                                       "REDIS_PASSWORD": "s3cret"})
    assert (settings.host, settings.port, settings.db, settings.password) == ("r", 6380, 2, "s3cret")
    assert "s3cret" not in repr(settings)
    with pytest.raises(ConfigError, match="REDIS_PORT"):
        RedisSettings.from_env({"REDIS_PORT": "redis"})


def test_a_channel_setting_of_the_wrong_type_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="REDIS_PORT"):
        load_settings({}, environ={"REDIS_PORT": "six"})
