"""Evolution API v2.3.6 webhook bodies for tests, shaped as docs/evolution-api-v2.md describes.

`upsert(...)` returns a whole `messages.upsert` envelope (§1.4 around §2.2's data);
the `*_message` builders return `data.message` objects per type (§2.5). Values are
realistic but made up. `to_body` serialises like Evolution's axios (compact JSON,
UTF-8, non-ASCII left as is).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Sequence

INSTANCE = "solarprime"
INSTANCE_ID = "0b9c5f3e-6a1d-4c0e-9d7e-2f4a8b1c6e33"
SERVER_URL = "https://evo.example.com"
WEBHOOK_URL = "https://rasa.example.com/webhooks/evolution/webhook"
DATE_TIME = "2025-10-21T11:40:39.512Z"
TIMESTAMP = 1761057639

OWN_PHONE = "5511900001111"
OWN_JID = f"{OWN_PHONE}@s.whatsapp.net"
OWN_LID_JID = "98765432109876@lid"
CONTACT_PHONE = "5511987654321"
CONTACT_JID = f"{CONTACT_PHONE}@s.whatsapp.net"
CONTACT_LID = "214748364712345"
CONTACT_LID_JID = f"{CONTACT_LID}@lid"
GROUP_JID = "120363025246125244@g.us"
NEWSLETTER_JID = "120363144038483540@newsletter"
KEY_ID = "3EB0A1B2C3D4E5F6A7B8C9"
QUOTED_ID = "3EB0C0FFEE1234567890AB"
ENCRYPTED_URL = (
    "https://mmg.whatsapp.net/v/t62.7118-24/31158881_1025772_n.enc?ccb=11-4&oh=01_Q5Aa&oe=68F0&_nc_sid=5e03e0"
)
S3_URL = (
    "https://minio.example.com/evolution-api/0b9c5f3e/5511987654321%40s.whatsapp.net/"
    "imageMessage/1761057639_3EB0A1B2C3D4E5F6A7B8C9.jpeg?X-Amz-Signature=abc123"
)
# Decrypted bytes as Evolution inlines them with webhookBase64 (a tiny OGG header here).
AUDIO_BASE64 = "T2dnUwACAAAAAAAAAAB6WwAAAAAAAKn5Lm4BE09wdXNIZWFk"

# Keys Baileys never puts first: getContentType skips them.
_NOT_CONTENT = ("messageContextInfo", "senderKeyDistributionMessage")


def index_bytes(values: Sequence[int]) -> Dict[str, int]:
    """A Uint8Array as Evolution serialises it in upserts: {"0": 12, "1": 200, ...} (§2.4)."""
    return {str(index): value for index, value in enumerate(values)}


def long_value(value: int, unsigned: bool = True) -> Dict[str, Any]:
    """A protobufjs Long as it reaches JSON: {"low", "high", "unsigned"} (§2.4)."""
    low = value & 0xFFFFFFFF
    high = (value >> 32) & 0xFFFFFFFF
    if not unsigned:
        low = low - 2**32 if low >= 2**31 else low
        high = high - 2**32 if high >= 2**31 else high
    return {"low": low, "high": high, "unsigned": unsigned}


def message_context_info() -> Dict[str, Any]:
    return {
        "deviceListMetadata": {
            "senderKeyHash": index_bytes([18, 52, 86, 120]),
            "senderTimestamp": long_value(1760884839),
        },
        "deviceListMetadataVersion": 2,
        "messageSecret": index_bytes([9, 8, 7, 6, 5, 4, 3, 2]),
    }


def _media_fields(mimetype: str, length: int) -> Dict[str, Any]:
    return {
        "url": ENCRYPTED_URL,
        "mimetype": mimetype,
        "fileSha256": index_bytes([101, 22, 3, 44]),
        "fileLength": long_value(length),
        "mediaKey": index_bytes([1, 2, 3, 4, 5, 6]),
        "fileEncSha256": index_bytes([7, 8, 9, 10]),
        "directPath": "/v/t62.7118-24/31158881_1025772_n.enc?ccb=11-4&oh=01_Q5Aa&oe=68F0",
        "mediaKeyTimestamp": long_value(1761057630, unsigned=False),
    }


# --- data.message per type (§2.5) ---------------------------------------------------


def text_message(text: str = "Oi, quero um orçamento") -> Dict[str, Any]:
    """Plain text, and every extendedTextMessage after Evolution's rewrite."""
    return {"conversation": text, "messageContextInfo": message_context_info()}


def extended_text_message(
    text: str = "oi", context_info: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """The raw form, which survives only inside wrappers (Evolution rewrites it at top level)."""
    context = dict(context_info or {"expiration": 604800})
    return {"extendedTextMessage": {"text": text, "contextInfo": context}}


def image_message(caption: Optional[str] = "Minha conta de luz", *, base64: Optional[str] = None,
                  media_url: Optional[str] = None) -> Dict[str, Any]:
    image: Dict[str, Any] = {**_media_fields("image/jpeg", 183245), "height": 1600, "width": 1200,
                             "jpegThumbnail": index_bytes([255, 216, 255, 224])}
    if caption is not None:
        image["caption"] = caption
    return _with_evolution_media({"imageMessage": image, "messageContextInfo": message_context_info()},
                                 base64, media_url)


def audio_message(*, ptt: bool = True, seconds: int = 4, speech_to_text: Optional[str] = None,
                  base64: Optional[str] = None, media_url: Optional[str] = None) -> Dict[str, Any]:
    audio = {**_media_fields("audio/ogg; codecs=opus", 8421), "seconds": seconds, "ptt": ptt,
             "waveform": index_bytes([0, 12, 40, 63, 30, 2])}
    message: Dict[str, Any] = {"audioMessage": audio, "messageContextInfo": message_context_info()}
    if speech_to_text is not None:
        message["speechToText"] = speech_to_text
    return _with_evolution_media(message, base64, media_url)


def video_message(caption: Optional[str] = "Veja o telhado", *, seconds: int = 12, round_note: bool = False,
                  base64: Optional[str] = None) -> Dict[str, Any]:
    video: Dict[str, Any] = {**_media_fields("video/mp4", 2_345_678), "seconds": seconds, "height": 848,
                             "width": 480, "gifPlayback": False, "jpegThumbnail": index_bytes([255, 216])}
    if caption is not None:
        video["caption"] = caption
    return _with_evolution_media({"ptvMessage" if round_note else "videoMessage": video}, base64, None)


def document_fields(
    file_name: str = "conta-cemig-setembro.pdf", caption: Optional[str] = None
) -> Dict[str, Any]:
    document: Dict[str, Any] = {**_media_fields("application/pdf", 254_003), "title": file_name,
                                "fileName": file_name, "pageCount": 2}
    if caption is not None:
        document["caption"] = caption
    return document


def document_message(file_name: str = "conta-cemig-setembro.pdf", caption: Optional[str] = None, *,
                     base64: Optional[str] = None) -> Dict[str, Any]:
    """A document as the webhook carries it, documentWithCaptionMessage already rewritten (§2.2)."""
    return _with_evolution_media({"documentMessage": document_fields(file_name, caption)}, base64, None)


def document_with_caption_message(
    file_name: str = "proposta.pdf", caption: str = "Segue a conta"
) -> Dict[str, Any]:
    """The raw wrapper, as found inside ephemeral/view-once wrappers."""
    return wrapped("documentWithCaptionMessage", {"documentMessage": document_fields(file_name, caption)})


def sticker_message() -> Dict[str, Any]:
    sticker = {**_media_fields("image/webp", 21_034), "height": 512, "width": 512, "isAnimated": False,
               "isAvatar": False, "isAiSticker": False, "isLottie": False}
    return {"stickerMessage": sticker}


def location_message(
    latitude: float = -23.5505199,
    longitude: float = -46.6333094,
    *,
    name: Optional[str] = "Casa",
    address: Optional[str] = "Rua Augusta, 1000 - São Paulo",
) -> Dict[str, Any]:
    location: Dict[str, Any] = {"degreesLatitude": latitude, "degreesLongitude": longitude,
                                "jpegThumbnail": index_bytes([255, 216])}
    if name is not None:
        location["name"] = name
    if address is not None:
        location["address"] = address
    return {"locationMessage": location}


def live_location_message(latitude: float = -22.9068467, longitude: float = -43.1728965,
                          caption: str = "Estou aqui") -> Dict[str, Any]:
    return {"liveLocationMessage": {
        "degreesLatitude": latitude, "degreesLongitude": longitude, "accuracyInMeters": 20,
        "caption": caption, "sequenceNumber": long_value(1),
    }}


def vcard(name: str, phone: str, formatted: str) -> str:
    return (
        "BEGIN:VCARD\nVERSION:3.0\nN:;" + name + ";;;\nFN:" + name + "\n"
        "item1.TEL;waid=" + phone + ":" + formatted + "\nitem1.X-ABLabel:Celular\nEND:VCARD"
    )


def contact_message(name: str = "João Eletricista", phone: str = "5531991234567",
                    formatted: str = "+55 31 99123-4567") -> Dict[str, Any]:
    return {"contactMessage": {"displayName": name, "vcard": vcard(name, phone, formatted)}}


def contacts_array_message(people: Sequence[Sequence[str]] = (
    ("Ana Lima", "5521998765432", "+55 21 99876-5432"),
    ("Carlos Souza", "5511912345678", "+55 11 91234-5678"),
)) -> Dict[str, Any]:
    contacts = [
        {"displayName": name, "vcard": vcard(name, phone, formatted)} for name, phone, formatted in people
    ]
    return {"contactsArrayMessage": {"displayName": f"{len(contacts)} contatos", "contacts": contacts}}


def reaction_message(emoji: str = "👍", target_id: str = QUOTED_ID) -> Dict[str, Any]:
    return {"reactionMessage": {"key": {"remoteJid": CONTACT_JID, "fromMe": True, "id": target_id},
                                "text": emoji, "senderTimestampMs": long_value(1761057639123)}}


def _reply_context(stanza_id: str = QUOTED_ID) -> Dict[str, Any]:
    return {"stanzaId": stanza_id, "participant": OWN_JID,
            "quotedMessage": {"conversation": "Escolha uma opção"}}


def buttons_response_message(button_id: str = "property_residencial", text: str = "Casa") -> Dict[str, Any]:
    return {"buttonsResponseMessage": {"selectedButtonId": button_id, "selectedDisplayText": text, "type": 1,
                                       "contextInfo": _reply_context()}}


def list_response_message(row_id: str = "imovel_casa", title: str = "Casa") -> Dict[str, Any]:
    return {"listResponseMessage": {
        "title": title, "listType": 1, "singleSelectReply": {"selectedRowId": row_id},
        "description": "Residencial", "contextInfo": _reply_context(),
    }}


def template_button_reply_message(
    selected_id: str = "timeline_30_dias", text: str = "Em 30 dias"
) -> Dict[str, Any]:
    return {"templateButtonReplyMessage": {"selectedId": selected_id, "selectedDisplayText": text,
                                           "selectedIndex": 1, "contextInfo": _reply_context()}}


def interactive_response_message(button_id: str = "/affirm", text: str = "Sim",
                                 params_json: Optional[str] = None) -> Dict[str, Any]:
    params = params_json if params_json is not None else json.dumps({"id": button_id, "display_text": text})
    return {"interactiveResponseMessage": {
        "body": {"text": text, "format": 0},
        "nativeFlowResponseMessage": {"name": "quick_reply", "paramsJson": params, "version": 3},
        "contextInfo": _reply_context(),
    }}


def poll_creation_message() -> Dict[str, Any]:
    return {"pollCreationMessageV3": {"name": "Melhor horário?", "options": [{"optionName": "Manhã"},
                                                                               {"optionName": "Tarde"}],
                                      "selectableOptionsCount": 1}}


def protocol_message() -> Dict[str, Any]:
    return {"protocolMessage": {"key": {"remoteJid": CONTACT_JID, "fromMe": False, "id": QUOTED_ID},
                                "type": 0}}


def poll_update_message() -> Dict[str, Any]:
    return {"pollUpdateMessage": {"pollCreationMessageKey": {"remoteJid": CONTACT_JID, "fromMe": True,
                                                             "id": QUOTED_ID},
                                  "vote": {"encPayload": index_bytes([1, 2]), "encIv": index_bytes([3, 4])}}}


def edited_message(text: str = "texto corrigido") -> Dict[str, Any]:
    return {"editedMessage": {"message": {"protocolMessage": {
        "key": {"remoteJid": CONTACT_JID, "fromMe": False, "id": QUOTED_ID}, "type": 14,
        "editedMessage": {"conversation": text}}}}}


def wrapped(wrapper: str, inner: Mapping[str, Any]) -> Dict[str, Any]:
    """ephemeralMessage / viewOnceMessage* / documentWithCaptionMessage around `inner` (§2.5)."""
    return {wrapper: {"message": dict(inner)}}


def _with_evolution_media(
    message: Dict[str, Any], base64: Optional[str], media_url: Optional[str]
) -> Dict[str, Any]:
    # Evolution puts these next to the content, at data.message (§2.6).
    if base64 is not None:
        message["base64"] = base64
    if media_url is not None:
        message["mediaUrl"] = media_url
    return message


# --- envelopes (§1.4) -----------------------------------------------------------------


def content_type(message: Mapping[str, Any]) -> str:
    """Baileys' getContentType, which is what Evolution reports as messageType."""
    for name in message:
        if name in _NOT_CONTENT:
            continue
        if name == "conversation" or "Message" in name:
            return name
    return "unknown"


def envelope(
    event: str, data: Any, *, instance: str = INSTANCE, sender: Optional[str] = OWN_JID
) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "event": event,
        "instance": instance,
        "data": data,
        "destination": WEBHOOK_URL,
        "date_time": DATE_TIME,
        "server_url": SERVER_URL,
        "apikey": None,
    }
    if sender is not None:
        body["sender"] = sender
    return body


def upsert(
    message: Optional[Mapping[str, Any]] = None,
    message_type: Optional[str] = None,
    remote_jid: str = CONTACT_JID,
    from_me: bool = False,
    key_id: str = KEY_ID,
    push_name: Optional[str] = "Maria Souza",
    remote_jid_alt: Optional[str] = None,
    timestamp: Optional[float] = TIMESTAMP,
    extra_data: Optional[Mapping[str, Any]] = None,
    *,
    participant: str = "",
    context_info: Optional[Mapping[str, Any]] = None,
    instance: str = INSTANCE,
    event: str = "messages.upsert",
) -> Dict[str, Any]:
    """A whole `messages.upsert` envelope; `extra_data` is merged over `data` last.

    timestamp=None leaves messageTimestamp out; remote_jid_alt=None leaves
    remoteJidAlt out (JSON.stringify drops undefined values).
    """
    body_message = dict(message) if message is not None else text_message()
    key: Dict[str, Any] = {
        "remoteJid": remote_jid,
        "fromMe": from_me,
        "id": key_id,
        "participant": participant,
        "addressingMode": "lid" if remote_jid.endswith("@lid") else "pn",
    }
    if remote_jid_alt is not None:
        key["remoteJidAlt"] = remote_jid_alt
    data: Dict[str, Any] = {
        "key": key,
        "pushName": push_name,
        "status": "SERVER_ACK" if from_me else "DELIVERY_ACK",
        "message": body_message,
        "messageType": message_type or content_type(body_message),
        "instanceId": INSTANCE_ID,
        "source": "android",
    }
    if context_info is not None:
        data["contextInfo"] = dict(context_info)
    if timestamp is not None:
        data["messageTimestamp"] = timestamp
    if extra_data:
        data.update(extra_data)
    return envelope(event, data, instance=instance)


def receipt(status: Any = "READ", key_id: str = KEY_ID, remote_jid: str = CONTACT_JID,
            from_me: bool = True) -> Dict[str, Any]:
    """A `messages.update` envelope (§3.1)."""
    return envelope("messages.update", {"keyId": key_id, "remoteJid": remote_jid, "fromMe": from_me,
                                        "status": status, "instanceId": INSTANCE_ID,
                                        "messageId": "cmh0x9y8z0001qk3l2m4n5o6p"})


def connection(state: str = "open", status_reason: Any = 200) -> Dict[str, Any]:
    """A `connection.update` envelope (§3.4)."""
    data: Dict[str, Any] = {"instance": INSTANCE, "state": state, "statusReason": status_reason}
    if state == "open":
        data.update(wuid=OWN_JID, profileName="SolarPrime",
                    profilePictureUrl="https://pps.whatsapp.net/v/t61/1.jpg")
    return envelope("connection.update", data)


def to_body(value: Any) -> bytes:
    """JSON bytes as Evolution's axios sends them."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def upsert_body(message: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> bytes:
    return to_body(upsert(message, **kwargs))
