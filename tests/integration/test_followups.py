"""Follow-ups and the weekly report end to end: real Rasa servers with the
Evolution channel, the real action server, a real Redis, a fake Evolution.

Delays are seconds here (FOLLOWUP_DELAYS=3s,6s,9s) and the servers' proactive
clock is a file the tests set (AISDR_CLOCK_OFFSET_FILE), so business hours and
the weekly report are tested at the hour they care about.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator, List, Tuple
from zoneinfo import ZoneInfo

import pytest
import redis
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.procs import Server, StartupError, start_rasa_server, write_credentials
from tests.conftest import RedisInfo, server_env
from tests.fake_evolution import FakeEvolution
from tests.integration.whatsapp import WhatsAppLead
from tests.turns import watch_turns

pytestmark = pytest.mark.integration

SP = ZoneInfo("America/Sao_Paulo")
KEY_PREFIX = "fu"  # this module's conversations, apart from the session server's
DELAYS = (3, 6, 9)
REPORT_GROUP = "120363025555555555@g.us"
CREDENTIALS = """
connectors.evolution.EvolutionInput:
  debounce_seconds: 0.3
  typing_delay: false
  outbox_retry_seconds: 0.5
  proactive_poll_seconds: 0.2
"""
FIRST, AGAIN, LAST = "alguma dúvida", "quase pronta", "encerrar"
# Generous: the servers share two cores with the rest of the suite.
WAIT_S = 90


class ProactiveStack:
    """Rasa servers sharing one Redis prefix and one settable clock."""

    def __init__(self, logs: Path, redis_info: RedisInfo, action_server: Server, fake: FakeEvolution) -> None:
        self.logs, self.action_server, self.fake = logs, action_server, fake
        self.clock_file = logs / "clock-offset"
        self.set_local_time(today_at(12, 0))
        self.env = {
            **server_env(redis_info, fake),
            "REDIS_KEY_PREFIX": KEY_PREFIX,
            "FOLLOWUP_DELAYS": ",".join(f"{d}s" for d in DELAYS),
            "BUSINESS_HOURS": "09:00-20:00",
            "TZ_NAME": "America/Sao_Paulo",
            "WEEKLY_REPORT_TO": REPORT_GROUP,
            "WEEKLY_REPORT_AT": "mon 09:00",
            "AISDR_CLOCK_OFFSET_FILE": str(self.clock_file),
        }
        self.credentials = write_credentials(logs, CREDENTIALS, "followup-credentials.yml")
        self.redis = redis.Redis(host=redis_info.host, port=redis_info.port, decode_responses=True)
        self.redis_info = redis_info
        self.servers: List[Server] = [self.start("rasa-followups-a")]

    def start(self, name: str) -> Server:
        try:
            server = start_rasa_server(self.logs, action_url=self.action_server.url,
                                       credentials=self.credentials, env=self.env, name=name)
        except StartupError as error:
            pytest.fail(str(error))
        watch_turns(server.url, self.redis_info.host, self.redis_info.port, KEY_PREFIX)
        return server

    @property
    def url(self) -> str:
        return self.servers[0].url

    def set_local_time(self, local: datetime) -> None:
        """The servers' proactive clock reads `local` (São Paulo time) from now on."""
        self.clock_file.write_text(repr(local.timestamp() - time.time()))

    def kill_all_and_start_two(self) -> None:
        """Every server killed (SIGKILL: nothing is flushed or handed over), then two new
        ones started side by side: what was planned lives on only in Redis."""
        for server in self.servers:
            server.kill()
            server.process.wait()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            starts = [pool.submit(self.start, name) for name in ("rasa-followups-a", "rasa-followups-b")]
        self.servers = [start.result() for start in starts if start.exception() is None]
        for start in starts:
            start.result()  # a server that did not start fails the test (the other is stopped at the end)

    def planned_stage(self, phone: str) -> str:
        return self.redis.hget(f"{KEY_PREFIX}:evo:followup:{phone}", "stage")

    def due_at(self, phone: str) -> float:
        return self.redis.zscore(f"{KEY_PREFIX}:evo:followup:due", phone)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.redis.close()


def today_at(hour: int, minute: int, second: int = 0, days: int = 0) -> datetime:
    now = datetime.now(SP)
    return (now + timedelta(days=days)).replace(hour=hour, minute=minute, second=second, microsecond=0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server, action_server, own_fake_evolution) -> Iterator[ProactiveStack]:
    stack = ProactiveStack(tmp_path_factory.mktemp("followups"), redis_server, action_server, own_fake_evolution)
    yield stack
    stack.close()


@pytest.fixture
def clock(stack: ProactiveStack) -> Iterator[ProactiveStack]:
    """Each test starts at noon on a weekday-independent date and leaves it there."""
    stack.set_local_time(today_at(12, 0))
    yield stack
    stack.set_local_time(today_at(12, 0))


def follow_ups(lead: WhatsAppLead) -> List[str]:
    return [text for text in lead.replies() if FIRST in text or AGAIN in text or LAST in text]


def wait_for_follow_ups(lead: WhatsAppLead, count: int) -> List[str]:
    assert lead.fake.wait_for(lambda: len(follow_ups(lead)) >= count, WAIT_S), (
        f"expected {count} follow-ups, got {lead.replies()}"
    )
    return follow_ups(lead)


def say_together(messages: List[Tuple[WhatsAppLead, str]]) -> None:
    """Each lead sends its text at once; returns when every one was answered (`say` for many)."""
    before = [len(lead.replies()) for lead, _ in messages]
    for lead, text in messages:
        lead.send(text)
    for (lead, _), count in zip(messages, before):
        lead.wait_for_replies(count + 1)
    for lead, _ in messages:
        lead.wait_for_turn()


def stages_recorded(lead: WhatsAppLead) -> List[float]:
    return [e["value"] for e in lead.tracker()["events"] if e["event"] == "slot" and e["name"] == "followup_stage"]


def slot_values(lead: WhatsAppLead) -> dict:
    return lead.tracker()["slots"]


class Alongside:
    """The scenarios below wait only on their own leads, at noon, on one server: they run
    side by side, in threads, from the first of their tests on; each test then reports its
    own scenario (its assertions, with their tracebacks)."""

    def __init__(self, stack: ProactiveStack, scenarios: List[Callable[[ProactiveStack], None]]) -> None:
        stack.set_local_time(today_at(12, 0))
        self.pool = concurrent.futures.ThreadPoolExecutor(max(1, len(scenarios)))
        self.runs = {scenario: self.pool.submit(scenario, stack) for scenario in scenarios}

    def result(self, scenario: Callable[[ProactiveStack], None]) -> None:
        self.runs[scenario].result()


@pytest.fixture(scope="module")
def alongside(request, stack: ProactiveStack) -> Iterator[Alongside]:
    """Runs the scenarios of ALONGSIDE whose tests were selected (test_<scenario name>)."""
    selected = {item.name for item in request.session.items}
    runs = Alongside(stack, [scenario for scenario in ALONGSIDE if f"test_{scenario.__name__}" in selected])
    yield runs
    runs.pool.shutdown(wait=True)
    stack.set_local_time(today_at(12, 0))


def a_quiet_lead_gets_the_cadence_in_order_then_is_marked_cold(clock: ProactiveStack) -> None:
    lead = WhatsAppLead(clock.url, clock.fake)
    lead.say("oi, meu nome é Ana Souza e minha conta vem uns 450 reais")
    texts = wait_for_follow_ups(lead, 3)
    assert [FIRST in texts[0], AGAIN in texts[1], LAST in texts[2]] == [True, True, True], texts
    assert texts[0].startswith("Oi, Ana!") and "R$ 450,00" in texts[0]
    assert "PARAR" in texts[0]  # how to stop, in every nudge
    # Every nudge but the last repeats the question the form is waiting for.
    replies = lead.replies()
    assert "cidade" in replies[replies.index(texts[0]) + 1]
    assert clock.fake.wait_for(lambda: slot_values(lead).get("lead_class") == "COLD", WAIT_S)
    assert slot_values(lead)["followup_stage"] == 3
    # The cadence is over: the plan goes once the last follow-up's turn has saved the tracker.
    assert clock.fake.wait_for(lambda: clock.planned_stage(lead.phone) is None, WAIT_S), clock.planned_stage(lead.phone)
    lead.settle(quiet_s=DELAYS[-1] + 2)
    assert len(follow_ups(lead)) == 3  # nothing after the last


def a_reply_cancels_what_was_pending_and_restarts_the_cadence(clock: ProactiveStack) -> None:
    lead = WhatsAppLead(clock.url, clock.fake)
    lead.say("oi")
    wait_for_follow_ups(lead, 1)
    lead.say("Carla")  # answers the question the follow-up repeated
    texts = wait_for_follow_ups(lead, 2)
    # The second follow-up is a first one again, for the new silence, with her name.
    assert FIRST in texts[1] and texts[1].startswith("Oi, Carla!"), texts
    # The tracker is saved a moment after the messages went out.
    assert clock.fake.wait_for(lambda: stages_recorded(lead)[:2] == [1, 1], WAIT_S), stages_recorded(lead)


def opting_out_or_asking_for_a_person_stops_the_cadence(clock: ProactiveStack) -> None:
    leaving = WhatsAppLead(clock.url, clock.fake)
    human = WhatsAppLead(clock.url, clock.fake)
    control = WhatsAppLead(clock.url, clock.fake)
    # Both at once: each gets its first follow-up, then stops the cadence.
    say_together([(leaving, "oi"), (human, "oi")])
    for lead in (leaving, human):
        wait_for_follow_ups(lead, 1)
    say_together([(leaving, "PARAR"), (human, "quero falar com um atendente")])
    control.say("oi")
    # The control lead goes through its whole cadence meanwhile.
    wait_for_follow_ups(control, 3)
    control.settle(quiet_s=2)
    assert len(follow_ups(leaving)) == 1 and len(follow_ups(human)) == 1
    assert clock.planned_stage(leaving.phone) is None and clock.planned_stage(human.phone) is None
    assert slot_values(leaving)["opted_out"] is True
    assert slot_values(human)["lead_status"] == "atendimento_humano"


def a_lead_who_opts_out_at_once_never_gets_a_follow_up(clock: ProactiveStack) -> None:
    lead = WhatsAppLead(clock.url, clock.fake)
    lead.say("PARAR")
    control = WhatsAppLead(clock.url, clock.fake)
    control.say("oi")
    wait_for_follow_ups(control, 1)
    assert follow_ups(lead) == [] and clock.planned_stage(lead.phone) is None


ALONGSIDE = [
    a_quiet_lead_gets_the_cadence_in_order_then_is_marked_cold,
    a_reply_cancels_what_was_pending_and_restarts_the_cadence,
    opting_out_or_asking_for_a_person_stops_the_cadence,
    a_lead_who_opts_out_at_once_never_gets_a_follow_up,
]


def test_a_quiet_lead_gets_the_cadence_in_order_then_is_marked_cold(alongside):
    alongside.result(a_quiet_lead_gets_the_cadence_in_order_then_is_marked_cold)


def test_a_reply_cancels_what_was_pending_and_restarts_the_cadence(alongside):
    alongside.result(a_reply_cancels_what_was_pending_and_restarts_the_cadence)


def test_opting_out_or_asking_for_a_person_stops_the_cadence(alongside):
    alongside.result(opting_out_or_asking_for_a_person_stops_the_cadence)


def test_a_lead_who_opts_out_at_once_never_gets_a_follow_up(alongside):
    alongside.result(a_lead_who_opts_out_at_once_never_gets_a_follow_up)


def test_outside_business_hours_a_follow_up_waits_for_the_opening(clock):
    clock.set_local_time(today_at(19, 59, 58))
    lead = WhatsAppLead(clock.url, clock.fake)
    lead.say("oi")
    opening = today_at(9, 0, days=1).timestamp()
    assert clock.fake.wait_for(lambda: clock.due_at(lead.phone) == opening, WAIT_S), clock.due_at(lead.phone)
    assert follow_ups(lead) == []
    clock.set_local_time(today_at(8, 59, 57, days=1))
    assert wait_for_follow_ups(lead, 1)[0].startswith("Oi!")


def test_a_follow_up_survives_a_rasa_server_restart(clock):
    lead = WhatsAppLead(clock.url, clock.fake)
    lead.say("oi")
    assert clock.planned_stage(lead.phone) == "1"
    clock.kill_all_and_start_two()  # longer than the whole cadence
    texts = wait_for_follow_ups(lead, 3)
    lead.settle(quiet_s=3)
    assert len(follow_ups(lead)) == 3, texts
    assert [FIRST in texts[0], AGAIN in texts[1], LAST in texts[2]] == [True, True, True]


def test_two_servers_on_one_redis_send_each_follow_up_exactly_once(clock):
    if len(clock.servers) == 1:
        clock.servers.append(clock.start("rasa-followups-b"))
    leads = [WhatsAppLead(clock.servers[i % 2].url, clock.fake) for i in range(6)]
    say_together([(lead, "oi") for lead in leads])  # their follow-ups fall due together, on both servers
    for lead in leads:
        wait_for_follow_ups(lead, 3)
    leads[-1].settle(quiet_s=DELAYS[-1])
    assert [len(follow_ups(lead)) for lead in leads] == [3] * 6
    for lead in leads:
        texts = follow_ups(lead)
        assert [FIRST in texts[0], AGAIN in texts[1], LAST in texts[2]] == [True, True, True]


def test_media_kept_from_webhooks_is_deleted_after_a_day(clock):
    media_key, index_key = f"{KEY_PREFIX}:evo:media:OLDMEDIA", f"{KEY_PREFIX}:evo:media_index"
    kept_at = today_at(12, 0).timestamp()
    clock.redis.set(media_key, "AAAA", ex=7 * 86400)  # a TTL the sweep must not wait for
    clock.redis.zadd(index_key, {"OLDMEDIA": kept_at})
    clock.set_local_time(today_at(12, 30, days=1))  # 24 h 30 min later
    assert clock.fake.wait_for(lambda: not clock.redis.exists(media_key), WAIT_S)
    assert clock.redis.zscore(index_key, "OLDMEDIA") is None


def _seed_week(stack: ProactiveStack, until: float) -> None:
    """Five conversations with known outcomes in the week before `until`, one before it."""
    domain = Domain.from_path("domain.yml")
    store = RedisTrackerStore(domain, host=stack.redis_info.host, port=stack.redis_info.port, key_prefix=KEY_PREFIX)
    day = 86400

    def lead(sender: str, at: float, *slots) -> DialogueStateTracker:
        events = [UserUttered("oi", {"name": "greet", "confidence": 1.0}, timestamp=at)]
        events += [SlotSet(name, value, timestamp=at + 60) for name, value in slots]
        return DialogueStateTracker.from_events(sender, events, domain.slots)

    seeded = [
        lead("5531900000001", until - 6 * day, ("lead_status", "qualificado"), ("lead_class", "HOT")),
        lead("5531900000002", until - 5 * day, ("lead_status", "qualificado"), ("lead_class", "WARM")),
        lead("5531900000003", until - 4 * day, ("lead_status", "atendimento_humano")),
        lead("5531900000004", until - 3 * day, ("opted_out", True), ("lead_status", "descadastrado")),
        lead("5531900000005", until - 2 * day),
        lead("5531900000006", until - 9 * day, ("lead_status", "qualificado")),  # the week before
    ]

    async def save() -> None:
        for tracker in seeded:
            await store.save(tracker)

    asyncio.run(save())


def test_the_weekly_report_goes_once_to_the_group_with_the_week_figures(clock):
    # Next to conversations of this test session (today), a Monday years ahead
    # whose week holds only seeded conversations.
    monday = datetime(2030, 1, 7, 9, 0, tzinfo=SP)
    _seed_week(clock, monday.timestamp())
    assert clock.fake.sent_texts(REPORT_GROUP) == []
    clock.set_local_time(monday + timedelta(seconds=1))
    assert clock.fake.wait_for(lambda: len(clock.fake.sent_texts(REPORT_GROUP)) >= 1, WAIT_S)
    time.sleep(3)  # both servers tick many times meanwhile
    [report] = clock.fake.sent_texts(REPORT_GROUP)
    assert "31/12/2029 a 07/01/2030" in report
    figures = dict(re.findall(r"^(.+?): ([\d,]+%?)$", report, re.MULTILINE))
    assert figures == {
        "Leads recebidos": "5", "Qualificados": "2", "Quentes (HOT)": "1",
        "Encaminhados a atendimento humano": "1", "Descadastrados (opt-out)": "1",
        "Taxa de conversão": "40,0%",
    }, report
