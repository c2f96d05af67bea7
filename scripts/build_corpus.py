"""Build training_data/fragments.jsonl from the reports and their stand-off annotations.

Usage: python scripts/build_corpus.py [--check]
--check compares with the committed file instead of writing it (exit 1 on a difference).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autocoder.codebook import load_codebook
from autocoder.files import atomic_write_lines
from autocoder.jsonl import dump_record
from autocoder.standoff import build_records

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "training_data"


def corpus_lines(data: Path = DATA) -> list[str]:
    records = build_records(data / "reports", data / "annotations", load_codebook())
    return [dump_record(record) for record in records]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    lines = corpus_lines()
    target = DATA / "fragments.jsonl"
    if args.check:
        current = target.read_text(encoding="utf-8").splitlines() if target.exists() else []
        if current != lines:
            print(f"{target} is out of date: run python scripts/build_corpus.py", file=sys.stderr)
            return 1
        print(f"{target} is up to date ({len(lines)} records)")
        return 0
    atomic_write_lines(target, lines)
    print(f"wrote {len(lines)} records to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
