"""Exports from the review UI into a copy of the project, then Rasa's own checks:
`rasa data validate` (the project's strict reading of it) must still pass, and
the exported test story must be one Rasa reads and `rasa test core` passes."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from review.nlu_inbox import examples_in, known_examples
from review.text import normalise
from scripts.procs import BIN, MODEL, ROOT
from scripts.validate_data import problems, responses_sent_by_code

pytestmark = pytest.mark.integration


def validate(project) -> None:
    result = subprocess.run([str(BIN / "rasa"), "data", "validate"], cwd=project, capture_output=True, text=True)
    output = (result.stdout + result.stderr).splitlines()
    found = problems(output, responses_sent_by_code())
    assert result.returncode == 0 and not found, "\n".join(found + output[-20:])


def test_nlu_corrections_export_as_valid_training_data_without_duplicates(operator, seeded, review_project):
    operator.wait_listed(seeded.fallback, lambda r: r["fallbacks"] > 0)
    before = known_examples(review_project)
    def pending(text):
        return operator.http.get("/api/nlu", params={"q": text}).json()["items"]

    gibberish, odd = pending(seeded.gibberish)[0], pending(seeded.odd)[0]
    assert odd["intent"] != "out_of_scope"  # a low-confidence guess the operator corrects
    assert operator.post(f"/nlu/{gibberish['id']}", verdict="relabel", intent="out_of_scope").json()["ok"]
    assert operator.post(f"/nlu/{odd['id']}", verdict="relabel", intent="out_of_scope").json()["ok"]
    for item in pending("script"):  # the hostile name: thrown away
        operator.post(f"/nlu/{item['id']}", verdict="discard")

    exported = operator.post("/nlu/export").json()
    assert exported["ok"] and exported["added"] == 2
    data = yaml.safe_load((review_project / "data" / "nlu_review.yml").read_text(encoding="utf-8"))
    examples = examples_in(data)
    assert sorted(examples["out_of_scope"]) == sorted([seeded.gibberish, seeded.odd])
    assert all(normalise(e) not in before for e in examples["out_of_scope"])
    every = [normalise(e) for texts in examples.values() for e in texts]
    assert len(every) == len(set(every))
    # Exporting again adds nothing: no duplicates, and decided items leave the inbox.
    assert operator.post("/nlu/export").json()["added"] == 0
    assert pending(seeded.gibberish) == []
    validate(review_project)


def test_a_conversation_exports_as_a_test_story_rasa_accepts(operator, seeded, review_project, tmp_path):
    stories_file = review_project / "tests" / "test_stories.yml"
    before = yaml.safe_load(stories_file.read_text(encoding="utf-8"))["stories"]
    answer = operator.post(f"/conversations/{seeded.qualified}/export-story").json()
    assert answer["ok"]
    after = yaml.safe_load(stories_file.read_text(encoding="utf-8"))["stories"]
    assert len(after) == len(before) + 1
    story = after[-1]
    assert seeded.qualified not in story["story"]  # no phone number in the repository
    assert story["steps"][0]["intent"] == "greet"
    # The story passes against the trained model, as `make test` runs it (alongside the
    # validation: two processes that only read the project).
    only = tmp_path / "exported.yml"
    only.write_text(yaml.safe_dump({"version": "3.1", "stories": [story]}, allow_unicode=True), encoding="utf-8")
    with subprocess.Popen(
        [str(BIN / "rasa"), "test", "core", "--model", str(MODEL), "--stories", str(only),
         "--fail-on-prediction-errors", "--out", str(tmp_path / "results"), "--quiet"],
        cwd=review_project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # The model names the project's custom NLU component (components/): importable from the copy too.
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as test_core:
        try:
            validate(review_project)
        finally:
            stdout, stderr = test_core.communicate()
    assert test_core.returncode == 0, (stdout + stderr)[-3000:]
