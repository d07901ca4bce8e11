"""One way to compare secrets and sign bodies (sdr.signing), used by every route and webhook."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from sdr.signing import body_signature, secrets_match, signature_header_value


@pytest.mark.parametrize(
    "presented, expected, allowed",
    [("s3cret", "s3cret", True), ("s3cre", "s3cret", False), ("s3cret-longer", "s3cret", False),
     (None, "s3cret", False), ("", "s3cret", False), ("x", None, False), ("", "", False),
     ("é-non-ascii", "é-non-ascii", True), ("\udcff", "x", False)],
)
def test_secrets_match_is_fail_closed(presented, expected, allowed):
    assert secrets_match(presented, expected) is allowed


def test_signature_is_github_style_hex_hmac_sha256():
    body = b'{"id": "1", "type": "lead.hot"}'
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert body_signature("k3y", body) == expected
    assert signature_header_value("k3y", body) == "sha256=" + expected
    assert signature_header_value("other", body) != signature_header_value("k3y", body)
