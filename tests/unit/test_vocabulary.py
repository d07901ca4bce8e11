"""The vocabulary of sdr.vocabulary is the one domain.yml declares, value for value."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import Type

import pytest
import yaml

from sdr import vocabulary
from sdr.vocabulary import (
    LeadClass,
    LeadSource,
    LeadStatus,
    MeetingKind,
    MeetingStatus,
    PropertyType,
    RoofType,
    Timeline,
)

SLOTS = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())["slots"]


@pytest.mark.parametrize(
    "slot, values",
    [
        ("lead_status", LeadStatus),
        ("lead_class", LeadClass),
        ("lead_source", LeadSource),
        ("property_type", PropertyType),
        ("roof_type", RoofType),
        ("timeline", Timeline),
        ("meeting_kind", MeetingKind),
        ("meeting_status", MeetingStatus),
    ],
)
def test_enum_matches_the_domain(slot: str, values: Type[enum.Enum]) -> None:
    assert SLOTS[slot]["type"] == "categorical"
    assert [str(v) for v in SLOTS[slot]["values"]] == [member.value for member in values]


def test_initial_status_is_the_domains() -> None:
    assert SLOTS["lead_status"]["initial_value"] == vocabulary.INITIAL_LEAD_STATUS.value


def test_members_equal_their_values() -> None:
    assert LeadStatus.NEW == "novo" and LeadClass.HOT == "HOT"
    assert f"{LeadStatus.HUMAN.value}" == "atendimento_humano"


def test_status_sets_hold_plain_values() -> None:
    assert "novo" in vocabulary.STATUSES_BEING_QUALIFIED
    assert "assinatura" in vocabulary.STATUSES_QUALIFIED
    assert "qualificando" in vocabulary.STATUSES_QUALIFYING_OR_LATER


def test_metric_label_preset_is_the_lead_classes() -> None:
    from observability import metrics

    assert metrics.LEAD_CLASSES == tuple(member.value for member in LeadClass)


def test_named_slot_lists_are_domain_slots() -> None:
    from actions.gemini_qualifier import QUALIFIED_FIELDS
    from sdr.dialogue import LEAD_FACT_SLOTS, LEAD_PROFILE_SLOTS

    for names in (LEAD_FACT_SLOTS, LEAD_PROFILE_SLOTS, QUALIFIED_FIELDS):
        assert set(names) <= set(SLOTS), set(names) - set(SLOTS)
    assert set(LEAD_FACT_SLOTS) <= set(LEAD_PROFILE_SLOTS)
