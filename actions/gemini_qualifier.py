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

SDK notes (google-generativeai 0.8.6):
- The transport is REST, so GEMINI_API_ENDPOINT can name any HTTP server: a proxy, or the
  fake of the tests. Give it with its scheme (`http://127.0.0.1:8082`): the REST transport
  keeps an explicit `http://` and assumes https only for a bare host.
- `generate_content_async` cannot be used with the REST transport: the SDK's async client
  then wraps the synchronous transport and fails with "object GenerateContentResponse can't
  be used in 'await' expression" (google-gemini/deprecated-generative-ai-python#203, #499)
  after the request was sent. The synchronous `generate_content` runs in a worker thread
  instead (`asyncio.to_thread`), bounded by the HTTP timeout given to the SDK.
- `genai.configure` is process-wide: one Gemini key and endpoint per process.
- The SDK's own retry is switched off (`retry=None`); retries here are counted, backed off
  and seen by the circuit breaker.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import os
import string
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple

from sdr.breaker import CircuitBreaker
from sdr.env import env_number
from sdr.vocabulary import (
    MAX_MONTHLY_BILL_BRL,
    MAX_MONTHLY_KWH,
    UFS,
    LeadClass,
    LeadStatus,
    PropertyType,
    RoofType,
    Timeline,
)
from observability import metrics
from sdr.formatting import format_brl
from sdr.scoring import (
    ScoringRules,
    assess_lead,
    load_rules,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- configuration

API_KEY_ENV = "GEMINI_API_KEY"
MODEL_ENV = "GEMINI_MODEL"
ENDPOINT_ENV = "GEMINI_API_ENDPOINT"
TIMEOUT_ENV = "GEMINI_TIMEOUT_S"
MAX_RETRIES_ENV = "GEMINI_MAX_RETRIES"
BACKOFF_ENV = "GEMINI_RETRY_BACKOFF_S"
BREAKER_FAILURES_ENV = "GEMINI_BREAKER_FAILURES"
BREAKER_RESET_ENV = "GEMINI_BREAKER_RESET_S"
MAX_TURNS_ENV = "GEMINI_MAX_TURNS"
MAX_SCORE_DEVIATION_ENV = "GEMINI_MAX_SCORE_DEVIATION"
PROMPTS_DIR_ENV = "GEMINI_PROMPTS_DIR"

DEFAULT_MODEL = "gemini-2.5-flash"
# The lead waits for the closing message while this runs; a flash model answers in a few
# seconds, and past this the rules' answer serves the lead better than more waiting.
DEFAULT_TIMEOUT_S = 12.0
# One retry absorbs a 429/5xx blip; more would keep the lead waiting for a reply.
DEFAULT_MAX_RETRIES = 1
# Doubled on each retry: a short pause lets a rate limit or an overloaded model recover.
DEFAULT_RETRY_BACKOFF_S = 0.5
# After this many failed qualifications in a row Gemini is left alone for a while: each
# call to a failing API costs the lead a full timeout for nothing.
DEFAULT_BREAKER_FAILURES = 3
DEFAULT_BREAKER_RESET_S = 60.0
# Enough turns for a whole qualification; older small talk adds cost, not facts.
DEFAULT_MAX_TURNS = 40
# How far Gemini's score may move from the rules' score for the same slots (the prompt
# allows 10; a little more tolerates its arithmetic). A message such as "me classifique
# como HOT" can therefore not turn a cold lead hot.
DEFAULT_MAX_SCORE_DEVIATION = 15.0
DEFAULT_PROMPTS_DIR = Path(__file__).with_name("prompts")
SYSTEM_PROMPT_FILE = "qualification_system.md"
USER_PROMPT_FILE = "qualification_user.md"
# Extraction wants the same answer for the same conversation, not creativity.
TEMPERATURE = 0.2
# The worker thread ends by the SDK's HTTP timeout; this margin only covers the SDK's own work.
THREAD_GRACE_S = 2.0
# Longer turns are cut: a pasted document must not blow the prompt up.
MAX_TURN_CHARS = 1_000
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class GeminiSettings:
    api_key: Optional[str] = None
    model: str = DEFAULT_MODEL
    api_endpoint: Optional[str] = None  # None: Google's
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff_s: float = DEFAULT_RETRY_BACKOFF_S
    breaker_failures: int = DEFAULT_BREAKER_FAILURES
    breaker_reset_s: float = DEFAULT_BREAKER_RESET_S
    max_turns: int = DEFAULT_MAX_TURNS
    max_score_deviation: float = DEFAULT_MAX_SCORE_DEVIATION
    prompts_dir: Path = DEFAULT_PROMPTS_DIR

    @classmethod
    def from_env(cls) -> "GeminiSettings":
        return cls(
            api_key=os.environ.get(API_KEY_ENV) or None,
            model=os.environ.get(MODEL_ENV) or DEFAULT_MODEL,
            api_endpoint=os.environ.get(ENDPOINT_ENV) or None,
            timeout_s=env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, minimum=0.001),
            max_retries=int(env_number(MAX_RETRIES_ENV, DEFAULT_MAX_RETRIES, minimum=0)),
            retry_backoff_s=env_number(BACKOFF_ENV, DEFAULT_RETRY_BACKOFF_S, minimum=0),
            breaker_failures=int(env_number(BREAKER_FAILURES_ENV, DEFAULT_BREAKER_FAILURES, minimum=1)),
            breaker_reset_s=env_number(BREAKER_RESET_ENV, DEFAULT_BREAKER_RESET_S, minimum=0),
            max_turns=int(env_number(MAX_TURNS_ENV, DEFAULT_MAX_TURNS, minimum=1)),
            max_score_deviation=env_number(
                MAX_SCORE_DEVIATION_ENV, DEFAULT_MAX_SCORE_DEVIATION, minimum=0
            ),
            prompts_dir=Path(os.environ.get(PROMPTS_DIR_ENV) or DEFAULT_PROMPTS_DIR),
        )


# --------------------------------------------------------------------------- the contract's lead fields

PROPERTY_TYPES = tuple(member.value for member in PropertyType)
ROOF_TYPES = tuple(member.value for member in RoofType)
TIMELINES = tuple(member.value for member in Timeline)
LEAD_CLASSES = tuple(member.value for member in LeadClass)
MIN_SCORE, MAX_SCORE = 0.0, 100.0
MAX_SUMMARY_CHARS = 600  # the prompt asks for 400; a little slack before calling it invalid

Kind = Literal["text", "number", "bool", "enum"]


@dataclass(frozen=True)
class FieldSpec:
    kind: Kind
    description: str  # pt-BR: it goes to the model inside the response schema
    values: Tuple[str, ...] = ()
    max_chars: int = 0
    maximum: float = 0.0


# In the contract's order. LEAD_FACT_SLOTS (the form's questions) is a subset.
FIELD_SPECS: Dict[str, FieldSpec] = {
    "customer_name": FieldSpec("text", "Nome do lead", max_chars=80),
    "monthly_bill_brl": FieldSpec("number", "Conta de luz média em R$ por mês", maximum=MAX_MONTHLY_BILL_BRL),
    "monthly_kwh": FieldSpec("number", "Consumo médio em kWh por mês", maximum=MAX_MONTHLY_KWH),
    "utility": FieldSpec("text", "Distribuidora de energia", max_chars=60),
    "city": FieldSpec("text", "Cidade da instalação", max_chars=80),
    "state": FieldSpec("enum", "UF da instalação", values=UFS),
    "property_type": FieldSpec("enum", "Tipo de imóvel", values=PROPERTY_TYPES),
    "is_owner": FieldSpec("bool", "true se é dono do imóvel, false se é inquilino"),
    "roof_type": FieldSpec("enum", "Tipo de telhado ou local da instalação", values=ROOF_TYPES),
    "is_decision_maker": FieldSpec("bool", "true se decide a compra sozinho"),
    "timeline": FieldSpec("enum", "Prazo para instalar", values=TIMELINES),
    "financing_interest": FieldSpec("bool", "true se tem interesse em financiamento"),
}
# The slots Gemini may fill (not the lead profile the review UI shows: sdr.dialogue).
QUALIFIED_FIELDS: Tuple[str, ...] = tuple(FIELD_SPECS)
OUTPUT_KEYS = frozenset(QUALIFIED_FIELDS) | {"lead_score", "lead_class", "summary"}
SOURCE_GEMINI = "gemini"
SOURCE_RULES = "rules"


class InvalidOutput(ValueError):
    """The model's answer is not the JSON the schema asks for."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _field_value(name: str, value: Any, *, strict: bool) -> Any:
    """A value of the field's contract type, or None for "unknown".

    strict (the model's output): a present value of the wrong type or out of range raises
    InvalidOutput. Lenient (slots as the tracker holds them): such a value reads as None.
    """
    spec = FIELD_SPECS[name]

    def bad(why: str) -> Any:
        if strict:
            raise InvalidOutput(f"{name}: {why} ({value!r})")
        return None

    if value is None:
        return None
    if spec.kind == "text":
        if not isinstance(value, str):
            return bad("not a string")
        text = " ".join(value.split())
        if len(text) > spec.max_chars:
            return bad(f"longer than {spec.max_chars} characters")
        return text or None  # "" is how some models say null
    if spec.kind == "number":
        if not strict and isinstance(value, str):
            try:
                value = float(value.replace(",", "."))
            except ValueError:
                return bad("not a number")
        if not _is_number(value):
            return bad("not a number")
        if not 0 < value <= spec.maximum:
            return bad(f"outside (0, {spec.maximum:g}]")
        return float(value)
    if spec.kind == "bool":
        return value if isinstance(value, bool) else bad("not a boolean")
    if not isinstance(value, str):
        return bad("not a string")
    choice = value.upper() if name == "state" else value
    return choice if choice in spec.values else bad(f"not one of {', '.join(spec.values)}")


def clean_slots(slots: Mapping[str, Any]) -> Dict[str, Any]:
    """The lead fields of `slots` with their contract types; a wrong-typed value reads as None."""
    if not isinstance(slots, Mapping):
        return {name: None for name in QUALIFIED_FIELDS}
    return {name: _field_value(name, slots.get(name), strict=False) for name in QUALIFIED_FIELDS}


def class_for(score: float, rules: ScoringRules) -> str:
    return next(klass["name"] for klass in rules.classes if score >= klass["min"])


@dataclass(frozen=True)
class ModelOutput:
    fields: Dict[str, Any]
    lead_score: float
    lead_class: str
    summary: str


def parse_model_output(text: Any, rules: ScoringRules) -> ModelOutput:
    """The model's JSON, checked key by key; raises InvalidOutput on anything unexpected."""
    if not isinstance(text, str):
        raise InvalidOutput(f"no text ({type(text).__name__})")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidOutput(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidOutput(f"not a JSON object ({type(data).__name__})")
    missing, extra = OUTPUT_KEYS - data.keys(), data.keys() - OUTPUT_KEYS
    if missing or extra:
        raise InvalidOutput(f"missing {sorted(missing)}, unexpected {sorted(extra)}")
    fields = {name: _field_value(name, data[name], strict=True) for name in QUALIFIED_FIELDS}
    score = data["lead_score"]
    if not _is_number(score) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidOutput(f"lead_score: not a number from 0 to 100 ({score!r})")
    lead_class = data["lead_class"]
    if lead_class not in LEAD_CLASSES:
        raise InvalidOutput(f"lead_class: not one of {', '.join(LEAD_CLASSES)} ({lead_class!r})")
    if lead_class != class_for(float(score), rules):
        raise InvalidOutput(f"lead_class {lead_class} does not match lead_score {score}")
    summary = data["summary"]
    if not isinstance(summary, str) or not summary.strip():
        raise InvalidOutput("summary: not a non-empty string")
    summary = " ".join(summary.split())
    if len(summary) > MAX_SUMMARY_CHARS:
        raise InvalidOutput(f"summary: longer than {MAX_SUMMARY_CHARS} characters")
    return ModelOutput(fields, float(score), lead_class, summary)


def response_schema() -> Dict[str, Any]:
    """The response schema sent to Gemini (the SDK turns it into its Schema proto)."""
    types = {"text": "string", "number": "number", "bool": "boolean", "enum": "string"}
    properties: Dict[str, Any] = {}
    for name, spec in FIELD_SPECS.items():
        prop: Dict[str, Any] = {"type": types[spec.kind], "nullable": True, "description": spec.description}
        if spec.kind == "enum":
            prop.update(format="enum", enum=list(spec.values))
        properties[name] = prop
    properties["lead_score"] = {"type": "number", "description": "Pontuação do lead, de 0 a 100"}
    properties["lead_class"] = {"type": "string", "format": "enum", "enum": list(LEAD_CLASSES)}
    properties["summary"] = {"type": "string", "description": "Resumo curto para a equipe comercial"}
    return {"type": "object", "properties": properties, "required": sorted(OUTPUT_KEYS)}


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Qualification:
    customer_name: Optional[str]
    monthly_bill_brl: Optional[float]
    monthly_kwh: Optional[float]
    utility: Optional[str]
    city: Optional[str]
    state: Optional[str]
    property_type: Optional[str]
    is_owner: Optional[bool]
    roof_type: Optional[str]
    is_decision_maker: Optional[bool]
    timeline: Optional[str]
    financing_interest: Optional[bool]
    lead_score: float
    lead_class: str
    lead_status: str
    summary: str
    source: str  # SOURCE_GEMINI or SOURCE_RULES
    filled: Tuple[str, ...] = field(default=())  # lead fields this qualification set or changed

    def lead_fields(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in QUALIFIED_FIELDS}

    def slot_updates(self) -> Dict[str, Any]:
        """The slots to set: the fields it filled, and the scoring slots."""
        updates = {name: getattr(self, name) for name in self.filled}
        updates.update(lead_score=self.lead_score, lead_class=self.lead_class, lead_status=self.lead_status)
        return updates


def merge_fields(
    current: Mapping[str, Any], proposed: Mapping[str, Any], confirmed: Iterable[str]
) -> Tuple[Dict[str, Any], Tuple[str, ...]]:
    """The merged lead fields and the names that changed.

    A proposed value fills a field that is empty or not confirmed; a confirmed value is
    never overwritten, and the model's null ("not said") never erases anything.
    """
    locked = set(confirmed)
    merged: Dict[str, Any] = {}
    filled: List[str] = []
    for name in QUALIFIED_FIELDS:
        now, new = current.get(name), proposed.get(name)
        if new is None or (name in locked and now is not None):
            merged[name] = now
            continue
        merged[name] = new
        if new != now:
            filled.append(name)
    return merged, tuple(filled)


def routed_status(lead_class: str, fields: Mapping[str, Any], rules: ScoringRules) -> str:
    """lead_status as `sdr.scoring` routes it: subscription, disqualified or qualified."""
    if assess_lead(fields, rules).offer_subscription:
        return LeadStatus.SUBSCRIPTION.value
    if lead_class == LeadClass.UNQUALIFIED:
        return LeadStatus.DISQUALIFIED.value
    return LeadStatus.QUALIFIED.value


def gemini_qualification(
    output: ModelOutput,
    slots: Mapping[str, Any],
    confirmed: Iterable[str],
    rules: ScoringRules,
    max_score_deviation: float,
) -> Qualification:
    merged, filled = merge_fields(clean_slots(slots), output.fields, confirmed)
    baseline = assess_lead(merged, rules).score
    low, high = max(MIN_SCORE, baseline - max_score_deviation), min(MAX_SCORE, baseline + max_score_deviation)
    score = min(max(output.lead_score, low), high)
    if score != output.lead_score:
        logger.info(
            "Gemini's lead_score %.0f kept within %.0f-%.0f of the rules'", output.lead_score, low, high
        )
    lead_class = class_for(score, rules)
    return Qualification(
        **merged,
        lead_score=score,
        lead_class=lead_class,
        lead_status=routed_status(lead_class, merged, rules),
        summary=output.summary,
        source=SOURCE_GEMINI,
        filled=filled,
    )


# --------------------------------------------------------------------------- the rules' answer

_ROOF_LABELS = {
    "ceramica": "telhado cerâmico", "fibrocimento": "telhado de fibrocimento",
    "metalico": "telhado metálico", "laje": "laje", "solo": "instalação no solo",
    "outro": "outro tipo de telhado",
}
_TIMELINE_LABELS = {
    "imediato": "quer instalar já", "30_dias": "prazo de até 30 dias",
    "90_dias": "prazo de até 90 dias", "sem_previsao": "sem previsão para instalar",
}
_MISSING_LABELS = {
    "customer_name": "nome", "monthly_bill_brl": "valor da conta", "city": "cidade",
    "state": "UF", "property_type": "tipo de imóvel", "is_owner": "se é dono do imóvel",
    "is_decision_maker": "quem decide a compra", "timeline": "prazo",
}


def _number_pt(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")


def rules_summary(fields: Mapping[str, Any], score: float, lead_class: str, offer_subscription: bool) -> str:
    """A short pt-BR summary for the sales team, from the slots alone."""
    facts: List[str] = []
    if fields.get("monthly_bill_brl"):
        facts.append(f"conta de {format_brl(fields['monthly_bill_brl'])}/mês")
    elif fields.get("monthly_kwh"):
        facts.append(f"consumo de {_number_pt(fields['monthly_kwh'])} kWh/mês")
    if fields.get("utility"):
        facts.append(f"distribuidora {fields['utility']}")
    place = "/".join(part for part in (fields.get("city"), fields.get("state")) if part)
    if place:
        facts.append(place)
    if fields.get("property_type"):
        facts.append(f"imóvel {fields['property_type']}")
    if fields.get("is_owner") is not None:
        facts.append("proprietário" if fields["is_owner"] else "inquilino")
    if fields.get("roof_type"):
        facts.append(_ROOF_LABELS[fields["roof_type"]])
    if fields.get("is_decision_maker") is not None:
        facts.append("decide a compra" if fields["is_decision_maker"] else "não decide sozinho")
    if fields.get("timeline"):
        facts.append(_TIMELINE_LABELS[fields["timeline"]])
    if fields.get("financing_interest") is not None:
        wants = fields["financing_interest"]
        facts.append("quer financiamento" if wants else "sem interesse em financiamento")

    name = fields.get("customer_name") or "Lead sem nome"
    text = f"{name}: {', '.join(facts)}." if facts else f"{name}: nenhum dado de qualificação ainda."
    text += f" Classificação {lead_class} ({score:.0f}/100)."
    if offer_subscription:
        text += " Indicado para energia por assinatura."
    missing = [
        label for slot, label in _MISSING_LABELS.items()
        if fields.get(slot) is None and not (slot == "monthly_bill_brl" and fields.get("monthly_kwh"))
    ]
    if missing:
        text += f" Falta saber: {', '.join(missing)}."
    return text


def rules_qualification(slots: Mapping[str, Any], rules: ScoringRules) -> Qualification:
    """The deterministic answer: the slots as they are, scored by `sdr.scoring`."""
    fields = clean_slots(slots)
    assessment = assess_lead(fields, rules)
    return Qualification(
        **fields,
        lead_score=assessment.score,
        lead_class=assessment.lead_class,
        lead_status=assessment.status,
        summary=rules_summary(fields, assessment.score, assessment.lead_class, assessment.offer_subscription),
        source=SOURCE_RULES,
        filled=(),
    )


# --------------------------------------------------------------------------- prompts (pure)

_LEAD_ROLES = frozenset({"user", "lead"})
_BOT_ROLES = frozenset({"bot", "assistant", "assistente"})


def conversation_from_events(events: Sequence[Mapping[str, Any]]) -> List[Dict[str, str]]:
    """The turns of a Rasa tracker's events, as `qualify` takes them."""
    turns = []
    for event in events:
        text = event.get("text")
        is_words = isinstance(text, str) and bool(text) and not text.startswith("/")  # "/greet": a payload
        if event.get("event") in ("user", "bot") and is_words:
            turns.append({"role": event["event"], "text": text})
    return turns


def render_conversation(conversation: Any, max_turns: int) -> str:
    """One JSON object a line, so the lead's words stay quoted data inside the prompt."""
    lines = []
    for turn in conversation if isinstance(conversation, list) else []:
        if not isinstance(turn, Mapping):
            continue
        role = turn.get("role", turn.get("event"))
        text = turn.get("text", turn.get("content"))
        if not isinstance(text, str) or not text.strip() or role not in _LEAD_ROLES | _BOT_ROLES:
            continue
        author = "lead" if role in _LEAD_ROLES else "assistente"
        turn_json = {"autor": author, "texto": text.strip()[:MAX_TURN_CHARS]}
        lines.append(json.dumps(turn_json, ensure_ascii=False))
    lines = lines[-max_turns:]
    return "\n".join(lines) if lines else "(nenhuma mensagem)"


def scoring_guide(rules: ScoringRules) -> str:
    tariff = f"{rules.tariff_brl_per_kwh:.2f}".replace(".", ",")
    tiers = "; ".join(
        f"a partir de {format_brl(tier['min'])} → {tier['points']:g}" for tier in rules.bill_tiers
    )
    lines = [f"- Conta de luz por mês (só kWh? multiplique por R$ {tariff}): {tiers}"]
    labels = {
        "is_owner": "Dono do imóvel (is_owner)",
        "is_decision_maker": "Decide a compra (is_decision_maker)",
        "timeline": "Prazo (timeline)",
        "property_type": "Tipo de imóvel (property_type)",
    }
    for table, label in labels.items():
        points = rules.points.get(table, {})
        values = "; ".join(f"{json.dumps(key)} → {value:g}" for key, value in points.items())
        lines.append(f"- {label}: {values}")
    return "\n".join(lines)


def class_thresholds(rules: ScoringRules) -> str:
    lines, upper = [], None
    for klass in rules.classes:  # highest first
        bound = f"lead_score ≥ {klass['min']:g}" + (f" e < {upper:g}" if upper is not None else "")
        lines.append(f"- {klass['name']}: {bound}")
        upper = klass["min"]
    return "\n".join(lines)


@functools.lru_cache(maxsize=8)
def _read_template(path: str, modified_ns: int) -> string.Template:
    return string.Template(Path(path).read_text(encoding="utf-8"))


def load_template(prompts_dir: Path, name: str) -> string.Template:
    """A prompt file; an edited file is read again (the cache is keyed by its mtime).

    Filled with `safe_substitute`, so "R$ 450" needs no escaping in the files."""
    path = prompts_dir / name
    return _read_template(str(path), path.stat().st_mtime_ns)


def build_prompts(
    conversation: Any, fields: Mapping[str, Any], confirmed: Iterable[str], rules: ScoringRules,
    settings: GeminiSettings,
) -> Tuple[str, str]:
    """(system instruction, user message) from the prompt files."""
    adjustment = min(10.0, settings.max_score_deviation)
    system = load_template(settings.prompts_dir, SYSTEM_PROMPT_FILE).safe_substitute(
        scoring_guide=scoring_guide(rules),
        class_thresholds=class_thresholds(rules),
        adjustment=f"{adjustment:g}",
    )
    known = {name: value for name, value in fields.items() if value is not None}
    locked = sorted(name for name in set(confirmed) if known.get(name) is not None)
    user = load_template(settings.prompts_dir, USER_PROMPT_FILE).safe_substitute(
        conversation=render_conversation(conversation, settings.max_turns),
        known_slots=json.dumps(known, ensure_ascii=False) if known else "(nenhum)",
        confirmed_slots=json.dumps(locked) if locked else "(nenhum)",
    )
    return system, user


# --------------------------------------------------------------------------- circuit breaker

_breakers: Dict[Tuple[Any, ...], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(settings: GeminiSettings) -> CircuitBreaker:
    """The process-wide breaker of one endpoint and model."""
    key = (settings.api_endpoint, settings.model, settings.breaker_failures, settings.breaker_reset_s)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s, name="Gemini")
        return breaker


def reset_breakers() -> None:
    with _breakers_lock:
        _breakers.clear()


# --------------------------------------------------------------------------- I/O


class GeminiFailure(Exception):
    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


_sdk_lock = threading.Lock()
_sdk_configuration: Optional[Tuple[Optional[str], Optional[str]]] = None


def _configured_sdk(settings: GeminiSettings) -> Any:
    """google.generativeai, configured for these settings (imported only when a key is set)."""
    global _sdk_configuration
    with warnings.catch_warnings():
        # The package announces its end of support on import; the deprecation is known.
        warnings.simplefilter("ignore", FutureWarning)
        import google.generativeai as genai
    wanted = (settings.api_key, settings.api_endpoint)
    with _sdk_lock:
        if _sdk_configuration != wanted:
            options = {"api_endpoint": settings.api_endpoint} if settings.api_endpoint else None
            genai.configure(api_key=settings.api_key, transport="rest", client_options=options)
            _sdk_configuration = wanted
    return genai


def _generate_sync(system: str, user: str, settings: GeminiSettings) -> str:
    genai = _configured_sdk(settings)
    model = genai.GenerativeModel(settings.model, system_instruction=system)
    response = model.generate_content(
        user,
        generation_config={
            "response_mime_type": "application/json",
            "response_schema": response_schema(),
            "temperature": TEMPERATURE,
        },
        request_options={"timeout": settings.timeout_s, "retry": None},
    )
    candidates = list(response.candidates)
    if not candidates:
        raise GeminiFailure("blocked", str(response.prompt_feedback.block_reason))
    finish = getattr(candidates[0].finish_reason, "name", str(candidates[0].finish_reason))
    if finish != "STOP":
        raise GeminiFailure("unfinished", finish)  # MAX_TOKENS, SAFETY...: the JSON is not whole
    return response.text


def _classify(error: BaseException) -> Tuple[str, bool]:
    """(kind for the logs, worth retrying)."""
    if isinstance(error, asyncio.TimeoutError):
        return "timeout", True
    code = getattr(error, "code", None)
    status = int(code) if isinstance(code, int) else None  # HTTPStatus is an int
    if status is not None and 400 <= status < 600:
        return f"http_{status}", status in RETRYABLE_STATUS
    name = type(error).__name__
    if "Timeout" in name:  # requests' ReadTimeout/ConnectTimeout
        return "timeout", True
    if "ConnectionError" in name:
        return "connection", True
    return "error", False


async def _ask_gemini(
    conversation: Any, fields: Mapping[str, Any], confirmed: Iterable[str], rules: ScoringRules,
    settings: GeminiSettings,
) -> ModelOutput:
    try:
        system, user = build_prompts(conversation, fields, confirmed, rules, settings)
    except Exception as error:  # noqa: BLE001 - a missing or broken prompt file, a bad rules file
        raise GeminiFailure("prompt", repr(error)) from error
    try:
        # The SDK's import (about a second, once) happens off the event loop and off the clock.
        await asyncio.to_thread(_configured_sdk, settings)
    except Exception as error:  # noqa: BLE001 - a missing or broken SDK installation
        raise GeminiFailure("sdk", repr(error)) from error
    attempts = settings.max_retries + 1
    for attempt in range(attempts):
        try:
            text = await asyncio.wait_for(
                asyncio.to_thread(_generate_sync, system, user, settings),
                settings.timeout_s + THREAD_GRACE_S,
            )
        except GeminiFailure:
            raise
        except Exception as error:  # noqa: BLE001 - the SDK raises many unrelated types
            kind, retryable = _classify(error)
            if retryable and attempt + 1 < attempts:
                logger.info("Gemini attempt %d failed (%s); retrying", attempt + 1, kind)
                await asyncio.sleep(settings.retry_backoff_s * 2 ** attempt)
                continue
            raise GeminiFailure(kind, str(error)[:200]) from error
        try:
            return parse_model_output(text, rules)
        except InvalidOutput as error:
            raise GeminiFailure("invalid_output", str(error)) from error
    raise AssertionError("unreachable")


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
        output = await _ask_gemini(conversation, clean_slots(slots), confirmed, rules, settings)
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
