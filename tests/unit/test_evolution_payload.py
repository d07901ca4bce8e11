"""Unit tests for whatsapp/payload.py, on bodies shaped as Evolution 2.3.6 sends them."""
from __future__ import annotations

import copy
import json
from dataclasses import asdict
from typing import Any, Dict, Optional

import pytest

from tests import evolution_samples as samples
from tests.evolution_samples import (
    AUDIO_BASE64,
    CONTACT_JID,
    CONTACT_LID,
    CONTACT_LID_JID,
    CONTACT_PHONE,
    GROUP_JID,
    KEY_ID,
    NEWSLETTER_JID,
    OWN_JID,
    OWN_LID_JID,
    QUOTED_ID,
    S3_URL,
    TIMESTAMP,
    to_body,
    upsert,
    wrapped,
)
from tests.hostile_webhooks import DEFAULT_BODY_LIMIT, HOSTILE_BODIES, HostileBody
from whatsapp.payload import (
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_TEXT_CHARS,
    ConnectionUpdate,
    Envelope,
    Ignored,
    InboundMessage,
    MediaRef,
    OwnMessage,
    PayloadError,
    ReceiptUpdate,
    decode_json,
    inline_base64,
    normalize_event_name,
    parse_connection_update,
    parse_receipt,
    parse_upsert,
    parse_webhook_body,
)


def inbound(message: Dict[str, Any], **kwargs: Any) -> InboundMessage:
    """Through the whole path the channel uses: bytes → envelope → parse_upsert."""
    envelope = parse_webhook_body(to_body(upsert(message, **kwargs)))
    result = parse_upsert(envelope.data)
    assert isinstance(result, InboundMessage), result
    return result


def upsert_data(message: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Dict[str, Any]:
    return upsert(message, **kwargs)["data"]


# --- event names --------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling, expected",
    [
        ("messages.upsert", "messages.upsert"),
        ("MESSAGES_UPSERT", "messages.upsert"),
        ("messages-upsert", "messages.upsert"),
        ("Messages.Upsert", "messages.upsert"),
        ("messages.update", "messages.update"),
        ("MESSAGES_UPDATE", "messages.update"),
        ("connection-update", "connection.update"),
        ("SEND_MESSAGE_UPDATE", "send.message.update"),
        ("send-message-update", "send.message.update"),
        ("GROUP_PARTICIPANTS_UPDATE", "group-participants.update"),
        ("group-participants-update", "group-participants.update"),
        ("group-participants.update", "group-participants.update"),
        ("typebot-change-status", "typebot.change-status"),
        ("GROUP_UPDATE", "groups.update"),
        ("call", "call"),
        ("SOMETHING_NEW", "something.new"),
        ("  qrcode-updated ", "qrcode.updated"),
    ],
)
def test_every_spelling_of_an_event_becomes_the_dotted_name(spelling, expected):
    assert normalize_event_name(spelling) == expected


# --- decode_json ------------------------------------------------------------------------


def test_decode_json_reads_a_real_body():
    assert decode_json(samples.upsert_body())["event"] == "messages.upsert"


def test_decode_json_keeps_non_ascii_text():
    assert decode_json('{"t":"Olá, orçamento ☀️"}'.encode()) == {"t": "Olá, orçamento ☀️"}


def test_decode_json_accepts_paired_surrogate_escapes():
    assert decode_json(b'{"t":"\\ud83d\\ude00"}') == {"t": "\U0001F600"}


def test_decode_json_accepts_escaped_backslash_before_u():
    assert decode_json(b'{"t":"\\\\ud800"}') == {"t": "\\ud800"}


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b'{"a":-Infinity}', b"[1e999]", b"[-1e400]"])
def test_decode_json_rejects_non_finite_numbers(raw):
    with pytest.raises(PayloadError):
        decode_json(raw)


def test_decode_json_allows_exactly_the_maximum_depth():
    assert decode_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None


def test_decode_json_rejects_one_level_more():
    with pytest.raises(PayloadError, match="nested too deeply"):
        decode_json(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize("levels", [10_000, 100_000])
def test_decode_json_survives_hostile_nesting_without_recursion_error(levels):
    with pytest.raises(PayloadError):
        decode_json(b'{"a":' * levels + b"1" + b"}" * levels)


def test_brackets_and_escaped_quotes_inside_strings_do_not_count_as_nesting():
    text = '{"t":"' + '\\"[{' * 1000 + '"}'
    assert decode_json(text.encode()) == {"t": '"[{' * 1000}


def test_unbalanced_closing_brackets_are_invalid_json_not_a_crash():
    with pytest.raises(PayloadError, match="not valid JSON"):
        decode_json(b"]]]]}}}}" * 1000)


def test_decode_json_rejects_duplicate_keys_at_any_depth():
    with pytest.raises(PayloadError, match="duplicate"):
        decode_json(b'{"a":{"b":1,"b":2}}')


def test_decode_json_returns_scalars_and_arrays_as_they_are():
    assert decode_json(b"[1,2]") == [1, 2]
    assert decode_json(b'"x"') == "x"


# --- parse_webhook_body ----------------------------------------------------------------


def test_envelope_fields_come_from_the_body():
    envelope = parse_webhook_body(samples.upsert_body())
    assert envelope == Envelope(
        event="messages.upsert",
        instance=samples.INSTANCE,
        data=upsert()["data"],
        date_time=samples.DATE_TIME,
        sender=OWN_JID,
        upsert=parse_upsert(upsert()["data"], own_jid=OWN_JID),
    )
    assert envelope.upsert.text == "Oi, quero um orçamento"


@pytest.mark.parametrize("spelling", ["messages.upsert", "MESSAGES_UPSERT", "messages-upsert"])
def test_the_three_spellings_in_the_body_are_accepted(spelling):
    assert parse_webhook_body(to_body(upsert(event=spelling))).event == "messages.upsert"


@pytest.mark.parametrize("suffix", ["messages-upsert", "/messages-upsert", "MESSAGES_UPSERT"])
def test_by_events_suffix_stands_in_for_a_missing_event(suffix):
    body = upsert()
    del body["event"]
    assert parse_webhook_body(to_body(body), path_event=suffix).event == "messages.upsert"


def test_by_events_suffix_must_agree_with_the_body():
    assert parse_webhook_body(samples.upsert_body(), path_event="messages-upsert").event == "messages.upsert"
    with pytest.raises(PayloadError, match="does not match"):
        parse_webhook_body(samples.upsert_body(), path_event="connection-update")


def test_a_malformed_suffix_is_rejected():
    with pytest.raises(PayloadError):
        parse_webhook_body(samples.upsert_body(), path_event="messages upsert;drop")


def test_instance_date_time_and_sender_are_optional():
    body = upsert()
    for field in ("instance", "date_time", "sender"):
        body.pop(field, None)
    envelope = parse_webhook_body(to_body(body))
    assert (envelope.instance, envelope.date_time, envelope.sender) == (None, None, None)


def test_a_date_time_that_is_not_a_string_is_dropped_not_refused():
    body = upsert()
    body["date_time"] = 1761057639
    assert parse_webhook_body(to_body(body)).date_time is None


@pytest.mark.parametrize("event", ["contacts.upsert", "messages.set", "chats.upsert", "groups.upsert"])
def test_informational_events_may_carry_an_array(event):
    envelope = parse_webhook_body(to_body(samples.envelope(event, [{"remoteJid": CONTACT_JID}])))
    assert (envelope.event, envelope.data) == (event, {})


@pytest.mark.parametrize("event", ["remove.instance", "logout.instance"])
def test_instance_removal_events_carry_null_data(event):
    assert parse_webhook_body(to_body(samples.envelope(event, None))).data == {}


@pytest.mark.parametrize("event", ["messages.update", "connection.update", "send.message"])
def test_events_the_channel_reads_need_object_data(event):
    with pytest.raises(PayloadError, match="data is not an object"):
        parse_webhook_body(to_body(samples.envelope(event, [])))


def test_other_events_are_not_held_to_the_upsert_schema():
    envelope = parse_webhook_body(to_body(samples.receipt()))
    assert envelope.event == "messages.update"
    assert envelope.data["keyId"] == KEY_ID


def test_a_broken_upsert_is_refused_at_the_envelope():
    body = upsert()
    body["data"]["key"]["remoteJid"] = "not a jid"
    with pytest.raises(PayloadError):
        parse_webhook_body(to_body(body))


def test_an_ignored_upsert_still_passes_the_envelope():
    envelope = parse_webhook_body(to_body(upsert(remote_jid=GROUP_JID, participant=CONTACT_JID)))
    assert parse_upsert(envelope.data) == Ignored("group")


def test_an_invalid_sender_is_dropped():
    body = upsert()
    body["sender"] = "me\n@evil"
    assert parse_webhook_body(to_body(body)).sender is None


# --- parse_upsert: one fixture per message type (§2.5) -----------------------------------


def test_plain_text():
    message = inbound(samples.text_message("Oi, quero um orçamento"))
    assert message == InboundMessage(
        message_id=KEY_ID,
        sender_id=CONTACT_PHONE,
        reply_jid=CONTACT_JID,
        push_name="Maria Souza",
        kind="text",
        text="Oi, quero um orçamento",
        payload=None,
        media=None,
        location=None,
        contacts=(),
        timestamp=TIMESTAMP,
        quoted_message_id=None,
        message_type="conversation",
    )


def test_a_quoted_reply_keeps_the_quoted_id_from_the_top_level_context():
    context = {"stanzaId": QUOTED_ID, "participant": OWN_JID, "mentionedJid": [], "expiration": 0,
               "quotedMessage": {"conversation": "Podemos agendar a visita?"}}
    message = inbound(samples.text_message("Pode sim"), context_info=context)
    assert (message.text, message.quoted_message_id) == ("Pode sim", QUOTED_ID)


def test_an_invalid_quoted_id_is_dropped():
    message = inbound(samples.text_message("Pode"), context_info={"stanzaId": "../x\n"})
    assert message.quoted_message_id is None


def test_raw_extended_text_at_top_level_is_read_too():
    message = inbound(samples.extended_text_message("quero saber o preço"))
    assert (message.kind, message.text) == ("text", "quero saber o preço")
    assert message.message_type == "extendedTextMessage"


def test_image_with_caption_is_a_media_reference():
    message = inbound(samples.image_message("Minha conta de luz"))
    assert (message.kind, message.text) == ("image", "Minha conta de luz")
    assert message.message_type == "imageMessage"
    assert message.media == MediaRef(
        kind="image", mimetype="image/jpeg", file_name=None, size_bytes=183245, seconds=None,
        is_voice_note=False, has_inline_base64=False, media_url=None,
    )


def test_image_without_caption_has_empty_text():
    assert inbound(samples.image_message(None)).text == ""


def test_inline_base64_is_flagged_and_available_but_never_in_the_message():
    data = upsert_data(samples.image_message(base64=AUDIO_BASE64))
    message = parse_upsert(data)
    assert message.media.has_inline_base64 is True
    assert inline_base64(data) == AUDIO_BASE64
    assert AUDIO_BASE64 not in json.dumps(asdict(message))


def test_s3_media_url_is_kept_but_never_the_encrypted_cdn_url():
    message = inbound(samples.image_message(media_url=S3_URL))
    assert message.media.media_url == S3_URL
    assert samples.ENCRYPTED_URL not in json.dumps(asdict(message))


@pytest.mark.parametrize("url", [samples.ENCRYPTED_URL, "javascript:alert(1)", "file:///etc/passwd",
                                 "https://a b.example.com/x", "ftp://files.example.com/x", 42])
def test_unusable_media_urls_are_dropped(url):
    data = upsert_data(samples.image_message())
    data["message"]["mediaUrl"] = url
    assert parse_upsert(data).media.media_url is None


def test_voice_note_with_transcript_strips_evolutions_prefix():
    message = inbound(samples.audio_message(speech_to_text="[audio] Quanto custa a instalação?",
                                            base64=AUDIO_BASE64))
    assert (message.kind, message.text) == ("audio", "Quanto custa a instalação?")
    assert message.media == MediaRef(kind="audio", mimetype="audio/ogg; codecs=opus", file_name=None,
                                     size_bytes=8421, seconds=4, is_voice_note=True, has_inline_base64=True,
                                     media_url=None)


def test_voice_note_without_transcript_has_empty_text():
    message = inbound(samples.audio_message())
    assert (message.kind, message.text, message.media.is_voice_note) == ("audio", "", True)


def test_audio_file_is_not_a_voice_note():
    assert inbound(samples.audio_message(ptt=False, seconds=95)).media.is_voice_note is False


def test_video_with_caption():
    message = inbound(samples.video_message("Veja o telhado", seconds=12))
    assert (message.kind, message.text, message.media.seconds, message.media.size_bytes) == (
        "video", "Veja o telhado", 12, 2_345_678)


def test_round_video_note_is_a_video():
    message = inbound(samples.video_message(None, round_note=True))
    assert (message.kind, message.message_type, message.text) == ("video", "ptvMessage", "")


def test_document_as_evolution_rewrites_it():
    message = inbound(samples.document_message("conta-cemig-setembro.pdf", caption="Segue a conta"))
    assert (message.kind, message.text) == ("document", "Segue a conta")
    assert (message.media.file_name, message.media.mimetype, message.media.size_bytes) == (
        "conta-cemig-setembro.pdf", "application/pdf", 254_003)


def test_document_without_caption_has_empty_text():
    assert inbound(samples.document_message()).text == ""


def test_raw_document_with_caption_wrapper_is_unwrapped():
    message = inbound(samples.document_with_caption_message("proposta.pdf", "Segue a conta"))
    assert (message.kind, message.text) == ("document", "Segue a conta")
    assert message.media.file_name == "proposta.pdf"
    assert message.message_type == "documentWithCaptionMessage"


@pytest.mark.parametrize(
    "file_name, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\conta.pdf", "conta.pdf"),
        ("fatura\u202efdp.exe", "faturafdp.exe"),
        ("..", None),
        ("", None),
        (123, None),
        ("a" * 300, None),
    ],
)
def test_document_file_names_cannot_steer_paths(file_name, expected):
    data = upsert_data(samples.document_message())
    data["message"]["documentMessage"]["fileName"] = file_name
    assert parse_upsert(data).media.file_name == expected


def test_sticker_has_no_text():
    message = inbound(samples.sticker_message())
    assert (message.kind, message.text, message.media.mimetype) == ("sticker", "", "image/webp")


def test_location():
    message = inbound(samples.location_message(-23.5505199, -46.6333094))
    assert message.kind == "location"
    assert message.location == {"latitude": -23.5505199, "longitude": -46.6333094, "name": "Casa",
                                "address": "Rua Augusta, 1000 - São Paulo"}


def test_live_location_uses_its_caption_as_text():
    message = inbound(samples.live_location_message(caption="Estou aqui"))
    assert (message.kind, message.text) == ("location", "Estou aqui")
    assert message.location["latitude"] == -22.9068467


@pytest.mark.parametrize("latitude", [91.0, "x", None])
def test_impossible_coordinates_leave_the_location_empty(latitude):
    data = upsert_data(samples.location_message())
    data["message"]["locationMessage"]["degreesLatitude"] = latitude
    message = parse_upsert(data)
    assert (message.kind, message.location) == ("location", None)


def test_contact_card():
    message = inbound(samples.contact_message("João Eletricista", "5531991234567", "+55 31 99123-4567"))
    assert message.kind == "contact"
    assert message.contacts == ({"name": "João Eletricista", "phones": ("5531991234567",)},)


def test_several_contact_cards():
    message = inbound(samples.contacts_array_message())
    assert message.contacts == (
        {"name": "Ana Lima", "phones": ("5521998765432",)},
        {"name": "Carlos Souza", "phones": ("5511912345678",)},
    )


def test_vcard_without_waid_falls_back_to_the_formatted_number():
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Pedro\r\nTEL;type=CELL:+55 (21) 98888-7777\r\nEND:VCARD"
    message = inbound({"contactMessage": {"vcard": card}})
    assert message.contacts == ({"name": "Pedro", "phones": ("5521988887777",)},)


def test_buttons_response():
    message = inbound(samples.buttons_response_message("property_residencial", "Casa"))
    assert (message.kind, message.text, message.payload, message.quoted_message_id) == (
        "button_reply", "Casa", "property_residencial", QUOTED_ID)


def test_list_response():
    message = inbound(samples.list_response_message("imovel_casa", "Casa"))
    assert (message.kind, message.text, message.payload) == ("list_reply", "Casa", "imovel_casa")


def test_template_button_reply():
    message = inbound(samples.template_button_reply_message("timeline_30_dias", "Em 30 dias"))
    assert (message.kind, message.text, message.payload) == ("button_reply", "Em 30 dias", "timeline_30_dias")


def test_interactive_native_flow_reply_takes_the_id_from_params_json():
    message = inbound(samples.interactive_response_message('/inform{"property_type":"residencial"}', "Casa"))
    assert (message.kind, message.text, message.payload) == (
        "button_reply", "Casa", '/inform{"property_type":"residencial"}')


@pytest.mark.parametrize("params", ["not json", "[1,2]", '{"id": 5}', '{"name": "x"}', '{"id":"a","id":"b"}',
                                    '{"id": "' + "x" * 2000 + '"}'])
def test_unreadable_params_json_leaves_the_payload_unknown(params):
    message = inbound(samples.interactive_response_message(params_json=params))
    assert (message.kind, message.payload) == ("button_reply", None)


@pytest.mark.parametrize("message_body", [
    samples.poll_creation_message(),
    {"eventMessage": {"name": "Visita"}},
    {"groupInviteMessage": {"groupJid": GROUP_JID}},
])
def test_other_types_are_unsupported_so_the_bot_can_answer_politely(message_body):
    message = inbound(message_body)
    assert (message.kind, message.text) == ("unsupported", "")


@pytest.mark.parametrize(
    "message_body, reason",
    [
        (samples.reaction_message("👍"), "reaction"),
        (samples.reaction_message(""), "reaction"),
        (samples.protocol_message(), "protocol"),
        (samples.poll_update_message(), "poll_update"),
        (samples.edited_message(), "edited_wrapper"),
        ({"messageContextInfo": samples.message_context_info()}, "no_content"),
        ({}, "no_content"),
        (samples.text_message(""), "no_content"),
        (samples.text_message("  \n "), "no_content"),
        (wrapped("ephemeralMessage", samples.protocol_message()), "protocol"),
        ({"ephemeralMessage": {"message": None}}, "no_content"),
        ({"viewOnceMessageV2": {}}, "no_content"),
    ],
)
def test_noise_is_ignored(message_body, reason):
    assert parse_upsert(upsert_data(message_body)) == Ignored(reason)


@pytest.mark.parametrize("wrapper", ["ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
                                     "viewOnceMessageV2Extension"])
def test_every_wrapper_is_unwrapped_for_text(wrapper):
    message = inbound(wrapped(wrapper, samples.extended_text_message("oi")))
    assert (message.kind, message.text, message.message_type) == ("text", "oi", wrapper)


@pytest.mark.parametrize("wrapper", ["ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
                                     "viewOnceMessageV2Extension"])
def test_every_wrapper_is_unwrapped_for_media(wrapper):
    message = inbound(wrapped(wrapper, samples.image_message("foto do telhado")))
    assert (message.kind, message.text, message.media.kind) == ("image", "foto do telhado", "image")


def test_wrapped_content_takes_its_quote_from_the_inner_context():
    context = {"stanzaId": QUOTED_ID, "expiration": 604800}
    message = inbound(wrapped("ephemeralMessage", samples.extended_text_message("sim", context)))
    assert message.quoted_message_id == QUOTED_ID


def test_nested_wrappers_are_unwrapped_within_the_bound():
    message_body = wrapped("viewOnceMessage", wrapped("ephemeralMessage", wrapped(
        "viewOnceMessageV2", wrapped("ephemeralMessage", samples.document_with_caption_message()))))
    assert inbound(message_body).kind == "document"


def test_wrapped_audio_reads_evolutions_transcript_at_the_top():
    message_body = wrapped("ephemeralMessage", samples.audio_message())
    message_body["speechToText"] = "[audio] tenho interesse"
    message_body["base64"] = AUDIO_BASE64
    message = inbound(message_body)
    assert (message.kind, message.text, message.media.has_inline_base64) == ("audio", "tenho interesse", True)


def test_text_at_the_size_limit_is_accepted():
    assert len(inbound(samples.text_message("a" * MAX_TEXT_CHARS)).text) == MAX_TEXT_CHARS


# --- addressing: phone numbers, LIDs, groups and the rest (§2.3) -----------------------------


def test_phone_jid_gives_the_phone_even_with_a_lid_alternative():
    message = inbound(samples.text_message(), remote_jid_alt=CONTACT_LID_JID)
    assert (message.sender_id, message.reply_jid) == (CONTACT_PHONE, CONTACT_JID)


def test_lid_with_phone_alternative_uses_the_phone_but_replies_to_the_lid():
    message = inbound(samples.text_message(), remote_jid=CONTACT_LID_JID, remote_jid_alt=CONTACT_JID)
    assert (message.sender_id, message.reply_jid) == (CONTACT_PHONE, CONTACT_LID_JID)


def test_lid_without_alternative_uses_the_lid_digits():
    message = inbound(samples.text_message(), remote_jid=CONTACT_LID_JID)
    assert (message.sender_id, message.reply_jid) == (CONTACT_LID, CONTACT_LID_JID)


@pytest.mark.parametrize("alternative",
                         ["98765432109876@lid", "5511\u200b987654321@s.whatsapp.net", "junk", 42])
def test_lid_with_an_unusable_alternative_uses_the_lid_digits(alternative):
    data = upsert_data(remote_jid=CONTACT_LID_JID)
    data["key"]["remoteJidAlt"] = alternative
    assert parse_upsert(data).sender_id == CONTACT_LID


def test_device_suffix_is_not_part_of_the_sender():
    message = inbound(samples.text_message(), remote_jid="5511987654321:12@s.whatsapp.net")
    # Nor of the reply JID: a reply addressed to one device of the contact (issue 17).
    assert (message.sender_id, message.reply_jid) == (CONTACT_PHONE, "5511987654321@s.whatsapp.net")


def test_legacy_c_us_jid_is_a_phone():
    assert inbound(samples.text_message(), remote_jid="5511987654321@c.us").sender_id == CONTACT_PHONE


@pytest.mark.parametrize(
    "remote_jid, from_me, reason",
    [
        (GROUP_JID, False, "group"),
        (GROUP_JID, True, "group"),
        ("5511999887766-1612345678@g.us", False, "group"),
        ("status@broadcast", False, "status"),
        ("status@broadcast", True, "status"),
        ("1761057600@broadcast", False, "broadcast"),
        (NEWSLETTER_JID, False, "newsletter"),
        (NEWSLETTER_JID, True, "newsletter"),
        ("5511987654321@call", False, "unsupported_chat"),
    ],
)
def test_chats_that_are_not_one_to_one_are_ignored(remote_jid, from_me, reason):
    data = upsert_data(remote_jid=remote_jid, from_me=from_me, participant=CONTACT_JID)
    assert parse_upsert(data) == Ignored(reason)


# --- fromMe: a person typing on the business phone -------------------------------------------


def test_from_me_is_an_own_message_about_the_contact():
    typed = samples.text_message("Oi, aqui é o Pedro da SolarPrime")
    data = upsert_data(typed, from_me=True, push_name="Você")
    assert parse_upsert(data) == OwnMessage(message_id=KEY_ID, sender_id=CONTACT_PHONE, reply_jid=CONTACT_JID,
                                            timestamp=TIMESTAMP)


def test_from_me_media_is_an_own_message_too():
    assert isinstance(parse_upsert(upsert_data(samples.image_message(), from_me=True)), OwnMessage)


def test_from_me_to_a_lid_uses_the_phone_alternative():
    data = upsert_data(from_me=True, remote_jid=CONTACT_LID_JID, remote_jid_alt=CONTACT_JID)
    assert parse_upsert(data).sender_id == CONTACT_PHONE


def test_from_me_never_takes_the_own_number_for_the_contact():
    data = upsert_data(from_me=True, remote_jid=CONTACT_LID_JID, remote_jid_alt=OWN_JID)
    own = parse_upsert(data, own_jid=OWN_JID)
    assert (own.sender_id, own.reply_jid) == (CONTACT_LID, CONTACT_LID_JID)


def test_own_lid_alias_is_never_a_phone():
    data = upsert_data(from_me=True, remote_jid=CONTACT_LID_JID, remote_jid_alt=OWN_LID_JID)
    assert parse_upsert(data, own_jid=OWN_JID).sender_id == CONTACT_LID


def test_a_reaction_from_the_phone_is_not_a_takeover():
    assert parse_upsert(upsert_data(samples.reaction_message(), from_me=True)) == Ignored("reaction")


def test_missing_from_me_reads_as_false():
    data = upsert_data()
    del data["key"]["fromMe"]
    assert isinstance(parse_upsert(data), InboundMessage)


# --- lenient where Evolution's own optional fields vary ----------------------------------------


@pytest.mark.parametrize("push_name, expected", [("Maria Souza", "Maria Souza"), ("Você", None), (None, None),
                                                 ("", None), ("  ", None), (42, None), ("a\nb", None),
                                                 ("x" * 300, None), ("Zé ☀️", "Zé ☀️")])
def test_push_name(push_name, expected):
    assert parse_upsert(upsert_data(push_name=push_name)).push_name == expected


def test_missing_push_name_is_fine():
    data = upsert_data()
    del data["pushName"]
    assert parse_upsert(data).push_name is None


def test_missing_timestamp_is_fine():
    assert parse_upsert(upsert_data(timestamp=None)).timestamp is None


def test_null_timestamp_is_fine():
    data = upsert_data()
    data["messageTimestamp"] = None
    assert parse_upsert(data).timestamp is None


@pytest.mark.parametrize("timestamp", [TIMESTAMP, float(TIMESTAMP) + 0.4, samples.long_value(TIMESTAMP),
                                       samples.long_value(TIMESTAMP, unsigned=False)])
def test_timestamp_forms(timestamp):
    assert parse_upsert(upsert_data(timestamp=timestamp)).timestamp == TIMESTAMP


def test_missing_message_type_is_derived_from_the_message():
    data = upsert_data(samples.image_message())
    del data["messageType"]
    assert parse_upsert(data).message_type == "imageMessage"


def test_message_type_is_reported_as_received():
    assert inbound(samples.text_message(), message_type="unknown").message_type == "unknown"


@pytest.mark.parametrize("participant", ["", None, CONTACT_JID, 7])
def test_participant_does_not_matter_in_one_to_one_chats(participant):
    data = upsert_data()
    data["key"]["participant"] = participant
    assert parse_upsert(data).sender_id == CONTACT_PHONE


def test_extra_fields_are_ignored():
    data = upsert_data(extra_data={"chatwootMessageId": 12, "source": "ios", "futureField": {"x": [1]}})
    assert isinstance(parse_upsert(data), InboundMessage)


@pytest.mark.parametrize(
    "file_length, expected",
    [
        (samples.long_value(254_003), 254_003),
        (samples.long_value(5 * 2**32 + 7), 5 * 2**32 + 7),
        ({"low": -1, "high": 0, "unsigned": True}, 2**32 - 1),
        (254_003, 254_003),
        (254_003.0, 254_003),
        ("254003", 254_003),
        ("-5", None),
        (-5, None),
        ({"low": "x", "high": 0}, None),
        (True, None),
        (None, None),
        ([], None),
    ],
)
def test_file_length_forms(file_length, expected):
    data = upsert_data(samples.document_message())
    data["message"]["documentMessage"]["fileLength"] = file_length
    assert parse_upsert(data).media.size_bytes == expected


def test_bad_media_metadata_is_dropped_not_refused():
    data = upsert_data(samples.audio_message())
    data["message"]["audioMessage"].update(mimetype=["audio/ogg"], seconds="4", ptt="yes")
    media = parse_upsert(data).media
    assert (media.mimetype, media.seconds, media.is_voice_note) == (None, None, False)


def test_inline_base64_is_none_without_base64_mode():
    assert inline_base64(upsert_data(samples.audio_message())) is None
    assert inline_base64({"message": "x"}) is None
    assert inline_base64({}) is None


def test_the_result_is_plain_data_the_channel_can_store():
    message = inbound(samples.contacts_array_message())
    record = json.loads(json.dumps(asdict(message)))
    assert record["contacts"][0]["phones"] == ["5521998765432"]


# --- strict where the schema is violated ---------------------------------------------------------


def _broken(change) -> Dict[str, Any]:
    data = copy.deepcopy(upsert_data())
    change(data)
    return data


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.pop("key"), id="key-missing"),
        pytest.param(lambda d: d.update(key=None), id="key-null"),
        pytest.param(lambda d: d["key"].pop("id"), id="id-missing"),
        pytest.param(lambda d: d["key"].update(id=""), id="id-empty"),
        pytest.param(lambda d: d["key"].update(id=["x"]), id="id-list"),
        pytest.param(lambda d: d["key"].update(id="A" * (MAX_ID_LENGTH + 1)), id="id-too-long"),
        pytest.param(lambda d: d["key"].update(id="3EB0 A1"), id="id-space"),
        pytest.param(lambda d: d["key"].pop("remoteJid"), id="jid-missing"),
        pytest.param(lambda d: d["key"].update(remoteJid="5511987654321@"), id="jid-no-server"),
        pytest.param(lambda d: d["key"].update(remoteJid="@s.whatsapp.net"), id="jid-no-user"),
        pytest.param(lambda d: d["key"].update(remoteJid="123@s.whatsapp.net"), id="jid-too-short"),
        pytest.param(lambda d: d["key"].update(remoteJid="5511987654321@S.WHATSAPP.NET"),
                     id="jid-upper-server"),
        pytest.param(lambda d: d["key"].update(remoteJid="abc@lid"), id="lid-letters"),
        pytest.param(lambda d: d["key"].update(fromMe="true"), id="from-me-string"),
        pytest.param(lambda d: d.update(message=[]), id="message-list"),
        pytest.param(lambda d: d.pop("message"), id="message-missing"),
        pytest.param(lambda d: d.update(messageTimestamp="1761057639"), id="timestamp-string"),
        pytest.param(lambda d: d.update(messageTimestamp=[1]), id="timestamp-list"),
        pytest.param(lambda d: d.update(messageTimestamp={"low": 1}), id="timestamp-half-long"),
        pytest.param(lambda d: d.update(messageType=""), id="message-type-empty"),
        pytest.param(lambda d: d.update(message={"extendedTextMessage": {"text": 5}}), id="text-number"),
        pytest.param(lambda d: d.update(message={"imageMessage": {"caption": {"x": 1}}}),
                     id="caption-object"),
        pytest.param(lambda d: d.update(message={"listResponseMessage": {"title": "x", "singleSelectReply": {
            "selectedRowId": "a\u0000b"}}}), id="row-id-nul"),
        pytest.param(lambda d: d.update(message={"buttonsResponseMessage": {
            "selectedButtonId": "x" * 2000}}), id="button-id-too-long"),
        pytest.param(lambda d: d.update(message={"audioMessage": {"ptt": True}, "speechToText": 3}),
                     id="transcript-number"),
    ],
)
def test_schema_violations_raise(change):
    with pytest.raises(PayloadError):
        parse_upsert(_broken(change))


def test_data_that_is_not_a_mapping_raises():
    with pytest.raises(PayloadError):
        parse_upsert(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_error_messages_never_echo_the_body():
    secret = "5511912345678@s.whatsapp.net\nSECRET"
    with pytest.raises(PayloadError) as caught:
        parse_upsert(_broken(lambda d: d["key"].update(remoteJid=secret)))
    assert "5511912345678" not in str(caught.value) and "SECRET" not in str(caught.value)


# --- messages.update receipts (§3.1) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "status, expected",
    [
        ("ERROR", "error"),
        ("PENDING", "pending"),
        ("SERVER_ACK", "sent"),
        ("DELIVERY_ACK", "delivered"),
        ("READ", "read"),
        ("PLAYED", "played"),
        ("DELETED", "deleted"),
        ("read", "read"),
        ("delivered", "delivered"),
        (0, "error"),
        (1, "pending"),
        (2, "sent"),
        (3, "delivered"),
        (4, "read"),
        (5, "played"),
        ("4", "read"),
    ],
)
def test_receipt_statuses(status, expected):
    receipt = parse_receipt(samples.receipt(status)["data"])
    assert receipt == ReceiptUpdate(message_id=KEY_ID, remote_jid=CONTACT_JID, status=expected, from_me=True)


@pytest.mark.parametrize("status", [6, -1, True, None, "SEEN", "", 3.0, ["READ"], "9"])
def test_unknown_receipt_statuses_are_unusable(status):
    assert parse_receipt(samples.receipt(status)["data"]) is None


def test_receipt_never_uses_evolutions_database_id():
    data = samples.receipt()["data"]
    del data["keyId"]
    assert parse_receipt(data) is None


@pytest.mark.parametrize("key_id", ["", "a\u0000b", "A" * 129, 12])
def test_receipt_with_an_invalid_id_is_unusable(key_id):
    assert parse_receipt(samples.receipt(key_id=key_id)["data"]) is None


def test_receipt_in_baileys_raw_shape():
    data = {"key": {"remoteJid": CONTACT_LID_JID, "fromMe": True, "id": KEY_ID}, "update": {"status": 4}}
    assert parse_receipt(data) == ReceiptUpdate(message_id=KEY_ID, remote_jid=CONTACT_LID_JID, status="read",
                                                from_me=True)


def test_receipt_with_odd_optional_fields_keeps_what_is_usable():
    data = {"keyId": KEY_ID, "status": "READ", "remoteJid": "junk", "fromMe": "yes", "participant": ""}
    expected = ReceiptUpdate(message_id=KEY_ID, remote_jid=None, status="read", from_me=None)
    assert parse_receipt(data) == expected


@pytest.mark.parametrize("data", [None, [], "READ", {}])
def test_receipt_from_non_objects_is_unusable(data):
    assert parse_receipt(data) is None  # type: ignore[arg-type]


# --- connection.update (§3.4) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, reason, expected",
    [
        ("open", 200, ConnectionUpdate("open", 200)),
        ("connecting", 200, ConnectionUpdate("connecting", 200)),
        ("close", 401, ConnectionUpdate("close", 401)),
        ("refused", 428, ConnectionUpdate("refused", 428)),
        ("OPEN", "515", ConnectionUpdate("open", 515)),
        ("close", None, ConnectionUpdate("close", None)),
        ("close", True, ConnectionUpdate("close", None)),
        ("close", 10**6, ConnectionUpdate("close", None)),
    ],
)
def test_connection_updates(state, reason, expected):
    assert parse_connection_update(samples.connection(state, reason)["data"]) == expected


@pytest.mark.parametrize("data", [{"statusReason": 200}, {"state": 3}, {"state": ""}, {"state": "op\nen"},
                                  {"state": "x" * 100}, None, []])
def test_unusable_connection_updates(data):
    assert parse_connection_update(data) is None  # type: ignore[arg-type]


# --- the hostile corpus --------------------------------------------------------------------------------


def test_the_corpus_is_large_unique_and_all_4xx():
    assert len(HOSTILE_BODIES) >= 45
    assert len({case.name for case in HOSTILE_BODIES}) == len(HOSTILE_BODIES)
    assert all(400 <= case.expected_status < 500 for case in HOSTILE_BODIES)
    assert all(isinstance(case.body, bytes) and case.content_type for case in HOSTILE_BODIES)


REFUSED_AS_BAD_REQUEST = [case for case in HOSTILE_BODIES if case.expected_status == 400]
REFUSED_AS_TOO_LARGE = [case for case in HOSTILE_BODIES if case.expected_status == 413]


@pytest.mark.parametrize("case", REFUSED_AS_BAD_REQUEST, ids=lambda c: c.name)
def test_hostile_body_is_a_400(case: HostileBody):
    with pytest.raises(PayloadError) as caught:
        parse_webhook_body(case.body)
    reason = str(caught.value)
    assert len(reason) < 80
    assert CONTACT_PHONE not in reason and "\n" not in reason


@pytest.mark.parametrize("case", REFUSED_AS_TOO_LARGE, ids=lambda c: c.name)
def test_oversized_body_is_left_to_the_channels_limit(case: HostileBody):
    assert len(case.body) > DEFAULT_BODY_LIMIT


def test_control_characters_are_exactly_unicodes_cc_category():
    import sys
    import unicodedata

    from whatsapp.scalars import has_control_chars

    every_char = [chr(code) for code in range(sys.maxunicode + 1)]
    control = {char for char in every_char if unicodedata.category(char) == "Cc"}
    assert {char for char in every_char if has_control_chars(f"ok{char}ok")} == control
    assert not has_control_chars("Olá, conta de R$ 450,00 — Campinas/SP 🌞")
