"""Who may receive a follow-up, and what a retried trigger must not resend."""
from __future__ import annotations

import pytest

from sdr.followup_policy import blocked_reason, is_lead_message, stage_sent_since_lead_wrote


def lead(text: str = "oi", intent: str = "greet") -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def trigger() -> dict:
    return {"event": "user", "text": None, "parse_data": {"intent": {"name": "EXTERNAL_followup"}}}


def stage(n: int) -> dict:
    return {"event": "slot", "name": "followup_stage", "value": float(n)}


@pytest.mark.parametrize("status", [None, "novo", "qualificando"])
def test_a_lead_being_qualified_gets_follow_ups(status):
    assert blocked_reason({"lead_status": status, "opted_out": False}) is None


@pytest.mark.parametrize("slots, paused, reason", [
    ({"lead_status": "qualificando", "opted_out": True}, False, "opted_out"),
    ({"lead_status": "descadastrado", "opted_out": True}, False, "opted_out"),
    ({"lead_status": "qualificando"}, True, "paused"),
    ({"lead_status": "atendimento_humano"}, False, "status_atendimento_humano"),
    ({"lead_status": "qualificado", "lead_class": "HOT"}, False, "status_qualificado"),
    ({"lead_status": "assinatura"}, False, "status_assinatura"),
    ({"lead_status": "desqualificado"}, False, "status_desqualificado"),
])
def test_nobody_else_does(slots, paused, reason):
    assert blocked_reason(slots, paused=paused) == reason


def test_follow_up_triggers_are_not_the_lead_speaking():
    assert is_lead_message(lead())
    assert not is_lead_message(trigger())
    assert not is_lead_message({"event": "bot", "text": "oi"})


def test_stages_sent_count_only_since_the_lead_last_wrote():
    assert stage_sent_since_lead_wrote([]) == 0
    assert stage_sent_since_lead_wrote([lead(), trigger(), stage(1)]) == 1
    assert stage_sent_since_lead_wrote([lead(), trigger(), stage(1), trigger(), stage(2)]) == 2
    # The lead wrote after two follow-ups: a new cadence starts from nothing.
    assert stage_sent_since_lead_wrote([lead(), trigger(), stage(1), trigger(), stage(2), lead("voltei")]) == 0
