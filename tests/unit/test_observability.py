"""observability: redaction, JSON lines, the request id, metric helpers, the Sentry scrubber,
and the channel's and action server's small pure helpers that use them."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from sanic.response import json as json_response

from actions.server import request_id_of_action_call
from connectors.evolution import webhook_outcome
from observability import logs, metrics
from observability.errors import scrub_event

PHONE = "5511987654321"
SECRETS = ["test-webhook-token", "test-key-0001"]


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure_logging("json", "DEBUG", stream=stream)
    for handler in root.handlers:
        for log_filter in handler.filters:
            if isinstance(log_filter, logs.RedactionFilter):
                log_filter.secrets = SECRETS
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def entries(stream: io.StringIO) -> list:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- redaction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, hidden", [
    (f"lead {PHONE} wrote", PHONE),
    ("lead 11987654321 wrote", "11987654321"),
    (f"jid {PHONE}@s.whatsapp.net", PHONE),
    ("headers apikey=abc123secret&x=1", "abc123secret"),
    ('{"apikey": "abc123secret"}', "abc123secret"),
    ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi.abc.def"),
    ("GET /health?token=test-rasa-token", "test-rasa-token"),
    ("jwt_key: s3cr3t-value", "s3cr3t-value"),
    ("configured with test-key-0001 somewhere", "test-key-0001"),
])
def test_redact_removes_phones_and_secrets(text, hidden):
    assert hidden not in logs.redact(text, SECRETS)


def test_redact_keeps_what_support_needs():
    assert logs.redact(f"lead {PHONE}") == "lead 5511*******21"  # connectors' mask_phone
    assert logs.redact("took 1717171717.25 s, 12 messages, id 3EB0ABCDEF") == \
        "took 1717171717.25 s, 12 messages, id 3EB0ABCDEF"
    assert logs.redact("short 123456789 and long 12345678901234") == "short 123456789 and long 12345678901234"
    assert logs.redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"


def test_secrets_come_from_env_names_and_skip_short_values():
    environ = {"EVOLUTION_API_KEY": "k" * 12, "RASA_AUTH_TOKEN": "t" * 20, "SENTRY_DSN": "https://x@y/1",
               "WEBHOOK_HMAC_SECRET": "abc", "REDIS_HOST": "redis-host-name"}
    assert logs.secrets_from_env(environ) == ["t" * 20, "https://x@y/1", "k" * 12]


# --- JSON lines and the request id ---------------------------------------------------------------


def test_json_line_has_the_fields_and_nothing_personal(captured):
    with logs.request_context("req-1", PHONE):
        logging.getLogger("aisdr.test").info(
            "turn for %s with apikey=test-key-0001", PHONE, extra={"duration_ms": 42, "lead": PHONE},
        )
    (entry,) = entries(captured)
    assert entry["level"] == "INFO" and entry["logger"] == "aisdr.test"
    assert entry["request_id"] == "req-1" and entry["duration_ms"] == 42
    assert entry["conversation"] == "5511*******21" and entry["lead"] == "5511*******21"
    assert entry["ts"].endswith("+00:00")
    assert PHONE not in captured.getvalue() and "test-key-0001" not in captured.getvalue()


def test_exceptions_are_logged_redacted(captured):
    try:
        raise RuntimeError(f"send to {PHONE} failed, Authorization: Bearer test-webhook-token")
    except RuntimeError:
        logging.getLogger("aisdr.test").exception("failed")
    (entry,) = entries(captured)
    assert "RuntimeError" in entry["exc"]
    assert PHONE not in entry["exc"] and "test-webhook-token" not in entry["exc"]


def test_no_request_id_outside_a_request(captured):
    logging.getLogger("aisdr.test").warning("idle")
    assert entries(captured)[0]["request_id"] == logs.NO_REQUEST


def test_request_ids_do_not_leak_between_tasks(captured):
    async def turn(request_id: str) -> None:
        logs.bind(request_id, PHONE)
        await asyncio.sleep(0)
        logging.getLogger("aisdr.test").info("turn")

    async def both() -> None:
        await asyncio.gather(asyncio.create_task(turn("a")), asyncio.create_task(turn("b")))

    asyncio.run(both())
    assert sorted(e["request_id"] for e in entries(captured)) == ["a", "b"]
    assert logs.get_request_id() is None


@pytest.mark.parametrize("incoming, kept", [
    ("abc-123", True), ("4f6c1e0a9b2d4e8f", True), ("", False), (None, False),
    ("has space", False), ("x" * 65, False), ('{"json": 1}', False),
])
def test_incoming_request_id_kept_only_when_plain(incoming, kept):
    chosen = logs.request_id_from(incoming)
    assert (chosen == incoming) is kept
    assert logs.valid_request_id(chosen)


def test_text_format_names_the_request(captured):
    stream = io.StringIO()
    logs.configure_logging("text", "INFO", stream=stream)
    with logs.request_context("req-9"):
        logging.getLogger("aisdr.test").info("hello", extra={"duration_ms": 7})
    assert "[req-9] - hello duration_ms=7" in stream.getvalue()


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        logs.log_format("xml")


def test_adopting_sanic_style_loggers_routes_them_through_ours(captured, monkeypatch):
    sanic_like = logging.getLogger("aisdr.test.sanic_like")
    sanic_like.addHandler(logging.StreamHandler(io.StringIO()))
    sanic_like.propagate = False
    monkeypatch.setenv(logs.FORMAT_ENV, "json")
    logs.adopt_process_logging()
    assert not sanic_like.handlers and sanic_like.propagate
    logging.getLogger().handlers[0].stream = captured
    sanic_like.error("boom %s", PHONE)
    assert entries(captured)[-1]["message"] == "boom 5511*******21"


# --- metrics -------------------------------------------------------------------------------------


def test_render_is_prometheus_text_with_our_series():
    metrics.WEBHOOKS.labels(event="messages.upsert", outcome="accepted").inc()
    body, content_type = metrics.render()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'aisdr_webhooks_total{event="messages.upsert",outcome="accepted"}' in text
    for outcome in metrics.FOLLOWUP_OUTCOMES:
        assert f'aisdr_followups_total{{outcome="{outcome}"}} 0.0' in text
    assert "aisdr_turn_duration_seconds_bucket" in text


def test_webhook_outcome_labels():
    assert webhook_outcome(json_response({"status": "accepted"})) == "accepted"
    assert webhook_outcome(json_response({"status": "ignored", "reason": "stale"})) == "ignored"
    assert webhook_outcome(json_response({"status": "error"}, status=401)) == "http_401"


def test_request_id_of_an_action_call():
    body = {"tracker": {"latest_message": {"metadata": {"request_id": "req-7"}}}}
    assert request_id_of_action_call(body) == "req-7"
    for broken in (None, [], {"tracker": None}, {"tracker": {"latest_message": {"metadata": None}}}):
        assert request_id_of_action_call(broken) is None


# --- Sentry scrubber -----------------------------------------------------------------------------


def test_sentry_events_lose_message_text_phones_and_secrets():
    event = {
        "message": f"turn failed for {PHONE}",
        "logentry": {"message": "turn failed sender=%s", "params": [PHONE]},
        "exception": {"values": [{"type": "EvolutionError", "value": f"number {PHONE} apikey=test-key-0001",
                                  "stacktrace": {"frames": [{"function": "send", "vars": {"text": "Oi"}}]}}]},
        "request": {"method": "POST", "url": "http://rasa/webhooks/evolution/webhook",
                    "data": {"text": "Minha conta é R$ 450"}, "headers": {"Authorization": "Bearer x"}},
        "extra": {"text": "Oi, sou a Ana", "sender": PHONE, "reply_jid": f"{PHONE}@s.whatsapp.net"},
        "breadcrumbs": {"values": [{"message": f"sent to {PHONE}", "data": {"body": "Olá Ana"}}]},
        "user": {"id": PHONE},
        "tags": {"component": "rasa"},
    }
    scrubbed = json.dumps(scrub_event(event, secrets=SECRETS))
    for leaked in (PHONE, "test-key-0001", "Minha conta", "Oi, sou a Ana", "Olá Ana", "Bearer x", '"Oi"'):
        assert leaked not in scrubbed
    kept = scrub_event(event, secrets=SECRETS)
    assert kept["tags"] == {"component": "rasa"}
    assert kept["request"] == {"method": "POST", "url": "http://rasa/webhooks/evolution/webhook"}
    assert kept["exception"]["values"][0]["type"] == "EvolutionError"
    assert kept["exception"]["values"][0]["stacktrace"]["frames"][0] == {"function": "send"}


def test_sentry_is_off_without_a_dsn(monkeypatch):
    from observability.errors import init_error_reporting

    monkeypatch.delenv("SENTRY_DSN", raising=False)
    assert init_error_reporting("test") is False


_WORKERS_SCRIPT = r"""
import os, sys
from observability import metrics
directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
for _ in range(2):  # two forked workers, as Sanic forks them, each counting its webhooks
    pid = os.fork()
    if pid == 0:
        metrics.WEBHOOKS.labels(event="messages.upsert", outcome="accepted").inc(3)
        os._exit(0)
    os.waitpid(pid, 0)
body, _ = metrics.render()
print(directory)
print(body.decode())
"""


def test_with_several_workers_every_worker_renders_the_sum_of_all(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "SANIC_WORKERS": "2", "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", _WORKERS_SCRIPT], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    directory, body = result.stdout.split("\n", 1)
    assert 'aisdr_webhooks_total{event="messages.upsert",outcome="accepted"} 6.0' in body
    assert not Path(directory).exists()  # removed when the server process ends


def test_a_fresh_request_id_never_reads_as_a_phone_number():
    import re

    from observability.logs import new_request_id, valid_request_id

    ids = [new_request_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids) and all(valid_request_id(i) == i for i in ids)
    assert not [i for i in ids if re.search(r"\d{9}", i)]  # no run of digits long enough for a phone
