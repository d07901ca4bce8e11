"""The follow-up a quiet lead receives (triggered by connectors/followups.py).

The scheduler decides *when*; this action decides *whether* (it runs under the
conversation's lock with the latest tracker) and *what*: a short pt-BR nudge
with what the lead already told us, the pending question of the form, and how
to stop receiving messages. The last follow-up says goodbye and marks the lead
cold.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from observability.privacy import mask_phone
from sdr.dialogue import QUALIFICATION_FORM, REQUESTED_SLOT
from sdr.followup_policy import (
    FINAL_ENTITY,
    STAGE_ENTITY,
    STAGE_SLOT,
    blocked_reason,
    stage_sent_since_lead_wrote,
)
from sdr.formatting import format_brl
from sdr.vocabulary import LeadClass

logger = logging.getLogger(__name__)

HOW_TO_STOP = "Se preferir não receber mais mensagens, é só responder PARAR."


def _hello(name: Optional[str]) -> str:
    first = (name or "").split()[0] if (name or "").strip() else ""
    return f"Oi, {first}!" if first else "Oi!"


def followup_text(stage: int, final: bool, name: Optional[str], bill_brl: Optional[float]) -> str:
    """The words of one follow-up, personalised with what is known."""
    if final:
        return (
            f"{_hello(name)} Vou encerrar nosso atendimento por aqui para não incomodar. "
            "Quando quiser retomar sua simulação de energia solar, é só mandar uma mensagem. 🌞"
        )
    if stage == 1:
        bill = f" Com a sua conta de {format_brl(bill_brl)}, a economia pode ser grande." if bill_brl else ""
        return f"{_hello(name)} Passando para saber se ficou alguma dúvida. 😊{bill}\n{HOW_TO_STOP}"
    bill = f" (já anotei sua conta de {format_brl(bill_brl)})" if bill_brl else ""
    return (
        f"{_hello(name)} Sua simulação de energia solar está quase pronta{bill}. "
        f"Faltam só algumas perguntas rápidas, vamos continuar?\n{HOW_TO_STOP}"
    )


def trigger_entities(latest_message: Dict[str, Any]) -> Dict[str, Any]:
    return {e.get("entity"): e.get("value") for e in latest_message.get("entities") or []}


class ActionFollowUp(Action):
    def name(self) -> str:
        return "action_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        entities = trigger_entities(tracker.latest_message)
        try:
            stage = int(entities.get(STAGE_ENTITY) or 0)
        except (TypeError, ValueError):
            stage = 0
        final = entities.get(FINAL_ENTITY) in (True, "true", "True", 1)
        conversation = mask_phone(tracker.sender_id)
        reason = blocked_reason(tracker.current_slot_values(), paused=tracker.is_paused())
        if stage < 1 or reason:
            logger.info(
                "followup.skipped conversation=%s stage=%s reason=%s", conversation, stage, reason or "no_stage"
            )
            return []
        if stage_sent_since_lead_wrote(tracker.events) >= stage:
            logger.info("followup.skipped conversation=%s stage=%d reason=already_sent", conversation, stage)
            return []
        dispatcher.utter_message(
            text=followup_text(stage, final, tracker.get_slot("customer_name"), tracker.get_slot("monthly_bill_brl"))
        )
        pending = tracker.get_slot(REQUESTED_SLOT)
        if not final and pending and tracker.active_loop_name == QUALIFICATION_FORM:
            dispatcher.utter_message(response=f"utter_ask_{pending}")
        events: List[EventType] = [SlotSet(STAGE_SLOT, stage)]
        if final:
            events.append(SlotSet("lead_class", LeadClass.COLD.value))
        logger.info("followup.action_sent conversation=%s stage=%d final=%s", conversation, stage, final)
        return events
