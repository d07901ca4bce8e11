"""Kommo request bodies built from a lead: shapes, value rendering, what is left out."""
from __future__ import annotations

import pytest

from crm.kommo_mapping import parse_mapping
from crm.kommo_payloads import (
    complex_lead_body,
    contact_update_body,
    custom_field_values,
    display_value,
    field_value,
    lead_name,
    lead_update_body,
    new_lead_body,
    note_text,
    task_body,
)

PIPELINE = 7173574
MAPPING = parse_mapping({
    "stages": {
        "events": {"meeting.booked": 501},
        "statuses": {"atendimento_humano": 502},
        "classes": {"HOT": 503, "WARM": 504},
        "in_service": [502, 509],
    },
    "lead_fields": {
        "monthly_bill_brl": 1001, "monthly_kwh": 1002, "utility": 1003, "city": 1004, "property_type": 1006,
        "is_owner": 1007, "is_decision_maker": 1008, "lead_score": 1010, "lead_class": 1011, "meeting_at": 1014,
    },
    "contact_fields": {"city": 2004, "state": 2005},
    "tags": ["assistente-whatsapp"],
    "class_tags": {"HOT": "lead quente"},
    "task": {"type_id": 1, "text": "Ligar para {customer_name}: lead {lead_class}, {lead_score} pontos"},
})
LEAD = {
    "customer_name": "Maria Silva",
    "phone": "5511987654321",
    "summary": "Quer instalar no telhado da casa; conta alta no verão.",
    "monthly_bill_brl": 450.0,
    "monthly_kwh": 380.4,
    "utility": "Enel SP",
    "city": "São Paulo",
    "state": "SP",
    "property_type": "residencial",
    "is_owner": True,
    "is_decision_maker": False,
    "timeline": "30_dias",
    "lead_score": 82.0,
    "lead_class": "HOT",
    "lead_status": "qualificado",
    "lead_source": "ctwa_ad",
    "meeting_at": "2025-03-12T14:00:00-03:00",
}
MEETING_TS = 1741798800  # 2025-03-12 17:00 UTC


def test_the_complex_body_carries_the_lead_and_its_new_contact() -> None:
    body = complex_lead_body(LEAD, MAPPING, pipeline_id=PIPELINE, event="lead.qualified",
                             responsible_user_id=77, request_id="evt-1")
    assert body == {
        "name": "Maria Silva — energia solar",
        "pipeline_id": PIPELINE,
        "status_id": 503,  # no event or status stage: the class's
        "responsible_user_id": 77,
        "custom_fields_values": [
            {"field_id": 1001, "values": [{"value": 450}]},
            {"field_id": 1002, "values": [{"value": 380.4}]},
            {"field_id": 1003, "values": [{"value": "Enel SP"}]},
            {"field_id": 1004, "values": [{"value": "São Paulo"}]},
            {"field_id": 1006, "values": [{"value": "residencial"}]},
            {"field_id": 1007, "values": [{"value": True}]},
            {"field_id": 1008, "values": [{"value": False}]},
            {"field_id": 1010, "values": [{"value": 82}]},
            {"field_id": 1011, "values": [{"value": "HOT"}]},
            {"field_id": 1014, "values": [{"value": MEETING_TS}]},
        ],
        "_embedded": {
            "tags": [{"name": "assistente-whatsapp"}, {"name": "lead quente"}],
            "contacts": [{
                "name": "Maria Silva",
                "responsible_user_id": 77,
                "custom_fields_values": [
                    {"field_code": "PHONE", "values": [{"value": "+5511987654321", "enum_code": "MOB"}]},
                    {"field_id": 2004, "values": [{"value": "São Paulo"}]},
                    {"field_id": 2005, "values": [{"value": "SP"}]},
                ],
            }],
        },
        "request_id": "evt-1",
    }


def test_a_lead_that_told_little_sends_little() -> None:
    body = complex_lead_body({"phone": "5511987654321", "monthly_bill_brl": None, "city": "  "}, MAPPING,
                             pipeline_id=None, event="lead.qualified")
    assert body == {
        "name": "Lead WhatsApp — energia solar",
        "_embedded": {
            "tags": [{"name": "assistente-whatsapp"}],
            "contacts": [{"name": "Contato WhatsApp", "custom_fields_values": [
                {"field_code": "PHONE", "values": [{"value": "+5511987654321", "enum_code": "MOB"}]}]}],
        },
    }


def test_a_new_lead_for_a_known_contact_links_it() -> None:
    body = new_lead_body(LEAD, MAPPING, contact_id=555, pipeline_id=PIPELINE, event="meeting.booked")
    assert body["status_id"] == 501
    assert body["_embedded"]["contacts"] == [{"id": 555}]
    assert "request_id" not in body


@pytest.mark.parametrize("name, value, expected", [
    ("monthly_bill_brl", 450.0, 450),
    ("monthly_bill_brl", "1234.567", 1234.57),
    ("monthly_bill_brl", "R$ 450", None),
    ("monthly_bill_brl", float("nan"), None),
    ("monthly_bill_brl", True, None),
    ("lead_score", 0, 0),
    ("is_owner", False, False),
    ("is_owner", "sim", None),
    ("meeting_at", "2025-03-12T17:00:00Z", MEETING_TS),
    ("meeting_at", "2025-03-12T14:00:00", MEETING_TS),  # naive: Brasília time
    ("meeting_at", "amanhã às 14h", None),
    ("city", "  Rio   de Janeiro ", "Rio de Janeiro"),
    ("city", "", None),
    ("utility", "x" * 300, "x" * 255),
    ("timeline", "30_dias", "30_dias"),  # raw in fields, words only in the note
])
def test_values_are_written_as_their_kommo_field_takes_them(name: str, value: object, expected: object) -> None:
    assert field_value(name, value) == expected


def test_only_mapped_fields_with_values_are_sent() -> None:
    assert custom_field_values({"city": "Natal", "state": "RN", "utility": None}, {"city": 1, "utility": 2}) == [
        {"field_id": 1, "values": [{"value": "Natal"}]}]


def test_the_lead_name_template_and_its_fallback() -> None:
    named = parse_mapping({"lead_name": "{customer_name} — {city}"})
    assert lead_name({"customer_name": "Ana", "city": "Natal"}, named) == "Ana — Natal"
    assert lead_name({"customer_name": "Ana"}, named) == "Ana"  # no dangling separator
    assert lead_name({"city": "Natal"}, named) == "Lead WhatsApp — energia solar"
    assert len(lead_name({"customer_name": "A" * 400}, named)) == 255


def test_an_update_sends_values_the_stage_and_the_class_tag() -> None:
    body = lead_update_body(9, LEAD, MAPPING, event="meeting.booked", current_status_id=503, pipeline_id=PIPELINE)
    assert body is not None
    assert body["id"] == 9 and body["status_id"] == 501 and body["pipeline_id"] == PIPELINE
    assert len(body["custom_fields_values"]) == 10
    assert body["tags_to_add"] == [{"name": "lead quente"}]
    assert "name" not in body and "_embedded" not in body


@pytest.mark.parametrize("current", [501, 502, 509, 142, 143])
def test_a_lead_the_team_owns_keeps_its_stage(current: int) -> None:
    body = lead_update_body(9, {"lead_class": "WARM"}, MAPPING, event="meeting.booked", current_status_id=current)
    assert body is not None and "status_id" not in body  # the field values still go


def test_an_update_with_nothing_to_change_is_none() -> None:
    assert lead_update_body(9, {"lead_status": "novo"}, MAPPING, event="lead.qualified") is None
    assert lead_update_body(9, {}, parse_mapping({}), event="meeting.booked") is None


def test_the_contact_update_sends_the_name_once_told() -> None:
    assert contact_update_body(5, LEAD, MAPPING) == {
        "id": 5, "name": "Maria Silva",
        "custom_fields_values": [{"field_id": 2004, "values": [{"value": "São Paulo"}]},
                                 {"field_id": 2005, "values": [{"value": "SP"}]}],
    }
    assert contact_update_body(5, {"phone": "5511987654321"}, MAPPING) is None


def test_the_note_has_the_summary_then_the_answers_in_pt_br() -> None:
    assert note_text(LEAD) == (
        "Resumo da conversa no WhatsApp:\n"
        "Quer instalar no telhado da casa; conta alta no verão.\n"
        "\n"
        "Respostas do lead:\n"
        "Nome: Maria Silva\n"
        "Conta de luz: R$ 450,00\n"
        "Consumo mensal: 380 kWh\n"
        "Distribuidora: Enel SP\n"
        "Cidade: São Paulo\n"
        "Estado: SP\n"
        "Tipo de imóvel: residencial\n"
        "Proprietário do imóvel: Sim\n"
        "Decide a compra: Não\n"
        "Prazo: em até 30 dias\n"
        "Pontuação: 82\n"
        "Classificação: HOT\n"
        "Origem: anúncio (clique para WhatsApp)\n"
        "Reunião: 12/03/2025 às 14:00"
    )
    assert note_text({}) == "Lead criado pela assistente do WhatsApp."
    assert display_value("monthly_bill_brl", 12345.5) == "R$ 12.345,50"


def test_the_task_is_due_when_the_caller_says() -> None:
    assert task_body(9, LEAD, MAPPING, complete_till=1_700_000_000, responsible_user_id=77, request_id="t1") == {
        "task_type_id": 1,
        "text": "Ligar para Maria Silva: lead HOT, 82 pontos",
        "complete_till": 1_700_000_000,
        "entity_id": 9,
        "entity_type": "leads",
        "responsible_user_id": 77,
        "request_id": "t1",
    }
    nameless = task_body(9, {"lead_class": "WARM"}, MAPPING, complete_till=1)
    assert nameless is not None and nameless["text"].startswith("Ligar para (sem nome): lead WARM")
    assert task_body(9, LEAD, parse_mapping({"task": {"enabled": False}}), complete_till=1) is None
