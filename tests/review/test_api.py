"""The review UI's HTTP surface against a real Redis holding conversations the
real Rasa server produced: login, CSRF, inbox and filters, transcript, NLU
inbox, take-over, leads. (Exports and their validation: test_export.py.)"""
from __future__ import annotations

import csv
import html
import io
import re

import httpx
import pytest

from tests.review.conftest import HOSTILE_NAME, REVIEW_TOKEN, csrf_from

pytestmark = pytest.mark.integration

PAGES = ["/", "/conversations", "/conversations/5511999990000", "/nlu", "/leads", "/leads.csv"]
APIS = ["/api/conversations", "/api/conversations/5511999990000", "/api/nlu", "/api/leads", "/api/session"]
CHANGES = ["/logout", "/filters", "/filters/delete", "/nlu/export", "/nlu/abc",
           "/conversations/5511999990000/review", "/conversations/5511999990000/tags",
           "/conversations/5511999990000/flag", "/conversations/5511999990000/takeover",
           "/conversations/5511999990000/handback", "/conversations/5511999990000/send",
           "/conversations/5511999990000/export-story", "/conversations/5511999990000/typing",
           "/users", "/users/ana/disable", "/users/ana/reset", "/integrations/retry"]


# --- login, sessions, CSRF -------------------------------------------------------------


def test_healthz_answers_without_login(review_server):
    response = httpx.get(review_server.url + "/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", PAGES)
def test_no_page_without_login(review_server, path):
    response = httpx.get(review_server.url + path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", APIS)
def test_no_api_without_login(review_server, path):
    assert httpx.get(review_server.url + path).status_code == 401


@pytest.mark.parametrize("path", CHANGES)
def test_no_change_without_login(review_server, path):
    assert httpx.post(review_server.url + path, data={"x": "1"}).status_code == 401


def test_a_forged_session_cookie_is_not_a_login(review_server):
    response = httpx.get(review_server.url + "/api/conversations", cookies={"review_session": "forged"})
    assert response.status_code == 401


def test_the_login_form_asks_for_user_name_and_password(review_server):
    page = httpx.get(review_server.url + "/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text and 'name="token"' not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "connect-src 'self'" in page.headers["content-security-policy"]


def test_a_wrong_password_is_refused_and_sets_no_session(review_server):
    response = httpx.post(review_server.url + "/login", data={"username": "admin", "password": "wrong-password"})
    assert response.status_code == 401
    assert "review_session" not in response.cookies
    assert "Usuário ou senha inválidos" in response.text
    # The old single-token form is no login any more.
    assert httpx.post(review_server.url + "/login", data={"token": REVIEW_TOKEN}).status_code == 401


def test_login_sets_an_httponly_samesite_cookie_and_logout_ends_it(review_server):
    with httpx.Client(base_url=review_server.url) as client:
        response = client.post("/login", data={"username": "admin", "password": REVIEW_TOKEN})
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert client.get("/api/conversations").status_code == 200
        csrf = client.get("/api/session").json()["csrf_token"]
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
        client.cookies.clear()
    # The old session id no longer opens anything, even if a copy of it was kept.
    session_id = cookie.split(";")[0].split("=", 1)[1]
    stale = httpx.get(review_server.url + "/api/conversations", cookies={"review_session": session_id})
    assert stale.status_code == 401


def test_a_cross_site_login_is_refused(review_server):
    response = httpx.post(review_server.url + "/login", data={"username": "admin", "password": REVIEW_TOKEN},
                          headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_login_redirects_only_to_local_paths(review_server):
    response = httpx.post(review_server.url + "/login",
                          data={"username": "admin", "password": REVIEW_TOKEN, "next": "//evil.example/x"})
    assert response.headers["location"] == "/conversations"


def test_every_change_needs_the_csrf_token(operator, seeded):
    path = f"/conversations/{seeded.qualified}/review"
    assert operator.http.post(path, data={"status": "reviewed"}).status_code == 403
    assert operator.http.post(path, data={"status": "reviewed", "csrf_token": "wrong"}).status_code == 403
    assert operator.http.post(path, data={"status": "reviewed"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert operator.http.post("/logout").status_code == 403
    # The page's own form carries the token.
    page = operator.http.get(f"/conversations/{seeded.qualified}").text
    assert operator.http.post(path, data={"status": "new", "csrf_token": csrf_from(page)}).status_code == 303


# --- conversations that do not exist ----------------------------------------------------


@pytest.mark.parametrize("sender", ["5511000000000", "x" * 500, "nope%3Cscript%3E"])
def test_a_conversation_that_does_not_exist_is_404(operator, sender):
    assert operator.http.get(f"/conversations/{sender}").status_code == 404
    assert operator.http.get(f"/api/conversations/{sender}").status_code == 404
    for action in ("review", "tags", "flag", "takeover", "handback", "send", "export-story"):
        assert operator.post(f"/conversations/{sender}/{action}", status="reviewed", tag="a", index="1",
                             text="oi").status_code == 404


# --- inbox and filters -------------------------------------------------------------------


def test_the_inbox_lists_every_conversation_newest_first_with_masked_phones(operator, seeded):
    for sender in (seeded.qualified, seeded.hostile, seeded.fallback, seeded.whatsapp.phone):
        operator.wait_listed(sender)
    rows = operator.listed()
    times = [r["last_activity"] for r in rows]
    assert times == sorted(times, reverse=True)
    page = operator.http.get("/conversations").text
    table = page[page.index('<table class="grid" id="inbox">'):]
    visible = re.sub(r"<[^>]+>", " ", table)
    for sender in (seeded.qualified, seeded.whatsapp.phone):
        assert sender not in visible
        assert sender[:4] in visible and "*" in visible


def test_the_inbox_shows_lead_class_score_status_and_flags(operator, seeded):
    row = operator.wait_listed(seeded.qualified, lambda r: r["lead_class"] == "HOT")
    assert row["lead_score"] >= 70 and row["lead_status"] == "qualificado" and row["turns"] >= 8
    assert row["name"] == "Maria" and row["review_status"] == "new"
    fallback = operator.wait_listed(seeded.fallback, lambda r: r["fallbacks"] > 0)
    assert fallback["low_confidence"] is True


def test_filters_by_class_status_intent_action_confidence_fallback_and_text(operator, seeded):
    operator.wait_listed(seeded.fallback, lambda r: r["fallbacks"] > 0)
    operator.wait_listed(seeded.qualified, lambda r: r["lead_class"] == "HOT")

    def found(sender, **filters):
        """Whether the filter keeps this conversation (searched by its id, so that the
        session's other conversations cannot push it off the first page)."""
        return sender in {r["id"] for r in operator.listed(q=sender, **filters)}

    assert found(seeded.qualified, lead_class="HOT") and not found(seeded.fallback, lead_class="HOT")
    assert found(seeded.qualified, lead_status="qualificado")
    assert found(seeded.fallback, fallback="1") and not found(seeded.qualified, fallback="1")
    assert found(seeded.fallback, intent="nlu_fallback") and not found(seeded.qualified, intent="nlu_fallback")
    assert found(seeded.qualified, action="action_qualify_lead")
    assert not found(seeded.fallback, action="action_qualify_lead")
    assert found(seeded.fallback, conf_min="0", conf_max="0.4") and not found(seeded.qualified, conf_max="0.4")
    assert found(seeded.fallback, low="1")
    assert found(seeded.qualified, lead_class="HOT", intent="greet", date_from="2000-01-01", date_to="2999-12-31")
    assert not found(seeded.qualified, date_to="2000-01-01")
    assert {r["id"] for r in operator.listed(q="wvu")} == {seeded.fallback}


def test_review_status_and_tags_filter_and_a_filter_can_be_saved(operator, seeded):
    sender = seeded.hostile
    operator.wait_listed(sender)
    assert operator.post(f"/conversations/{sender}/review", status="saved").json()["ok"]
    assert operator.post(f"/conversations/{sender}/tags", tag="Preço Alto").json()["tags"] == ["preço alto"]
    assert operator.post(f"/conversations/{sender}/tags", tag="<b>bad</b>").status_code == 400
    assert {r["id"] for r in operator.listed(review="saved")} >= {sender}
    assert [r["id"] for r in operator.listed(tag="preço alto")] == [sender]
    assert sender not in {r["id"] for r in operator.listed(review="new")}

    assert operator.post("/filters", name="para depois com tag", review="saved", tag="preço alto").json()["ok"]
    page = operator.http.get("/conversations").text
    assert "para depois com tag" in page and "review=saved&amp;tag=pre%C3%A7o+alto" in page

    operator.post(f"/conversations/{sender}/review", status="reviewed")
    assert operator.listed(review="reviewed", tag="preço alto")[0]["id"] == sender
    operator.post(f"/conversations/{sender}/tags", remove="preço alto")
    assert operator.listed(tag="preço alto") == []


def test_the_inbox_is_paginated(operator):
    first = operator.http.get("/api/conversations", params={"page": "1"}).json()
    assert first["page"] == 1 and first["pages"] >= 1 and len(first["conversations"]) <= 50
    beyond = operator.http.get("/api/conversations", params={"page": "9999"}).json()
    assert beyond["page"] == beyond["pages"]


# --- one conversation ------------------------------------------------------------------------


def test_the_transcript_shows_intent_confidence_actions_and_slot_changes(operator, seeded):
    data = operator.http.get(f"/api/conversations/{seeded.qualified}").json()
    users = [e for e in data["entries"] if e["kind"] == "user"]
    assert users[0]["text"] == "oi" and users[0]["intent"] == "greet" and 0 < users[0]["confidence"] <= 1
    assert any(e["kind"] == "action" and e["name"] == "utter_greet" for e in data["entries"])
    slots = {e["name"]: e["value"] for e in data["entries"] if e["kind"] == "slot"}
    assert slots["customer_name"] == "Maria" and slots["lead_class"] == "HOT"
    assert data["lead"]["city"] == "Campinas"
    assert data["simulation"]["estimate"] is True and data["simulation"]["kwp"] > 0  # R$ 450 in Campinas/SP
    assert "Simulação solar" in operator.http.get(f"/conversations/{seeded.qualified}").text
    assert operator.http.get(f"/api/conversations/{seeded.fallback}").json()["simulation"] is None


def test_media_shows_the_bill_facts_and_the_voice_note_transcript(operator, seeded):
    data = operator.http.get(f"/api/conversations/{seeded.whatsapp.phone}").json()
    media = [(e, m) for e in data["entries"] if e["kind"] == "user" for m in e["media"]]
    kinds = {m["kind"] for _, m in media}
    assert {"document", "audio"} <= kinds
    bill_entry = next(e for e, m in media if m["kind"] == "document")
    assert bill_entry["bill_facts"]["monthly_bill_brl"] == pytest.approx(1249.51)
    voice = next(m for _, m in media if m["kind"] == "audio")
    assert voice["text"] == "quanto fica pra botar placa no meu sítio"
    page = operator.http.get(f"/conversations/{seeded.whatsapp.phone}").text
    assert "Lido da conta" in page and "Transcrição: “quanto fica pra botar placa no meu sítio”" in page


def test_receipts_appear_under_the_message_they_belong_to(operator, seeded, redis_server):
    import redis

    data = operator.http.get(f"/api/conversations/{seeded.whatsapp.phone}").json()
    message_id = next(i for e in data["entries"] if e["kind"] == "user" for i in e["message_ids"])
    client = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    client.hset(f"test:evo:receipt:{message_id}", mapping={"DELIVERY_ACK": "1700000000", "READ": "1700000001"})
    data = operator.http.get(f"/api/conversations/{seeded.whatsapp.phone}").json()
    assert data["receipts"][message_id]["READ"] == "1700000001"
    assert "✓✓ lida" in operator.http.get(f"/conversations/{seeded.whatsapp.phone}").text


def test_the_assistants_replies_show_their_whatsapp_receipts(operator, seeded):
    """Through the real path: the channel keeps the id Evolution gave each reply, and a
    messages.update webhook for it shows under that reply."""
    from tests import evolution_samples as samples

    lead = seeded.whatsapp
    data = operator.http.get(f"/api/conversations/{lead.phone}").json()
    replies = [e for e in data["entries"] if e["kind"] == "bot"]
    assert replies and all(e["message_ids"] for e in replies), [e["text"] for e in replies if not e["message_ids"]]
    reply_id = replies[0]["message_ids"][0]
    assert lead.post(samples.receipt("READ", key_id=reply_id, remote_jid=lead.jid)).status_code == 200
    data = operator.http.get(f"/api/conversations/{lead.phone}").json()
    assert "read" in data["receipts"][reply_id]


def test_a_message_can_be_flagged_and_unflagged(operator, seeded):
    data = operator.http.get(f"/api/conversations/{seeded.fallback}").json()
    index = next(e["index"] for e in data["entries"] if e["kind"] == "user" and e["fallback"])
    assert operator.post(f"/conversations/{seeded.fallback}/flag", index=str(index)).json()["flags"] == [index]
    assert 'class="msg user flagged' in operator.http.get(f"/conversations/{seeded.fallback}").text
    assert operator.post(f"/conversations/{seeded.fallback}/flag", index=str(index)).json()["flags"] == []
    assert operator.post(f"/conversations/{seeded.fallback}/flag", index="x").status_code == 400


def test_hostile_text_is_rendered_inert(operator, seeded):
    operator.wait_listed(seeded.hostile)
    for path in ("/conversations", f"/conversations/{seeded.hostile}", "/nlu?show=pending", "/leads"):
        page = operator.http.get(path, params={"q": "alert"} if path == "/conversations" else None).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
    transcript = operator.http.get(f"/conversations/{seeded.hostile}").text
    assert html.escape(HOSTILE_NAME, quote=False) in transcript or "&lt;script&gt;" in transcript
    csv_text = operator.http.get("/leads.csv").text
    assert all(not cell.startswith(("=", "+", "@")) for row in csv.reader(io.StringIO(csv_text)) for cell in row)


# --- NLU inbox ------------------------------------------------------------------------------------


def test_the_nlu_inbox_lists_untrained_messages_lowest_confidence_first(operator, seeded):
    operator.wait_listed(seeded.fallback, lambda r: r["fallbacks"] > 0)
    items = operator.http.get("/api/nlu").json()["items"]
    confidences = [i["confidence"] or 0.0 for i in items]  # a message Rasa logged without a parse: first
    assert confidences == sorted(confidences)
    assert [i["text"] for i in operator.http.get("/api/nlu", params={"q": "wvu"}).json()["items"]] == [seeded.gibberish]
    # "oi" is in the training data already: never in the inbox.
    assert all(i["text"].lower() != "oi" for i in operator.http.get("/api/nlu", params={"q": "oi"}).json()["items"])


def test_verdicts_need_a_trainable_intent(operator, seeded):
    gibberish = operator.http.get("/api/nlu", params={"q": seeded.gibberish}).json()["items"][0]
    assert gibberish["intent"] == "nlu_fallback"
    assert operator.post(f"/nlu/{gibberish['id']}", verdict="correct").status_code == 400
    assert operator.post(f"/nlu/{gibberish['id']}", verdict="relabel", intent="share_bill").status_code == 400
    assert operator.post(f"/nlu/{gibberish['id']}", verdict="relabel", intent="no_such").status_code == 400
    assert operator.post(f"/nlu/{gibberish['id']}", verdict="maybe").status_code == 400
    assert operator.post("/nlu/0000000000000000", verdict="discard").status_code == 404


# --- take-over ------------------------------------------------------------------------------------


def test_take_over_write_to_the_lead_and_give_back(operator, seeded, fake_evolution):
    lead = seeded.whatsapp
    sender = lead.phone
    status_before = lead.tracker()["slots"]["lead_status"]
    assert operator.post(f"/conversations/{sender}/send", text="oi").status_code == 409  # not taken over yet

    assert operator.post(f"/conversations/{sender}/takeover").json()["ok"]
    tracker = lead.tracker()
    assert tracker["slots"]["lead_status"] == "atendimento_humano"
    assert operator.http.get(f"/api/conversations/{sender}").json()["held"] is True

    # The lead writes: logged in the conversation, not answered by the assistant.
    replies_before = len(lead.replies())
    lead.send("alguém aí?")
    lead.wait_for_user_events(len(lead.user_events()) + 1)
    assert len(lead.replies()) == replies_before

    answer = operator.post(f"/conversations/{sender}/send", text="Olá, aqui é o Pedro da SolarPrime!")
    assert answer.json()["ok"], answer.text
    assert lead.replies()[-1] == "Olá, aqui é o Pedro da SolarPrime!"
    data = operator.http.get(f"/api/conversations/{sender}").json()
    operator_lines = [e for e in data["entries"] if e["kind"] == "operator"]
    assert operator_lines[-1]["text"] == "Olá, aqui é o Pedro da SolarPrime!"
    assert operator_lines[-1]["message_ids"]  # Evolution's id, for receipts

    back = operator.post(f"/conversations/{sender}/handback").json()
    assert back["ok"] and back["lead_status"] == status_before
    assert lead.tracker()["slots"]["lead_status"] == status_before
    assert operator.http.get(f"/api/conversations/{sender}").json()["held"] is False
    # The assistant answers again.
    assert lead.say("quanto custa?")


# --- leads -----------------------------------------------------------------------------------------


def test_leads_table_sorts_and_exports_csv(operator, seeded):
    operator.wait_listed(seeded.qualified, lambda r: r["lead_class"] == "HOT")
    data = operator.http.get("/api/leads", params={"sort": "lead_score", "dir": "desc"}).json()
    scores = [r["lead_score"] for r in data["leads"] if r["lead_score"] is not None]
    assert scores == sorted(scores, reverse=True)
    assert sum(w["counts"][0] for w in data["funnel"]) >= 4 and sum(w["counts"][3] for w in data["funnel"]) >= 1
    assert sum(data["confidence_histogram"]) > 0

    response = operator.http.get("/leads.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["Nome", "Telefone", "Conta (R$)"]
    assert all(seeded.qualified not in r[1] for r in rows) and any("*" in r[1] for r in rows[1:])
    full = list(csv.reader(io.StringIO(operator.http.get("/leads.csv", params={"phones": "full"}).text)))
    qualified = next(r for r in full if r[1] == seeded.qualified)
    assert qualified[0] == "Maria" and qualified[14] == "HOT"
    page = operator.http.get("/leads").text
    assert "<svg" in page and "Funil semanal" in page


def test_a_lead_who_asked_for_a_person_can_be_answered_at_once(operator, rasa_server, fake_evolution):
    from tests.integration.whatsapp import WhatsAppLead

    lead = WhatsAppLead(rasa_server.url, fake_evolution)
    lead.say("oi")
    lead.say("quero falar com um atendente humano")
    assert lead.tracker()["slots"]["lead_status"] == "atendimento_humano"
    operator.wait_listed(lead.phone, lambda r: r["paused"])
    assert operator.post(f"/conversations/{lead.phone}/send", text="Oi! Sou a Ana, pode falar.").json()["ok"]
    assert lead.replies()[-1] == "Oi! Sou a Ana, pode falar."
    back = operator.post(f"/conversations/{lead.phone}/handback").json()
    assert back["lead_status"] != "atendimento_humano"
    assert lead.say("quanto custa?")


def test_the_log_holds_no_phone_number_and_no_token(review_server, seeded):
    log = review_server.log_path.read_text(errors="replace")
    assert REVIEW_TOKEN not in log
    for sender in (seeded.qualified, seeded.hostile, seeded.fallback, seeded.whatsapp.phone):
        assert sender not in log
