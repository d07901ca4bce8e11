"""Arguments checked and JSON bodies shaped before `EvolutionClient` sends them.

What Evolution accepts (media types, presences, http(s) URLs), media given as a data URI
reduced to the bare base64 Evolution wants (§4.4), typing delays, caller-supplied endpoint
paths, and optional fields left out rather than sent as null.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional
from urllib.parse import unquote, urlsplit

__all__ = [
    "MEDIATYPES",
    "PRESENCES",
    "is_http_url",
    "split_data_uri",
    "check_delay",
    "validated_custom_path",
    "plain",
    "put_if_set",
]

MEDIATYPES = frozenset({"image", "video", "audio", "document"})
PRESENCES = frozenset({"composing", "recording", "paused", "available", "unavailable"})
_HTTP_URL = re.compile(r"^https?://", re.IGNORECASE)
_DATA_URI = re.compile(r"^data:(?P<mimetype>[^;,]*)(?:;[^,]*)?;base64,", re.IGNORECASE)


def is_http_url(url: Optional[str]) -> bool:
    return bool(_HTTP_URL.match(url or ""))


def split_data_uri(media: str, mimetype: Optional[str]) -> tuple[str, Optional[str]]:
    # Evolution's isBase64 check rejects a data: prefix with 400 (§4.4); send the bare payload.
    match = _DATA_URI.match(media)
    if not match:
        return media, mimetype
    return media[match.end():], mimetype or (match.group("mimetype") or None)


def check_delay(delay_ms: Optional[int]) -> None:
    if delay_ms is not None and delay_ms < 0:
        raise ValueError(f"delay_ms must not be negative, got {delay_ms}")


def validated_custom_path(endpoint: str) -> str:
    if not isinstance(endpoint, str) or not endpoint.startswith("/") or endpoint.startswith("//"):
        raise ValueError("endpoint must be a path that starts with a single '/'")
    if "://" in endpoint or "\\" in endpoint or "#" in endpoint:
        raise ValueError("endpoint must be a relative path, not a URL")
    if any(char.isspace() or ord(char) < 0x20 for char in endpoint):
        raise ValueError("endpoint must not contain whitespace or control characters")
    path = urlsplit(endpoint).path
    if any(segment in ("..", ".") for segment in unquote(path).split("/")):
        raise ValueError("endpoint must not contain '.' or '..' segments")
    return endpoint


def plain(value: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    return dict(value) if value is not None else None


def put_if_set(body: dict[str, Any], **fields: Any) -> None:
    body.update({name: value for name, value in fields.items() if value is not None})
