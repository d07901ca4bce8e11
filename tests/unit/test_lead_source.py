"""Lead source: set from the lead's first message (the channel's metadata), never overwritten."""
from __future__ import annotations

from typing import Any, Dict, Optional

from actions.slot_extraction import lead_source_updates
from tests.unit.trackers import make_tracker
from whatsapp.turn_metadata import build

AD = {"source_type": "ad", "source_id": "120210000000001", "title": "Energia solar em BH",
      "source_url": None, "body": None, "ctwa_clid": "Aff1", "conversion_source": "FB_Ads"}


def tracker_with(referral: Optional[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None):
    tracker = make_tracker(slots=slots, text="oi", intent="greet")
    record = {"message_id": "M1", "reply_jid": "5511999990000@s.whatsapp.net", "kind": "text",
              "text": "oi", "referral": referral}
    tracker.latest_message["metadata"] = build([record])
    return tracker


def test_a_first_message_from_an_ad_names_the_campaign() -> None:
    assert lead_source_updates(tracker_with(AD)) == {"lead_source": "ctwa_ad",
                                                      "lead_campaign": "Energia solar em BH"}


def test_an_ad_without_a_title_is_known_by_its_id() -> None:
    assert lead_source_updates(tracker_with({**AD, "title": None}))["lead_campaign"] == "120210000000001"


def test_anything_else_is_organic_and_the_first_answer_stays() -> None:
    assert lead_source_updates(tracker_with(None)) == {"lead_source": "organic"}
    assert lead_source_updates(make_tracker(text="oi")) == {"lead_source": "organic"}  # rasa shell
    assert lead_source_updates(tracker_with(AD, slots={"lead_source": "organic"})) == {}


def test_the_hot_lead_message_names_the_ad() -> None:
    from actions.sales_team import hot_lead_message

    text = hot_lead_message("Ana", "5511987654321", "Conta de R$ 900.", "ctwa_ad", "Energia solar em BH")
    assert text.splitlines() == ["🔥 Lead quente: Ana", "Conta de R$ 900.",
                                 'Origem: anúncio "Energia solar em BH"', "Contato: +55 11 98765-4321"]
    assert "Origem" not in hot_lead_message("Ana", "5511987654321", "Conta.", "organic", None)


def test_the_review_ui_filters_and_lists_by_source() -> None:
    from review.filters import InboxFilter, select
    from review.leads import COLUMN_KEYS, lead_row, leads_csv
    from review.tracker_parse import ConversationSummary

    ad = ConversationSummary("5511900000001", lead={"lead_source": "ctwa_ad", "lead_campaign": "Solar BH"})
    organic = ConversationSummary("5511900000002", lead={"lead_source": "organic"})
    chosen = select([ad, organic], InboxFilter(source="ctwa_ad"), {}, {}, 0.6)
    assert [s.sender_id for s in chosen] == ["5511900000001"]
    assert {"lead_source", "lead_campaign"} <= set(COLUMN_KEYS)
    csv_text = leads_csv([lead_row(ad)])
    assert "Origem" in csv_text.splitlines()[0] and "ctwa_ad" in csv_text and "Solar BH" in csv_text
