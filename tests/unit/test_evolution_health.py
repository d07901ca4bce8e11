import asyncio

import pytest

from connectors.evolution.health import (
    Check,
    action_server_health_url,
    check_action_server,
    check_model,
    missing,
)
from scripts.procs import free_port
from sdr.signing import secrets_match as token_matches


@pytest.mark.parametrize(
    "endpoint, health",
    [
        ("http://localhost:5055/webhook", "http://localhost:5055/health"),
        ("http://actions:5055/webhook/", "http://actions:5055/health"),
        ("http://actions:5055", "http://actions:5055/health"),
    ],
)
def test_action_server_health_url(endpoint, health):
    assert action_server_health_url(endpoint) == health


def test_an_action_server_that_does_not_answer_is_not_ready():
    check = asyncio.run(check_action_server(f"http://127.0.0.1:{free_port()}/webhook", timeout=1))
    assert check.ok is False
    assert "unreachable" in check.detail


def test_no_agent_means_no_model():
    assert check_model(None) == Check(False, "no model loaded")


def test_missing_lists_the_failed_checks():
    assert missing({"model": Check(True), "redis": Check(False), "action_server": Check(False)}) == [
        "redis", "action_server"
    ]


@pytest.mark.parametrize(
    "presented, expected, allowed",
    [("s3cret", "s3cret", True), ("wrong", "s3cret", False), (None, "s3cret", False),
     ("", "s3cret", False), ("anything", None, False), ("anything", "", False)],
)
def test_detailed_health_token_is_fail_closed(presented, expected, allowed):
    assert token_matches(presented, expected) is allowed
