"""Read interview reports (.txt, .md, .docx, .odt, .pdf) into normalised ``Report`` records.

Input is untrusted: every file is size-checked, containers are checked for zip bombs and unsafe
XML before any parser sees them, and a bad file becomes one ``InputError`` naming the file
while ``read_reports`` carries on with the others. Report text never appears in messages.

``Report.text`` is the normalised text (``normalise_text``) after any YAML front matter;
fragment offsets index it, and ``Report.id``/``sha256`` are derived from it.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import charset_normalizer
import yaml

from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import (
    DecodeError,
    FileTooLargeError,
    InputError,
    MetadataWarning,
    UnsupportedFormatError,
)
from autocoder.ingest_formats import docx_text, odt_text, pdf_text
from autocoder.records import UNKNOWN, Group, Report, ReportMeta

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".pdf")
SUFFIX_LIST = ", ".join(SUPPORTED_SUFFIXES)
METADATA_FILE = "metadata.csv"
META_FIELDS = ("respondent", "organisation", "role", "group", "date")
CSV_COLUMNS = ("file", *META_FIELDS)
REQUIRED_META = ("respondent", "group")
GROUP_CHOICES = ", ".join(group.value for group in Group if group is not Group.UNKNOWN)
EXTRACTORS = {".docx": docx_text, ".odt": odt_text, ".pdf": pdf_text}

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)
# C0 controls except \t and \n (\r is turned into \n first), DEL and the C1 controls.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1f]")  # controls that plain text does not contain
BINARY_SHARE = 0.1
BINARY_SAMPLE = 65536
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DEFAULT_LIMITS = DEFAULT_SETTINGS.limits


class FrontMatterLoader(yaml.SafeLoader):
    """yaml.safe_load, except that numbers and yes/no stay text (respondent 010 is not 8)."""


FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if not tag.endswith(("int", "float", "bool"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
    raw = _read_bytes(path, source, limits)
    if suffix in (".txt", ".md"):
        front, text = split_front_matter(normalise_text(_plain_text(raw, source)), source)
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
    meta = _merge_meta(front, metadata.get(source), source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Report(
        id="r" + digest[:12], source=source, text=text, meta=meta, format=suffix[1:], sha256=digest
    )


def _read_bytes(path: Path, source: str, limits: Limits) -> bytes:
    try:
        if not path.exists():
            raise InputError(source, "file not found: check the path")
        if not path.is_file():
            raise InputError(source, "not a regular file: give a report file or a folder")
        with path.open("rb") as handle:
            raw = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise InputError(
            source, f"cannot read the file ({exc.strerror}): check permissions"
        ) from exc
    if not raw:
        raise InputError(source, "empty file: export the report again")
    if len(raw) > limits.max_file_bytes:
        raise FileTooLargeError(
            source,
            f"file larger than {limits.max_file_bytes} bytes: split it or raise max_file_bytes",
        )
    return raw


def _plain_text(raw: bytes, source: str) -> str:
    """Decoded .txt/.md content; refuses binary data that only pretends to be text."""
    binary = InputError(source, "binary data, not text: check that this is really a text file")
    if b"\x00" in raw and not raw.startswith(tuple(bom for bom, _ in BOMS)):
        raise binary
    text = decode_text(raw, source)
    sample = text[:BINARY_SAMPLE]
    if len(BINARY_CHARS.findall(sample)) > BINARY_SHARE * len(sample):
        raise binary
    return text


# --- text -------------------------------------------------------------------------------------


def decode_text(raw: bytes, source: str) -> str:
    """UTF-32/16 with BOM, strict UTF-8 (BOM or not), strict Windows-1252, then detection."""
    for bom, codec in BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                break
    for codec in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # NULs mean UTF-16/32 without BOM (or binary): keep looking
            return text
    best = charset_normalizer.from_bytes(raw).best()
    if best is None:
        raise DecodeError(source, "cannot decode the text: save it as UTF-8 and try again")
    return str(best)


def normalise_text(text: str) -> str:
    """NFC; CRLF/CR to LF; no BOM; other control characters become a space. Idempotent."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return unicodedata.normalize("NFC", CONTROL_CHARS.sub(" ", text))


# --- metadata ---------------------------------------------------------------------------------


def split_front_matter(text: str, source: str) -> tuple[dict[str, object], str]:
    """YAML front matter (``---`` first line ... ``---`` line) and the text after it."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.load(match.group(1), Loader=FrontMatterLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputError(
            source,
            f"invalid YAML front matter ({problem}): fix the lines between the --- markers",
            line=mark.line + 2 if mark else None,
        ) from exc
    except (ValueError, RecursionError) as exc:  # e.g. date: 2026-13-45
        raise InputError(
            source, "invalid value in the front matter (a date like 2026-13-45?): fix it"
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(source, "front matter must be 'key: value' lines between --- markers")
    return {str(key).strip().lower(): value for key, value in data.items()}, text[match.end() :]


def load_metadata_csv(folder: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, ReportMeta]:
    """``folder/metadata.csv`` keyed by file name; {} when there is none."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        return {}
    source = str(path)
    text = normalise_text(decode_text(_read_bytes(path, source, limits), source))
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # Dutch Excel uses ';'
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        columns = _csv_columns(next(reader, []), source)
        result: dict[str, ReportMeta] = {}
        for row in reader:
            if any(cell.strip() for cell in row):
                name, meta = _csv_row(row, columns, source, reader.line_num)
                if name in result:
                    raise InputError(source, f"{name} listed twice", line=reader.line_num)
                result[name] = meta
    except csv.Error as exc:
        raise InputError(source, f"not a valid CSV file ({exc}): save it again as CSV") from exc
    return result


def _csv_columns(header: list[str], source: str) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    if "file" not in columns:
        raise InputError(
            source, f"header row missing: start with the line {','.join(CSV_COLUMNS)}", line=1
        )
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    if unknown:
        raise InputError(
            source,
            f"unknown column(s) {', '.join(unknown)}: use {','.join(CSV_COLUMNS)}",
            line=1,
        )
    if len(set(columns)) != len(columns):
        raise InputError(source, "a column appears twice in the header row", line=1)
    return columns


def _csv_row(row: list[str], columns: list[str], source: str, line: int) -> tuple[str, ReportMeta]:
    if len(row) > len(columns):
        raise InputError(source, "more cells than header columns: check the separators", line=line)
    values = {name: cell.strip() for name, cell in zip(columns, row, strict=False)}
    name = unicodedata.normalize("NFC", values.pop("file", ""))
    if not name:
        raise InputError(source, "row without a file name: fill in the 'file' column", line=line)
    return name, ReportMeta(**_meta_fields(values, source, line))


def _meta_fields(values: Mapping[str, object], source: str, line: int | None = None) -> dict:
    """Validated, non-empty metadata fields of ``values`` (others are left out)."""
    fields: dict[str, object] = {}
    for name in META_FIELDS:
        value = values.get(name)
        if isinstance(value, datetime.date):
            value = value.isoformat()
        elif isinstance(value, (list, dict, set, tuple, bytes)):
            raise InputError(source, f"metadata '{name}' must be a single value", line=line)
        text = "" if value is None else str(value).strip()
        if text and name == "group":
            fields[name] = _group(text, source, line)
        elif text:
            fields[name] = text
    if fields.get("group") is Group.UNKNOWN:
        del fields["group"]
    return fields


def _group(value: str, source: str, line: int | None) -> Group:
    try:
        return Group(value.lower())
    except ValueError:
        raise InputError(
            source, f"unknown group '{value[:40]}': use one of {GROUP_CHOICES}", line=line
        ) from None


def _merge_meta(
    front: Mapping[str, object], csv_meta: ReportMeta | None, source: str
) -> ReportMeta:
    """Front matter first; metadata.csv fills what it lacks; warn about what stays unknown."""
    unknown_keys = sorted(key[:40] for key in front if key not in META_FIELDS)
    if unknown_keys:
        warnings.warn(
            MetadataWarning(f"{source}: unknown front matter key(s) {', '.join(unknown_keys)}"),
            stacklevel=3,
        )
    fields = _meta_fields(front, source)
    for name in META_FIELDS:
        value = getattr(csv_meta, name) if csv_meta is not None else UNKNOWN
        if name not in fields and value != UNKNOWN:
            fields[name] = value
    missing = [name for name in REQUIRED_META if name not in fields]
    if missing:
        warnings.warn(
            MetadataWarning(
                f"{source}: no {' or '.join(missing)} in front matter or {METADATA_FILE}; "
                "set to 'unknown'"
            ),
            stacklevel=3,
        )
    return ReportMeta(**fields)
