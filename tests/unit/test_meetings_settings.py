"""CalendarSettings.from_env: defaults, a full configuration, and a ConfigError naming the variable."""
from __future__ import annotations

from pathlib import Path

import pytest

from meetings.settings import KNOWN_KINDS, CalendarSettings
from sdr.env import ConfigError


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text('{"type": "service_account"}')
    return path


def test_defaults_are_off() -> None:
    settings = CalendarSettings.from_env({})
    assert not settings.enabled and settings == CalendarSettings()
    assert (settings.base_url, settings.token_url) == ("https://www.googleapis.com", "https://oauth2.googleapis.com/token")
    assert (settings.meeting_minutes, settings.buffer_minutes, settings.days_ahead) == (45, 15, 5)
    assert settings.kinds == KNOWN_KINDS == ("video", "visita")
    assert (str(settings.hours.opens), str(settings.hours.closes), settings.hours.tz.key) == (
        "09:00:00", "20:00:00", "America/Sao_Paulo")


def test_a_full_configuration(key_file: Path) -> None:
    settings = CalendarSettings.from_env({
        "GOOGLE_CALENDAR_CREDENTIALS": f" {key_file} ", "GOOGLE_CALENDAR_IDS": "ana@x.com, bruno@x.com,,ana@x.com",
        "GOOGLE_CALENDAR_BASE_URL": "http://127.0.0.1:9999/", "GOOGLE_OAUTH_TOKEN_URL": "http://127.0.0.1:9999/token",
        "MEETING_MINUTES": "60", "MEETING_BUFFER_MINUTES": "0", "MEETING_DAYS_AHEAD": "3",
        "MEETING_KINDS": "Visita", "BUSINESS_HOURS": "08:30-18:00", "TZ_NAME": "America/Manaus",
    })
    assert settings.enabled and settings.credentials_file == key_file
    assert settings.calendar_ids == ("ana@x.com", "bruno@x.com")
    assert settings.base_url == "http://127.0.0.1:9999" and settings.token_url == "http://127.0.0.1:9999/token"
    assert settings.kinds == ("visita",)
    rules = settings.rules()
    assert (rules.meeting_s, rules.buffer_s, rules.days_ahead) == (3600, 0, 3)
    assert rules.hours.tz.key == "America/Manaus" and str(rules.hours.opens) == "08:30:00"


@pytest.mark.parametrize("environ, variable", [
    ({"GOOGLE_CALENDAR_CREDENTIALS": "/nonexistent/key.json", "GOOGLE_CALENDAR_IDS": "a@x.com"},
     "GOOGLE_CALENDAR_CREDENTIALS"),
    ({"GOOGLE_CALENDAR_IDS": "a@x.com"}, "GOOGLE_CALENDAR_CREDENTIALS"),
    ({"GOOGLE_CALENDAR_CREDENTIALS": "KEY"}, "GOOGLE_CALENDAR_IDS"),
    ({"GOOGLE_CALENDAR_CREDENTIALS": "KEY", "GOOGLE_CALENDAR_IDS": "ana silva@x.com"}, "GOOGLE_CALENDAR_IDS"),
    ({"GOOGLE_CALENDAR_CREDENTIALS": "KEY", "GOOGLE_CALENDAR_IDS": ",".join(f"c{n}@x.com" for n in range(51))},
     "GOOGLE_CALENDAR_IDS"),
    ({"GOOGLE_CALENDAR_BASE_URL": "www.googleapis.com"}, "GOOGLE_CALENDAR_BASE_URL"),
    ({"GOOGLE_OAUTH_TOKEN_URL": "ftp://x/token"}, "GOOGLE_OAUTH_TOKEN_URL"),
    ({"MEETING_MINUTES": "45min"}, "MEETING_MINUTES"),
    ({"MEETING_MINUTES": "0"}, "MEETING_MINUTES"),
    ({"MEETING_MINUTES": "600"}, "MEETING_MINUTES"),
    ({"MEETING_MINUTES": "120", "BUSINESS_HOURS": "09:00-10:00"}, "MEETING_MINUTES"),
    ({"MEETING_BUFFER_MINUTES": "-5"}, "MEETING_BUFFER_MINUTES"),
    ({"MEETING_DAYS_AHEAD": "0"}, "MEETING_DAYS_AHEAD"),
    ({"MEETING_DAYS_AHEAD": "2.5"}, "MEETING_DAYS_AHEAD"),
    ({"MEETING_KINDS": "video,presencial"}, "MEETING_KINDS"),
    ({"MEETING_KINDS": ","}, "MEETING_KINDS"),
    ({"BUSINESS_HOURS": "9-18"}, "BUSINESS_HOURS"),
    ({"TZ_NAME": "Mars/Olympus"}, "TZ_NAME"),
])
def test_a_wrong_value_names_its_variable(environ: dict[str, str], variable: str, key_file: Path) -> None:
    environ = {name: str(key_file) if value == "KEY" else value for name, value in environ.items()}
    with pytest.raises(ConfigError, match=variable):
        CalendarSettings.from_env(environ)
