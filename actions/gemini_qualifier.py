"""Lead qualification by Gemini, with the deterministic rules as the fallback.

`qualify` reads the conversation so far and the slots, and returns a `Qualification`: the
lead fields of the domain contract, lead_score, lead_class, lead_status, a short pt-BR summary
for the sales team, and where it came from ("gemini" or "rules"). Both sources give the
same shape, so the caller never needs to know which one answered.

    qualification = await qualify(conversation, tracker.current_slot_values(), confirmed={"monthly_bill_brl"})
    events = [SlotSet(name, value) for name, value in qualification.slot_updates().items()]

Gemini (google-generativeai, structured JSON output with a response schema) fills the slots
the rules missed; a value the lead confirmed is never overwritten. Its JSON is validated
strictly (keys, types, enums, ranges, class matching the score); anything off, a timeout, an
HTTP error, an open circuit breaker or no GEMINI_API_KEY means the rules of
`sdr.scoring` answer instead, and the conversation goes on. Without a key the SDK is not
even imported.

The work is split by job; this module keeps `qualify` and re-exports the names callers
and tests use:

- `actions.gemini_settings`: the GEMINI_* environment and `GeminiSettings`;
- `actions.gemini_schema`: the lead fields' contract, the response schema, the output check;
- `actions.gemini_prompt`: the prompts;
- `actions.gemini_client`: the SDK call, its retries and the circuit breakers (SDK notes there);
- `actions.qualification_result`: `Qualification`, from Gemini's answer or from the rules.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional

from actions.gemini_client import GeminiFailure, ask_gemini, breaker_for, reset_breakers
from actions.gemini_prompt import (
    MAX_TURN_CHARS,
    SYSTEM_PROMPT_FILE,
    USER_PROMPT_FILE,
    build_prompts,
    conversation_from_events,
    render_conversation,
)
from actions.gemini_schema import (
    MAX_SUMMARY_CHARS,
    PROPERTY_TYPES,
    QUALIFIED_FIELDS,
    InvalidOutput,
    clean_slots,
    parse_model_output,
)
from actions.gemini_settings import (
    DEFAULT_BREAKER_FAILURES,
    DEFAULT_BREAKER_RESET_S,
    DEFAULT_MAX_SCORE_DEVIATION,
    GeminiSettings,
)
from actions.qualification_result import (
    SOURCE_GEMINI,
    SOURCE_RULES,
    Qualification,
    gemini_qualification,
    merge_fields,
    rules_qualification,
)
from observability import metrics
from sdr.breaker import CircuitBreaker
from sdr.scoring import load_rules
from sdr.vocabulary import UFS

__all__ = [
    "DEFAULT_BREAKER_FAILURES",
    "DEFAULT_BREAKER_RESET_S",
    "DEFAULT_MAX_SCORE_DEVIATION",
    "MAX_SUMMARY_CHARS",
    "MAX_TURN_CHARS",
    "PROPERTY_TYPES",
    "QUALIFIED_FIELDS",
    "SOURCE_GEMINI",
    "SOURCE_RULES",
    "SYSTEM_PROMPT_FILE",
    "UFS",
    "USER_PROMPT_FILE",
    "GeminiSettings",
    "InvalidOutput",
    "Qualification",
    "build_prompts",
    "clean_slots",
    "conversation_from_events",
    "merge_fields",
    "parse_model_output",
    "qualify",
    "render_conversation",
    "reset_breakers",
    "rules_qualification",
]

logger = logging.getLogger(__name__)


async def qualify(
    conversation: List[Dict[str, Any]],
    slots: Dict[str, Any],
    *,
    confirmed: set[str],
    settings: Optional[GeminiSettings] = None,
    breaker: Optional[CircuitBreaker] = None,
) -> Qualification:
    """Gemini's qualification of the lead, or the rules' one; never raises for Gemini's sake.

    `conversation`: the turns so far, oldest first, as {"role": "user"|"bot", "text": ...}
    (`conversation_from_events` builds it from tracker events). `confirmed`: slots whose value
    the lead confirmed, never overwritten. `settings` defaults to `GeminiSettings.from_env()`,
    read at call time; `breaker` to the process-wide one of the endpoint and model.
    """
    settings = settings or GeminiSettings.from_env()
    rules = load_rules()
    confirmed = set(confirmed or ())
    if not settings.api_key:
        return rules_qualification(slots, rules)
    breaker = breaker or breaker_for(settings)
    if not breaker.allow():
        logger.info("Gemini circuit open: qualifying by the rules")
        metrics.GEMINI_FALLBACKS.labels(reason="circuit_open").inc()
        return rules_qualification(slots, rules)
    started = time.monotonic()
    try:
        output = await ask_gemini(conversation, clean_slots(slots), confirmed, rules, settings)
    except GeminiFailure as failure:
        breaker.record_failure()
        metrics.GEMINI_CALLS.labels(outcome="failed").inc()
        metrics.GEMINI_FALLBACKS.labels(reason=failure.kind).inc()
        logger.warning(
            "Gemini qualification failed (%s) after %.1f s; qualifying by the rules (circuit %s)",
            failure, time.monotonic() - started, breaker.state,
        )
        return rules_qualification(slots, rules)
    except BaseException:
        breaker.record_failure()  # cancelled: never leave a half-open trial hanging
        raise
    breaker.record_success()
    metrics.GEMINI_CALLS.labels(outcome="ok").inc()
    return gemini_qualification(output, slots, confirmed, rules, settings.max_score_deviation)

