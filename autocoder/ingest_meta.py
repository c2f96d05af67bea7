"""Report metadata: YAML front matter, a folder's ``metadata.csv``, and merging the two.

Front matter comes first and ``metadata.csv`` (keyed by file name) fills what it lacks; what
stays unknown is warned about (``MetadataWarning``; a missing respondent becomes the file name
stem, so that reports without metadata stay apart), and a bad value becomes an ``InputError``
naming the file and line.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
import warnings
from collections.abc import Mapping
from pathlib import Path

import yaml

from autocoder.config import DEFAULT_SETTINGS, Limits
from autocoder.errors import InputError, MetadataWarning
from autocoder.ingest_text import decode_text, normalise_text, read_bytes
from autocoder.records import UNKNOWN, Group, ReportMeta

METADATA_FILE = "metadata.csv"
META_FIELDS = ("respondent", "organisation", "role", "group", "date")
CSV_COLUMNS = ("file", *META_FIELDS)
REQUIRED_META = ("respondent", "group")
GROUP_CHOICES = ", ".join(group.value for group in Group if group is not Group.UNKNOWN)

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*(?:\n|\Z)", re.DOTALL | re.MULTILINE)
DEFAULT_LIMITS = DEFAULT_SETTINGS.limits


class FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """yaml.safe_load (with libyaml's parser when PyYAML has it), except that numbers and
    yes/no stay text (respondent 010 is not 8)."""


FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if not tag.endswith(("int", "float", "bool"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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
    text = normalise_text(decode_text(read_bytes(path, source, limits), source))
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


def merge_meta(front: Mapping[str, object], csv_meta: ReportMeta | None, source: str) -> ReportMeta:
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
        filled = []
        if "respondent" in missing:  # one respondent per file, not one 'unknown' for all
            fields["respondent"] = Path(source).stem or source
            filled.append(f"respondent set to the file name {fields['respondent']!r}")
        if "group" in missing:
            filled.append(f"group set to {UNKNOWN!r}")
        warnings.warn(
            MetadataWarning(
                f"{source}: no {' or '.join(missing)} in front matter or {METADATA_FILE}; "
                f"{', '.join(filled)}"
            ),
            stacklevel=3,
        )
    return ReportMeta(**fields)
