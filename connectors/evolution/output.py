"""The assistant's replies on their way to WhatsApp: Rasa's output channel for Evolution, and
the outbox that holds replies while Evolution cannot take them.

A reply goes out at once unless earlier replies still wait in the outbox (order is kept); a
reply Evolution could not take is queued in Redis and sent by ``drain_outbox`` once Evolution
answers again. A send that may have reached WhatsApp (a timeout after the request went out) is
never repeated: a duplicate message is worse than a late one (P12).
"""
from __future__ import annotations

import logging
import mimetypes
import time
from typing import Any, Dict, List, Mapping, Optional

from rasa.core.channels.channel import OutputChannel
from redis.exceptions import RedisError

from whatsapp.client import EvolutionClient, EvolutionError, EvolutionUnavailable
from whatsapp.outbound import media_file_name, mediatype_for, render_buttons, split_text, typing_delay_ms
from whatsapp.settings import EvolutionSettings
from whatsapp.store import ChannelStore
from whatsapp.turn_metadata import METADATA_KEY

__all__ = ["CHANNEL_NAME", "OUTBOX_OPERATIONS", "EvolutionOutput", "deliver", "drain_outbox"]

logger = logging.getLogger(__name__)

CHANNEL_NAME = METADATA_KEY
# The client calls a queued reply may name: anything else in the outbox is not ours to run.
OUTBOX_OPERATIONS = frozenset({"send_text", "send_media", "post_custom"})


class EvolutionOutput(OutputChannel):
    """Sends the assistant's messages to one WhatsApp chat through Evolution."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(
        self,
        client: EvolutionClient,
        store: ChannelStore,
        settings: EvolutionSettings,
        reply_jid: Optional[str] = None,
        quoted: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.reply_jid = reply_jid
        self.quoted = quoted
        self._quote_pending = settings.quote_replies and quoted is not None

    async def _jid(self, recipient_id: str) -> str:
        if self.reply_jid:
            return self.reply_jid
        if "@" in recipient_id:  # already a JID (a group, for the weekly report)
            return recipient_id
        try:
            known = await self.store.reply_jid(recipient_id)
        except RedisError:
            known = None
        return known or f"{recipient_id}@s.whatsapp.net"

    def _take_quote(self) -> Optional[Dict[str, Any]]:
        if not self._quote_pending:
            return None
        self._quote_pending = False
        return self.quoted

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        jid = await self._jid(recipient_id)
        for chunk in split_text(text, self.settings.max_text_chars):
            call: Dict[str, Any] = {"number": jid, "text": chunk}
            if self.settings.typing_delay:
                call["delay_ms"] = typing_delay_ms(
                    chunk,
                    per_char_ms=self.settings.typing_ms_per_char,
                    min_ms=self.settings.typing_min_ms,
                    max_ms=self.settings.typing_max_ms,
                )
            quoted = self._take_quote()
            if quoted:
                call["quoted"] = quoted
            await deliver(self.client, self.store, "send_text", call, conversation_id=recipient_id)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        # WhatsApp-Web (Baileys) no longer renders buttons: offer numbered options
        # and remember them, so "1" or the option's text maps back to its payload.
        try:
            await self.store.offer_buttons(recipient_id, buttons)
        except RedisError:
            logger.warning("evolution.buttons_not_stored")
        await self.send_text_message(recipient_id, render_buttons(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send_media(recipient_id, image, "image/jpeg", kwargs.get("text"))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, dict):
            url = attachment.get("url") or attachment.get("payload", {}).get("src")
            mimetype = attachment.get("mimetype") or attachment.get("type")
            if url:
                await self._send_media(recipient_id, url, mimetype, attachment.get("caption"))
                return
        if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
            await self._send_media(recipient_id, attachment, None, None)
            return
        await self.send_text_message(recipient_id, str(attachment))

    async def _send_media(
        self, recipient_id: str, url: str, mimetype: Optional[str], caption: Optional[str]
    ) -> None:
        jid = await self._jid(recipient_id)
        file_name = media_file_name(url, mimetype)
        call: Dict[str, Any] = {
            "number": jid,
            "mediatype": mediatype_for(mimetype) if mimetype else mediatype_for(_guess_mimetype(file_name)),
            "media": url,
            "file_name": file_name,
        }
        if mimetype:
            call["mimetype"] = mimetype
        if caption:
            call["caption"] = caption
        await deliver(self.client, self.store, "send_media", call)

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        custom = json_message.get(CHANNEL_NAME) if isinstance(json_message, dict) else None
        if not isinstance(custom, dict) or not custom.get("endpoint"):
            logger.warning("evolution.custom_json_ignored: expected {'evolution': {'endpoint', 'body'}}")
            return
        body = dict(custom.get("body") or {})
        body.setdefault("number", await self._jid(recipient_id))
        await deliver(self.client, self.store, "post_custom", {"endpoint": custom["endpoint"], "body": body})


def _guess_mimetype(file_name: str) -> str:
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"


async def deliver(
    client: EvolutionClient, store: ChannelStore, operation: str, call: Dict[str, Any],
    conversation_id: Optional[str] = None,
) -> None:
    """Sends now, or queues behind earlier replies that Evolution could not take yet.
    A text sent now is remembered with its WhatsApp id (`remember_sent`) for its receipts."""
    try:
        backlog = await store.outbox_size()
    except RedisError:
        backlog = 0
    if backlog:
        await _queue(client, store, operation, call)
        return
    try:
        sent = await getattr(client, operation)(**call)
    except EvolutionUnavailable as error:
        if error.maybe_delivered:
            # The request went out and timed out: resending could duplicate it (P12).
            logger.error("evolution.send_uncertain op=%s: not resent to avoid a duplicate", operation)
            return
        logger.warning("evolution.send_deferred op=%s reason=%s", operation, error)
        await _queue(client, store, operation, call)
    except EvolutionError as error:
        # A 4xx will not succeed on retry (unknown number, bad request): log and move on.
        logger.error("evolution.send_rejected op=%s status=%s", operation, error.status)
    except (ValueError, TypeError) as error:
        # A custom payload the client refuses (unsafe endpoint, unknown media type).
        logger.error("evolution.send_invalid op=%s error=%s", operation, error)
    else:
        message_id = (sent.get("key") or {}).get("id") if isinstance(sent, dict) else None
        if conversation_id and message_id:
            try:
                await store.remember_sent(conversation_id, message_id, call.get("text") or "", time.time())
            except RedisError:
                logger.warning("evolution.sent_id_not_kept")


async def _queue(client: EvolutionClient, store: ChannelStore, operation: str, call: Dict[str, Any]) -> None:
    try:
        await store.queue_outgoing({"operation": operation, "call": call, "instance": client.instance})
    except RedisError:
        logger.error("evolution.reply_lost op=%s: Evolution and Redis both unavailable", operation)


async def drain_outbox(client: EvolutionClient, store: ChannelStore) -> None:
    """Sends queued replies, oldest first, until the outbox is empty or Evolution is still down.

    Every item leaves the queue except one Evolution could not take yet: an item that can never
    be sent (refused by Evolution, or one the client rejects as invalid) must not hold back every
    reply queued behind it. RedisError propagates: the caller retries later.
    """
    while True:
        queued = await store.peek_outgoing()
        if queued is None:
            return
        instance = queued.get("instance")
        through = client.for_instance(instance if isinstance(instance, str) else None)
        if not await _send_queued(through, queued):
            return  # still down: try again later, order kept
        await store.drop_outgoing()


async def _send_queued(client: EvolutionClient, queued: Mapping[str, Any]) -> bool:
    """One queued reply: False when Evolution is down and it must stay queued, else True."""
    operation = queued.get("operation")
    call = queued.get("call")
    if operation not in OUTBOX_OPERATIONS or not isinstance(call, dict):
        logger.error("evolution.queued_send_invalid op=%s: not a reply this channel queued; dropped",
                     operation if isinstance(operation, str) else type(operation).__name__)
        return True
    try:
        await getattr(client, operation)(**call)
    except EvolutionUnavailable as error:
        if not error.maybe_delivered:
            return False
        logger.error("evolution.queued_send_uncertain op=%s: not resent to avoid a duplicate", operation)
    except EvolutionError as error:
        logger.error("evolution.queued_send_rejected op=%s status=%s", operation, error.status)
    except (ValueError, TypeError) as error:
        # The client refuses the payload itself (unsafe endpoint, bad media): it never will take it.
        logger.error("evolution.queued_send_invalid op=%s error=%s", operation, error)
    else:
        logger.info("evolution.queued_send_delivered op=%s", operation)
    return True
