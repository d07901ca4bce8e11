"""The review UI in a real headless Chromium (Debian's, driven by Playwright's
own driver; nothing is downloaded): log in, filter, open a conversation,
correct an intent, export and validate, take over and hand back, download the
CSV. Screenshots of the main pages go to tests/artifacts/ on every run."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, List

import pytest

from scripts.procs import ROOT
from tests.review.conftest import HOSTILE_NAME, REVIEW_TOKEN
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
def browser_page(review_server) -> Iterator:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
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
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)


def test_log_in_and_filter(browser_page, seeded, operator):
    page = browser_page
    operator.wait_listed(seeded.qualified, lambda r: r["lead_class"] == "HOT")
    page.goto("/conversations")
    assert "/login" in page.url
    page.fill("#token", "not-the-token")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Token inválido."
    shot(page, "login")
    page.fill("#token", REVIEW_TOKEN)
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
    page.wait_for_url(f"**/conversations/{seeded.qualified}")
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


def test_log_out(browser_page):
    page = browser_page
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto("/leads")
    assert "/login" in page.url
