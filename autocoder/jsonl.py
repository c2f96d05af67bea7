"""Reading and writing fragment records (the JSONL interchange format), with line numbers.

A record needs ``text``; the other fragment fields have defaults so that a user's own coded
fragments train a model too. ``factor``/``presence``/``priority``/``coder`` are a person's
codes; a ``suggestion`` object is a model's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autocoder.codebook import Codebook
from autocoder.config import DEFAULT_SETTINGS
from autocoder.errors import InputError, RecordError
from autocoder.files import atomic_write_lines
from autocoder.records import (
    CODING_KEYS,
    FRAGMENT_KEYS,
    PRIORITY_HIGH,
    UNKNOWN,
    Coding,
    Fragment,
    FragmentRecord,
    Presence,
    Suggestion,
    record_to_dict,
)

_NONE_WORDS = {None, "", "none", "null"}


@dataclass
class ReadResult:
    records: list[FragmentRecord] = field(default_factory=list)
    skipped: list[RecordError] = field(default_factory=list)


def record_from_dict(data: Any, codebook: Codebook | None = None) -> FragmentRecord:
    """Validate one decoded JSON object; raises ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a record is a JSON object")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing or empty 'text'")
    fragment = _fragment(data, text)
    coding = _coding(data, codebook) if any(k in data for k in ("factor", "presence")) else None
    suggestion = _suggestion(data["suggestion"]) if data.get("suggestion") else None
    # Without a code, a stray coder or priority is kept as given rather than dropped.
    known = {*FRAGMENT_KEYS, "suggestion", *(CODING_KEYS if coding is not None else ())}
    extra = {k: v for k, v in data.items() if k not in known}
    return FragmentRecord(fragment=fragment, coding=coding, suggestion=suggestion, extra=extra)


def _fragment(data: dict[str, Any], text: str) -> Fragment:
    report = str(data.get("report") or UNKNOWN)
    start = data.get("start", 0)
    end = data.get("end", start + len(text) if isinstance(start, int) else None)
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start <= end:
        raise ValueError("'start' and 'end' must be whole numbers with 0 <= start <= end")
    question = data.get("question")
    if question is not None and (not isinstance(question, int) or isinstance(question, bool)):
        raise ValueError(f"'question' must be a whole number or null, not {question!r}")
    fid = data.get("id") or _derived_id(report, text)
    speaker = data.get("speaker")
    return Fragment(
        id=str(fid),
        report=report,
        start=start,
        end=end,
        text=text,
        respondent=str(data.get("respondent") or UNKNOWN),
        group=str(data.get("group") or UNKNOWN),
        question=question,
        speaker=None if speaker is None else str(speaker),
    )


def _derived_id(report: str, text: str) -> str:
    return "f" + hashlib.sha256(f"{report}\x00{text}".encode()).hexdigest()[:16]


def _coding(data: dict[str, Any], codebook: Codebook | None) -> Coding:
    factor = data.get("factor")
    factor = None if factor in _NONE_WORDS else factor
    if factor is not None:
        if not isinstance(factor, str):
            raise ValueError(f"'factor' must be a code id or null, not {factor!r}")
        if codebook is not None and factor not in codebook.ids:
            raise ValueError(f"factor {factor!r} is not in codebook {codebook.id!r}")
    presence = _presence(data.get("presence"))
    priority = data.get("priority")
    if priority not in (None, "", PRIORITY_HIGH):
        raise ValueError(f"'priority' must be \"high\" or null, not {priority!r}")
    if factor is None and presence is not None:
        raise ValueError("'presence' given for a fragment with no factor")
    coder = data.get("coder")
    return Coding(factor, presence, priority or None, None if coder is None else str(coder))


def _presence(value: Any) -> Presence | None:
    if value in _NONE_WORDS:
        return None
    try:
        return Presence(value)
    except ValueError:
        raise ValueError(f'\'presence\' must be "present" or "absent", not {value!r}') from None


def _suggestion(data: Any) -> Suggestion:
    if not isinstance(data, dict):
        raise ValueError("'suggestion' must be an object")
    try:
        return Suggestion(
            factor=data.get("factor"),
            presence=_presence(data.get("presence")),
            confidence=float(data.get("confidence", 0.0)),
            factor_probs={str(k): float(v) for k, v in (data.get("factor_probs") or {}).items()},
            presence_prob=None
            if data.get("presence_prob") is None
            else float(data["presence_prob"]),
            reasons=tuple(str(r) for r in data.get("reasons") or ()),
            model=str(data.get("model") or UNKNOWN),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"invalid 'suggestion': {exc}") from None


def iter_records(
    path: Path, codebook: Codebook | None = None, *, skip_invalid: bool = False
) -> Iterator[FragmentRecord | RecordError]:
    """Yield records; an invalid line raises RecordError, or is yielded when ``skip_invalid``."""
    limit = DEFAULT_SETTINGS.limits.max_jsonl_line_chars
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(str(path), f"cannot open ({exc.strerror})") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    if len(line) > limit:
                        raise ValueError(f"line longer than {limit} characters")
                    yield record_from_dict(json.loads(line), codebook)
                except (ValueError, RecursionError) as exc:
                    reason = _reason(exc)
                    error = RecordError(str(path), reason, line=number)
                    if not skip_invalid:
                        raise error from None
                    yield error
        except UnicodeDecodeError as exc:
            raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    return str(exc)


def read_records(
    path: Path, codebook: Codebook | None = None, *, skip_invalid: bool = False
) -> ReadResult:
    result = ReadResult()
    for item in iter_records(path, codebook, skip_invalid=skip_invalid):
        if isinstance(item, RecordError):
            result.skipped.append(item)
        else:
            result.records.append(item)
    return result


def dump_record(record: FragmentRecord) -> str:
    return json.dumps(record_to_dict(record), ensure_ascii=False)


def write_records(path: Path, records: Iterable[FragmentRecord]) -> int:
    """Write records atomically; returns how many were written."""
    return atomic_write_lines(path, (dump_record(r) for r in records))
