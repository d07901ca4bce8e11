"""Inside the qualification form, through the real stack: an interjection is acknowledged before
the form's question is asked again (issue 20, item 4)."""
from __future__ import annotations

import pytest

from tests.integration.whatsapp import WhatsAppLead

pytestmark = pytest.mark.integration


@pytest.fixture()
def lead(rasa_server, fake_evolution) -> WhatsAppLead:
    return WhatsAppLead(rasa_server.url, fake_evolution)


def test_interest_in_answer_to_the_name_question_is_acknowledged_then_the_name_asked_again(lead):
    lead.say("oi")
    replies = lead.say("quero um orçamento de energia solar")
    assert "é isso mesmo que estamos fazendo" in replies[0] and "como posso te chamar" in replies[-1].lower(), replies
    assert not any("Não peguei seu nome" in text for text in replies)
