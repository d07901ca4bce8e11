"""The lead fields Gemini may fill, and its answer checked against them.

`FIELD_SPECS` is the contract of each field (type, pt-BR description, allowed values,
limits); from it come the response schema sent to Gemini, the strict check of its JSON
(`parse_model_output`: keys, types, enums, ranges, class matching the score) and the
lenient reading of the tracker's slots (`clean_slots`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, Literal, Mapping, Tuple

from sdr.scoring import ScoringRules
from sdr.vocabulary import (
    MAX_MONTHLY_BILL_BRL,
    MAX_MONTHLY_KWH,
    UFS,
    LeadClass,
    PropertyType,
    RoofType,
    Timeline,
)

__all__ = [
    "FIELD_SPECS",
    "LEAD_CLASSES",
    "MAX_SCORE",
    "MAX_SUMMARY_CHARS",
    "MIN_SCORE",
    "OUTPUT_KEYS",
    "PROPERTY_TYPES",
    "QUALIFIED_FIELDS",
    "ROOF_TYPES",
    "TIMELINES",
    "FieldSpec",
    "InvalidOutput",
    "Kind",
    "ModelOutput",
    "class_for",
    "clean_slots",
    "parse_model_output",
    "response_schema",
]

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
