"""Meetings through the real stack: WhatsApp webhook → Rasa (meeting_form, rules) → action server
(freeBusy, Redis claim, events) → a fake Google Calendar on loopback; the Rasa server's scheduler
sends reminders on a settable clock, retries a request the calendar could not take and notices an
event deleted in the calendar; meeting.booked reaches the outbound webhooks.

This module runs its own Rasa server and action server: booking is on only here, so the session
servers' conversations keep ending with "um consultor vai te chamar".
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator, List
from zoneinfo import ZoneInfo

import pytest
import redis

from meetings.google_calendar import parse_time
from scripts.procs import Server, StartupError, start_action_server, start_rasa_server, write_credentials
from tests.conftest import RedisInfo, lead_sync_env, server_env
from tests.fake_evolution import FakeEvolution
from tests.fake_google_calendar import FakeGoogleCalendar, write_service_account_key
from tests.integration.whatsapp import WhatsAppLead, wait_until
from tests.turns import watch_turns

pytestmark = pytest.mark.integration

SP = ZoneInfo("America/Sao_Paulo")
PREFIX = "mt"
ANA, BRUNO = "ana.souza@solarprime.com.br", "bruno.lima@solarprime.com.br"
CREDENTIALS = """
connectors.evolution.EvolutionInput:
  debounce_seconds: 0.3
  typing_delay: false
  outbox_retry_seconds: 0.5
  proactive_poll_seconds: 0.2
connectors.kommo.KommoInput:
"""
HOT_ANSWERS = ["oi", "Maria", "minha conta vem uns R$ 450,00", "Campinas - SP", "é uma casa", "própria",
               "sou eu que decido", "o quanto antes"]
WAIT_S = 60
OPTION = re.compile(r"(\d)️⃣ \S+, (\d\d)/(\d\d), às (\d+)h(\d\d)?")


class MeetingStack:
    def __init__(self, logs: Path, redis_info: RedisInfo, fake: FakeEvolution, google: FakeGoogleCalendar,
                 webhooks: Any, kommo: Any) -> None:
        self.logs, self.fake, self.google = logs, fake, google
        key = write_service_account_key(logs)
        google.trust(key)
        self.clock_file = logs / "meeting-clock-offset"
        self.clock_file.write_text("0")
        env = {
            **server_env(redis_info, fake), **lead_sync_env(kommo, webhooks),
            "REDIS_KEY_PREFIX": PREFIX,
            "GOOGLE_CALENDAR_CREDENTIALS": str(key.path),
            "GOOGLE_CALENDAR_IDS": f"{ANA},{BRUNO}",
            "GOOGLE_CALENDAR_BASE_URL": google.url,
            "GOOGLE_OAUTH_TOKEN_URL": google.token_url,
            "MEETING_KINDS": "video,visita",
            "MEETING_RETRY_SECONDS": "1",
            "MEETING_SYNC_SECONDS": "5",
            "BUSINESS_HOURS": "09:00-20:00",
            "TZ_NAME": "America/Sao_Paulo",
            "FOLLOWUP_DELAYS": "",
            "GEMINI_API_KEY": "",
            "REVIEW_PUBLIC_URL": "https://painel.example.com",
            "AISDR_CLOCK_OFFSET_FILE": str(self.clock_file),
        }
        try:
            self.actions: Server = start_action_server(logs, env)
            self.rasa: Server = start_rasa_server(
                logs, action_url=self.actions.url, env=env, name="rasa-meetings",
                credentials=write_credentials(logs, CREDENTIALS, "meeting-credentials.yml"))
        except StartupError as error:
            pytest.fail(str(error))
        self.redis = redis.Redis(host=redis_info.host, port=redis_info.port, decode_responses=True)
        watch_turns(self.rasa.url, redis_info.host, redis_info.port, PREFIX)  # say() waits for the turn itself

    def lead(self) -> WhatsAppLead:
        return WhatsAppLead(self.rasa.url, self.fake)

    def set_clock(self, instant: float) -> None:
        """The Rasa server's scheduler reads ``instant`` as now from here on."""
        self.clock_file.write_text(repr(instant - time.time()))

    def close(self) -> None:
        self.rasa.stop()
        self.actions.stop()
        self.redis.close()


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server, own_fake_evolution, google, lead_webhooks,
          fake_kommo) -> Iterator[MeetingStack]:
    google.add_calendar(ANA)
    google.add_calendar(BRUNO)
    stack = MeetingStack(tmp_path_factory.mktemp("meetings"), redis_server, own_fake_evolution, google,
                         lead_webhooks, fake_kommo)
    yield stack
    stack.close()


@pytest.fixture
def calendar(stack: MeetingStack) -> Iterator[FakeGoogleCalendar]:
    stack.google.come_back()
    stack.set_clock(time.time())
    yield stack.google
    stack.google.come_back()
    stack.set_clock(time.time())


def events(google: FakeGoogleCalendar) -> List[dict]:
    return [e for c in (ANA, BRUNO) for e in google.events(c) if e.get("status") != "cancelled"]


def offered_starts(text: str) -> List[float]:
    """The options of an offer message, as instants (the year is this one or the next)."""
    now = datetime.now(SP)
    starts = []
    for _, day, month, hour, minute in OPTION.findall(text):
        year = now.year + (1 if int(month) < now.month else 0)
        starts.append(datetime(year, int(month), int(day), int(hour), int(minute or 0), tzinfo=SP).timestamp())
    return starts


def a_free_business_time(days: int, hour: int) -> datetime:
    """A weekday at least ``days`` days from now, at ``hour`` local time."""
    day = datetime.now(SP) + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def wait_for(lead: WhatsAppLead, needle: str) -> str:
    assert lead.fake.wait_for(lambda: any(needle in text for text in lead.replies()), WAIT_S), lead.replies()
    return [text for text in lead.replies() if needle in text][-1]


def test_a_hot_lead_books_a_visit_is_reminded_moves_it_and_cancels_it(stack: MeetingStack, calendar, lead_webhooks,
                                                                       fake_kommo):
    lead = stack.lead()
    for answer in HOT_ANSWERS:
        replies = lead.say(answer)
    assert any("videochamada" in text and "visita" in text for text in replies), replies
    assert any("endereço" in text for text in lead.say("prefiro a visita técnica"))
    offer = " ".join(lead.say("Rua das Flores, 123, Centro"))
    starts = offered_starts(offer)
    assert len(starts) == 3, offer

    # An option more than a day ahead, so that both reminders are planned (a meeting sooner gets only those ahead).
    pick = next(index for index, start in enumerate(starts) if start > time.time() + 25 * 3600)
    confirmation = " ".join(lead.say(str(pick + 1)))
    assert "Combinado!" in confirmation and ("Ana" in confirmation or "Bruno" in confirmation), confirmation
    slots = lead.tracker()["slots"]
    assert slots["meeting_status"] == "agendada" and slots["meeting_kind"] == "visita"
    assert parse_time(slots["meeting_at"]) == starts[pick]
    [event] = [e for e in events(calendar) if e["id"] == slots["meeting_id"]]
    assert event["location"] == "Rua das Flores, 123, Centro"
    assert lead.phone[-4:] in event["description"]
    assert "https://painel.example.com/conversations/c" in event["description"]
    wait_until(lambda: any(body["lead"]["phone"] == lead.phone for body in lead_webhooks.events("meeting.booked")),
               WAIT_S, "meeting.booked at the webhook")
    booked_hook = [b for b in lead_webhooks.events("meeting.booked") if b["lead"]["phone"] == lead.phone][0]
    assert booked_hook["lead"]["meeting_at"] == slots["meeting_at"] and booked_hook["lead"]["meeting_kind"] == "visita"
    crm_lead_id = int(lead.tracker()["slots"]["crm_lead_id"])
    wait_until(lambda: any(n["entity_id"] == crm_lead_id and "Reunião agendada" in n["params"]["text"]
                           for n in fake_kommo.notes), WAIT_S, "the meeting's note in Kommo")

    # Reminders on the scheduler's clock: the day before, then two hours before; each once.
    stack.set_clock(starts[pick] - 24 * 3600 + 1)
    wait_for(lead, "Passando pra lembrar")
    stack.set_clock(starts[pick] - 2 * 3600 + 1)
    wait_for(lead, "Daqui a pouco")
    time.sleep(1.0)
    assert sum("Passando pra lembrar" in t for t in lead.replies()) == 1
    assert sum("Daqui a pouco" in t for t in lead.replies()) == 1
    stack.set_clock(time.time())

    # Moving it, with a time in words: the same event moves.
    moved_to = a_free_business_time(days=6, hour=15)
    replies = lead.say("preciso remarcar")
    assert any("outro horário" in text for text in replies), replies
    confirmation = " ".join(lead.say(f"dia {moved_to.day} às 15h"))
    assert "Combinado!" in confirmation, confirmation
    slots = lead.tracker()["slots"]
    assert slots["meeting_status"] == "remarcada" and parse_time(slots["meeting_at"]) == moved_to.timestamp()
    [moved] = [e for e in events(calendar) if e["id"] == slots["meeting_id"]]
    assert parse_time(moved["start"]["dateTime"]) == moved_to.timestamp() and moved["id"] == event["id"]

    # Cancelling it: the event is deleted.
    assert any("cancelei" in text for text in lead.say("não vou poder ir, pode cancelar"))
    assert lead.tracker()["slots"]["meeting_status"] == "cancelada"
    assert not [e for e in events(calendar) if e["id"] == event["id"]]


def test_calendar_down_the_lead_is_told_a_consultant_confirms_and_the_retry_books_it(stack: MeetingStack, calendar):
    lead = stack.lead()
    lead.say("oi")
    assert any("videochamada" in t for t in lead.say("quero marcar uma reunião"))
    calendar.go_down()
    replies = " ".join(lead.say("videochamada"))
    assert "não está respondendo" in replies, replies
    wanted = a_free_business_time(days=3, hour=10)
    replies = " ".join(lead.say(f"dia {wanted.day} às 10h"))
    assert "um consultor vai confirmar" in replies and "Combinado" not in replies, replies
    assert lead.tracker()["slots"]["meeting_status"] == "pendente"
    assert events(calendar) == [] or all(e["start"]["dateTime"] != wanted.isoformat() for e in events(calendar))
    calendar.come_back()
    wait_for(lead, "Confirmado!")
    mine = [e for e in events(calendar) if parse_time(e["start"]["dateTime"]) == wanted.timestamp()]
    assert len(mine) == 1
    wait_until(lambda: lead.tracker()["slots"]["meeting_status"] == "agendada", WAIT_S, "meeting_status agendada")


def test_an_event_deleted_in_the_calendar_is_noticed_and_the_lead_told(stack: MeetingStack, calendar):
    lead = stack.lead()
    lead.say("oi")
    lead.say("posso agendar uma reunião online?")
    offer = " ".join(lead.say("video"))
    starts = offered_starts(offer)
    assert starts, offer
    lead.say("1")
    slots = lead.tracker()["slots"]
    assert slots["meeting_status"] == "agendada"
    [calendar_id] = [c for c in (ANA, BRUNO) if calendar.event(c, slots["meeting_id"])]
    calendar.delete_by_hand(calendar_id, slots["meeting_id"])
    wait_for(lead, "precisou cancelar")
    wait_until(lambda: lead.tracker()["slots"]["meeting_status"] == "cancelada", WAIT_S, "meeting_status cancelada")


def test_two_leads_racing_for_the_last_free_time_one_books_it_the_other_gets_the_nearest(
        stack: MeetingStack, calendar):
    first, second = stack.lead(), stack.lead()
    day = a_free_business_time(days=8, hour=9)
    # Bruno is away that day, and Ana has only 14h free: the race is for one consultant's one hour.
    calendar.add_busy(BRUNO, day.timestamp(), day.timestamp() + 12 * 3600)
    calendar.add_busy(ANA, day.timestamp(), day.replace(hour=14).timestamp() - 3600)
    calendar.add_busy(ANA, day.replace(hour=15).timestamp() + 3600, day.timestamp() + 12 * 3600)
    for lead in (first, second):
        lead.say("oi")
        lead.say("quero agendar uma videochamada")
        lead.say("video")
    # A question while choosing is answered, then the times are offered again.
    replies = second.say("e quanto custa a instalação?")
    assert len(replies) >= 2 and offered_starts(replies[-1]), replies
    before = {lead.phone: len(lead.replies()) for lead in (first, second)}
    for lead in (first, second):
        lead.send(f"dia {day.day} às 14h")
    for lead in (first, second):
        lead.wait_for_replies(before[lead.phone] + 1)
        lead.settle()
    outcomes = {lead.phone: " ".join(lead.replies()[before[lead.phone]:]) for lead in (first, second)}
    winners = [phone for phone, text in outcomes.items() if "Combinado!" in text]
    assert len(winners) == 1, outcomes
    [loser] = [lead for lead in (first, second) if lead.phone not in winners]
    assert "não está livre" in outcomes[loser.phone] and offered_starts(outcomes[loser.phone]), outcomes
    at_14h = [e for e in events(calendar) if parse_time(e["start"]["dateTime"]) == day.replace(hour=14).timestamp()]
    assert len(at_14h) == 1
    assert "Combinado!" in " ".join(loser.say("1"))
