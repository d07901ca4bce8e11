"""The Kommo mapping file: parsed into ids, every mistake named by its key, and its settings."""
from __future__ import annotations

import pytest
import yaml

from crm.events import LeadEventType
from crm.kommo_mapping import (
    DEFAULT_MAPPING_FILE,
    LEAD_FIELD_NAMES,
    LOST_STATUS_ID,
    WON_STATUS_ID,
    KommoTask,
    load_mapping,
    mapping_path,
    parse_mapping,
)
from crm.kommo_settings import KommoSettings
from sdr.env import ConfigError
from sdr.vocabulary import LeadClass, LeadStatus

FULL = {
    "stages": {
        "events": {"meeting.booked": 501, "lead.opted_out": LOST_STATUS_ID},
        "statuses": {"atendimento_humano": 502, "descadastrado": LOST_STATUS_ID, "qualificado": None},
        "classes": {"HOT": 503, "WARM": 504},
        "in_service": [502, 505],
    },
    "lead_fields": {"monthly_bill_brl": 1001, "is_owner": "1007", "city": None},
    "contact_fields": {"city": 2004},
    "tags": ["assistente-whatsapp", "solar", "solar"],
    "class_tags": {"HOT": "lead quente", "COLD": None},
    "responsible_user_ids": [11, 12, 13],
    "task": {"type_id": 2, "deadline_minutes": 30, "text": "Ligar para {customer_name} ({city})"},
    "lead_name": "{customer_name} — {city}",
    "lead_name_fallback": "Lead do WhatsApp",
}


def test_a_full_mapping_is_read_into_ids() -> None:
    mapping = parse_mapping(FULL)
    assert dict(mapping.events) == {"meeting.booked": 501, "lead.opted_out": 143}
    assert dict(mapping.statuses) == {"atendimento_humano": 502, "descadastrado": 143}  # null = not mapped
    assert dict(mapping.classes) == {"HOT": 503, "WARM": 504}
    assert mapping.in_service == {502, 505}
    assert dict(mapping.lead_fields) == {"monthly_bill_brl": 1001, "is_owner": 1007}  # a quoted id is fine
    assert dict(mapping.contact_fields) == {"city": 2004}
    assert mapping.tags == ("assistente-whatsapp", "solar")
    assert dict(mapping.class_tags) == {"HOT": "lead quente"}
    assert mapping.responsible_user_ids == (11, 12, 13)
    assert mapping.task == KommoTask(type_id=2, deadline_minutes=30, text="Ligar para {customer_name} ({city})")
    assert (mapping.lead_name, mapping.lead_name_fallback) == ("{customer_name} — {city}", "Lead do WhatsApp")
    assert mapping.stage_ids == {501, 143, 502, 503, 504, 505}


def test_the_first_match_wins_event_then_status_then_class() -> None:
    mapping = parse_mapping(FULL)
    assert mapping.stage_for("meeting.booked", "atendimento_humano", "HOT") == 501
    assert mapping.stage_for("lead.qualified", "atendimento_humano", "HOT") == 502
    assert mapping.stage_for("lead.qualified", "qualificado", "HOT") == 503
    assert mapping.stage_for("lead.qualified", "qualificado", "COLD") is None
    assert mapping.stage_for("lead.hot", None, None) is None
    assert (WON_STATUS_ID, LOST_STATUS_ID) == (142, 143)


def test_responsible_users_none_one_or_in_turns() -> None:
    assert parse_mapping({}).responsible_for(7) is None
    assert parse_mapping({"responsible_user_ids": [42]}).responsible_for(7) == 42
    turns = parse_mapping(FULL)
    assert [turns.responsible_for(n) for n in range(5)] == [11, 12, 13, 11, 12]
    assert turns.responsible_for(10**12) in (11, 12, 13)


def test_in_service_stages() -> None:
    mapping = parse_mapping(FULL)
    assert mapping.is_in_service(505) and not mapping.is_in_service(501) and not mapping.is_in_service(None)


def test_tasks_can_be_turned_off() -> None:
    assert parse_mapping({"task": {"enabled": False}}).task is None
    assert parse_mapping({"task": False}).task is None
    assert parse_mapping({}).task == KommoTask()


@pytest.mark.parametrize("data, key", [
    ({"stages": {"statuses": {"atendimento_humanoo": 1}}}, "stages.statuses.atendimento_humanoo"),
    ({"stages": {"classes": {"hot": 1}}}, "stages.classes.hot"),
    ({"stages": {"events": {"meeting.boked": 1}}}, "stages.events.meeting.boked"),
    ({"stages": {"events": {"meeting.booked": "abc"}}}, "stages.events.meeting.booked"),
    ({"stages": {"events": {"meeting.booked": True}}}, "stages.events.meeting.booked"),
    ({"stages": {"events": {"meeting.booked": 12.5}}}, "stages.events.meeting.booked"),
    ({"stages": {"events": {"meeting.booked": -3}}}, "stages.events.meeting.booked"),
    ({"stages": {"in_service": [5, 5]}}, "stages.in_service"),
    ({"stages": {"in_service": 5}}, "stages.in_service"),
    ({"stages": {"in_servise": []}}, "stages.in_servise"),
    ({"stages": ["x"]}, "stages"),
    ({"lead_fields": {"conta_de_luz": 1}}, "lead_fields.conta_de_luz"),
    ({"contact_fields": {"phone": 1}}, "contact_fields.phone"),
    ({"lead_field": {}}, "lead_field"),
    ({"tags": "solar"}, "tags"),
    ({"tags": ["ok", ""]}, "tags[1]"),
    ({"class_tags": {"MORNO": "x"}}, "class_tags.MORNO"),
    ({"responsible_user_ids": ["ana"]}, "responsible_user_ids[0]"),
    ({"task": {"deadline_minutes": 0}}, "task.deadline_minutes"),
    ({"task": {"enabled": "sim"}}, "task.enabled"),
    ({"task": {"texto": "x"}}, "task.texto"),
    ({"task": {"text": "Ligar para {nome}"}}, "task.text"),
    ({"lead_name": "{customer_name:>10}"}, "lead_name"),
    ({"lead_name": "{customer_name"}, "lead_name"),
    ({"lead_name": "{lead_score} pontos"}, "lead_name"),
    ({"lead_name_fallback": "Lead {customer_name}"}, "lead_name_fallback"),
    ({"lead_name": ""}, "lead_name"),
])
def test_a_mistake_is_named_by_its_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_mapping(data, source="kommo.yml")
    assert f"kommo.yml: {key}: " in str(raised.value)


def test_the_whole_file_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_mapping(["stages"])
    assert parse_mapping(None).stage_ids == frozenset()


def test_the_shipped_file_maps_nothing_but_names_everything() -> None:
    mapping = load_mapping(DEFAULT_MAPPING_FILE)
    assert mapping.stage_ids == frozenset() and not mapping.lead_fields and not mapping.responsible_user_ids
    assert mapping.tags and mapping.task is not None
    raw = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    # Every name an installer may map is listed, so none has to be guessed.
    assert set(raw["stages"]["events"]) == {event.value for event in LeadEventType}
    assert set(raw["stages"]["statuses"]) == {status.value for status in LeadStatus}
    assert set(raw["stages"]["classes"]) == {lead_class.value for lead_class in LeadClass}
    assert list(raw["lead_fields"]) == list(LEAD_FIELD_NAMES)


def test_the_file_comes_from_the_environment(tmp_path) -> None:
    own = tmp_path / "mine.yml"
    own.write_text("stages:\n  classes:\n    HOT: 77\n", encoding="utf-8")
    assert mapping_path({}) == DEFAULT_MAPPING_FILE
    assert load_mapping(environ={"KOMMO_MAPPING_FILE": str(own)}).classes == {"HOT": 77}
    with pytest.raises(ConfigError, match="KOMMO_MAPPING_FILE: cannot read"):
        load_mapping(environ={"KOMMO_MAPPING_FILE": str(tmp_path / "absent.yml")})
    own.write_text("stages: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(own)


def test_settings_from_the_environment(tmp_path) -> None:
    assert not KommoSettings.from_env({}).enabled
    assert not KommoSettings.from_env({"KOMMO_BASE_URL": "https://acme.kommo.com"}).enabled
    settings = KommoSettings.from_env({
        "KOMMO_BASE_URL": "https://acme.kommo.com/", "KOMMO_ACCESS_TOKEN": "secret-token",
        "KOMMO_PIPELINE_ID": "7173574", "KOMMO_MAPPING_FILE": str(tmp_path / "m.yml"),
    })
    assert settings.enabled and settings.base_url == "https://acme.kommo.com" and settings.pipeline_id == 7173574
    assert settings.mapping_file == tmp_path / "m.yml"
    assert "secret-token" not in repr(settings)


@pytest.mark.parametrize("env, variable", [
    ({"KOMMO_BASE_URL": "acme.kommo.com"}, "KOMMO_BASE_URL"),
    ({"KOMMO_BASE_URL": "https://acme.kommo.com/api/v4"}, "KOMMO_BASE_URL"),
    ({"KOMMO_PIPELINE_ID": "funil"}, "KOMMO_PIPELINE_ID"),
    ({"KOMMO_PIPELINE_ID": "0"}, "KOMMO_PIPELINE_ID"),
])
def test_a_wrong_setting_is_named(env: dict, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        KommoSettings.from_env(env)
