"""The bytes of a lead's photo, PDF or voice note, for the actions that read them.

Evolution gives them in one of two ways (docs: evolution-api-v2.md §2.6, P7): the
webhook's own base64, which the channel keeps in Redis for a day, or on request
through `getBase64FromMediaMessage`. The tracker only ever holds a reference.
"""
from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, Mapping, Optional

from redis.exceptions import RedisError

from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
from whatsapp.settings import EvolutionSettings, load_settings
from whatsapp.store import ChannelStore

logger = logging.getLogger(__name__)

class MediaUnavailable(Exception):
    """str() is a short reason, safe to log."""


def _decode(data: str) -> bytes:
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MediaUnavailable("media is not valid base64") from error


async def fetch_media(
    message: Mapping[str, Any], reply_jid: str, *, max_bytes: int,
    settings: Optional[EvolutionSettings] = None,
) -> bytes:
    """Bytes of one media message (`message`: an entry of the channel's metadata)."""
    settings = settings or load_settings()
    declared = (message.get("media") or {}).get("size_bytes")
    if isinstance(declared, int) and declared > max_bytes:
        raise MediaUnavailable("file too big")
    message_id = message["message_id"]
    data = await _from_webhook(settings, message_id)
    if data is None:
        data = await _from_evolution(settings, message_id, reply_jid)
    raw = _decode(data)
    if len(raw) > max_bytes:
        raise MediaUnavailable("file too big")
    return raw


async def _from_webhook(settings: EvolutionSettings, message_id: str) -> Optional[str]:
    store = ChannelStore.connect(
        host=settings.redis_host, port=settings.redis_port, db=settings.redis_db,
        password=settings.redis_password, prefix=settings.redis_prefix,
    )
    try:
        return await store.media(message_id)
    except (RedisError, OSError):
        logger.warning("media.redis_unavailable: asking Evolution for the file")
        return None
    finally:
        await store.close()


async def _from_evolution(settings: EvolutionSettings, message_id: str, reply_jid: str) -> str:
    if not settings.api_key:
        raise MediaUnavailable("no Evolution API key to fetch the file")
    key = {"id": message_id, "remoteJid": reply_jid, "fromMe": False}
    try:
        async with EvolutionClient(settings.evolution_url, settings.api_key, settings.instance) as client:
            answer = await client.get_base64_from_media_message({"key": key})
    except (EvolutionError, EvolutionUnavailable) as error:
        raise MediaUnavailable(f"Evolution could not give the file ({type(error).__name__})") from error
    data = answer.get("base64") if isinstance(answer, dict) else None
    if not data:
        raise MediaUnavailable("Evolution returned no file")
    return data
