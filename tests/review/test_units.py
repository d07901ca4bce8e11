"""The review UI's pure parts with plain data: tracker parsing, filters, NLU
export, leads aggregation, charts, auth helpers, settings."""
from __future__ import annotations

import asyncio

import pytest
import yaml

from review import charts, leads
from review.auth import same_origin
from review.filters import InboxFilter, matches, paginate, select
from review.nlu_inbox import NluItem, Verdict, clean_example, examples_in, item_id, new_examples, render_nlu_yaml
from review.pages.login import safe_next
from review.settings import ConfigError, ReviewSettings
from review.tracker_parse import (
    ConversationSummary,
    attach_sent_ids,
    last_status_before_human,
    summarise,
    transcript,
)
from sdr.signing import secrets_match as token_matches

T0 = 1_764_000_000.0  # a Tuesday in November 2025


def user(text, intent, confidence, t, **extra):
    return {"event": "user", "timestamp": t, "text": text, "input_channel": "evolution",
            "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": [],
                           "intent_ranking": [{"name": intent, "confidence": confidence}]}, **extra}


def slot(name, value, t):
    return {"event": "slot", "timestamp": t, "name": name, "value": value}


def action(name, t):
    return {"event": "action", "timestamp": t, "name": name, "policy": "RulePolicy", "confidence": 1.0}


EVENTS = [
    action("action_session_start", T0), {"event": "session_started", "timestamp": T0},
    user("oi", "greet", 0.98, T0 + 1, metadata={"evolution": {"push_name": "Zé", "messages": []}}),
    action("utter_greet", T0 + 2), {"event": "bot", "timestamp": T0 + 2, "text": "Oi! Eu sou a Sol"},
    slot("lead_status", "qualificando", T0 + 3), slot("lead_status", "qualificando", T0 + 3),
    user("zyx", "nlu_fallback", 0.4, T0 + 10), action("action_fallback", T0 + 11),
    user("", "share_bill", 1.0, T0 + 20, metadata={"evolution": {"messages": [
        {"message_id": "M1", "kind": "document", "media": {"kind": "document", "mimetype": "application/pdf",
                                                           "file_name": "conta.pdf"}}]}}),
    action("action_read_bill", T0 + 21), slot("monthly_bill_brl", 450.0, T0 + 21), slot("utility", "CEMIG", T0 + 21),
    action("action_qualify_lead", T0 + 30), slot("lead_class", "HOT", T0 + 30), slot("lead_score", 83.0, T0 + 30),
    slot("lead_status", "atendimento_humano", T0 + 40), {"event": "pause", "timestamp": T0 + 40},
]


def test_a_summary_has_what_the_inbox_shows():
    s = summarise("5511987654321", EVENTS, fingerprint=123)
    assert (s.name, s.turns, s.lead_class, s.lead_score, s.lead_status) == ("Zé", 3, "HOT", 83.0, "atendimento_humano")
    assert s.fallbacks == 2 and s.min_confidence == 0.4 and s.low_confidence(0.6) and s.paused
    assert s.intents == ["greet", "nlu_fallback", "share_bill"]
    assert "action_session_start" not in s.actions and "action_read_bill" in s.actions
    assert (s.first_activity, s.last_activity, s.fingerprint) == (T0, T0 + 40, 123)
    assert s.confidences == [0.98, 0.4]  # the channel's payload is not a typed message
    assert ConversationSummary.from_dict(s.as_dict()) == s


def test_the_transcript_attaches_bill_facts_and_shows_slot_changes_once():
    entries = transcript(EVENTS)
    document = next(e for e in entries if e.media)
    assert document.bill_facts == {"monthly_bill_brl": 450.0, "utility": "CEMIG"}
    assert document.media[0]["file_name"] == "conta.pdf" and document.message_ids == ["M1"]
    statuses = [e.value for e in entries if e.kind == "slot" and e.name == "lead_status"]
    assert statuses == ["qualificando", "atendimento_humano"]
    assert [e.name for e in entries if e.kind == "action" and e.fallback] == ["action_fallback"]
    assert entries[-1].kind == "system" and entries[-1].name == "pause"


def test_operator_messages_are_told_apart_from_the_assistant():
    entries = transcript([{"event": "bot", "timestamp": T0, "text": "Olá, aqui é a Ana",
                           "metadata": {"review": {"operator": True}, "message_id": "3EB0X"}}])
    assert entries[0].kind == "operator" and entries[0].message_ids == ["3EB0X"]


def test_hand_back_returns_to_the_status_before_the_person():
    assert last_status_before_human(EVENTS) == "qualificando"
    assert last_status_before_human([]) == "novo"


def test_filters_combine():
    s = summarise("5511987654321", EVENTS)
    assert matches(s, InboxFilter(lead_class="HOT", intent="greet", fallback="1", q="ze"), "new", [], 0.6)
    assert not matches(s, InboxFilter(lead_class="WARM"), "new", [], 0.6)
    assert matches(s, InboxFilter(conf_min="0.3", conf_max="0.5"), "new", [], 0.6)
    assert not matches(s, InboxFilter(conf_min="0.5", conf_max="0.9"), "new", [], 0.6)
    assert matches(s, InboxFilter(review="saved", tag="vip"), "saved", ["vip"], 0.6)
    assert not matches(s, InboxFilter(date_to="2020-01-01"), "new", [], 0.6)
    assert matches(s, InboxFilter(conf_min="not a number"), "new", [], 0.6)
    assert InboxFilter.from_args({"tag": "vip", "q": "oi", "junk": "x"}).query() == "tag=vip&q=oi"


def test_pagination_is_bounded():
    many = [ConversationSummary(sender_id=str(i), last_activity=i) for i in range(120)]
    assert [p.number for p in (paginate(many, 0), paginate(many, 3), paginate(many, 99))] == [1, 3, 3]
    assert len(paginate(many, 3).items) == 20 and paginate([], 1).pages == 1
    assert select(many, InboxFilter(), {}, {}, 0.6) == many


def item(text, intent="ask_price", t=0.0):
    return NluItem(item_id(text), text, intent, 0.5, "55", 1, t)


def test_nlu_export_skips_known_duplicate_and_untrainable_examples():
    items = [item("Quanto fica?"), item("quanto fica"), item("oi"), item("zyx", "nlu_fallback"),
             item("abc", "nlu_fallback"), item("descarta")]
    verdicts = {items[0].id: Verdict("correct"), items[2].id: Verdict("correct"),
                items[3].id: Verdict("relabel", "out_of_scope"), items[4].id: Verdict("correct"),
                items[5].id: Verdict("discard")}
    added = new_examples(items, verdicts, known={"oi"}, allowed_intents=["ask_price", "out_of_scope", "greet"])
    assert added == {"ask_price": ["Quanto fica?"], "out_of_scope": ["zyx"]}
    text = render_nlu_yaml(added)
    assert examples_in(yaml.safe_load(text)) == added


def test_lead_text_cannot_become_entity_markup_or_break_the_yaml():
    assert clean_example("[R$ 450](amount) {x}\nsegunda linha\x00") == "(R$ 450)(amount) (x) segunda linha"
    text = render_nlu_yaml({"inform": [clean_example('#: "quoted" - | >')]})
    assert examples_in(yaml.safe_load(text)) == {"inform": ['#: "quoted" - | >']}


def test_leads_sort_with_empty_cells_last_and_csv_neutralises_formulas():
    a = ConversationSummary(sender_id="5511987654321", name="=HYPERLINK(x)", lead_score=50.0, last_activity=T0)
    b = ConversationSummary(sender_id="5511987654322", name="Ana", lead_score=None, last_activity=T0 + 1)
    c = ConversationSummary(sender_id="5511987654323", name="Bia", lead_score=90.0, last_activity=T0 + 2)
    rows = [leads.lead_row(s) for s in (a, b, c)]
    assert [r["name"] for r in leads.sorted_rows(rows, "lead_score", True)] == ["Bia", "=HYPERLINK(x)", "Ana"]
    assert [r["name"] for r in leads.sorted_rows(rows, "lead_score", False)] == ["=HYPERLINK(x)", "Bia", "Ana"]
    out = leads.leads_csv(rows)
    assert "'=HYPERLINK(x)" in out and "5511987654321" not in out


def test_the_weekly_funnel_counts_cohorts_and_the_histogram_bins_confidences():
    hot = summarise("1", EVENTS)
    cold = ConversationSummary(sender_id="2", first_activity=T0 + 7 * 86400, confidences=[0.05, 1.0])
    weeks = leads.weekly_funnel([hot, cold])
    assert [w.counts for w in weeks] == [(1, 1, 0, 1), (1, 0, 0, 0)]
    assert leads.confidence_histogram([hot, cold]) == [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]


def test_charts_escape_labels_and_draw_nothing_from_nothing():
    svg = charts.funnel_svg([leads.FunnelWeek("2025-<b>", (3, 2, 1, 1))])
    assert "<b>" not in svg and svg.startswith("<svg")
    assert "<svg" not in charts.histogram_svg([0] * 10)


def test_auth_helpers():
    assert token_matches("s3cret-token", "s3cret-token") and not token_matches("s3cret", "s3cret-token")
    assert same_origin(None, "h:1") and same_origin("http://h:1", "h:1")
    assert not same_origin("null", "h:1") and not same_origin("https://evil", "h:1")
    assert safe_next("/nlu") == "/nlu"
    assert safe_next("//evil.example") == safe_next("https://evil") == safe_next("/\\evil") == "/conversations"


def test_settings_take_an_optional_first_run_token_and_hide_secrets():
    assert ReviewSettings.from_env({}).token is None  # accounts log in; the token only makes the first admin
    with pytest.raises(ConfigError):
        ReviewSettings.from_env({"REVIEW_TOKEN": "short"})
    settings = ReviewSettings.from_env({"REVIEW_TOKEN": "long-enough-token", "RASA_AUTH_TOKEN": "rasa-secret",
                                        "HANDOFF_NOTIFY_TO": "5511900009999"})
    assert (settings.host, settings.port) == ("127.0.0.1", 5002)
    assert settings.handoff_notify_to == "5511900009999" and settings.audit_retention_days == 365
    assert (settings.password_cost.memory_kib, settings.password_cost.time_cost) == (65536, 3)  # RFC 9106
    assert "long-enough-token" not in repr(settings) and "rasa-secret" not in repr(settings)
    assert "5511900009999" not in repr(settings)
    with pytest.raises(ConfigError):
        ReviewSettings.from_env({"REVIEW_PASSWORD_HASH_MEMORY_KIB": "8"})


def test_roles_include_the_ones_below():
    from review.roles import Role

    assert Role.ADMIN.covers(Role.OPERATOR) and Role.OPERATOR.covers(Role.VIEWER)
    assert not Role.VIEWER.covers(Role.OPERATOR) and not Role.OPERATOR.covers(Role.ADMIN)
    assert Role.parse("boss") is None


def test_login_backoff_per_account_and_per_address(redis_server):
    from redis import asyncio as aioredis

    from review.auth import FREE_FAILURES_PER_ADDRESS, FREE_FAILURES_PER_USER, LoginBackoff, backoff_seconds

    assert backoff_seconds(FREE_FAILURES_PER_USER - 1, FREE_FAILURES_PER_USER) == 0
    assert [backoff_seconds(n, 5) for n in (5, 6, 7)] == [2, 4, 8] and backoff_seconds(99, 5) == 15 * 60

    async def scenario():
        client = aioredis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
        backoff = LoginBackoff(client, "unit-backoff")
        now = 1_000_000.0
        try:
            for _ in range(FREE_FAILURES_PER_USER):
                await backoff.failed("ana", "10.0.0.1", now=now)
            assert await backoff.wait_seconds("ana", "10.0.0.9", now=now) == 2  # the account, any address
            assert await backoff.wait_seconds("bia", "10.0.0.1", now=now) == 0  # the address: not yet
            assert await backoff.wait_seconds("ana", "10.0.0.1", now=now + 2) == 0
            await backoff.succeeded("ana")
            assert await backoff.wait_seconds("ana", "10.0.0.1", now=now) == 0
            for i in range(FREE_FAILURES_PER_ADDRESS):  # many accounts from one address
                await backoff.failed(f"user{i}", "10.0.0.2", now=now)
            assert await backoff.wait_seconds("someone-else", "10.0.0.2", now=now) == 2
            assert await backoff.wait_seconds("someone-else", "10.0.0.3", now=now) == 0
        finally:
            await client.close()

    asyncio.run(scenario())


def test_passwords_are_argon2id_and_rehashed_when_the_cost_changes():
    from review.passwords import HashCost, Passwords, password_problem

    cheap = Passwords(HashCost(memory_kib=1024, time_cost=1))
    stored = cheap.hash("uma-senha-longa")
    assert stored.startswith("$argon2id$") and "m=1024,t=1" in stored
    assert cheap.verify(stored, "uma-senha-longa") and not cheap.verify(stored, "outra-senha")
    assert not cheap.verify("not-a-hash", "uma-senha-longa")
    assert not cheap.needs_rehash(stored)
    assert Passwords(HashCost(memory_kib=2048, time_cost=1)).needs_rehash(stored)
    assert password_problem("curta") and password_problem("x" * 300) and password_problem("x" * 10) is None


def test_the_channel_honours_the_ui_hold_until_it_is_released(redis_server):
    from whatsapp.store import ChannelStore

    async def scenario():
        store = ChannelStore.connect(host=redis_server.host, port=redis_server.port, db=0, password=None,
                                     prefix="unit-review:evo")
        try:
            before = await store.human_is_talking("551100")
            await store.hold_for_human("551100")
            held = await store.human_is_talking("551100")
            other = await store.human_is_talking("551101")
            await store.pause_for_human("551100", 60)
            await store.release_human("551100")
            return before, held, other, await store.human_is_talking("551100")
        finally:
            await store.close()

    assert asyncio.run(scenario()) == (False, True, False, False)


def test_sent_ids_are_matched_to_replies_in_order_chunks_and_buttons_included():
    bot = lambda text, t: {"event": "bot", "timestamp": t, "text": text}  # noqa: E731
    entries = transcript([
        bot("Pra começar, como posso te chamar?", T0),
        bot("Pra começar, como posso te chamar?", T0 + 5),  # the same words, a second message
        bot("Parágrafo um.\n\nParágrafo dois, longo.", T0 + 9),
        bot("O imóvel é próprio ou alugado?", T0 + 12),
    ])
    attach_sent_ids(entries, [
        {"id": "A", "text": "Pra começar, como posso te chamar?"},
        {"id": "B", "text": "Pra começar, como posso te chamar?"},
        {"id": "C1", "text": "Parágrafo um."},
        {"id": "C2", "text": "Parágrafo dois, longo."},
        {"id": "D", "text": "O imóvel é próprio ou alugado?\n\n1. Próprio\n2. Alugado"},
    ])
    assert [e.message_ids for e in entries] == [["A"], ["B"], ["C1", "C2"], ["D"]]


def test_replies_without_a_kept_id_stay_without_one():
    entries = transcript([{"event": "bot", "timestamp": T0, "text": "Oi!"}])
    attach_sent_ids(entries, [{"id": "X", "text": "outra coisa"}])
    assert entries[0].message_ids == []
