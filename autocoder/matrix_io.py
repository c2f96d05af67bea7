"""Matrix jobs at the edges: load a project or a coded JSONL file, build, write atomically.

Sources: a project database (``autocoder.store``, imported only when used) or a file of
coded fragment records. Outputs: json, csv, xlsx (codebook colours) and the HTML report.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autocoder.codebook import Codebook, load_codebook
from autocoder.errors import AutocoderError, CodebookMismatchError, InputError, StoreError
from autocoder.files import atomic_write_bytes
from autocoder.jsonl import read_records
from autocoder.matrix import (
    ALL_COLUMN,
    CONFIRMABLE,
    DEFAULT_RULES,
    PERSON_STATUSES,
    By,
    Cell,
    ConfirmedVerdict,
    Evidence,
    Matrix,
    MatrixRules,
    Verdict,
    columns_for,
    matrix_to_dict,
    strength_order,
)
from autocoder.matrix_sheets import cell_summary, csv_text, xlsx_bytes
from autocoder.matrix_team import (
    Codings,
    coder_codings,
    codings_matrix,
    split_by_coder,
    team_codings,
)
from autocoder.records import FragmentRecord

FORMATS = ("table", "csv", "xlsx", "json", "html")
ANY_STATE = object()  # confirm_verdict without a page state: over whatever the cell has (CLI)
FILE_ONLY = ("xlsx", "html")


@dataclass(frozen=True)
class MatrixSource:
    """Where the codings come from: a project (``project``) or coded JSONL (``fragments``)."""

    project: Path | None = None
    fragments: Path | None = None
    codebook: Path | None = None
    coder: str | None = None
    include_suggestions: bool = False


@dataclass
class Loaded:
    codings: Codings
    codebook: Codebook
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""

    @property
    def records(self) -> list[FragmentRecord]:
        return self.codings.records


@dataclass
class MatrixResult:
    matrix: Matrix
    text: str | None = None  # json/csv for stdout when there is no --out
    written: Path | None = None


def _store_project() -> Any:
    try:
        from autocoder.store import Project
    except ImportError as exc:
        raise StoreError(f"the project store is not available ({exc})") from exc
    return Project


def load_source(source: MatrixSource) -> Loaded:
    if (source.project is None) == (source.fragments is None):
        raise AutocoderError("give either --project study.db or --fragments CODED.jsonl")
    if source.project is not None:
        return _load_project(source)
    return _load_fragments(source)


def _load_project(source: MatrixSource) -> Loaded:
    project_cls = _store_project()
    with project_cls.open(source.project, create=False) as project:
        codings = project_codings(project, source.coder, source.include_suggestions)
        codebook = project.project_codebook()
        verdicts = list(project.verdicts())
    if codebook is None:
        codebook = load_codebook(source.codebook)
    elif source.codebook is not None and load_codebook(source.codebook).hash != codebook.hash:
        raise CodebookMismatchError(f"{source.codebook}: not the codebook of {source.project}")
    return Loaded(codings, codebook, verdicts, str(source.project))


def project_codings(
    project: Any, coder: str | None = None, include_suggestions: bool = False
) -> Codings:
    """The codings of an open project (``autocoder.store.Project``) a matrix counts: ``coder``'s,
    or without ``coder`` the consensus of everyone who decided fragments (``matrix_team``).
    ``include_suggestions`` adds each fragment's model suggestion to the records."""
    if coder is not None:
        return coder_codings(coder, project.coded_fragments(coder, include_suggestions))
    names = sorted(
        {d.coder for d in project.current_decisions() if d.status.value in PERSON_STATUSES}
    )
    if not names:
        return team_codings({"": project.coded_fragments(None, include_suggestions)})
    return team_codings(
        {name: project.coded_fragments(name, include_suggestions) for name in names}
    )


def _load_fragments(source: MatrixSource) -> Loaded:
    assert source.fragments is not None
    codebook = load_codebook(source.codebook)
    records = read_records(source.fragments, codebook).records
    if source.coder is None:
        codings = team_codings(split_by_coder(records))
    else:
        codings = coder_codings(source.coder, [_only_coder(r, source.coder) for r in records])
    return Loaded(codings, codebook, [], str(source.fragments))


def _only_coder(record: FragmentRecord, coder: str) -> FragmentRecord:
    if record.coding is None or record.coding.coder == coder:
        return record
    return FragmentRecord(record.fragment, None, record.suggestion, record.extra)


def load_rules(path: Path | None) -> MatrixRules:
    """Defaults, overridden by a TOML file (top-level keys or a ``[matrix]`` table)."""
    if path is None:
        return DEFAULT_RULES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return MatrixRules.model_validate(data.get("matrix", data))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(str(path), f"cannot read matrix rules ({exc})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise InputError(str(path), f"invalid matrix rules: {where}: {first['msg']}") from exc


def matrix_from(loaded: Loaded, by: By | str, rules: MatrixRules, suggestions: bool) -> Matrix:
    return codings_matrix(
        loaded.codings,
        loaded.codebook,
        by=by,
        rules=rules,
        include_suggestions=suggestions,
        verdicts=loaded.verdicts,
    )


def matrix_job(
    source: MatrixSource,
    *,
    by: By | str = By.ALL,
    fmt: str = "table",
    out: Path | None = None,
    rules_path: Path | None = None,
) -> MatrixResult:
    """Build the matrix; write json/csv/xlsx/html to ``out`` (json/csv to text without it)."""
    if fmt not in FORMATS:
        raise AutocoderError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt in FILE_ONLY and out is None:
        raise AutocoderError(f"--format {fmt} needs --out FILE")
    rules = load_rules(rules_path)
    loaded = load_source(source)
    matrix = matrix_from(loaded, by, rules, source.include_suggestions)
    if fmt == "table":
        return MatrixResult(matrix)
    if fmt in ("json", "csv") and out is None:
        return MatrixResult(matrix, text=json_text(matrix) if fmt == "json" else csv_text(matrix))
    assert out is not None
    atomic_write_bytes(out, render(fmt, matrix, loaded, source))
    return MatrixResult(matrix, written=out)


def render(fmt: str, matrix: Matrix, loaded: Loaded, source: MatrixSource) -> bytes:
    if fmt == "xlsx":
        return xlsx_bytes(matrix)
    if fmt == "html":
        return html_report(loaded, matrix, source).encode("utf-8")
    return (json_text(matrix) if fmt == "json" else csv_text(matrix)).encode("utf-8")


def html_report(loaded: Loaded, matrix: Matrix, source: MatrixSource) -> str:
    """The report: the chosen view plus the overall and per-group views it plots."""
    from autocoder.report_html import render_report

    suggestions, rules = source.include_suggestions, matrix.rules
    overall = matrix_from(loaded, By.ALL, rules, suggestions)
    groups = matrix_from(loaded, By.GROUP, rules, suggestions)
    created = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return render_report(
        matrix,
        overall,
        groups,
        source=loaded.label,
        created=created,
        source_args=source_args(source),
    )


def source_args(source: MatrixSource) -> str:
    """The command-line options that select ``source`` again (for commands the report shows)."""
    parts = ["--project", str(source.project)] if source.project else []
    parts += ["--fragments", str(source.fragments)] if source.fragments else []
    parts += ["--codebook", str(source.codebook)] if source.codebook else []
    parts += ["--coder", source.coder] if source.coder else []
    parts += ["--include-suggestions"] if source.include_suggestions else []
    return shlex.join(parts)


def json_text(matrix: Matrix) -> str:
    return json.dumps(matrix_to_dict(matrix), ensure_ascii=False, indent=2) + "\n"


def cell_evidence(
    source: MatrixSource, code: str, column: str, by: By | str | None = None
) -> tuple[Cell, list[Evidence]]:
    """A cell and its evidence fragments, strongest first; ``by`` is inferred when None."""
    loaded = load_source(source)
    if code not in loaded.codebook.ids:
        raise AutocoderError(f"code {code!r} is not in codebook {loaded.codebook.id!r}")
    view = By(by) if by is not None else infer_by(loaded.records, column)
    matrix = matrix_from(loaded, view, DEFAULT_RULES, source.include_suggestions)
    if column not in matrix.columns:
        known = ", ".join(matrix.columns) or "-"
        raise AutocoderError(f"no column {column!r} by {view.value}; columns: {known}")
    cell = matrix.cell(code, column)
    items = strength_order(matrix.evidence[fid] for fid in cell.evidence)
    return cell, items


def infer_by(records: Sequence[FragmentRecord], column: str) -> By:
    if column == ALL_COLUMN:
        return By.ALL
    if column in columns_for(records, By.GROUP):
        return By.GROUP
    return By.RESPONDENT


def confirm_verdict(
    project: Path,
    code: str,
    column: str,
    verdict: str,
    note: str,
    coder: str,
    seen: object = ANY_STATE,
) -> ConfirmedVerdict:
    """Store a person's verdict for a cell; it then overrides the computed one everywhere.
    With ``seen`` (the seq of the cell's verdict the page showed, None for none) a verdict
    stored meanwhile by someone else refuses this one (StaleError) instead of being
    silently overridden."""
    if verdict not in {v.value for v in CONFIRMABLE}:
        raise AutocoderError(f"verdict {verdict!r}: use present, partly or absent")
    if not coder.strip():
        raise AutocoderError("--coder must name the person confirming")
    project_cls = _store_project()
    with project_cls.open(project, create=False) as store:
        codebook = store.project_codebook() or load_codebook(None)
        if code not in codebook.ids:
            raise AutocoderError(f"code {code!r} is not in codebook {codebook.id!r}")
        records = store.coded_fragments(coder=None, include_suggestions=False)
        known = {ALL_COLUMN, *columns_for(records, By.GROUP), *columns_for(records, By.RESPONDENT)}
        if column not in known:
            raise AutocoderError(f"no column {column!r} in {project}")
        if seen is ANY_STATE:
            seq = store.add_verdict(code, column, verdict, note, coder)
        else:
            seq = store.add_verdict_if_latest(code, column, verdict, note, coder, seen)
    return ConfirmedVerdict(code, column, Verdict(verdict), note, coder, seq=seq)


__all__ = [  # cell_summary and csv_text live in matrix_sheets; importable here too
    "FILE_ONLY",
    "FORMATS",
    "Loaded",
    "MatrixResult",
    "MatrixSource",
    "cell_evidence",
    "cell_summary",
    "confirm_verdict",
    "csv_text",
    "infer_by",
    "json_text",
    "load_rules",
    "load_source",
    "matrix_from",
    "matrix_job",
    "project_codings",
    "source_args",
]
