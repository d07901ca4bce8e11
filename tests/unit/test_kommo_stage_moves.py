"""What a lead's stage move in Kommo means for the conversation (connectors.kommo.status_events)."""
from __future__ import annotations

import pytest
from rasa.shared.core.events import ActiveLoop, ConversationPaused, SlotSet

from connectors.kommo import status_events
from crm.kommo_mapping import parse_mapping
from crm.kommo_webhooks import LeadStageEvent

IN_SERVICE = 59936210
MAPPING = parse_mapping({"stages": {"in_service": [IN_SERVICE]}})


def move(status_id):
    return LeadStageEvent(kind="status", lead_id=7, status_id=status_id, pipeline_id=1, old_status_id=2)


@pytest.mark.parametrize("status_id, current, expected", [
    (142, "qualificado", [SlotSet("lead_status", "ganho"), ActiveLoop(None)]),
    (143, "atendimento_humano", [SlotSet("lead_status", "perdido"), ActiveLoop(None)]),
    (142, "ganho", []),                                   # the same move again changes nothing
    (143, "descadastrado", []),                           # an opt-out stays an opt-out
    (IN_SERVICE, "qualificado",
     [SlotSet("lead_status", "atendimento_humano"), ActiveLoop(None), ConversationPaused()]),
    (IN_SERVICE, "atendimento_humano", []),
    (59936198, "qualificado", []),                        # any other stage: the team's business
    (None, "qualificado", []),
])
def test_a_stage_move_becomes_these_tracker_events(status_id, current, expected):
    assert status_events(move(status_id), MAPPING, current) == expected
