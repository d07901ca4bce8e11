"""Media in an inbound message turned into a `MediaRef`: a reference, never the bytes.

Which content types are media and of what kind, the sender's file name made safe, a
``mediaUrl`` worth downloading, the base64 Evolution inlines with ``webhookBase64``, and
the transcript Evolution's speech-to-text writes next to a voice note.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

from whatsapp.scalars import byte_count, mapping_or_empty, short_text, small_count, text_field

__all__ = [
    "MEDIA_KINDS",
    "CAPTIONED_KINDS",
    "MediaRef",
    "inline_base64",
    "media_ref",
    "speech_to_text",
]

_MAX_URL_CHARS = 4_096

MEDIA_KINDS: Dict[str, str] = {
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
}
CAPTIONED_KINDS = frozenset({"image", "video", "document"})
_SPEECH_TO_TEXT_PREFIX = "[audio]"


@dataclass(frozen=True)
class MediaRef:
    """A reference to media: never the bytes or base64 themselves."""

    kind: str
    mimetype: Optional[str]
    file_name: Optional[str]
    size_bytes: Optional[int]
    seconds: Optional[int]
    is_voice_note: bool
    has_inline_base64: bool
    media_url: Optional[str]


def _file_name(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    # The sender chooses this name: keep no directories and no invisible or
    # bidi characters, so it cannot steer a path or disguise an extension.
    base = re.split(r"[\\/]", value)[-1]
    cleaned = "".join(char for char in base if unicodedata.category(char) not in ("Cc", "Cf")).strip()
    if cleaned in ("", ".", "..") or len(cleaned) > 255:
        return None
    return cleaned


def _media_url(value: Any) -> Optional[str]:
    if not isinstance(value, str) or len(value) > _MAX_URL_CHARS or not value.isascii():
        return None
    if any(char.isspace() or ord(char) < 32 for char in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    # WhatsApp's CDN serves encrypted blobs that are useless without the media key.
    if parts.hostname.endswith("whatsapp.net") or parts.path.endswith(".enc"):
        return None
    return value


def inline_base64(data: Mapping[str, Any]) -> Optional[str]:
    """The media bytes Evolution inlines with `webhookBase64` on, as sent (base64)."""
    message = data.get("message") if isinstance(data, Mapping) else None
    if not isinstance(message, Mapping):
        return None
    value = message.get("base64")
    if isinstance(value, str) and value:
        return value
    return None


def media_ref(kind: str, media: Mapping[str, Any], data: Mapping[str, Any]) -> MediaRef:
    outer = mapping_or_empty(data.get("message"))
    return MediaRef(
        kind=kind,
        mimetype=short_text(media.get("mimetype"), 255),
        file_name=_file_name(media.get("fileName")) if kind == "document" else None,
        size_bytes=byte_count(media.get("fileLength")),
        seconds=small_count(media.get("seconds")) if kind in ("audio", "video") else None,
        is_voice_note=kind == "audio" and media.get("ptt") is True,
        has_inline_base64=inline_base64(data) is not None,
        media_url=_media_url(outer.get("mediaUrl")),
    )


def speech_to_text(data: Mapping[str, Any], content: Mapping[str, Any]) -> str:
    # Evolution writes the transcript next to audioMessage at data.message,
    # even when the audio itself sits inside a wrapper.
    outer = mapping_or_empty(data.get("message"))
    text = text_field(outer, "speechToText") or text_field(content, "speechToText")
    if text.startswith(_SPEECH_TO_TEXT_PREFIX):
        text = text[len(_SPEECH_TO_TEXT_PREFIX):]
    return text.strip()
