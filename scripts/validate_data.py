"""`rasa data validate`, strict: any warning fails, except three that Rasa's
validator cannot judge: the knowledge base's retrieval intent `faq` "duplicated" (the domain
lists it and Rasa adds it again from the NLU data); "utterance ... is not used in any story or rule" for
responses the code sends (custom actions and form questions), and "intent ...
not found in the NLU training data" for the intents the WhatsApp channel sends
itself (sdr/dialogue.py INTENTS_NOT_TYPED, with the follow-up trigger), which no
lead types.

Usage: python -m scripts.validate_data
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Set

import yaml

from sdr.dialogue import INTENTS_NOT_TYPED
from sdr.faq import FAQ_INTENT

ROOT = Path(__file__).resolve().parents[1]
UNTRAINED_INTENT = re.compile(r"UserWarning: The intent '(\w+)' is listed in the domain file, but is not found")
# Rasa adds the retrieval intent from the NLU data to the domain, which must list it too (the
# rules name it): the merge then calls it "duplicated".
RETRIEVAL_INTENT_LISTED = re.compile(rf"duplicated intents have been found across multiple domain files: {FAQ_INTENT}$")
UNUSED_UTTERANCE = re.compile(r"UserWarning: The utterance '(utter_\w+)' is not used in any story or rule")
# Rasa's validator reports through warnings.warn (UserWarning) and its logger.
VALIDATOR_PROBLEM = re.compile(r"UserWarning: | WARNING | ERROR ")


def responses_sent_by_code() -> Set[str]:
    """Responses named in the actions' source, plus the form's ask/re-ask questions."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "actions").rglob("*.py"))
    named = set(re.findall(r"\"(utter_\w+)\"", source))
    named.add(f"utter_{FAQ_INTENT}")  # the retrieval action Rasa adds; action_answer_faq speaks instead
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for form in domain.get("forms", {}).values():
        for slot in form.get("required_slots", []):
            named |= {f"utter_ask_{slot}", f"utter_reask_{slot}"}
    return named


def problems(output_lines: Iterable[str], sent_by_code: Set[str]) -> List[str]:
    found = []
    for line in output_lines:
        unused = UNUSED_UTTERANCE.search(line)
        untrained = UNTRAINED_INTENT.search(line)
        if untrained:
            if untrained.group(1) not in INTENTS_NOT_TYPED:
                found.append(f"intent without NLU examples: {untrained.group(1)}")
        elif unused:
            if unused.group(1) not in sent_by_code:
                found.append(f"response never sent: {unused.group(1)}")
        elif RETRIEVAL_INTENT_LISTED.search(line.strip()):
            continue
        elif VALIDATOR_PROBLEM.search(line):
            found.append(line.strip())
    return found


def main() -> int:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.rasa", "data", "validate"],
        cwd=ROOT, capture_output=True, text=True,
    )
    output = (result.stdout + result.stderr).splitlines()
    found = problems(output, responses_sent_by_code())
    for problem in found:
        print(f"  {problem}")
    if result.returncode != 0 or found:
        print("\n".join(output[-20:]))
        print("rasa data validate: FAILED")
        return 1
    print("rasa data validate: clean (responses sent only by code are checked by name)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
