"""Kommo API v4 request bodies built from a lead: pure functions, no I/O.

``lead`` is a plain mapping with the project's slot names (``monthly_bill_brl``, ``city``,
``is_owner``, ``meeting_at``…, see ``crm.kommo_mapping.FIELD_KINDS``) plus ``customer_name``,
``phone`` (digits with the country code, e.g. ``"5511987654321"``), ``summary`` (the
conversation in a few lines), ``lead_status`` and ``lead_class``. Missing or empty values are
simply not sent: an update never blanks what Kommo (or a salesperson) already has.

How values are written (docs/kommo-api-v4.md, "Custom field values"): numbers as JSON numbers
(numeric fields), yes/no as ``true``/``false`` (checkbox fields), ``meeting_at`` as Unix seconds
(date/date-time fields), everything else as text, raw (``residencial``, ``30_dias``, ``HOT``) so
Kommo's filters see the same words as our reports. The note and the task are the only
sales-facing texts, in pt-BR with pt-BR number and date formats.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from crm.kommo_mapping import (
    FIELD_KINDS,
    LOST_STATUS_ID,
    NAME_PLACEHOLDERS,
    TASK_PLACEHOLDERS,
    WON_STATUS_ID,
    KommoMapping,
)
from sdr.formatting import format_brl, format_number
from sdr.vocabulary import MEETING_KIND_LABELS

__all__ = [
    "PHONE_ENUM_CODE",
    "complex_lead_body",
    "contact_update_body",
    "custom_field_values",
    "display_value",
    "field_value",
    "lead_name",
    "lead_update_body",
    "new_lead_body",
    "note_text",
    "task_body",
]

# A WhatsApp number is a mobile; Kommo's PHONE field takes WORK, WORKDD, MOB, FAX, HOME or OTHER.
PHONE_FIELD_CODE = "PHONE"
PHONE_ENUM_CODE = "MOB"
MAX_NAME_CHARS = 255  # Kommo's limit for a lead's or contact's name
MAX_TEXT_VALUE_CHARS = 255  # a text field's value
CONTACT_NAME_FALLBACK = "Contato WhatsApp"
MISSING_NAME = "(sem nome)"
MISSING_VALUE = "?"
# A naive meeting time is the team's local time (Brasília time has had no DST since 2019).
BRASILIA = timezone(timedelta(hours=-3))
_TRIM = " \t-—–,;:/|"
_SPACES = re.compile(r"\s+")

# The lead's answers in the note, in the order a salesperson reads them (pt-BR labels).
NOTE_LABELS = (
    ("customer_name", "Nome"),
    ("monthly_bill_brl", "Conta de luz"),
    ("monthly_kwh", "Consumo mensal"),
    ("utility", "Distribuidora"),
    ("city", "Cidade"),
    ("state", "Estado"),
    ("property_type", "Tipo de imóvel"),
    ("roof_type", "Telhado"),
    ("is_owner", "Proprietário do imóvel"),
    ("is_decision_maker", "Decide a compra"),
    ("financing_interest", "Interesse em financiamento"),
    ("timeline", "Prazo"),
    ("lead_score", "Pontuação"),
    ("lead_class", "Classificação"),
    ("lead_source", "Origem"),
    ("lead_campaign", "Campanha"),
    ("meeting_at", "Reunião"),
)
_WORDS = {
    "timeline": {"imediato": "imediato", "30_dias": "em até 30 dias", "90_dias": "em até 90 dias",
                 "sem_previsao": "sem previsão"},
    "lead_source": {"ctwa_ad": "anúncio (clique para WhatsApp)", "organic": "orgânico"},
}


# --------------------------------------------------------------------------- values


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _datetime(value: Any) -> Optional[datetime]:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            # Python 3.10's fromisoformat does not read a final "Z".
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BRASILIA)


def _text(value: Any) -> Optional[str]:
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def field_value(name: str, value: Any) -> Any:
    """``value`` as Kommo's field of our field ``name`` takes it; None = nothing to send."""
    kind = FIELD_KINDS.get(name, "text")
    if kind == "number":
        number = _number(value)
        if number is None:
            return None
        return int(number) if number.is_integer() else round(number, 2)
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "datetime":
        moment = _datetime(value)
        return int(moment.timestamp()) if moment is not None else None
    text = _text(value)
    return text[:MAX_TEXT_VALUE_CHARS] if text is not None else None


def custom_field_values(lead: Mapping[str, Any], field_ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """``custom_fields_values`` for the mapped fields that have a value."""
    values = []
    for name, field_id in field_ids.items():
        value = field_value(name, lead.get(name))
        if value is not None:
            values.append({"field_id": field_id, "values": [{"value": value}]})
    return values


def display_value(name: str, value: Any) -> Optional[str]:
    """``value`` as a salesperson reads it (pt-BR); None when there is nothing to show."""
    kind = FIELD_KINDS.get(name, "text")
    if name == "monthly_bill_brl":
        number = _number(value)
        return format_brl(number) if number is not None else None
    if name == "monthly_kwh":
        number = _number(value)
        return f"{format_number(number, 0)} kWh" if number is not None else None
    if kind == "number":
        number = _number(value)
        return format_number(number, 0) if number is not None else None
    if kind == "boolean":
        return ("Sim" if value else "Não") if isinstance(value, bool) else None
    if kind == "datetime":
        moment = _datetime(value)
        return moment.strftime("%d/%m/%Y às %H:%M") if moment is not None else None
    text = _text(value)
    if text is None:
        return None
    return _WORDS.get(name, {}).get(text, text)


def _render(template: str, lead: Mapping[str, Any], names: frozenset[str], missing: Mapping[str, str]) -> str:
    values = {name: display_value(name, lead.get(name)) or missing.get(name, "") for name in names}
    return _SPACES.sub(" ", template.format(**values)).strip(_TRIM)


# --------------------------------------------------------------------------- leads


def lead_name(lead: Mapping[str, Any], mapping: KommoMapping) -> str:
    """The lead's name: the template once the lead told a name, the fallback before."""
    if _text(lead.get("customer_name")) is None:
        return mapping.lead_name_fallback[:MAX_NAME_CHARS]
    name = _render(mapping.lead_name, lead, NAME_PLACEHOLDERS, {})
    return (name or mapping.lead_name_fallback)[:MAX_NAME_CHARS]


def _phone_values(phone: Any) -> list[dict[str, Any]]:
    digits = _text(phone)
    if digits is None or not digits.isdigit():
        return []
    return [{"field_code": PHONE_FIELD_CODE, "values": [{"value": f"+{digits}", "enum_code": PHONE_ENUM_CODE}]}]


def _lead_core(
    lead: Mapping[str, Any], mapping: KommoMapping, *, pipeline_id: Optional[int], event: str,
    responsible_user_id: Optional[int], request_id: Optional[str],
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": lead_name(lead, mapping)}
    if pipeline_id is not None:
        body["pipeline_id"] = pipeline_id
    status_id = mapping.stage_for(event, lead.get("lead_status"), lead.get("lead_class"))
    if status_id is not None:
        body["status_id"] = status_id
    if responsible_user_id is not None:
        body["responsible_user_id"] = responsible_user_id
    values = custom_field_values(lead, mapping.lead_fields)
    if values:
        body["custom_fields_values"] = values
    tags = list(mapping.tags)
    class_tag = mapping.class_tags.get(str(lead.get("lead_class")))
    if class_tag and class_tag not in tags:
        tags.append(class_tag)
    if tags:
        body["_embedded"] = {"tags": [{"name": tag} for tag in tags]}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def complex_lead_body(
    lead: Mapping[str, Any], mapping: KommoMapping, *, pipeline_id: Optional[int], event: str,
    responsible_user_id: Optional[int] = None, request_id: Optional[str] = None,
) -> dict[str, Any]:
    """One item of ``POST /api/v4/leads/complex``: the lead and its new contact (with the phone)."""
    body = _lead_core(lead, mapping, pipeline_id=pipeline_id, event=event,
                      responsible_user_id=responsible_user_id, request_id=request_id)
    contact: dict[str, Any] = {"name": (_text(lead.get("customer_name")) or CONTACT_NAME_FALLBACK)[:MAX_NAME_CHARS]}
    if responsible_user_id is not None:
        contact["responsible_user_id"] = responsible_user_id
    contact_values = _phone_values(lead.get("phone")) + custom_field_values(lead, mapping.contact_fields)
    if contact_values:
        contact["custom_fields_values"] = contact_values
    body.setdefault("_embedded", {})["contacts"] = [contact]
    return body


def new_lead_body(
    lead: Mapping[str, Any], mapping: KommoMapping, *, contact_id: int, pipeline_id: Optional[int], event: str,
    responsible_user_id: Optional[int] = None, request_id: Optional[str] = None,
) -> dict[str, Any]:
    """One item of ``POST /api/v4/leads``: a new lead for a contact Kommo already has."""
    body = _lead_core(lead, mapping, pipeline_id=pipeline_id, event=event,
                      responsible_user_id=responsible_user_id, request_id=request_id)
    body.setdefault("_embedded", {})["contacts"] = [{"id": contact_id}]
    return body


def _may_move(current_status_id: Optional[int], target: int, mapping: KommoMapping) -> bool:
    """A lead a person is attending, or that the team closed, stays where the team put it."""
    if current_status_id is None:
        return True
    if current_status_id == target:
        return False
    return current_status_id not in (WON_STATUS_ID, LOST_STATUS_ID) and not mapping.is_in_service(current_status_id)


def lead_update_body(
    lead_id: int, lead: Mapping[str, Any], mapping: KommoMapping, *, event: str,
    current_status_id: Optional[int] = None, pipeline_id: Optional[int] = None,
) -> Optional[dict[str, Any]]:
    """One item of ``PATCH /api/v4/leads``; None when there is nothing to change.

    Only fields with a value are sent. The stage moves only when ``stage_for`` names one and
    the lead's ``current_status_id`` (when known) is not a stage the team owns (in service,
    won, lost). The lead's name is left alone: a salesperson may have renamed it.
    """
    body: dict[str, Any] = {"id": lead_id}
    values = custom_field_values(lead, mapping.lead_fields)
    if values:
        body["custom_fields_values"] = values
    status_id = mapping.stage_for(event, lead.get("lead_status"), lead.get("lead_class"))
    if status_id is not None and _may_move(current_status_id, status_id, mapping):
        body["status_id"] = status_id
        if pipeline_id is not None:
            body["pipeline_id"] = pipeline_id
    class_tag = mapping.class_tags.get(str(lead.get("lead_class")))
    if class_tag:
        # tags_to_add keeps the lead's other tags (``_embedded.tags`` would replace them all).
        body["tags_to_add"] = [{"name": class_tag}]
    return body if len(body) > 1 else None


def contact_update_body(contact_id: int, lead: Mapping[str, Any], mapping: KommoMapping) -> Optional[dict[str, Any]]:
    """One item of ``PATCH /api/v4/contacts`` (the name once told, the mapped contact fields);
    None when there is nothing to change. The phone is never rewritten."""
    body: dict[str, Any] = {"id": contact_id}
    name = _text(lead.get("customer_name"))
    if name is not None:
        body["name"] = name[:MAX_NAME_CHARS]
    values = custom_field_values(lead, mapping.contact_fields)
    if values:
        body["custom_fields_values"] = values
    return body if len(body) > 1 else None


# --------------------------------------------------------------------------- note and task


def note_text(lead: Mapping[str, Any]) -> str:
    """The common note: the conversation's summary, then the lead's answers, one per line (pt-BR)."""
    blocks = []
    summary = lead.get("summary")
    if isinstance(summary, str) and summary.strip():
        blocks.append("Resumo da conversa no WhatsApp:\n" + summary.strip())
    answers = [f"{label}: {shown}" for name, label in NOTE_LABELS
               if (shown := display_value(name, lead.get(name))) is not None]
    if answers:
        blocks.append("Respostas do lead:\n" + "\n".join(answers))
    return "\n\n".join(blocks) or "Lead criado pela assistente do WhatsApp."


MEETING_TASK_TYPE = 2  # Kommo's built-in task type "meeting"


def meeting_task_body(lead_id: int, lead: Mapping[str, Any], *, request_id: Optional[str] = None,
                      ) -> Optional[dict[str, Any]]:
    """A Kommo *meeting* task at the booked time (``meeting_at``), so the consultant sees it in
    Kommo's calendar; None without a readable meeting time."""
    moment = _datetime(lead.get("meeting_at"))
    if moment is None:
        return None
    kind = MEETING_KIND_LABELS.get(str(lead.get("meeting_kind") or ""), "reunião")
    name = _text(lead.get("customer_name")) or MISSING_NAME
    where = _text(lead.get("meeting_address"))
    body: dict[str, Any] = {
        "task_type_id": MEETING_TASK_TYPE,
        "text": f"{kind.capitalize()} com {name}" + (f" — {where}" if where else "") + " (agendada pelo WhatsApp)",
        "complete_till": int(moment.timestamp()),
        "entity_id": lead_id,
        "entity_type": "leads",
    }
    if request_id is not None:
        body["request_id"] = request_id
    return body


def task_body(
    lead_id: int, lead: Mapping[str, Any], mapping: KommoMapping, *, complete_till: int,
    responsible_user_id: Optional[int] = None, request_id: Optional[str] = None,
) -> Optional[dict[str, Any]]:
    """One item of ``POST /api/v4/tasks`` on the lead, due at ``complete_till`` (Unix seconds,
    computed by the caller from ``mapping.task.deadline_minutes``); None when tasks are off."""
    task = mapping.task
    if task is None:
        return None
    text = _render(task.text, lead, TASK_PLACEHOLDERS, {"customer_name": MISSING_NAME}) or MISSING_VALUE
    body: dict[str, Any] = {
        "task_type_id": task.type_id,
        "text": text,
        "complete_till": int(complete_till),
        "entity_id": lead_id,
        "entity_type": "leads",
    }
    if responsible_user_id is not None:
        body["responsible_user_id"] = responsible_user_id
    if request_id is not None:
        body["request_id"] = request_id
    return body
