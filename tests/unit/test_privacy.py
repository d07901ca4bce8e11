"""The one phone masker (observability.privacy): logs, the review UI and the Evolution client."""
from __future__ import annotations

import pytest

from observability.privacy import mask_phone, mask_phones_in
from tests.evolution_samples import CONTACT_JID, CONTACT_PHONE


@pytest.mark.parametrize(
    "value, expected",
    [
        ("5511987654321", "5511*******21"),
        ("5511987654321@s.whatsapp.net", "5511*******21@s.whatsapp.net"),
        ("5511987654321:12@s.whatsapp.net", "5511*******21@s.whatsapp.net"),
        ("214748364712345@lid", "2147*********45@lid"),
        ("+55 (11) 98765-4321", "5511*******21"),
        ("12345", "*****"),
        ("1234567", "*******"),  # too short for a phone: hidden entirely
        ("Maria", "*****"),
        ("status@broadcast", "******@broadcast"),
        ("", ""),
        ("5511987654321@evil\nlevel=ERROR", "*" * 30),
        ("9" * 200, "*" * 32),
        (None, "***"),
    ],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


def test_mask_phone_never_returns_the_number():
    assert CONTACT_PHONE not in mask_phone(CONTACT_JID)


def test_mask_phones_in_free_text():
    text = "number 5511987654321 does not exist on WhatsApp (code 12)"
    assert mask_phones_in(text) == "number 5511*******21 does not exist on WhatsApp (code 12)"
