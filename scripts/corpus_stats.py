"""Print the starter corpus's counts as the Markdown tables the data card carries.

Usage: python scripts/corpus_stats.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ROOT / "training_data" / "fragments.jsonl"
CODEBOOK_ORDER = (
    "wederzijdse_afhankelijkheid",
    "concretisering",
    "onderlinge_verhoudingen",
    "bestuurlijke_kracht",
    "stabiliteit",
    "continuiteit",
    "externe_druk",
    "randvoorwaarden",
)
TAGS = ("negation", "wish", "mixed", "othersense", "indirect", "pastpresent")


def load(path: Path = FRAGMENTS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def kind(record: dict) -> str:
    return "observation" if record["group"] == "observatie" else "interview"


def cell_table(records: list[dict]) -> str:
    counts = Counter((r["factor"], r["presence"], kind(r)) for r in records)
    rows = [
        "| factor | interview present | interview absent | observation present "
        "| observation absent | total |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for factor in (*CODEBOOK_ORDER, None):
        presences = ("present", "absent") if factor else (None,)
        cells = [counts[(factor, p, k)] for k in ("interview", "observation") for p in presences]
        if factor is None:
            cells = [cells[0], "", cells[1], ""]
        total = sum(c for c in cells if c != "")
        rows.append(
            f"| {factor or '(no factor)'} | " + " | ".join(map(str, cells)) + f" | {total} |"
        )
    return "\n".join(rows)


def summary_table(records: list[dict]) -> str:
    reports = {r["report"]: kind(r) for r in records}
    tags = Counter(t for r in records for t in r.get("tags", []))
    none = sum(1 for r in records if r["factor"] is None)
    numbered = {r["report"] for r in records if r["question"] is not None}
    rows = [
        "| measure | value |",
        "|---|---:|",
        f"| interview reports | {sum(1 for k in reports.values() if k == 'interview')} |",
        f"| observation reports | {sum(1 for k in reports.values() if k == 'observation')} |",
        f"| reports without question numbers | {len(reports) - len(numbered)} |",
        f"| coded fragments | {len(records)} |",
        f"| no-factor share | {none / len(records):.3f} |",
        f"| priority: high | {sum(1 for r in records if r['priority'] == 'high')} |",
    ]
    rows += [f"| hard case: {tag} | {tags[tag]} |" for tag in TAGS]
    return "\n".join(rows)


def main() -> int:
    records = load()
    print(summary_table(records))
    print()
    print(cell_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
