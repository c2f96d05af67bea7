"""Read interview reports (.txt, .md, .docx, .odt, .pdf) into normalised ``Report`` records.

Input is untrusted: every file is size-checked, containers are checked for zip bombs and unsafe
XML before any parser sees them, and a bad file becomes one ``InputError`` naming the file
while ``read_reports`` carries on with the others. Report text never appears in messages.

``Report.text`` is the normalised text (``normalise_text``) after any YAML front matter;
fragment offsets index it, and ``Report.id``/``sha256`` are derived from it.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import FileTooLargeError, InputError, SkippedFileWarning
from autocoder.ingest_docx import docx_text
from autocoder.ingest_formats import odt_text, pdf_text
from autocoder.ingest_kinds import (
    DOCUMENT_SUFFIXES,
    SUPPORTED_SUFFIXES,
    refuse_other_kind,
    refuse_unsupported,
    skipped_reason,
)
from autocoder.ingest_meta import METADATA_FILE, load_metadata_csv, merge_meta, split_front_matter
from autocoder.ingest_text import (
    decode_text,
    normalise_text,
    plain_text,
    read_bytes,
    refuse_long_lines,
)
from autocoder.records import Report, ReportMeta

EXTRACTORS = {".docx": docx_text, ".odt": odt_text, ".pdf": pdf_text}
DEFAULT_LIMITS = DEFAULT_SETTINGS.limits


# --- finding files ----------------------------------------------------------------------------


def iter_report_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given; folders expanded recursively to their report files, sorted."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _folder_reports(path)
        elif path.exists():
            yield path
        else:
            raise InputError(str(path), "no such file or folder: check the path")


def _folder_reports(folder: Path) -> Iterator[Path]:
    """Report files, and word-processor files it cannot read (named as skipped when read);
    any other file is left out with a SkippedFileWarning naming it."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in files:
            if _is_report_name(name):
                found.append(Path(root, name))
            elif not _is_bookkeeping(name):
                warnings.warn(SkippedFileWarning(skipped_reason(name)), stacklevel=2)
    yield from sorted(found)


def _is_bookkeeping(name: str) -> bool:
    """Hidden files, Word's ~$ lock files and metadata.csv: never reports, never warned about."""
    return name.startswith((".", "~$")) or name.lower() == METADATA_FILE


def _is_report_name(name: str) -> bool:
    suffix = Path(name).suffix.lower()
    return not _is_bookkeeping(name) and (
        suffix in SUPPORTED_SUFFIXES or suffix in DOCUMENT_SUFFIXES
    )


# --- reading ----------------------------------------------------------------------------------


def read_reports(
    paths: Iterable[Path], limits: Limits = DEFAULT_LIMITS
) -> Iterator[Report | InputError]:
    """Stream each report, or the InputError of a bad file or metadata.csv, and carry on."""
    folders: dict[Path, Mapping[str, ReportMeta]] = {}
    for given in paths:
        try:
            files = list(iter_report_paths([given]))
        except InputError as exc:
            yield exc
            continue
        for file in files:
            if file.parent not in folders:
                folders[file.parent] = {}
                try:
                    folders[file.parent] = load_metadata_csv(file.parent, limits)
                except InputError as exc:
                    yield exc
            try:
                yield read_report(file, limits, folders[file.parent])
            except InputError as exc:
                yield exc


def read_report(
    path: Path,
    limits: Limits = DEFAULT_LIMITS,
    metadata: Mapping[str, ReportMeta] | None = None,
) -> Report:
    """One report; ``metadata`` (by file name) defaults to the metadata.csv beside the file."""
    path = Path(path)
    source = unicodedata.normalize("NFC", path.name)
    suffix = path.suffix.lower()
    refuse_unsupported(suffix, source)
    raw = read_bytes(path, source, limits)
    refuse_other_kind(raw, suffix, source)
    first_line = None  # extracted text has paragraphs, not file lines
    if suffix in (".txt", ".md"):
        whole = normalise_text(plain_text(raw, source))
        front, text = split_front_matter(whole, source)
        first_line = whole.count("\n", 0, len(whole) - len(text)) + 1
    else:
        front, text = {}, normalise_text(EXTRACTORS[suffix](raw, source, limits))
    if len(text) > limits.max_text_chars:
        raise FileTooLargeError(
            source, f"text longer than {limits.max_text_chars} characters: split the report"
        )
    refuse_long_lines(text, source, limits, first_line)
    if not text.strip():
        raise InputError(source, "no text found: check that this is the right file")
    if metadata is None:
        metadata = load_metadata_csv(path.parent, limits)
    meta = merge_meta(front, metadata.get(source), source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Report(
        id="r" + digest[:12], source=source, text=text, meta=meta, format=suffix[1:], sha256=digest
    )


__all__ = [  # decoding and metadata live in ingest_text and ingest_meta; importable here too
    "METADATA_FILE",
    "SUPPORTED_SUFFIXES",
    "decode_text",
    "iter_report_paths",
    "load_metadata_csv",
    "normalise_text",
    "read_report",
    "read_reports",
    "split_front_matter",
]
