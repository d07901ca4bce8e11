"""Every Prometheus metric of the project, defined once.

Modules import the metric they move (``from observability import metrics`` then
``metrics.WEBHOOKS.labels(event=..., outcome=...).inc()``); the Rasa server's channel
and the action server each expose their own process's values (``render()``) at
``GET /webhooks/evolution/metrics`` and ``GET /metrics``.

Label values must come from small fixed sets (event names, outcomes, endpoint
names without ids, HTTP status codes): never a phone number, a message id or free text,
which would both leak personal data and explode the number of series.
"""
from __future__ import annotations

from typing import Iterable, Tuple

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

PREFIX = "aisdr"

# A WhatsApp turn spans Rasa prediction, custom actions (OCR, an LLM call) and sends:
# buckets from a quick text answer to a slow bill read.
TURN_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
# OCR, speech-to-text and LLM calls take from a fraction of a second to about a minute.
WORK_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)

FOLLOWUP_OUTCOMES: Tuple[str, ...] = ("scheduled", "sent", "cancelled", "suppressed", "deferred")
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


def _preset(counter: Counter, label: str, values: Iterable[str]) -> None:
    """Create the known series at 0 so dashboards and rate() see them before the first event."""
    for value in values:
        counter.labels(**{label: value})


_preset(FOLLOWUPS, "outcome", FOLLOWUP_OUTCOMES)
_preset(LEADS, "lead_class", LEAD_CLASSES)


def render() -> Tuple[bytes, str]:
    """This process's metrics as Prometheus text exposition: (body, content type)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
