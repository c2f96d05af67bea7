"""Convert an inline-coded authoring file into a clean report plus stand-off codings.

Authoring format (used to write the starter corpus, and handy for users writing their own):

    ---
    respondent: R07
    ...front matter...
    ---
    Vraag 5. Hoe ... ?

    {{concretisering absent #negation | De doelen zijn nooit op papier gezet.}}
    {{none | Ik werk sinds 2015 bij de gemeente.}}

A marker is ``{{LABELS | TEXT}}``. LABELS: a code id or ``none``; then ``present`` or
``absent`` (required with a code); optional ``high`` (priority); optional ``#tags``.
The report file gets TEXT in place of each marker; the codings get exact offsets into the
report body (the text after the front matter), which is what ``autocoder.ingest`` reads.

Usage: python scripts/inline_to_standoff.py SRC.txt [SRC ...] --reports DIR --annotations DIR
       python scripts/inline_to_standoff.py SRC.txt --check   (validate and print counts only)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CODEBOOK = ROOT / "autocoder" / "codebooks" / "samenwerking.yaml"
TAGS = {"negation", "wish", "mixed", "othersense", "indirect", "pastpresent"}
MARKER = re.compile(r"\{\{([^|{}]*)\|([^{}]*)\}\}")
FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)


def code_ids(codebook: Path = CODEBOOK) -> set[str]:
    data = yaml.safe_load(codebook.read_text(encoding="utf-8"))
    return {code["id"] for code in data["codes"]}


def parse_labels(raw: str, ids: set[str], where: str) -> dict:
    words = raw.split()
    if not words:
        raise ValueError(f"{where}: empty labels")
    factor = None if words[0] == "none" else words[0]
    if factor is not None and factor not in ids:
        raise ValueError(f"{where}: unknown code {words[0]!r}")
    presence = priority = None
    tags: list[str] = []
    for word in words[1:]:
        if word in ("present", "absent"):
            presence = word
        elif word == "high":
            priority = "high"
        elif word.startswith("#") and word[1:] in TAGS:
            tags.append(word[1:])
        else:
            raise ValueError(f"{where}: unknown label {word!r}")
    if factor is not None and presence is None:
        raise ValueError(f"{where}: code {factor} needs present or absent")
    if factor is None and (presence or priority):
        raise ValueError(f"{where}: 'none' takes no presence or priority")
    return {"factor": factor, "presence": presence, "priority": priority, "tags": tags}


def convert(source: str, name: str, ids: set[str]) -> tuple[str, str, list[dict]]:
    """Return (front matter, clean body, codings with offsets into the body)."""
    source = source.replace("\r\n", "\n")
    front_match = FRONT.match(source)
    if not front_match:
        raise ValueError(f"{name}: missing front matter block")
    front, body = front_match.group(0), source[front_match.end() :]
    out: list[str] = []
    codings: list[dict] = []
    pos = length = 0
    for match in MARKER.finditer(body):
        gap = body[pos : match.start()]
        out.append(gap)
        length += len(gap)
        line = source.count("\n", 0, front_match.end() + match.start()) + 1
        labels = parse_labels(match.group(1), ids, f"{name}:{line}")
        text = match.group(2).strip()
        if not text:
            raise ValueError(f"{name}:{line}: empty fragment text")
        codings.append({"start": length, "end": length + len(text), **labels, "quote": text})
        out.append(text)
        length += len(text)
        pos = match.end()
    out.append(body[pos:])
    clean = "".join(out)
    if "{{" in clean or "}}" in clean:
        line = clean[: clean.find("{{") if "{{" in clean else clean.find("}}")].count("\n") + 1
        raise ValueError(f"{name}: unbalanced marker near body line {line}")
    return front, clean, codings


def stats(body: str, codings: list[dict]) -> dict:
    cells = Counter(f"{c['factor']}/{c['presence']}" for c in codings if c["factor"])
    tags = Counter(t for c in codings for t in c["tags"])
    none = sum(1 for c in codings if c["factor"] is None)
    return {
        "words": len(body.split()),
        "fragments": len(codings),
        "none_share": round(none / max(1, len(codings)), 2),
        "priority": sum(1 for c in codings if c["priority"]),
        "cells": dict(sorted(cells.items())),
        "tags": dict(sorted(tags.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("--reports", type=Path)
    parser.add_argument("--annotations", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    ids = code_ids()
    total_cells: Counter = Counter()
    total_tags: Counter = Counter()
    failed = 0
    for src in args.sources:
        try:
            front, body, codings = convert(src.read_text(encoding="utf-8"), src.name, ids)
        except (ValueError, UnicodeDecodeError) as exc:
            print(f"ERROR {exc}", file=sys.stderr)
            failed += 1
            continue
        info = stats(body, codings)
        total_cells.update(info["cells"])
        total_tags.update(info["tags"])
        print(src.name, json.dumps(info, ensure_ascii=False))
        if args.check:
            continue
        report = args.reports / (src.stem + ".md")
        args.reports.mkdir(parents=True, exist_ok=True)
        args.annotations.mkdir(parents=True, exist_ok=True)
        report.write_text(front + body, encoding="utf-8")
        record = {"report": report.name, "codings": codings}
        ann = args.annotations / (src.stem + ".json")
        ann.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("TOTAL cells", json.dumps(dict(sorted(total_cells.items()))))
    print("TOTAL tags", json.dumps(dict(sorted(total_tags.items()))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
