"""The solar simulation end to end: a lead qualified over WhatsApp gets the text and the chart,
the chart posted to Evolution's sendMedia as base64 through the channel's custom JSON."""
from __future__ import annotations

import base64

import pytest

from actions.simulation_chart import PNG_SIGNATURE
from tests.integration.whatsapp import REPLY_WAIT_S, WhatsAppLead

pytestmark = pytest.mark.integration


def test_a_qualified_lead_gets_the_chart_on_whatsapp(rasa_server, fake_evolution):
    lead = WhatsAppLead(rasa_server.url, fake_evolution)
    for text in ("oi", "Joana", "minha conta vem uns R$ 600", "moro em Uberlândia", "é uma casa própria",
                 "sou eu que decido", "o quanto antes"):
        lead.say(text)

    def images():
        return [r for r in fake_evolution.requests_for("sendMedia")
                if isinstance(r.json, dict) and r.json.get("number") == lead.jid and r.status == 201]

    assert fake_evolution.wait_for(lambda: images(), REPLY_WAIT_S)
    [sent] = images()
    assert (sent.json["mediatype"], sent.json["fileName"]) == ("image", "simulacao.png")
    assert "Joana" in sent.json["caption"]
    assert base64.b64decode(sent.json["media"]).startswith(PNG_SIGNATURE)
    assert any("Sua simulação solar, Joana" in text for text in lead.replies())
