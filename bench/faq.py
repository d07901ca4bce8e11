"""Knowledge-base benchmark: the trained model on the held-out questions (tests/data/faq_heldout.yml),
as scripts/faq_eval.py scores them: on-topic, wrong-topic and deferral rates, questions outside the
knowledge base deferred, and the topics most often confused."""
from __future__ import annotations

import asyncio

from bench.results_io import write_results
from scripts.faq_eval import DEFAULT_MIN_CONFIDENCE, DEFAULT_MODEL, load_items, outcome, parse_all, report, score
from scripts.procs import ROOT


def main() -> None:
    items = load_items()
    print(f"{len(items)} held-out questions through {DEFAULT_MODEL.relative_to(ROOT)}...", flush=True)
    parses = asyncio.run(parse_all(DEFAULT_MODEL, [item.text for item in items]))
    scores = score(items, [outcome(parse, DEFAULT_MIN_CONFIDENCE) for parse in parses])
    print(report(scores, show=25))
    path = write_results("faq", {
        "questions": scores.questions, "on_topic_rate": round(scores.on_topic_rate, 4),
        "wrong_rate": round(scores.wrong_rate, 4), "deferred_rate": round(scores.deferred_rate, 4),
        "outside_kb_deferred": [scores.defer_items_deferred, scores.defer_items], "confusions": scores.confusions})
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
