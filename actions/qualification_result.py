"""`Qualification`, what `qualify` returns, and its two sources: Gemini's checked answer
merged into the slots (`gemini_qualification`), or the rules of `sdr.scoring` alone
(`rules_qualification`, with a pt-BR summary written from the slots).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from actions.gemini_schema import (
    MAX_SCORE,
    MIN_SCORE,
    QUALIFIED_FIELDS,
    ModelOutput,
    class_for,
    clean_slots,
)
from sdr.formatting import format_brl
from sdr.scoring import ScoringRules, assess_lead
from sdr.vocabulary import LeadClass, LeadStatus

__all__ = [
    "SOURCE_GEMINI",
    "SOURCE_RULES",
    "Qualification",
    "gemini_qualification",
    "merge_fields",
    "routed_status",
    "rules_qualification",
    "rules_summary",
]

# The qualifier's one logger, whichever of its modules writes: log filters name it.
logger = logging.getLogger("actions.gemini_qualifier")

SOURCE_GEMINI = "gemini"
SOURCE_RULES = "rules"


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

