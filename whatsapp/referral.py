"""Where a lead came from: the click-to-WhatsApp ad (Meta's "CTWA") a first message carries.

A lead who taps an ad's "Send message" button opens the chat with a message whose
``contextInfo.externalAdReply`` names the ad (title, body, sourceUrl, sourceId, sourceType "ad",
ctwaClid) and whose ``contextInfo`` has conversion fields (``conversionSource`` "FB_Ads",
``entryPointConversionSource``…). Evolution copies the content's contextInfo to
``data.contextInfo``; both places are read. Pure: dicts in, a small value out.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Optional

from whatsapp.scalars import MAX_LABEL_CHARS, short_text

__all__ = ["AdReferral", "ad_referral"]

# What Meta writes into conversion fields of a message that came from an ad.
AD_CONVERSION_SOURCES = frozenset({"fb_ads", "ctwa_ad", "ig_ads", "ads"})
MAX_URL_CHARS = 2048


@dataclass(frozen=True)
class AdReferral:
    source_type: Optional[str] = None
    source_id: Optional[str] = None
    source_url: Optional[str] = None
    title: Optional[str] = None
    body: Optional[str] = None
    ctwa_clid: Optional[str] = None
    conversion_source: Optional[str] = None

    @property
    def campaign(self) -> Optional[str]:
        """What the sales team calls the ad: its title, else its id."""
        return self.title or self.source_id

    def as_dict(self) -> dict[str, Optional[str]]:
        return asdict(self)


def _text(container: Mapping[str, Any], field: str, limit: int = MAX_LABEL_CHARS) -> Optional[str]:
    value = container.get(field)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # sourceId may arrive as a number
    text = short_text(value, limit)
    return text.strip() or None if text is not None else None


def _contexts(data: Mapping[str, Any], content: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [content.get("contextInfo"), data.get("contextInfo")]
    return [context for context in found if isinstance(context, Mapping)]


def ad_referral(data: Mapping[str, Any], content: Mapping[str, Any]) -> Optional[AdReferral]:
    """The ad behind this message (``data`` the upsert's data, ``content`` the unwrapped
    message content), or None for an ordinary message."""
    for context in _contexts(data, content):
        reply = context.get("externalAdReply")
        reply = reply if isinstance(reply, Mapping) else {}
        conversion = _text(context, "conversionSource") or _text(context, "entryPointConversionSource")
        source_type = _text(reply, "sourceType")
        is_ad = (
            bool(reply) and (source_type == "ad" or _text(reply, "ctwaClid") is not None
                             or reply.get("showAdAttribution") is True)
        ) or (conversion is not None and conversion.lower() in AD_CONVERSION_SOURCES)
        if not is_ad:
            continue
        return AdReferral(
            source_type=source_type,
            source_id=_text(reply, "sourceId"),
            source_url=_text(reply, "sourceUrl", MAX_URL_CHARS),
            title=_text(reply, "title"),
            body=_text(reply, "body", 1024),
            ctwa_clid=_text(reply, "ctwaClid"),
            conversion_source=conversion,
        )
    return None
