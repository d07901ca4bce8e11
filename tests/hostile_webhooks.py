"""Malformed and hostile webhook bodies the Evolution channel must refuse with a 4xx.

Each entry starts from a realistic `messages.upsert` (tests/evolution_samples.py)
and breaks one thing, so a 400 proves that thing is checked. The two oversized
bodies are valid JSON: only the channel's body limit (8 MiB by default) can
refuse them, with 413.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

from tests.evolution_samples import (
    CONTACT_JID,
    KEY_ID,
    audio_message,
    envelope,
    extended_text_message,
    image_message,
    text_message,
    to_body,
    upsert,
    wrapped,
)

JSON = "application/json"
DEFAULT_BODY_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class HostileBody:
    name: str
    body: bytes
    content_type: str = JSON
    expected_status: int = 400


def _valid() -> Dict[str, Any]:
    return upsert(text_message("Oi"))


def _valid_body() -> bytes:
    return to_body(_valid())


def _changed(change: Callable[[Dict[str, Any]], None]) -> bytes:
    body = copy.deepcopy(_valid())
    change(body)
    return to_body(body)


def _set(path: str, value: Any) -> bytes:
    def change(body: Dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = value
    return _changed(change)


def _drop(path: str) -> bytes:
    def change(body: Dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        del target[last]
    return _changed(change)


def _replaced(old: bytes, new: bytes, body: bytes = b"") -> bytes:
    source = body or _valid_body()
    assert source.count(old) == 1, old
    return source.replace(old, new)


def _with_message(message: Dict[str, Any]) -> bytes:
    return to_body(upsert(message))


def _deep(opening: bytes, closing: bytes, levels: int) -> bytes:
    return _replaced(b'"Oi"', opening * levels + b"1" + closing * levels)


def _oversized(total_bytes: int) -> bytes:
    # A voice note with its bytes inlined, as webhookBase64 mode sends it,
    # padded to exactly `total_bytes`.
    template = to_body(upsert(audio_message(base64="")))
    padding = total_bytes - len(template)
    return template.replace(b'"base64":""', b'"base64":"' + b"A" * padding + b'"')


def _nested_wrappers(levels: int) -> Dict[str, Any]:
    message: Dict[str, Any] = text_message("Oi")
    for level in range(levels):
        message = wrapped(("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2")[level % 3], message)
    return message


_OVER_64K = "a" * 65_537
_LONG_ID = "A" * 129
_TIMESTAMP_FIELD = b'"messageTimestamp":1761057639'


def _duplicate(old: bytes, new: bytes) -> bytes:
    return _replaced(old, old + b"," + new)


HOSTILE_BODIES: List[HostileBody] = [
    # not JSON at all, or not UTF-8
    HostileBody("plain_text", b"hello evolution", "text/plain"),
    HostileBody("empty_body", b""),
    HostileBody("whitespace_only", b" \r\n\t "),
    HostileBody("truncated_json", _valid_body()[:-7]),
    HostileBody("trailing_garbage", _valid_body() + b"garbage"),
    HostileBody("two_concatenated_objects", _valid_body() + _valid_body()),
    HostileBody("single_quoted_json", b"{'event': 'messages.upsert', 'data': {}}"),
    HostileBody("javascript_comment", b'{"event":"messages.upsert",/* x */"data":{}}'),
    HostileBody("trailing_comma", _valid_body()[:-1] + b",}"),
    HostileBody("form_urlencoded", b"event=messages.upsert&data=%7B%7D", "application/x-www-form-urlencoded"),
    HostileBody(
        "multipart_form",
        b'--x\r\nContent-Disposition: form-data; name="event"\r\n\r\nmessages.upsert\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
    ),
    HostileBody("invalid_utf8_in_text", _replaced(b'"Oi"', b'"O\xff\xfei"')),
    HostileBody("overlong_utf8_slash", _replaced(b'"Oi"', b'"\xc0\xaf"')),
    HostileBody("utf8_encoded_surrogate", _replaced(b'"Oi"', b'"\xed\xa0\x80"')),
    HostileBody("utf16_body", _valid_body().decode("utf-8").encode("utf-16")),
    HostileBody("utf8_bom", b"\xef\xbb\xbf" + _valid_body()),
    HostileBody("raw_nul_between_tokens", _replaced(b',"data":', b',\x00"data":')),
    HostileBody("raw_control_char_in_string", _replaced(b'"Oi"', b'"O\x01i"')),
    HostileBody("lone_surrogate_escape", _replaced(b'"Oi"', b'"Oi\\ud800"')),
    # JSON, but not an object
    HostileBody("json_empty_array", b"[]"),
    HostileBody("json_array_of_envelopes", to_body([_valid()])),
    HostileBody("json_string", b'"messages.upsert"'),
    HostileBody("json_number", b"42"),
    HostileBody("json_null", b"null"),
    HostileBody("json_true", b"true"),
    # event
    HostileBody("event_missing", _drop("event")),
    HostileBody("event_null", _set("event", None)),
    HostileBody("event_number", _set("event", 7)),
    HostileBody("event_array", _set("event", ["messages.upsert"])),
    HostileBody("event_empty", _set("event", "")),
    HostileBody("event_header_injection", _set("event", "messages.upsert\nX-Injected: 1")),
    HostileBody("event_too_long", _set("event", "messages." + "a" * 500)),
    HostileBody("event_cyrillic_homoglyph", _set("event", "mess\u0430ges.upsert")),
    # envelope fields
    HostileBody("data_missing", _drop("data")),
    HostileBody("data_null", _set("data", None)),
    HostileBody("data_array", _set("data", [_valid()["data"]])),
    HostileBody("data_string", _set("data", "{}")),
    HostileBody("receipt_data_array",
                to_body(envelope("messages.update", [{"keyId": KEY_ID, "status": "READ"}]))),
    HostileBody("instance_not_string", _set("instance", 123)),
    HostileBody("instance_log_injection", _set("instance", "solarprime\nlevel=ERROR forged")),
    # key and key.id
    HostileBody("key_missing", _drop("data.key")),
    HostileBody("key_not_object", _set("data.key", KEY_ID)),
    HostileBody("key_array", _set("data.key", [KEY_ID, CONTACT_JID])),
    HostileBody("key_id_missing", _drop("data.key.id")),
    HostileBody("key_id_empty", _set("data.key.id", "")),
    HostileBody("key_id_number", _set("data.key.id", 1234567890)),
    HostileBody("key_id_too_long", _set("data.key.id", _LONG_ID)),
    HostileBody("key_id_nul_byte", _set("data.key.id", "3EB0A1\u0000B2C3")),
    HostileBody("key_id_zero_width_space", _set("data.key.id", "3EB0A1\u200bB2C3")),
    HostileBody("key_id_path_traversal", _set("data.key.id", "../../etc/passwd")),
    HostileBody("key_id_crlf", _set("data.key.id", "3EB0A1\r\nX-Forged: 1")),
    # key.remoteJid
    HostileBody("remote_jid_missing", _drop("data.key.remoteJid")),
    HostileBody("remote_jid_null", _set("data.key.remoteJid", None)),
    HostileBody("remote_jid_number", _set("data.key.remoteJid", 5511987654321)),
    HostileBody("remote_jid_not_a_jid", _set("data.key.remoteJid", "hello")),
    HostileBody("remote_jid_bare_digits", _set("data.key.remoteJid", "5511987654321")),
    HostileBody("remote_jid_too_long", _set("data.key.remoteJid", "1" * 140 + "@s.whatsapp.net")),
    HostileBody("remote_jid_fullwidth_digits", _set("data.key.remoteJid", "５５１１９８７６５４３２１@s.whatsapp.net")),
    HostileBody("remote_jid_rtl_override", _set("data.key.remoteJid", "\u202e5511987654321@s.whatsapp.net")),
    HostileBody("remote_jid_zero_width_joiner",
                _set("data.key.remoteJid", "55119876\u200d54321@s.whatsapp.net")),
    HostileBody("remote_jid_cyrillic_server",
                _set("data.key.remoteJid", "5511987654321@s.wh\u0430tsapp.net")),
    HostileBody("remote_jid_nul_byte", _set("data.key.remoteJid", "5511987654321\u0000@s.whatsapp.net")),
    HostileBody("remote_jid_trailing_newline", _set("data.key.remoteJid", "5511987654321@s.whatsapp.net\n")),
    HostileBody("remote_jid_two_at_signs", _set("data.key.remoteJid", "5511987654321@evil@s.whatsapp.net")),
    HostileBody("remote_jid_letters_in_phone", _set("data.key.remoteJid", "55119876abcd@s.whatsapp.net")),
    HostileBody("remote_jid_quote_injection",
                _set("data.key.remoteJid", "5511987654321@s.whatsapp.net' OR '1'='1")),
    # key.fromMe
    HostileBody("from_me_string", _set("data.key.fromMe", "false")),
    HostileBody("from_me_number", _set("data.key.fromMe", 0)),
    HostileBody("from_me_object", _set("data.key.fromMe", {})),
    # message
    HostileBody("message_missing", _drop("data.message")),
    HostileBody("message_null", _set("data.message", None)),
    HostileBody("message_string", _set("data.message", "Oi")),
    HostileBody("message_array", _set("data.message", [{"conversation": "Oi"}])),
    HostileBody("content_not_object", _with_message({"imageMessage": "AAAA"})),
    HostileBody("conversation_number", _with_message({"conversation": 123})),
    HostileBody("conversation_over_64k", _with_message(text_message(_OVER_64K))),
    HostileBody("caption_over_64k", _with_message(image_message(_OVER_64K))),
    HostileBody("speech_to_text_over_64k",
                _with_message(audio_message(speech_to_text="[audio] " + _OVER_64K))),
    HostileBody("wrapped_text_over_64k",
                _with_message(wrapped("ephemeralMessage", extended_text_message(_OVER_64K)))),
    HostileBody("wrapper_not_object", _with_message({"ephemeralMessage": "Oi"})),
    HostileBody("wrappers_nested_too_deep", _with_message(_nested_wrappers(6))),
    HostileBody("button_id_operator_object", _with_message(
        {"buttonsResponseMessage": {"selectedButtonId": {"$ne": None}, "selectedDisplayText": "Casa"}})),
    HostileBody("message_type_number", _set("data.messageType", 7)),
    HostileBody("message_type_log_injection", _set("data.messageType", "conversation\nlevel=ERROR")),
    # messageTimestamp
    HostileBody("timestamp_string", _set("data.messageTimestamp", "yesterday")),
    HostileBody("timestamp_boolean", _set("data.messageTimestamp", True)),
    HostileBody("timestamp_negative", _set("data.messageTimestamp", -1)),
    HostileBody("timestamp_in_milliseconds", _set("data.messageTimestamp", 1761057639123)),
    HostileBody("timestamp_nan", _set("data.messageTimestamp", float("nan"))),
    HostileBody("timestamp_infinity", _set("data.messageTimestamp", float("inf"))),
    HostileBody("timestamp_huge_exponent", _replaced(_TIMESTAMP_FIELD, b'"messageTimestamp":1e999')),
    HostileBody("timestamp_5000_digits", _replaced(_TIMESTAMP_FIELD, b'"messageTimestamp":' + b"9" * 5000)),
    # nesting
    HostileBody("deep_nesting_arrays_10000", _deep(b"[", b"]", 10_000)),
    HostileBody("deep_nesting_objects_10000", _deep(b'{"a":', b"}", 10_000)),
    HostileBody("nesting_just_over_limit", _deep(b"[", b"]", 62)),
    # duplicate keys: two parsers may each pick a different one
    HostileBody("duplicate_event", _duplicate(b'"event":"messages.upsert"', b'"event":"connection.update"')),
    HostileBody("duplicate_from_me", _duplicate(b'"fromMe":false', b'"fromMe":true')),
    HostileBody("duplicate_key_id",
                _duplicate(b'"id":"' + KEY_ID.encode() + b'"', b'"id":"3EB0FFFFFFFFFFFFFFFFFF"')),
    HostileBody("duplicate_remote_jid", _duplicate(b'"remoteJid":"' + CONTACT_JID.encode() + b'"',
                                                   b'"remoteJid":"5521912345678@s.whatsapp.net"')),
    # too large for the channel's default limit: refused before parsing
    HostileBody("body_10_mb", _oversized(10 * 1024 * 1024), expected_status=413),
    HostileBody("body_one_byte_over_8_mib", _oversized(DEFAULT_BODY_LIMIT + 1), expected_status=413),
]
