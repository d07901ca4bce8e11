"""Tells the sales team about a hot lead, on WhatsApp through Evolution."""
from __future__ import annotations

import logging
import os
from typing import Optional

from observability.privacy import mask_phone
from sdr.vocabulary import LeadSource
from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
from whatsapp.settings import EvolutionSettings, load_settings

logger = logging.getLogger(__name__)

SALES_NUMBER_ENV = "SALES_WHATSAPP_NUMBER"


def format_phone(sender_id: str) -> str:
    """5511987654321 -> +55 11 98765-4321 (plain text: no link, no wa.me)."""
    if len(sender_id) in (12, 13) and sender_id.isdigit() and sender_id.startswith("55"):
        area, number = sender_id[2:4], sender_id[4:]
        return f"+55 {area} {number[:-4]}-{number[-4:]}"
    return f"+{sender_id}"


def source_line(source: Optional[str], campaign: Optional[str]) -> Optional[str]:
    """Which ad brought the lead, as the sales team reads it."""
    if source != LeadSource.CTWA_AD:
        return None
    return f"Origem: anúncio \"{campaign}\"" if campaign else "Origem: anúncio de WhatsApp"


def hot_lead_message(
    name: Optional[str], sender_id: str, summary: str,
    source: Optional[str] = None, campaign: Optional[str] = None,
) -> str:
    lines = [f"🔥 Lead quente: {name or 'sem nome'}", summary, source_line(source, campaign),
             f"Contato: {format_phone(sender_id)}"]
    return "\n".join(line for line in lines if line)


async def notify_sales(
    name: Optional[str], sender_id: str, summary: str, settings: Optional[EvolutionSettings] = None,
    *, source: Optional[str] = None, campaign: Optional[str] = None,
) -> bool:
    """True when the message reached Evolution; never raises (the lead's turn goes on)."""
    to = os.environ.get(SALES_NUMBER_ENV)
    if not to:
        logger.info("sales.not_notified: %s is not set", SALES_NUMBER_ENV)
        return False
    settings = settings or load_settings()
    if not settings.api_key:
        logger.warning("sales.not_notified: no EVOLUTION_API_KEY")
        return False
    try:
        async with EvolutionClient(settings.evolution_url, settings.api_key, settings.instance) as client:
            await client.send_text(to, hot_lead_message(name, sender_id, summary, source, campaign))
    except (EvolutionError, EvolutionUnavailable, ValueError) as error:
        logger.error("sales.not_notified lead=%s error=%s", mask_phone(sender_id), type(error).__name__)
        return False
    logger.info("sales.notified lead=%s", mask_phone(sender_id))
    return True
