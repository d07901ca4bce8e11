"""The review UI in a real headless Chromium (Debian's, driven by Playwright's
own driver; nothing is downloaded): log in, filter, open a conversation,
correct an intent, export and validate, take over and hand back (and its audit
entries), download the CSV; a viewer's page without actions; a lead's message
arriving live in an open conversation and the handoff alert. Screenshots of the
main pages go to tests/artifacts/ on every run."""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, List

import pytest

from scripts.procs import ROOT
from tests.integration.whatsapp import WhatsAppLead
from tests.review.conftest import HOSTILE_NAME, OPERATOR, OPERATOR_PASSWORD, REVIEW_TOKEN, VIEWER, VIEWER_PASSWORD
from tests.review.test_export import validate

pytestmark = pytest.mark.integration

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """Debian's chromium; installed here if it is missing and apt-get may run (as `make setup` does)."""
    found = shutil.which("chromium")
    if (
        found is None and shutil.which("apt-get")
        and hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0
    ):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       capture_output=True)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("Debian's chromium is not installed and could not be installed here "
                    "(run `sudo apt-get install -y chromium`)")
    return found


@pytest.fixture(scope="module")
def browser(review_server) -> Iterator:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser_page(browser, review_server) -> Iterator:
    """The admin's page, through the tests in order (log in, filter, open, …, log out)."""
    context = browser.new_context(base_url=review_server.url, viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True, locale="pt-BR")
    page = context.new_page()
    page.dialogs: List[str] = []  # type: ignore[attr-defined]

    def on_dialog(dialog) -> None:
        page.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()

    page.on("dialog", on_dialog)
    yield page
    context.close()


def logged_in(browser, url: str, username: str, password: str):
    """A page of a new browser context (its own cookies) logged in through the form."""
    context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 1000}, locale="pt-BR")
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/conversations")
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)


def test_log_in_and_filter(browser_page, seeded, operator):
    page = browser_page
    operator.wait_listed(seeded.qualified, lambda r: r["lead_class"] == "HOT")
    page.goto("/conversations")
    assert "/login" in page.url
    page.fill("#username", "admin")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Usuário ou senha inválidos."
    shot(page, "login")
    page.fill("#password", REVIEW_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/conversations")
    assert page.locator("#inbox tbody tr").count() >= 4
    shot(page, "inbox")

    page.select_option("select[name=lead_class]", "HOT")
    page.click("#apply-filters")
    page.wait_for_url("**lead_class=HOT**")
    assert "Maria" in page.locator("#inbox a.open").all_inner_texts()
    assert all(cls == "HOT" for cls in page.locator("#inbox .badge").all_inner_texts())
    page.fill("input[name=q]", seeded.qualified)  # the number finds it, the list still shows it masked
    page.click("#apply-filters")
    page.wait_for_url("**q=**")
    assert page.locator("#inbox a.open").all_inner_texts() == ["Maria"]
    assert seeded.qualified not in page.locator("#inbox tbody").inner_text()
    shot(page, "inbox-filtered")


def test_open_a_conversation(browser_page, seeded):
    page = browser_page
    page.click("#inbox a.open >> text=Maria")
    # By its reference: the phone number stays out of the address bar and the history.
    page.wait_for_url(re.compile(r"/conversations/c[0-9a-f]{20}$"))
    assert seeded.qualified not in page.url
    assert page.locator(".msg.user").first.locator(".intent").inner_text().startswith("greet")
    assert page.locator(".event.action", has_text="utter_greet").count() >= 1
    page.click("#mark-reviewed")
    assert page.locator("#review-status").inner_text() == "revisada"
    shot(page, "conversation")


def test_hostile_text_stays_text(browser_page, seeded):
    page = browser_page
    page.goto(f"/conversations/{seeded.hostile}")
    assert page.locator(".msg.user .text", has_text="<script>").count() >= 1
    assert page.locator(".transcript script, .transcript img").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert HOSTILE_NAME in page.locator("#transcript").inner_text()


def test_correct_an_intent_export_and_validate(browser_page, seeded, review_project):
    page = browser_page
    page.goto("/nlu")
    shot(page, "nlu")
    page.fill("#nlu-search input[name=q]", "botar placa")
    page.click("#nlu-search button")
    row = page.locator("#nlu tr", has_text="quanto fica pra botar placa no meu sítio")
    assert row.count() == 1
    row.locator("select[name=intent]").select_option("ask_price")
    row.locator("form.relabel button").click()
    page.wait_for_url("**/nlu")
    assert page.locator("#nlu tr", has_text="quanto fica pra botar placa no meu sítio").count() == 0
    page.click("#nlu-export button")
    assert "exemplo(s) novo(s)" in page.locator(".notice").inner_text()
    exported = (review_project / "data" / "nlu_review.yml").read_text(encoding="utf-8")
    assert "quanto fica pra botar placa no meu sítio" in exported
    validate(review_project)


def test_take_over_and_hand_back(browser_page, seeded):
    page = browser_page
    lead = seeded.whatsapp
    page.goto(f"/conversations/{lead.phone}")
    page.click("#takeover button")
    page.wait_for_selector("#operator-send")
    assert lead.tracker()["slots"]["lead_status"] == "atendimento_humano"
    page.fill("#operator-send textarea", "Oi Joana, aqui é a Ana da SolarPrime 🙂")
    page.click("#operator-send button")
    page.wait_for_selector(".msg.operator >> text=Oi Joana, aqui é a Ana da SolarPrime")
    assert lead.replies()[-1] == "Oi Joana, aqui é a Ana da SolarPrime 🙂"
    shot(page, "takeover")
    page.click("#handback button")
    page.wait_for_selector("#takeover")
    assert page.dialogs  # type: ignore[attr-defined]  # the confirmation was asked
    assert lead.tracker()["slots"]["lead_status"] != "atendimento_humano"


def test_leads_and_csv_download(browser_page, seeded, tmp_path):
    page = browser_page
    page.goto("/leads")
    assert page.locator("svg.chart").count() == 2
    page.click("#leads th a >> text=Score")
    shot(page, "leads")
    with page.expect_download() as download_info:
        page.click("#csv")
    path = Path(tmp_path) / "leads.csv"
    download_info.value.save_as(str(path))
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0][0] == "Nome" and any(r[0] == "Maria" for r in rows[1:])


def test_the_audit_log_shows_the_take_over(browser_page, seeded):
    page = browser_page
    page.goto("/audit")
    page.fill("input[name=conversation]", seeded.whatsapp.phone)
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url("**conversation=**")
    actions = page.locator("#audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert {"takeover", "message_sent", "handback"} <= set(actions)
    assert seeded.whatsapp.phone not in page.locator("#audit").inner_text()  # masked on screen
    shot(page, "audit")


def test_a_viewer_sees_no_actions_and_is_refused(browser, review_server, seeded):
    page = logged_in(browser, review_server.url, VIEWER, VIEWER_PASSWORD)
    assert page.locator("#who-am-i").inner_text().endswith("leitura")
    assert page.locator("nav a[href='/audit'], #save-filter").count() == 0
    page.click("#inbox a.open >> text=Maria")
    page.wait_for_selector("#transcript")
    assert page.locator("#takeover, #operator-send, #add-tag, #mark-reviewed, #export-story, #show-phone").count() == 0
    assert seeded.qualified not in page.content()
    ref = page.locator("#conv").get_attribute("data-ref")
    # Even a hand-made request is refused (the page holds the session's CSRF token).
    status = page.evaluate("""async (ref) => {
        const csrf = document.querySelector("input[name=csrf_token]").value;
        const r = await fetch(`/conversations/${ref}/takeover`, {method: "POST", headers: {"X-CSRF-Token": csrf}});
        return r.status; }""", ref)
    assert status == 403
    shot(page, "viewer")
    page.context.close()


def test_a_message_arrives_live_and_a_handoff_raises_the_alert(browser, review_server, rasa_server,
                                                               fake_evolution, operator):
    lead = WhatsAppLead(rasa_server.url, fake_evolution)
    lead.say("oi")
    ref = operator.wait_listed(lead.phone)["ref"]
    page = logged_in(browser, review_server.url, OPERATOR, OPERATOR_PASSWORD)
    page.goto(f"/conversations/{ref}")
    lead.say("meu nome é Lúcia")
    # No reload: the stream tells the page, which fetches its transcript again.
    page.wait_for_selector("#transcript .msg.user .text >> text=meu nome é Lúcia", timeout=30_000)
    lead.say("quero falar com um atendente humano")
    alert = page.wait_for_selector(".alert.handoff", timeout=30_000)
    assert "pediu atendimento humano" in alert.inner_text()
    # The alert comes at once; the page's parts come with its next reload (review.js).
    page.wait_for_selector("#operator-send textarea")  # the reply box came with the update
    assert page.locator("#lead-status").inner_text() == "atendimento_humano"  # and so did the status
    shot(page, "handoff-alert")
    page.context.close()


def test_log_out(browser_page):
    page = browser_page
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto("/leads")
    assert "/login" in page.url
