"""Who wrote (phone and LID from every key field) and which ad brought them: pure readers."""
from __future__ import annotations

import pytest

from whatsapp.identity import ContactIdentity, identify, pairs_in_contacts
from whatsapp.jids import jid_or_none
from whatsapp.referral import ad_referral

LID = "100000000000001"
PHONE = "5511900000001"


def jid(value: str):
    found = jid_or_none(value)
    assert found is not None
    return found


@pytest.mark.parametrize("key", [
    {"remoteJidAlt": f"{PHONE}@s.whatsapp.net"},
    {"senderPn": f"{PHONE}@s.whatsapp.net"},
    {"participantPn": f"{PHONE}@s.whatsapp.net"},
    {"participantAlt": f"{PHONE}:7@s.whatsapp.net"},
    {"participant": "", "senderPn": f"{PHONE}:24@s.whatsapp.net"},
])
def test_a_lid_chat_takes_the_phone_from_any_key_field(key) -> None:
    assert identify(jid(f"{LID}@lid"), key) == ContactIdentity(phone=PHONE, lid=LID)


def test_a_lid_chat_without_a_phone_keeps_the_lid() -> None:
    found = identify(jid(f"{LID}@lid"), {"participant": "", "remoteJidAlt": None})
    assert found == ContactIdentity(phone=None, lid=LID) and found.conversation_id == LID


def test_a_phone_chat_drops_the_device_suffix_and_learns_the_lid() -> None:
    found = identify(jid(f"{PHONE}:24@s.whatsapp.net"), {"senderLid": f"{LID}@lid"})
    assert found == ContactIdentity(phone=PHONE, lid=LID) and found.both


def test_our_own_alternative_is_not_taken_for_the_contact() -> None:
    own = jid(f"{PHONE}@s.whatsapp.net")
    assert identify(jid(f"{LID}@lid"), {"remoteJidAlt": f"{PHONE}@s.whatsapp.net"}, own).phone is None


def test_a_group_is_not_a_contact() -> None:
    with pytest.raises(ValueError):
        identify(jid("120363000000000001@g.us"), {})


def test_pairs_from_contacts_chats_and_group_participants() -> None:
    assert pairs_in_contacts([{"remoteJid": f"{LID}@lid", "remoteJidAlt": f"{PHONE}@s.whatsapp.net"},
                              {"remoteJid": f"{PHONE}@s.whatsapp.net"}]) == [(LID, PHONE)]
    assert pairs_in_contacts({"remoteJid": f"{PHONE}@s.whatsapp.net", "lid": f"{LID}@lid"}) == [(LID, PHONE)]
    participants = {"participants": [{"id": f"{LID}@lid", "phoneNumber": f"{PHONE}@s.whatsapp.net"},
                                     f"{LID}@lid", {"id": "x"}]}
    assert pairs_in_contacts(participants) == [(LID, PHONE)]
    assert pairs_in_contacts("nonsense") == [] and pairs_in_contacts(None) == []


def test_an_ad_message_names_the_campaign() -> None:
    context = {"conversionSource": "FB_Ads", "externalAdReply": {
        "title": "Energia solar em BH", "body": "Economize até 95%", "sourceType": "ad",
        "sourceId": 120210000000001, "sourceUrl": "https://fb.me/abc", "ctwaClid": "Aff1"}}
    referral = ad_referral({"contextInfo": context}, {})
    assert referral is not None and referral.campaign == "Energia solar em BH"
    assert referral.source_id == "120210000000001" and referral.ctwa_clid == "Aff1"
    untitled = ad_referral({}, {"contextInfo": {"externalAdReply": {"sourceId": "99", "sourceType": "ad"}}})
    assert untitled is not None and untitled.campaign == "99"
    conversion_only = ad_referral({"contextInfo": {"entryPointConversionSource": "ctwa_ad"}}, {})
    assert conversion_only is not None and conversion_only.campaign is None


def test_an_ordinary_link_preview_is_not_an_ad() -> None:
    preview = {"externalAdReply": {"title": "Notícia", "sourceUrl": "https://g1.globo.com/x"}}
    assert ad_referral({"contextInfo": preview}, {}) is None
    assert ad_referral({}, {}) is None
