"""Bills and voice notes end to end: WhatsApp webhooks with media into the real Rasa
server, the action server reading the bill and transcribing through the fake
OpenAI-compatible server, replies and the sales notification out to the fake Evolution."""
from __future__ import annotations

import base64
import functools
import random
from dataclasses import dataclass

import pytest

from actions.bill_text import BillFacts
from sdr.formatting import format_brl
from tests import evolution_samples as samples
from tests.bills import generate_bill, not_a_bill_image, random_spec
from tests.conftest import SALES_WHATSAPP_NUMBER
from tests.integration.whatsapp import REPLY_WAIT_S, WhatsAppLead

pytestmark = pytest.mark.integration

FORM_ANSWERS = {
    "customer_name": "Maria",
    "monthly_bill_brl": "R$ 450,00",
    "city": "Campinas - SP",
    "state": "SP",
    "property_type": "é uma casa",
    "is_owner": "própria",
    "is_decision_maker": "sou eu que decido",
    "timeline": "o quanto antes",
}


@dataclass(frozen=True)
class Bill:
    data: bytes
    expected: BillFacts


@functools.lru_cache(maxsize=1)
def text_layer_bill() -> Bill:
    """A generated bill PDF with a text layer, and the facts printed on it."""
    spec = random_spec(random.Random(6))  # R$ 1.249,51, residential, Recife: a HOT lead once qualified
    return Bill(generate_bill(spec, layout="labels", kind="pdf_text"), spec.facts)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture()
def lead(rasa_server, fake_evolution) -> WhatsAppLead:
    return WhatsAppLead(rasa_server.url, fake_evolution)


def send_and_wait(lead: WhatsAppLead, message) -> list:
    before = len(lead.replies())
    lead.post(lead.body(message))
    lead.wait_for_replies(before + 1)
    lead.wait_for_turn()
    return lead.replies()[before:]


def finish_the_form(lead: WhatsAppLead) -> None:
    for _ in range(len(FORM_ANSWERS) + 1):
        asked = lead.tracker()["slots"].get("requested_slot")
        if asked is None:
            return
        lead.say(FORM_ANSWERS[asked])
    pytest.fail("the form did not finish")


def test_a_lead_sends_a_bill_and_a_voice_note_and_ends_scored(lead, fake_evolution, fake_openai):
    bill = text_layer_bill()
    lead.say("oi")
    lead.say("Maria")
    replies = send_and_wait(lead, samples.document_message("conta.pdf", base64=b64(bill.data)))
    confirmation = replies[0]
    assert confirmation.startswith("Vi aqui:") and confirmation.endswith("Confere?")
    assert format_brl(bill.expected.total_brl) in confirmation
    slots = lead.tracker()["slots"]
    assert slots["monthly_bill_brl"] == bill.expected.total_brl
    assert slots["monthly_kwh"] == bill.expected.kwh
    assert slots["utility"] == bill.expected.utility
    lead.say("sim")
    assert lead.tracker()["active_loop"]["name"] == "qualification_form"

    fake_openai.queue_text("é uma casa própria e sou eu mesma que decido")
    send_and_wait(lead, samples.audio_message(base64=samples.AUDIO_BASE64))
    slots = lead.tracker()["slots"]
    assert slots["property_type"] == "residencial"
    assert slots["is_owner"] is True
    assert slots["is_decision_maker"] is True
    assert fake_openai.requests[-1].fields.get("model") == "whisper-1"

    finish_the_form(lead)
    slots = lead.tracker()["slots"]
    assert (slots["city"], slots["state"]) == ("Recife", "PE")  # read from the bill
    assert slots["lead_class"] == "HOT" and slots["lead_score"] >= 70
    assert fake_evolution.wait_for(lambda: fake_evolution.sent_texts(SALES_WHATSAPP_NUMBER), REPLY_WAIT_S)
    note = fake_evolution.sent_texts(SALES_WHATSAPP_NUMBER)[-1]
    assert "Lead quente: Maria" in note and lead.phone[-4:] in note and "http" not in note


def test_a_wrong_bill_reading_is_corrected(lead):
    bill = text_layer_bill()
    lead.say("oi")
    send_and_wait(lead, samples.document_message("conta.pdf", base64=b64(bill.data)))
    replies = lead.say("não, tá errado")
    assert any("corrigir" in r for r in replies)
    slots = lead.tracker()["slots"]
    assert slots["monthly_bill_brl"] is None and slots["utility"] is None


def test_a_photo_that_is_not_a_bill_gets_a_friendly_answer(lead):
    lead.say("oi")
    lead.say("Maria")
    replies = send_and_wait(lead, samples.image_message(None, base64=b64(not_a_bill_image())))
    assert "Não consegui ler uma conta" in replies[0]
    assert lead.tracker()["slots"]["monthly_bill_brl"] is None
    assert any("conta de luz por mês" in r for r in replies[1:])  # the form asks again


def test_a_voice_note_that_cannot_be_transcribed_asks_to_type(lead, fake_openai):
    lead.say("oi")
    fake_openai.fail_next(5, status=500)
    replies = send_and_wait(lead, samples.audio_message(base64=samples.AUDIO_BASE64))
    assert "por escrito" in replies[0]


def test_a_sticker_gets_told_what_the_assistant_reads(lead):
    replies = send_and_wait(lead, samples.sticker_message())
    assert "foto ou PDF da conta" in replies[0]
