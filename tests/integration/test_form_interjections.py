"""Inside the qualification form, through the real stack (issue 20): an interjection is
acknowledged before the form's question is asked again; a knowledge-base question is answered from
the company facts, or deferred honestly and queued for an operator when a fact is missing; a
contract question keeps its own answer."""
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


def test_a_knowledge_base_question_is_answered_from_the_company_facts_then_the_form_asks_again(lead):
    lead.say("oi")
    replies = lead.say("qual a garantia do inversor?")
    answer = " ".join(replies)
    # The answer quotes company_facts.yml (warranty_years_inverter: 10), not a catch-all text.
    assert "inversor" in answer and "*10 anos*" in answer, replies
    assert "Funciona assim" not in answer
    assert "como posso te chamar" in replies[-1].lower(), replies


def test_a_message_that_answers_and_asks_fills_the_fact_and_gets_the_answer(lead):
    lead.say("oi")
    replies = lead.say("vcs instalam em sitio? moro na zona rural")
    answer = " ".join(replies)
    # The property is read ("zona rural") and the question answered from company_facts.yml, not dropped.
    assert "fazendas, sítios e outras propriedades rurais" in answer, replies
    assert "como posso te chamar" in replies[-1].lower(), replies
    assert lead.tracker()["slots"]["property_type"] == "rural"


def test_a_question_whose_facts_the_company_left_empty_is_deferred_and_queued(lead, raw):
    lead.say("oi")
    replies = lead.say("quais marcas de placa e inversor vcs usam?")
    # brands_modules is null in company_facts.yml: no invented brand, an honest deferral.
    assert "Boa pergunta sobre as marcas dos equipamentos" in replies[0], replies
    assert "consultor" in replies[0] and "como posso te chamar" in replies[-1].lower(), replies
    # The question waits for an operator in the review UI's "Perguntas sem resposta".
    queued = [raw.hgetall(f"test:faq:q:{qid}") for qid in raw.zrange("test:faq:unanswered", 0, -1)]
    mine = [q for q in queued if q.get("conversation_id", "").endswith(lead.phone)]
    assert [(q["text"], q["guess"]) for q in mine] == [("quais marcas de placa e inversor vcs usam?", "marcas")]


def test_a_contract_question_keeps_its_intent_and_answer(lead):
    lead.say("oi")
    replies = lead.say("quanto custa a energia solar?")
    assert not any("Boa pergunta" in text for text in replies), replies
    assert "como posso te chamar" in replies[-1].lower(), replies


def test_a_bill_with_a_season_fills_the_ordinary_month_and_acknowledges_the_rest(lead):
    lead.say("oi")
    lead.say("Carla")
    replies = lead.say("minha conta é 280 mas no verão vai pra uns 500 reais")
    assert any("Anotei R$ 280,00 como a conta de um mês normal" in t and "no verão ela chega a R$ 500,00" in t
               for t in replies), replies
    assert lead.tracker()["slots"]["monthly_bill_brl"] == 280.0
    assert "?" in replies[-1]  # and the form goes on to its next question
