"""Human take-over from the UI: pause the assistant for one conversation, write
to the lead through Evolution, give the conversation back.

Two things pause the assistant, and both are set: the channel's hold key
(ChannelStore.hold_for_human: the Evolution channel then logs the lead's
messages without answering) and a ConversationPaused event in the tracker
(Rasa itself then predicts nothing, whatever the channel). The operator's
messages go into the tracker as BotUttered events marked
`metadata.review.operator`, through Rasa's HTTP API so Rasa's lock store
serialises them with the lead's turns.

Hand-back appends ConversationResumed and, when lead_status is
atendimento_humano, sets it back to the status the lead had before a person
took over (the last other value in the tracker; `novo` if there was none).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Sequence

import httpx

from observability.privacy import mask_phone
from review.settings import ReviewSettings
from review.tracker_parse import current_slots, last_status_before_human
from sdr.vocabulary import INITIAL_LEAD_STATUS, LeadStatus
from whatsapp.client import EvolutionClient
from whatsapp.store import ChannelStore

logger = logging.getLogger(__name__)

STATUS_HUMAN = LeadStatus.HUMAN.value
MAX_OPERATOR_TEXT = 4096
# How long one typing signal shows on the lead's phone; the page sends the next one sooner.
TYPING_MS = 4000


class TakeoverError(RuntimeError):
    """Something outside the UI (Rasa, Evolution) refused; the message is for the operator."""


class Takeover:
    def __init__(self, settings: ReviewSettings, store: ChannelStore) -> None:
        self.settings = settings
        self.store = store

    async def is_held(self, sender_id: str) -> bool:
        return await self.store.human_is_talking(sender_id)

    async def take(self, sender_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        await self.store.hold_for_human(sender_id)
        appended: List[Dict[str, Any]] = [{"event": "pause"}]
        if current_slots(events).get("lead_status") != STATUS_HUMAN:
            appended.append({"event": "slot", "name": "lead_status", "value": STATUS_HUMAN})
        await self._append(sender_id, appended)
        logger.info("review.takeover sender=%s", mask_phone(sender_id))

    async def give_back(self, sender_id: str, events: Sequence[Mapping[str, Any]]) -> str:
        """Returns the lead_status the conversation now has."""
        appended: List[Dict[str, Any]] = [{"event": "resume"}]
        status = current_slots(events).get("lead_status") or INITIAL_LEAD_STATUS.value
        if status == STATUS_HUMAN:
            status = last_status_before_human(events)
            appended.append({"event": "slot", "name": "lead_status", "value": status})
        await self._append(sender_id, appended)
        await self.store.release_human(sender_id)
        logger.info("review.handback sender=%s", mask_phone(sender_id))
        return status

    async def send(self, sender_id: str, text: str) -> Optional[str]:
        """Sends the operator's text to the lead, then records it in the conversation."""
        text = text.strip()[:MAX_OPERATOR_TEXT]
        if not text:
            raise TakeoverError("mensagem vazia")
        if not self.settings.evolution_api_key:
            raise TakeoverError("EVOLUTION_API_KEY não configurada: não é possível enviar")
        jid = await self.store.reply_jid(sender_id) or f"{sender_id}@s.whatsapp.net"
        try:
            async with EvolutionClient(self.settings.evolution_url, self.settings.evolution_api_key,
                                       self.settings.evolution_instance, max_retries=1) as client:
                sent = await client.send_text(jid, text)
        except Exception as error:  # EvolutionError, EvolutionUnavailable, transport errors
            logger.warning(
                "review.operator_send_failed sender=%s error=%s", mask_phone(sender_id), type(error).__name__
            )
            raise TakeoverError("a Evolution API não aceitou a mensagem") from error
        message_id = ((sent or {}).get("key") or {}).get("id") if isinstance(sent, dict) else None
        metadata: Dict[str, Any] = {"review": {"operator": True}}
        if message_id:
            metadata["message_id"] = message_id
        await self._append(sender_id, [{"event": "bot", "text": text, "metadata": metadata}])
        return message_id

    async def typing(self, sender_id: str, delay_ms: int = TYPING_MS) -> None:
        """Shows the lead "digitando…" while the operator writes (Evolution's sendPresence).
        Best effort: the lead missing a typing hint is no error worth an operator's attention."""
        if not self.settings.evolution_api_key:
            return
        jid = await self.store.reply_jid(sender_id) or f"{sender_id}@s.whatsapp.net"
        try:
            async with EvolutionClient(self.settings.evolution_url, self.settings.evolution_api_key,
                                       self.settings.evolution_instance, max_retries=0) as client:
                await client.send_presence(jid, presence="composing", delay_ms=delay_ms)
        except Exception as error:  # EvolutionError, EvolutionUnavailable, transport errors
            logger.info("review.typing_failed sender=%s error=%s", mask_phone(sender_id), type(error).__name__)

    async def _append(self, sender_id: str, events: List[Dict[str, Any]]) -> None:
        if not self.settings.rasa_auth_token:
            raise TakeoverError("RASA_AUTH_TOKEN não configurado: o UI não consegue gravar na conversa")
        url = f"{self.settings.rasa_url}/conversations/{sender_id}/tracker/events"
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(url, json=events, params={"token": self.settings.rasa_auth_token,
                                                                       "include_events": "NONE"})
        except httpx.HTTPError as error:
            raise TakeoverError("o servidor Rasa não respondeu") from error
        if response.status_code != 200:
            logger.warning("review.rasa_append_failed status=%d", response.status_code)
            raise TakeoverError(f"o servidor Rasa recusou ({response.status_code})")
