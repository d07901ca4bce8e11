"""Whole conversations through the real Rasa server, action server and Redis."""
from __future__ import annotations

import pytest
import redis as redis_lib

from tests.integration.conversation import Conversation

pytestmark = pytest.mark.integration


@pytest.fixture()
def lead(rasa_server) -> Conversation:
    return Conversation(rasa_server.url)


def reach(lead: Conversation, slot: str) -> None:
    """Answers the form until it asks for `slot`."""
    answers = {
        "customer_name": "Maria",
        "monthly_bill_brl": "R$ 450,00",
        "city": "Campinas - SP",
        "property_type": "é uma casa",
        "is_owner": "é própria",
        "is_decision_maker": "sou eu que decido",
    }
    lead.say("oi")
    for _ in range(len(answers) + 1):
        asked = lead.requested_slot()
        if asked == slot:
            return
        assert asked in answers, f"form asked {asked!r} before {slot!r}"
        lead.say(answers[asked])
    pytest.fail(f"the form never asked for {slot!r}")


def test_greeting_introduces_the_assistant_and_asks_the_name(lead):
    replies = lead.say("oi, boa tarde")
    text = " ".join(replies)
    assert "assistente virtual" in text
    assert "como posso te chamar" in text.lower()
    assert lead.requested_slot() == "customer_name"


def test_full_qualification_scores_a_hot_lead(lead):
    lead.say("oi")
    assert any("Maria" in r for r in lead.say("Maria"))
    lead.say("minha conta vem uns R$ 450,00")
    lead.say("Campinas - SP")
    lead.say("é uma casa")
    lead.say("própria")
    lead.say("sou eu que decido")
    closing = " ".join(lead.say("o quanto antes"))

    slots = lead.slots()
    assert slots["customer_name"] == "Maria"
    assert slots["monthly_bill_brl"] == 450.0
    assert (slots["city"], slots["state"]) == ("Campinas", "SP")
    assert slots["property_type"] == "residencial"
    assert slots["is_owner"] is True
    assert slots["is_decision_maker"] is True
    assert slots["timeline"] == "imediato"
    # 20 (bill 300-499) + 20 owner + 20 decides + 15 now + 8 residential
    assert slots["lead_score"] == 83.0
    assert slots["lead_class"] == "HOT"
    assert slots["lead_status"] == "qualificado"
    assert "consultor" in closing
    # state and bill known: the solar simulation replaces the plain "85% of the bill" estimate
    assert "Sua simulação solar, Maria" in closing and "Enel SP" in closing and "Campinas/SP" in closing
    assert lead.active_loop() is None


@pytest.mark.parametrize(
    "answer, expected",
    [("450", 450.0), ("R$ 450,00", 450.0), ("uns 400 reais", 400.0),
     ("mil e duzentos", 1200.0), ("1,2 mil", 1200.0)],
)
def test_bill_answers_in_the_ways_leads_write_them(lead, answer, expected):
    reach(lead, "monthly_bill_brl")
    lead.say(answer)
    assert lead.slots()["monthly_bill_brl"] == expected
    assert lead.requested_slot() == "city"


def test_a_kwh_figure_fills_consumption_instead_of_the_bill(lead):
    reach(lead, "monthly_bill_brl")
    lead.say("uns 380 kwh")
    slots = lead.slots()
    assert slots["monthly_kwh"] == 380.0
    assert slots["monthly_bill_brl"] is None
    assert lead.requested_slot() == "city"


def test_answers_given_early_are_kept(lead):
    reach(lead, "monthly_bill_brl")
    lead.say("minha conta vem 800 reais, moro em Belo Horizonte e a casa é própria")
    slots = lead.slots()
    assert slots["monthly_bill_brl"] == 800.0
    assert (slots["city"], slots["state"]) == ("Belo Horizonte", "MG")
    assert slots["is_owner"] is True
    assert slots["property_type"] == "residencial"  # "a casa"
    assert lead.requested_slot() == "is_decision_maker"


def test_a_question_in_the_middle_of_the_form_is_answered_and_the_form_goes_on(lead):
    reach(lead, "city")
    replies = lead.say("quanto custa um sistema?")
    assert any("R$" in r and "anos" in r for r in replies), replies
    assert any("cidade" in r for r in replies), replies
    assert lead.requested_slot() == "city"
    lead.say("Curitiba")
    assert (lead.slots()["city"], lead.slots()["state"]) == ("Curitiba", "PR")


def test_an_unreadable_answer_is_asked_again_with_an_example(lead):
    reach(lead, "monthly_bill_brl")
    replies = lead.say("nao lembro direito")
    assert any("450" in r for r in replies), replies
    assert lead.requested_slot() == "monthly_bill_brl"
    lead.say("uns 300")
    assert lead.slots()["monthly_bill_brl"] == 300.0


def test_a_tenant_is_offered_energia_por_assinatura(lead):
    reach(lead, "is_owner")
    lead.say("moro de aluguel")
    lead.say("sou eu")
    closing = " ".join(lead.say("em uns 3 meses"))
    slots = lead.slots()
    assert slots["is_owner"] is False
    assert slots["lead_status"] == "assinatura"
    assert slots["lead_class"] in {"HOT", "WARM", "COLD", "UNQUALIFIED"}
    assert "assinatura" in closing


@pytest.mark.parametrize(
    "text", ["SAIR", "PARAR", "pare", "não quero mais mensagens", "descadastrar", "Nao quero mais mensagens"]
)
def test_opt_out_words_are_recognised(rasa_server, text):
    lead = Conversation(rasa_server.url)
    parsed = lead.client.post("/model/parse", json={"text": text}).json()
    assert parsed["intent"]["name"] == "opt_out"


def test_opt_out_confirms_once_and_is_remembered(lead):
    reach(lead, "city")
    first = lead.say("SAIR")
    assert any("não vai mais receber" in r for r in first), first
    slots = lead.slots()
    assert slots["opted_out"] is True
    assert slots["lead_status"] == "descadastrado"
    assert lead.active_loop() is None
    assert lead.say("pare") == []


def test_request_for_a_person_hands_over_and_the_assistant_goes_quiet(lead):
    reach(lead, "city")
    replies = lead.say("quero falar com um atendente")
    assert any("equipe" in r for r in replies), replies
    assert lead.slots()["lead_status"] == "atendimento_humano"
    assert lead.tracker()["paused"] is True
    assert lead.say("oi, tem alguém aí?") == []


def test_two_fallbacks_in_a_row_hand_over(lead):
    first = lead.say("/nlu_fallback")
    assert any("não entendi" in r for r in first), first
    second = lead.say("/nlu_fallback")
    assert any("equipe" in r for r in second), second
    assert lead.slots()["lead_status"] == "atendimento_humano"


def test_the_assistant_never_pretends_to_be_human(lead):
    replies = lead.say("vc é um robô?")
    assert any("assistente virtual" in r and "robô" in r for r in replies), replies


def test_conversations_are_kept_in_redis(lead, redis_server):
    lead.say("oi")
    client = redis_lib.Redis(host=redis_server.host, port=redis_server.port)
    keys = [key.decode() for key in client.scan_iter(match="test*")]
    assert any(lead.sender_id in key for key in keys), keys
