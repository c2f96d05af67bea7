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
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import FileTooLargeError, InputError, UnsupportedFormatError
from autocoder.ingest_docx import docx_text
from autocoder.ingest_formats import odt_text, pdf_text
from autocoder.ingest_meta import METADATA_FILE, load_metadata_csv, merge_meta, split_front_matter
from autocoder.ingest_text import decode_text, normalise_text, plain_text, read_bytes
from autocoder.records import Report, ReportMeta

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".pdf")
SUFFIX_LIST = ", ".join(SUPPORTED_SUFFIXES)
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
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        found.extend(Path(root, name) for name in files if _is_report_name(name))
    yield from sorted(found)


def _is_report_name(name: str) -> bool:
    if name.startswith((".", "~$")) or name.lower() == METADATA_FILE:
        return False
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES


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
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(
            source,
            f"unsupported file type '{suffix or 'none'}': save it as one of {SUFFIX_LIST}",
        )
    raw = read_bytes(path, source, limits)
    if suffix in (".txt", ".md"):
        front, text = split_front_matter(normalise_text(plain_text(raw, source)), source)
    else:
        front, text = {}, normalise_text(EXTRACTORS[suffix](raw, source, limits))
    if len(text) > limits.max_text_chars:
        raise FileTooLargeError(
            source, f"text longer than {limits.max_text_chars} characters: split the report"
        )
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
