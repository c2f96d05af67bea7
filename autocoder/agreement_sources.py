"""Sources for ``autocoder agree``: coded JSONL or CSV files, coders in a project, a model.

A source is one coder. Its codings are checked against the codebook and against the other
sources (same reports, matching fragments); what cannot be compared is counted with the
reason, never silently dropped. Coders who coded different spans of the same reports are
aligned on the sentence fragments of our own segmentation (``align``).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from autocoder.agreement import measure_agreement
from autocoder.agreement_align import (
    Coded,
    Source,
    aligned,
    by_id,
    check_offsets,
    check_source,
    common_reports,
    match_key,
    overlapping_spans,
    report_texts,
    span_key,
)
from autocoder.agreement_result import AgreementReport, LeftOut, UnitRow
from autocoder.codebook import Codebook, load_codebook
from autocoder.config import DEFAULT_SETTINGS
from autocoder.errors import InputError, RecordError
from autocoder.jsonl import read_records
from autocoder.records import (
    NO_FACTOR_KEY,
    PRIORITY_HIGH,
    UNKNOWN,
    Coding,
    Fragment,
    FragmentRecord,
    Suggestion,
)

if TYPE_CHECKING:
    from autocoder.classify.model import SuggestionModel

MODEL_CODER = "model"
CSV_REQUIRED = ("factor", "presence")
CSV_OPTIONAL = ("id", "report", "start", "end", "text", "priority", "coder")
CSV_HELP = "a CSV source has id (or report, start, end), factor, presence; text, priority, coder"
PRESENCES = ("present", "absent")


# --- reading ----------------------------------------------------------------------------------


def load_source(spec: str) -> Source:
    """``file.jsonl``, ``file.csv``, ``study.db@coder`` or ``study.db@model``."""
    path = Path(spec)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".json", ".ndjson"):
            return _from_records(spec, read_records(path).records, path.stem, _given(path))
        if suffix == ".csv":
            return _read_csv(path)
        if suffix in (".db", ".sqlite"):
            raise InputError(spec, "name a coder in the project: study.db@anna or study.db@model")
        raise InputError(spec, "a source is a .jsonl or .csv file, or study.db@coder")
    project, at, who = spec.rpartition("@")
    if at and who and Path(project).is_file():
        return _read_project(Path(project), who, spec)
    raise InputError(spec, "no such file; a source is a .jsonl or .csv file, or study.db@coder")


def _given(path: Path) -> list[tuple[bool, bool]]:
    """Per record of a JSONL file (read already): whether it gives an id, and offsets."""
    found = []
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                data = json.loads(line)
                found.append((bool(data.get("id")), "start" in data))
    return found


def _from_records(
    spec: str,
    records: Iterable[FragmentRecord],
    fallback: str,
    given: Sequence[tuple[bool, bool]] | None = None,
) -> Source:
    """``given``: per record whether it gave its id and its offsets (default: both)."""
    codings, uncoded, coders = [], 0, set()
    for index, record in enumerate(records):
        coding, f = record.coding, record.fragment
        if coding is None:
            uncoded += 1
            continue
        coders.add(coding.coder)
        named, placed = given[index] if given is not None else (True, True)
        offsets = (f.start, f.end) if placed and f.report != UNKNOWN else (None, None)
        presence = coding.presence.value if coding.presence else None
        label = coding.factor or NO_FACTOR_KEY
        codings.append(Coded(f.id, f.report, *offsets, f.text, label, presence, f.question, named))
    name = next(iter(coders)) if len(coders) == 1 and None not in coders else fallback
    return Source(spec, str(name), codings, uncoded)


def _read_project(path: Path, who: str, spec: str) -> Source:
    from autocoder.store import Project

    with Project.open(path, create=False) as project:
        if who == MODEL_CODER:
            records = [
                FragmentRecord(r.fragment, _as_coding(r.suggestion))
                for r in project.coded_fragments(include_suggestions=True)
            ]
        else:
            known = project.coders()
            if who not in known:
                listed = ", ".join(known) or "none yet"
                raise InputError(spec, f"no such coder {who!r} (coders: {listed})")
            records = project.coded_fragments(coder=who)
    source = _from_records(spec, records, who)
    source.coder, source.project = who, path
    return source


def _as_coding(suggestion: Suggestion | None) -> Coding | None:
    if suggestion is None:
        return None
    return Coding(suggestion.factor, suggestion.presence, None, MODEL_CODER)


def project_codebook(specs: Sequence[str]) -> Codebook | None:
    """The codebook of the first project among the sources, if any."""
    for spec in specs:
        project, at, _ = spec.rpartition("@")
        if at and not Path(spec).is_file() and Path(project).is_file():
            from autocoder.store import Project

            with Project.open(Path(project), create=False) as p:
                return p.project_codebook()
    return None


def _read_csv(path: Path) -> Source:
    limit = DEFAULT_SETTINGS.limits.max_file_bytes
    try:
        raw = path.read_bytes()[: limit + 1]
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    if len(raw) > limit:
        raise InputError(str(path), f"larger than {limit // 2**20} MB")
    header = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = [(name or "").strip().lower() for name in reader.fieldnames or []]
    _check_columns(str(path), columns)
    reader.fieldnames = columns
    try:
        codings = [_csv_row(str(path), row, n) for n, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise InputError(str(path), f"not valid CSV ({exc})", line=reader.line_num) from None
    coders = {row.pop() for row in codings}
    name = next(iter(coders)) if len(coders) == 1 and None not in coders else path.stem
    return Source(str(path), str(name), [c for c, *_ in codings])


def _check_columns(source: str, columns: list[str]) -> None:
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if "id" not in columns:
        missing += [c for c in ("report", "start", "end") if c not in columns]
    extra = [c for c in columns if c not in (*CSV_REQUIRED, *CSV_OPTIONAL)]
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(map(repr, missing)))
    if extra:
        problems.append("unknown column(s) " + ", ".join(map(repr, extra)))
    if problems:
        raise InputError(source, f"{'; '.join(problems)} ({CSV_HELP})")


def _csv_row(source: str, row: dict[str, str | None], line: int) -> list:
    get = {k: (v or "").strip() for k, v in row.items() if k}
    try:
        start, end = (int(get[k]) if get.get(k) else None for k in ("start", "end"))
    except ValueError:
        raise RecordError(source, "'start' and 'end' must be whole numbers", line=line) from None
    factor, presence = get.get("factor", ""), get.get("presence", "").lower()
    problem = None
    if presence and presence not in PRESENCES:
        problem = f'presence must be "present", "absent" or empty, not {presence!r}'
    elif presence and factor.lower() in ("", "none", "null"):
        problem = "'presence' given for a fragment with no factor"
    elif get.get("priority", "") not in ("", PRIORITY_HIGH):
        problem = 'priority must be "high" or empty'
    elif not get.get("id") and (start is None or end is None or not get.get("report")):
        problem = "a row needs an id, or report, start and end"
    if problem:
        raise RecordError(source, problem, line=line)
    report = get.get("report") or UNKNOWN
    fid = get.get("id") or f"{report}:{start}-{end}"
    if report == UNKNOWN:
        start = end = None  # offsets mean nothing without their report
    label = NO_FACTOR_KEY if factor.lower() in ("", "none", "null") else factor
    text = get.get("text") or None
    coded = Coded(fid, report, start, end, text, label, presence or None, named=bool(get.get("id")))
    return [coded, get.get("coder") or None]


# --- the job ----------------------------------------------------------------------------------


def agree(
    specs: Sequence[str],
    *,
    model_dir: Path | None = None,
    codebook_path: Path | None = None,
    reports_dir: Path | None = None,
    n_boot: int = 1000,
    seed: int = DEFAULT_SETTINGS.seed,
) -> AgreementReport:
    """Agreement between the coders of ``specs``, plus ``model_dir``'s model as a coder."""
    if len(specs) + (model_dir is not None) < 2:
        raise InputError("agree", "compare two or more sources (or one source and --model DIR)")
    sources = [load_source(spec) for spec in specs]
    codebook, model = _codebook_and_model(specs, codebook_path, model_dir)
    for source, name in zip(sources, _unique([s.coder for s in sources]), strict=True):
        source.coder = name
        check_source(source, codebook)
    left_out = [LeftOut(s.coder, s.uncoded, "records without a code") for s in sources if s.uncoded]
    warnings: list[str] = []
    common_reports(sources, left_out)
    alignment: dict[str, dict[str, int]] = {}
    unit_key = match_key(sources)
    if unit_key is span_key and overlapping_spans(sources):
        needed = {c.report for s in sources for c in s.codings if c.report != UNKNOWN}
        reports = report_texts(sources, reports_dir, needed, warnings)
        for source in sources:
            check_offsets(source, reports)
        units, counts = aligned(sources, reports, left_out)
        alignment, matched_by = {k: asdict(v) for k, v in counts.items()}, "sentence alignment"
    else:
        units = by_id(sources, left_out, unit_key)
        matched_by = "offsets" if unit_key is span_key else "fragment id"
    coders = [s.coder for s in sources]
    described = {s.coder: s.spec for s in sources}
    if model is not None:
        units = _with_model(units, model, specs[0])
        coders = _unique([*coders, MODEL_CODER])
        described[coders[-1]] = f"{model_dir} (model {model.model_id})"
    agreement = measure_agreement(
        [u.labels for u in units],
        coders,
        (*codebook.ids, NO_FACTOR_KEY),
        presence=[u.presence for u in units],
        no_code=NO_FACTOR_KEY,
        n_boot=n_boot,
        seed=seed,
    )
    return AgreementReport(
        agreement, described, codebook.id, units, matched_by, left_out, alignment, warnings
    )


def _codebook_and_model(
    specs: Sequence[str], codebook_path: Path | None, model_dir: Path | None
) -> tuple[Codebook, SuggestionModel | None]:
    """--codebook, else the project's, else the model's, else the shipped one."""
    codebook = load_codebook(codebook_path) if codebook_path else project_codebook(specs)
    model = None
    if model_dir is not None:
        from autocoder.transformer_dir import load_any_model

        model = load_any_model(model_dir, codebook)
    if codebook is None:
        codebook = model.codebook if model is not None else load_codebook()
    return codebook, model


def _unique(names: Sequence[str]) -> list[str]:
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def _with_model(units: list[UnitRow], model: SuggestionModel, first: str) -> list[UnitRow]:
    """Add the model's suggestion for every unit as one more coder."""
    missing = sum(not u.text for u in units)
    if missing:
        raise InputError(
            first,
            f"--model needs the fragment text and {missing} of {len(units)} units have none; "
            "give a source with text first (a CSV source needs its text column)",
        )
    fragments = [
        Fragment(
            u.id,
            u.report,
            u.start or 0,
            u.end or len(u.text or ""),
            u.text or "",
            question=u.question,
        )
        for u in units
    ]
    suggestions = model.suggest(fragments)
    return [
        replace(
            u,
            labels=(*u.labels, s.factor or NO_FACTOR_KEY),
            presence=(*u.presence, s.presence.value if s.presence else None),
        )
        for u, s in zip(units, suggestions, strict=True)
    ]
