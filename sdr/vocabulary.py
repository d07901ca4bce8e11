"""The dialogue's vocabulary, defined once: lead statuses and classes, the other categorical
slots' values, and the limits of the lead's figures. ``tests/unit/test_vocabulary.py`` ties
every value here to ``domain.yml``, so a rename in one place fails until both agree.

The enums are ``str`` enums: a member equals its value (``LeadStatus.NEW == "novo"``), and
``.value`` is what goes into a slot, a log line or a JSON body.
"""
from __future__ import annotations

import enum

__all__ = [
    "INITIAL_LEAD_STATUS",
    "MAX_MONTHLY_BILL_BRL",
    "MAX_MONTHLY_KWH",
    "LeadClass",
    "LeadSource",
    "LeadStatus",
    "MEETING_KIND_LABELS",
    "MeetingKind",
    "MeetingNotice",
    "MEETING_STATUSES_UPCOMING",
    "MeetingStatus",
    "PropertyType",
    "RoofType",
    "STATUSES_BEING_QUALIFIED",
    "STATUSES_QUALIFIED",
    "STATUSES_QUALIFYING_OR_LATER",
    "Timeline",
    "UFS",
]


class LeadStatus(str, enum.Enum):
    """Slot ``lead_status``: where the lead stands in the sales process."""

    NEW = "novo"
    QUALIFYING = "qualificando"
    QUALIFIED = "qualificado"
    SUBSCRIPTION = "assinatura"  # would rather subscribe to shared solar than install
    DISQUALIFIED = "desqualificado"
    HUMAN = "atendimento_humano"
    OPTED_OUT = "descadastrado"
    WON = "ganho"  # set by the CRM: the sale closed
    LOST = "perdido"  # set by the CRM: the sale was lost


INITIAL_LEAD_STATUS = LeadStatus.NEW  # domain.yml's initial_value

# Sets hold the plain values: an Enum member hashes by its name, so "novo" would not be
# found in a set of members.
# Still being qualified by the assistant: follow-ups go only to these.
STATUSES_BEING_QUALIFIED = frozenset({LeadStatus.NEW.value, LeadStatus.QUALIFYING.value})
# Qualified, whichever way it went on.
STATUSES_QUALIFIED = frozenset({LeadStatus.QUALIFIED.value, LeadStatus.SUBSCRIPTION.value})
# Qualifying or further along the funnel.
STATUSES_QUALIFYING_OR_LATER = STATUSES_QUALIFIED | {LeadStatus.QUALIFYING.value}


class LeadClass(str, enum.Enum):
    """Slot ``lead_class``: the score's band."""

    HOT = "HOT"
    WARM = "WARM"
    COLD = "COLD"
    UNQUALIFIED = "UNQUALIFIED"


class LeadSource(str, enum.Enum):
    """Slot ``lead_source``: what brought the lead to WhatsApp."""

    CTWA_AD = "ctwa_ad"  # a Meta click-to-WhatsApp ad
    ORGANIC = "organic"


class PropertyType(str, enum.Enum):
    RESIDENTIAL = "residencial"
    COMMERCIAL = "comercial"
    RURAL = "rural"
    INDUSTRIAL = "industrial"


class RoofType(str, enum.Enum):
    CERAMIC = "ceramica"
    FIBRE_CEMENT = "fibrocimento"
    METAL = "metalico"
    SLAB = "laje"
    GROUND = "solo"
    OTHER = "outro"


class Timeline(str, enum.Enum):
    NOW = "imediato"
    WITHIN_30_DAYS = "30_dias"
    WITHIN_90_DAYS = "90_dias"
    NO_DATE = "sem_previsao"


class MeetingKind(str, enum.Enum):
    """Slot ``meeting_kind``: what the lead is booked for (``MEETING_KINDS`` says which exist)."""

    VIDEO = "video"  # a video call with a consultant
    VISIT = "visita"  # a technical visit to the property


class MeetingStatus(str, enum.Enum):
    """Slot ``meeting_status``."""

    PENDING = "pendente"  # the lead chose a time; the calendar could not take it yet (retried)
    BOOKED = "agendada"
    RESCHEDULED = "remarcada"
    CANCELLED = "cancelada"
    DONE = "realizada"


# How a lead and a salesperson read each kind (pt-BR).
MEETING_KIND_LABELS = {MeetingKind.VIDEO.value: "videochamada", MeetingKind.VISIT.value: "visita técnica"}

# A booked meeting still to happen (reminders, reschedule and cancel apply).
MEETING_STATUSES_UPCOMING = frozenset({MeetingStatus.BOOKED.value, MeetingStatus.RESCHEDULED.value})


class MeetingNotice(str, enum.Enum):
    """What the scheduler tells the lead about a meeting (entity of ``EXTERNAL_meeting``)."""

    REMINDER_DAY = "lembrete_24h"
    REMINDER_HOURS = "lembrete_2h"
    CONFIRMED = "confirmada"  # a pending request the calendar finally took
    NOT_BOOKED = "nao_agendada"  # a pending request whose time was taken meanwhile
    CANCELLED_IN_CALENDAR = "cancelada_na_agenda"
    MOVED_IN_CALENDAR = "movida_na_agenda"
    DONE = "realizada"  # its time has passed: only the slot changes, the lead is not messaged


# Brazil's 27 federative units (the ``state`` slot holds one of these).
UFS = (
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
    "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
)

# The largest monthly bill and consumption any reader accepts (the lead's words, a bill's
# OCR, Gemini's answer, the form): larger figures are account numbers, barcodes or typos.
# A very large industrial consumer on the regulated market stays below both.
MAX_MONTHLY_BILL_BRL = 1_000_000.0
MAX_MONTHLY_KWH = 1_000_000.0
