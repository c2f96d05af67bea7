"""The codebook: a YAML file validated by a schema that rejects unknown keys.

Nothing downstream assumes a number of codes or their ids; everything asks the codebook.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from autocoder.errors import CodebookError

DEFAULT_CODEBOOK = "samenwerking"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"
MAX_CODEBOOK_BYTES = 2 * 1024 * 1024
DUPLICATE_ID = "duplicate_code_id"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PresenceValues(_Strict):
    """What 'present' and 'absent' look like for one code (closed value set)."""

    present: str = Field(min_length=1)
    absent: str = Field(min_length=1)


class NoCode(_Strict):
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)


class Code(_Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=64)
    name: str = Field(min_length=1)
    colour: str = Field(pattern=COLOUR_PATTERN)
    definition: str = Field(min_length=1)
    dimensions: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    questions: tuple[int, ...] = ()
    presence: PresenceValues

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == "none":
            raise ValueError("'none' is reserved for the no-factor outcome")
        return value

    @field_validator("questions")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(q < 1 for q in value):
            raise ValueError("question numbers start at 1")
        return value


class Codebook(_Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=64)
    name: str = Field(min_length=1)
    version: int = Field(1, ge=1)
    language: str = "nl"
    description: str = ""
    no_code: NoCode
    priority_questions: tuple[int, ...] = ()
    codes: tuple[Code, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Codebook:
        seen: set[str] = set()
        for code in self.codes:
            if code.id in seen:
                raise PydanticCustomError(DUPLICATE_ID, f"code id {code.id!r} appears twice")
            seen.add(code.id)
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(code.id for code in self.codes)

    def code(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise CodebookError(f"code {code_id!r} is not in codebook {self.id!r}")

    @cached_property
    def hash(self) -> str:
        """Content hash: the same codes and texts give the same hash, whatever the layout."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def question_codes(self) -> dict[int, str]:
        """Guide question number -> the code whose block asks it."""
        return {q: code.id for code in self.codes for q in code.questions}


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A key given twice in one YAML mapping; PyYAML would keep the last one silently."""


class UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a mapping with the same key twice (merge keys ``<<`` aside)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and first.setdefault(key, line) != line:
                raise DuplicateKeyError(
                    problem=f"key {key!r} appears twice in one mapping (first at line "
                    f"{first[key]}): keep one of them",
                    problem_mark=key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def parse_codebook(text: str, source: str = "<codebook>") -> Codebook:
    """Validate YAML text; errors name the field path and the line in the file."""
    loader = UniqueKeyLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except DuplicateKeyError as exc:
        raise CodebookError(f"{source}:{exc.problem_mark.line + 1}: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise CodebookError(f"{where}: not valid YAML ({_first_line(exc)})") from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise CodebookError(f"{source}: a codebook is a YAML mapping with id, name, codes, ...")
    try:
        return Codebook.model_validate(data)
    except ValidationError as exc:
        raise CodebookError(_describe(exc, root, source, text)) from exc


def _duplicate_code_ids(root: yaml.Node | None) -> list[tuple[int, str]]:
    """(line, message) for each code whose id an earlier code already has."""
    codes = _child(root, "codes")
    first: dict[str, int] = {}
    found: list[tuple[int, str]] = []
    for index, code in enumerate(codes.value if isinstance(codes, yaml.SequenceNode) else []):
        id_node = _child(code, "id")
        if not isinstance(id_node, yaml.ScalarNode):
            continue
        line = id_node.start_mark.line + 1
        if first.setdefault(id_node.value, line) != line:
            found.append(
                (
                    line,
                    f"field codes[{index}].id: code id {id_node.value!r} appears twice (first "
                    f"at line {first[id_node.value]}): give each code its own id",
                )
            )
    return found


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if name.value == key), None)


def _describe(exc: ValidationError, root: yaml.Node | None, source: str, text: str) -> str:
    """Every problem on a line of its own, each with its line, in file order."""
    rows = text.splitlines()
    errors = exc.errors()
    problems = [
        _problem(error, root, rows)
        for error in errors
        if error["type"] != DUPLICATE_ID and not _follows_from_items(error, errors)
    ]
    problems = sorted(problems + _duplicate_code_ids(root), key=lambda problem: problem[0])
    lines = [f"{source}:{line}: {text}" if line else f"{source}: {text}" for line, text in problems]
    if len(lines) == 1:
        return lines[0]
    return f"{source}: {len(lines)} problems\n" + "\n".join(lines)


def _follows_from_items(error: ErrorDetails, errors: list[ErrorDetails]) -> bool:
    """A list "too short" only because its items failed: their errors say what is wrong."""
    loc = error["loc"]
    return error["type"] == "too_short" and any(
        other["loc"][: len(loc)] == loc and len(other["loc"]) > len(loc) for other in errors
    )


def _problem(error: ErrorDetails, root: yaml.Node | None, rows: list[str]) -> tuple[int, str]:
    loc = [part for part in error["loc"] if not str(part).startswith("function-")]
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (remove it or check its spelling)"
    line = _line_of(root, loc) or 0
    if error["input"] is None and loc and 0 < line <= len(rows):
        message += _comment_hint(str(loc[-1]), rows[line - 1])
    return line, f"field {path or '(top)'}: {message}"


def _comment_hint(key: str, row: str) -> str:
    """An unquoted ``#`` after the colon starts a YAML comment: the value is read as empty."""
    match = re.match(rf"\s*(?:-\s+)?{re.escape(key)}\s*:\s+(#\S*)(.*)$", row)
    if match is None:
        return ""
    value = match.group(1) if key == "colour" else (match.group(1) + match.group(2)).strip()
    what = "the colour" if key == "colour" else "the value"
    return (
        f" (empty: YAML reads an unquoted # as the start of a comment; quote {what}: "
        f"{key}: '{value}')"
    )


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key else line
            node = match
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _first_line(exc: Exception) -> str:
    return re.sub(r"\s+", " ", str(exc).split("\n")[0]).strip()


def load_codebook(path: Path | str | None = None) -> Codebook:
    """Load a codebook file, or the shipped default when ``path`` is None."""
    if path is None:
        ref = resources.files("autocoder") / "codebooks" / f"{DEFAULT_CODEBOOK}.yaml"
        return parse_codebook(ref.read_text(encoding="utf-8"), f"{DEFAULT_CODEBOOK}.yaml")
    path = Path(path)
    try:
        raw = path.read_bytes()[: MAX_CODEBOOK_BYTES + 1]
    except OSError as exc:
        raise CodebookError(f"{path}: cannot read codebook ({exc.strerror})") from exc
    if len(raw) > MAX_CODEBOOK_BYTES:
        raise CodebookError(f"{path}: codebook larger than {MAX_CODEBOOK_BYTES // 1024} KB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{path}: codebook is not UTF-8 text (byte {exc.start})") from exc
    return parse_codebook(text, str(path))


def codebook_table(codebook: Codebook) -> list[dict[str, str]]:
    """Rows for display: one per code plus the no-factor outcome."""
    rows = [
        {
            "id": code.id,
            "name": code.name,
            "questions": ", ".join(map(str, code.questions)),
            "colour": code.colour,
            "indicators": ", ".join(code.indicators),
            "definition": code.definition,
        }
        for code in codebook.codes
    ]
    rows.append(
        {
            "id": "(none)",
            "name": codebook.no_code.label,
            "questions": "",
            "colour": "",
            "indicators": "",
            "definition": codebook.no_code.description,
        }
    )
    return rows
