"""Every Prometheus metric of the project, defined once.

Modules import the metric they move (``from observability import metrics`` then
``metrics.WEBHOOKS.labels(event=..., outcome=...).inc()``); the Rasa server's channel
and the action server each expose their values (``render()``) at
``GET /webhooks/evolution/metrics`` and ``GET /metrics``.

Label values must come from small fixed sets (event names, outcomes, endpoint
names without ids, HTTP status codes): never a phone number, a message id or free text,
which would both leak personal data and explode the number of series.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Iterable, Tuple

# Rasa's SANIC_WORKERS forks the server into several worker processes after this
# module is imported, and a scrape reaches any one of them. Their values then
# live in files of one directory, which every worker's render() sums. The
# directory is fresh for each server start (a stale one would add old counts)
# and must be chosen before prometheus_client is imported, which reads it then.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKERS_ENV = "SANIC_WORKERS"


def _share_values_between_workers() -> None:
    try:
        workers = int(os.environ.get(WORKERS_ENV, "1"))
    except ValueError:
        return  # Rasa logs that itself and runs one worker
    if workers > 1 and not os.environ.get(MULTIPROC_DIR_ENV):
        directory = tempfile.mkdtemp(prefix="aisdr-metrics-")
        os.environ[MULTIPROC_DIR_ENV] = directory
        main_pid = os.getpid()

        def remove_directory() -> None:
            # Only the process that made it removes it (forked workers inherit atexit).
            if os.getpid() == main_pid:
                shutil.rmtree(directory, ignore_errors=True)

        atexit.register(remove_directory)


_share_values_between_workers()

from prometheus_client import (  # noqa: E402  (after the directory is chosen)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

PREFIX = "aisdr"

# A WhatsApp turn spans Rasa prediction, custom actions (OCR, an LLM call) and sends:
# buckets from a quick text answer to a slow bill read.
TURN_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
# OCR, speech-to-text and LLM calls take from a fraction of a second to about a minute.
WORK_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)

FOLLOWUP_OUTCOMES: Tuple[str, ...] = ("scheduled", "sent", "cancelled", "suppressed", "deferred")
# The values of sdr.vocabulary.LeadClass: observability imports nothing of ours, so a test
# (tests/unit/test_vocabulary.py) keeps the two equal.
LEAD_CLASSES: Tuple[str, ...] = ("HOT", "WARM", "COLD", "UNQUALIFIED")

# --- Rasa server: the Evolution channel ---------------------------------------------------------

WEBHOOKS = Counter(
    f"{PREFIX}_webhooks", "Evolution webhooks received, by event and what the channel did with them",
    ["event", "outcome"],
)
DUPLICATES_DROPPED = Counter(
    f"{PREFIX}_duplicates_dropped", "Messages dropped because their id was already seen (Evolution retries)",
)
DEBOUNCED_BURSTS = Counter(
    f"{PREFIX}_debounced_bursts", "Turns that joined several quick messages of one lead into one",
)
DEBOUNCED_MESSAGES = Counter(
    f"{PREFIX}_debounced_messages", "Messages joined into debounced bursts (counted with their burst)",
)
TURN_SECONDS = Histogram(
    f"{PREFIX}_turn_duration_seconds", "From taking a lead's messages to the end of the bot's turn",
    buckets=TURN_BUCKETS,
)
TURN_FAILURES = Counter(
    f"{PREFIX}_turn_failures", "Turns that raised, by whether they will be retried or were abandoned",
    ["outcome"],
)
EVOLUTION_REQUESTS = Counter(
    f"{PREFIX}_evolution_requests",
    "Calls to the Evolution API, by endpoint and HTTP status ('error' = no answer)",
    ["endpoint", "status"],
)
FOLLOWUPS = Counter(
    f"{PREFIX}_followups", "Follow-up messages, by what happened to them", ["outcome"],
)
WEEKLY_REPORTS_SENT = Counter(f"{PREFIX}_weekly_reports_sent", "Weekly reports sent to the sales team")

# --- Action server: the slow work ----------------------------------------------------------------

OCR_SECONDS = Histogram(
    f"{PREFIX}_ocr_duration_seconds", "Reading one electricity bill", buckets=WORK_BUCKETS,
)
OCR_FAILURES = Counter(f"{PREFIX}_ocr_failures", "Bills that could not be read, by reason", ["reason"])
TRANSCRIPTION_SECONDS = Histogram(
    f"{PREFIX}_transcription_duration_seconds", "Transcribing one voice note", buckets=WORK_BUCKETS,
)
TRANSCRIPTION_FAILURES = Counter(
    f"{PREFIX}_transcription_failures", "Voice notes not transcribed, by reason", ["reason"],
)
GEMINI_CALLS = Counter(f"{PREFIX}_gemini_calls", "Calls to Gemini, by outcome", ["outcome"])
GEMINI_FALLBACKS = Counter(
    f"{PREFIX}_gemini_fallbacks",
    "Qualifications answered by the deterministic rules instead of Gemini, by reason",
    ["reason"],
)
LEADS = Counter(f"{PREFIX}_leads", "Leads scored, by the class they were given", ["lead_class"])
LEAD_EVENTS = Counter(
    f"{PREFIX}_lead_events", "Lead events published to the CRM and webhooks outbox, by type", ["type"],
)
LEAD_DELIVERIES = Counter(
    f"{PREFIX}_lead_deliveries",
    "Lead event deliveries, by target kind (kommo, webhook) and outcome (delivered, retry, dead, dropped)",
    ["target", "outcome"],
)


def _preset(counter: Counter, label: str, values: Iterable[str]) -> None:
    """Create the known series at 0 so dashboards and rate() see them before the first event."""
    for value in values:
        counter.labels(**{label: value})


_preset(FOLLOWUPS, "outcome", FOLLOWUP_OUTCOMES)
_preset(LEADS, "lead_class", LEAD_CLASSES)


def render() -> Tuple[bytes, str]:
    """The metrics as Prometheus text exposition: (body, content type). With several
    worker processes, the sum over all of them."""
    if os.environ.get(MULTIPROC_DIR_ENV):
        registry = CollectorRegistry()
        # prometheus_client leaves MultiProcessCollector.__init__ unannotated.
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
