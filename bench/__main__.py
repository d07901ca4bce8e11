"""Runs the benchmarks; each prints a table and writes bench/results/<part>.json."""
from __future__ import annotations

import argparse
import sys

from bench import bills, channel, chart, crm, faq, meetings, nlu, review

PARTS = {"nlu": nlu.main, "channel": channel.main, "bills": bills.main, "review": review.main, "crm": crm.main,
         "meetings": meetings.main, "faq": faq.main, "chart": chart.main}


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"any of {sorted(PARTS)}; all by default")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {unknown}")
    for part in args.parts or list(PARTS):
        print(f"\n=== benchmark: {part} ===", flush=True)
        PARTS[part]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
