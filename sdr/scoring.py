"""Deterministic lead scoring: qualification answers in, score and class out.

The rules live in a YAML file so the sales team can tune them without a code
change; the Gemini qualifier (later) must produce this same output shape.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from sdr.vocabulary import LeadClass, LeadStatus

DEFAULT_RULES_FILE = Path(__file__).with_name("lead_scoring.yml")
RULES_FILE_ENV = "LEAD_SCORING_FILE"



@dataclass(frozen=True)
class ScoringRules:
    tariff_brl_per_kwh: float
    bill_tiers: List[Mapping[str, float]]
    points: Mapping[str, Mapping[Any, float]]
    classes: List[Mapping[str, Any]]
    subscription_max_bill_brl: float
    rooftop_savings_rate: float

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ScoringRules:
        points = dict(raw["points"])
        bill_tiers = sorted(points.pop("bill"), key=lambda tier: -tier["min"])
        classes = sorted(raw["classes"], key=lambda klass: -klass["min"])
        return cls(
            tariff_brl_per_kwh=float(raw["tariff_brl_per_kwh"]),
            bill_tiers=bill_tiers,
            points=points,
            classes=classes,
            subscription_max_bill_brl=float(raw["subscription_max_bill_brl"]),
            rooftop_savings_rate=float(raw["rooftop_savings_rate"]),
        )


@lru_cache(maxsize=4)
def _load_rules(path: str) -> ScoringRules:
    with open(path, encoding="utf-8") as handle:
        return ScoringRules.from_dict(yaml.safe_load(handle))


def load_rules(path: Optional[str] = None) -> ScoringRules:
    return _load_rules(path or os.environ.get(RULES_FILE_ENV) or str(DEFAULT_RULES_FILE))


@dataclass(frozen=True)
class LeadAssessment:
    score: float
    lead_class: str
    status: str
    effective_bill_brl: Optional[float]
    estimated_savings_brl: Optional[float]
    offer_subscription: bool


def effective_bill(
    monthly_bill_brl: Optional[float], monthly_kwh: Optional[float], rules: ScoringRules
) -> Optional[float]:
    if monthly_bill_brl:
        return float(monthly_bill_brl)
    if monthly_kwh:
        return round(float(monthly_kwh) * rules.tariff_brl_per_kwh, 2)
    return None


def _bill_points(bill: Optional[float], rules: ScoringRules) -> float:
    if bill is None:
        return 0.0
    return next((tier["points"] for tier in rules.bill_tiers if bill >= tier["min"]), 0.0)


def _table_points(table: str, value: Any, rules: ScoringRules) -> float:
    if value is None:
        return 0.0
    return float(rules.points.get(table, {}).get(value, 0.0))


def assess_lead(slots: Mapping[str, Any], rules: Optional[ScoringRules] = None) -> LeadAssessment:
    """Scores a lead from its slot values (missing answers score zero)."""
    rules = rules or load_rules()
    bill = effective_bill(slots.get("monthly_bill_brl"), slots.get("monthly_kwh"), rules)
    score = _bill_points(bill, rules) + sum(
        _table_points(name, slots.get(name), rules)
        for name in ("is_owner", "is_decision_maker", "timeline", "property_type")
    )
    score = max(0.0, min(100.0, score))
    lead_class = next(k["name"] for k in rules.classes if score >= k["min"])

    is_tenant = slots.get("is_owner") is False
    small_bill = bill is not None and bill < rules.subscription_max_bill_brl
    offer_subscription = is_tenant or small_bill
    if offer_subscription:
        status = LeadStatus.SUBSCRIPTION.value
    elif lead_class == LeadClass.UNQUALIFIED:
        status = LeadStatus.DISQUALIFIED.value
    else:
        status = LeadStatus.QUALIFIED.value
    savings = round(bill * rules.rooftop_savings_rate, 2) if bill and not offer_subscription else None
    return LeadAssessment(
        score=float(score),
        lead_class=lead_class,
        status=status,
        effective_bill_brl=bill,
        estimated_savings_brl=savings,
        offer_subscription=offer_subscription,
    )


def scoring_slots(assessment: LeadAssessment) -> Dict[str, Any]:
    """The slot values an assessment sets (the contract's output shape)."""
    return {
        "lead_score": assessment.score,
        "lead_class": assessment.lead_class,
        "lead_status": assessment.status,
    }
