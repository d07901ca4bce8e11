"""The last test of the session: nothing any server logged during the whole run holds a
full phone number or a secret of the tests (the redaction filter is the last line of
defence; this checks that it, and the code's own masking, held).

`make test` runs the suite on two pytest workers, each with its own servers and logs, and then
this module alone with AISDR_TEST_LOGS naming the first run's base directory: every worker's
logs are read, after every worker has finished. A plain `pytest tests` reads its own session's."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List

import pytest

from tests import conftest as session
from tests import evolution_samples as samples

pytestmark = [pytest.mark.integration, pytest.mark.runs_last]

# Any Brazilian mobile or landline with the country code, as the tests' leads have (new_phone()).
BRAZILIAN_PHONE = re.compile(r"(?<!\d)55\d{10,11}(?!\d)")

SECRETS = {
    "EVOLUTION_WEBHOOK_TOKEN": session.WEBHOOK_TOKEN,
    "EVOLUTION_WEBHOOK_JWT_KEY": session.WEBHOOK_JWT_KEY,
    "WEBHOOK_HMAC_SECRET": session.WEBHOOK_HMAC_SECRET,
    "EVOLUTION_API_KEY": session.EVOLUTION_API_KEY,
    "RASA_AUTH_TOKEN": session.RASA_AUTH_TOKEN,
    "OPENAI_API_KEY": session.OPENAI_API_KEY,
}
KNOWN_PHONES = [session.SALES_WHATSAPP_NUMBER, samples.CONTACT_PHONE, samples.OWN_PHONE]


# Set by scripts/test.sh: the --basetemp of the parallel run whose logs are read.
EARLIER_RUN = "AISDR_TEST_LOGS"


def server_logs(logs_dir: Path) -> List[Path]:
    return sorted(path for path in logs_dir.rglob("*.log") if not path.name.startswith("redis-"))


def findings(text: str) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for name, secret in SECRETS.items():
        if secret in text:
            found.setdefault("secret", []).append(name)
    phones = set(BRAZILIAN_PHONE.findall(text)) | {phone for phone in KNOWN_PHONES if phone in text}
    if phones:
        found["phone"] = sorted(phones)[:5]
    return found


def test_findings_spot_what_they_must():
    assert findings(f"to {session.SALES_WHATSAPP_NUMBER}") == {"phone": [session.SALES_WHATSAPP_NUMBER]}
    assert findings("lead 5511912345678@s.whatsapp.net") == {"phone": ["5511912345678"]}
    assert findings(f"apikey {session.EVOLUTION_API_KEY}") == {"secret": ["EVOLUTION_API_KEY"]}
    assert findings("lead 5511*******78, took 1717171717.5 s") == {}


@pytest.fixture
def run_logs(request: pytest.FixtureRequest) -> Path:
    """The directory whose logs are read: an earlier parallel run's, or this session's once its
    servers have run."""
    earlier = os.environ.get(EARLIER_RUN)
    if earlier:
        return Path(earlier)
    request.getfixturevalue("rasa_server")
    request.getfixturevalue("action_server")
    return request.getfixturevalue("logs_dir")


def test_no_server_log_of_the_run_holds_a_phone_number_or_a_secret(run_logs):
    logs_dir = run_logs
    logs = server_logs(logs_dir)
    assert logs, f"no server logs in {logs_dir}"
    problems = {path.name: found for path in logs if (found := findings(path.read_text(errors="replace")))}
    assert not problems, f"personal data or secrets in the logs of {logs_dir}: {problems}"
