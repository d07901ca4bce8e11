"""Prints the per-intent NLU report as a table and gates on macro-F1.

Usage: python -m scripts.nlu_report results/nlu/intent_report.json --min-macro-f1 0.85
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List

from scripts.tables import format_table

SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")


def report_rows(report: Dict[str, Any]) -> List[List[str]]:
    rows = []
    for intent, scores in sorted(report.items()):
        if intent in SUMMARY_KEYS or not isinstance(scores, dict):
            continue
        rows.append(
            [intent, f"{scores['precision']:.2f}", f"{scores['recall']:.2f}",
             f"{scores['f1-score']:.2f}", str(scores["support"])]
        )
    return rows


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report")
    parser.add_argument("--min-macro-f1", type=float, default=0.85)
    args = parser.parse_args(argv)
    with open(args.report, encoding="utf-8") as handle:
        report = json.load(handle)
    print(format_table(["intent", "precision", "recall", "f1", "support"], report_rows(report)))
    macro_f1 = report["macro avg"]["f1-score"]
    accuracy = report.get("accuracy", float("nan"))
    print(f"\nintent macro-F1 {macro_f1:.3f} (minimum {args.min_macro_f1:.2f}), accuracy {accuracy:.3f}")
    if macro_f1 < args.min_macro_f1:
        print("error: intent macro-F1 below the minimum", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
