"""`python -m connectors.evolution setup-webhook` as a real subprocess against FakeEvolution."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from tests.conftest import EVOLUTION_API_KEY, EVOLUTION_INSTANCE
from tests.fake_evolution import FakeEvolution
from whatsapp.cli import EVENTS, WEBHOOK_PATH

ROOT = Path(__file__).resolve().parents[2]
API_KEY = EVOLUTION_API_KEY
INSTANCE = EVOLUTION_INSTANCE
JWT_KEY = "cli-jwt-key-long-enough-for-hs256-0123456789"
WEBHOOK_TOKEN = "cli-static-webhook-token-0123456789"
PUBLIC_URL = "https://bot.example.com"
# Generous: bounds a hang, it is not a speed check.
PROCESS_LIMIT_S = 120

# Variables the command reads; cleared so the developer's own environment cannot leak in.
CHANNEL_VARIABLES = (
    "EVOLUTION_URL", "EVOLUTION_API_KEY", "EVOLUTION_INSTANCE", "EVOLUTION_WEBHOOK_TOKEN",
    "EVOLUTION_WEBHOOK_JWT_KEY", "WEBHOOK_HMAC_SECRET", "REDIS_HOST", "REDIS_PORT", "REDIS_DB",
    "REDIS_PASSWORD", "REDIS_KEY_PREFIX",
)


def run_cli(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CHANNEL_VARIABLES}
    argv = list(args) or ["setup-webhook", "--url", PUBLIC_URL]
    return subprocess.run(
        [sys.executable, "-m", "connectors.evolution", *argv],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=PROCESS_LIMIT_S,
    )


def env_for(fake: FakeEvolution, *, api_key: Optional[str] = API_KEY, **extra: str) -> Dict[str, str]:
    env = {"EVOLUTION_URL": fake.url, "EVOLUTION_INSTANCE": INSTANCE, **extra}
    if api_key is not None:
        env["EVOLUTION_API_KEY"] = api_key
    return env


def describe(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


# --- success ---------------------------------------------------------------------------------------


def test_jwt_mode_sets_the_webhook_and_prints_it_masked(fake):
    result = run_cli(env_for(fake, EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY))
    assert result.returncode == 0, describe(result)

    [request] = fake.requests_for("set")
    assert request.path == f"/webhook/set/{INSTANCE}"
    assert request.headers["apikey"] == API_KEY
    webhook = request.json["webhook"]
    assert webhook["url"] == "https://bot.example.com/webhooks/evolution/webhook"
    assert webhook["enabled"] is True
    assert webhook["base64"] is True
    assert webhook["byEvents"] is False
    assert webhook["events"] == ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "MESSAGES_EDITED", "CONNECTION_UPDATE",
                                 "CONTACTS_UPSERT", "CONTACTS_UPDATE", "CHATS_UPSERT", "GROUP_PARTICIPANTS_UPDATE"]
    assert webhook["headers"] == {"jwt_key": JWT_KEY}
    assert request.status == 201

    # stdout is what Evolution stored (read back with webhook/find), secrets masked.
    assert [r.status for r in fake.requests_for("find")] == [200]
    printed = json.loads(result.stdout)
    stored = fake.webhook
    assert printed == {**stored, "headers": {"jwt_key": "***"}}
    assert printed["url"] == webhook["url"]
    assert printed["webhookBase64"] is True
    assert printed["enabled"] is True
    assert JWT_KEY not in result.stdout and JWT_KEY not in result.stderr
    assert API_KEY not in result.stdout and API_KEY not in result.stderr


def test_token_mode_sends_an_authorization_bearer_header(fake):
    result = run_cli(env_for(fake, EVOLUTION_WEBHOOK_TOKEN=WEBHOOK_TOKEN))
    assert result.returncode == 0, describe(result)
    [request] = fake.requests_for("set")
    assert request.json["webhook"]["headers"] == {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    assert fake.webhook["headers"] == {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    printed = json.loads(result.stdout)
    assert printed["headers"] == {"Authorization": "***"}
    assert WEBHOOK_TOKEN not in result.stdout + result.stderr


def test_jwt_mode_is_preferred_when_both_secrets_are_set(fake):
    result = run_cli(env_for(fake, EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY, EVOLUTION_WEBHOOK_TOKEN=WEBHOOK_TOKEN))
    assert result.returncode == 0, describe(result)
    assert fake.webhook["headers"] == {"jwt_key": JWT_KEY}


@pytest.mark.parametrize(
    "public_url",
    ["https://bot.example.com/", "https://bot.example.com/webhooks/evolution/webhook",
     "https://bot.example.com/webhooks/evolution/webhook/"],
)
def test_the_webhook_path_is_added_once(fake, public_url):
    result = run_cli(env_for(fake, EVOLUTION_WEBHOOK_TOKEN=WEBHOOK_TOKEN), "setup-webhook", "--url", public_url)
    assert result.returncode == 0, describe(result)
    assert fake.webhook["url"] == "https://bot.example.com" + WEBHOOK_PATH


def test_running_it_again_updates_the_same_webhook(fake):
    first = run_cli(env_for(fake, EVOLUTION_WEBHOOK_TOKEN=WEBHOOK_TOKEN))
    second = run_cli(env_for(fake, EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY), "setup-webhook", "--url", "https://new.example.com")
    assert first.returncode == 0 and second.returncode == 0, describe(second)
    assert json.loads(first.stdout)["id"] == json.loads(second.stdout)["id"]
    assert fake.webhook["url"] == "https://new.example.com" + WEBHOOK_PATH
    assert fake.webhook["headers"] == {"jwt_key": JWT_KEY}


def test_the_events_are_ones_evolution_accepts():
    # The fake validates names like Evolution does; this guards the constant itself.
    from tests.fake_evolution import WEBHOOK_EVENTS

    assert set(EVENTS) <= WEBHOOK_EVENTS


# --- refusals ---------------------------------------------------------------------------------------


def test_without_api_key_exit_2_with_a_clear_message(fake):
    result = run_cli(env_for(fake, api_key=None, EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY))
    assert result.returncode == 2, describe(result)
    assert "EVOLUTION_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert fake.requests == []


def test_empty_api_key_counts_as_missing(fake):
    result = run_cli(env_for(fake, api_key="", EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY))
    assert result.returncode == 2, describe(result)
    assert "EVOLUTION_API_KEY" in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize(
    "extra",
    [{}, {"WEBHOOK_HMAC_SECRET": "only-hmac"}, {"EVOLUTION_WEBHOOK_TOKEN": "", "EVOLUTION_WEBHOOK_JWT_KEY": ""}],
    ids=["none", "hmac-only", "empty"],
)
def test_without_a_webhook_secret_exit_2(fake, extra):
    result = run_cli(env_for(fake, **extra))
    assert result.returncode == 2, describe(result)
    assert "EVOLUTION_WEBHOOK_JWT_KEY" in result.stderr and "EVOLUTION_WEBHOOK_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert "only-hmac" not in result.stderr
    assert fake.requests == []


def test_evolution_down_exit_1_without_traceback(fake):
    fake.go_down()
    result = run_cli(env_for(fake, EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY))
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in result.stderr
    assert "unreachable" in result.stderr.lower()
    assert result.stdout == ""
    assert JWT_KEY not in result.stderr and API_KEY not in result.stderr


def test_wrong_api_key_exit_1_with_evolutions_answer(fake):
    result = run_cli(env_for(fake, api_key="wrong-key", EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY))
    assert result.returncode == 1, describe(result)
    assert "401" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake.webhook is None


def test_unknown_instance_exit_1(fake):
    result = run_cli({**env_for(fake, EVOLUTION_WEBHOOK_JWT_KEY=JWT_KEY), "EVOLUTION_INSTANCE": "nope"})
    assert result.returncode == 1, describe(result)
    assert "404" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "env_change, args",
    [
        ({}, ("setup-webhook", "--url", "bot.example.com")),
        ({"EVOLUTION_URL": "localhost:8080"}, ()),
    ],
    ids=["public-url-without-scheme", "evolution-url-without-scheme"],
)
def test_a_url_without_scheme_exit_2_with_a_clear_message(fake, env_change, args):
    result = run_cli({**env_for(fake, EVOLUTION_WEBHOOK_TOKEN=WEBHOOK_TOKEN), **env_change}, *args)
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr
    assert "http" in result.stderr
    assert fake.webhook is None


def test_without_the_url_argument_argparse_refuses(fake):
    result = run_cli(env_for(fake, EVOLUTION_WEBHOOK_TOKEN=WEBHOOK_TOKEN), "setup-webhook")
    assert result.returncode == 2, describe(result)
    assert "--url" in result.stderr
    assert fake.requests == []
