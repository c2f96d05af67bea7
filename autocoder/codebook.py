"""The codebook: a YAML file validated by a schema that rejects unknown keys.

Nothing downstream assumes a number of codes or their ids; everything asks the codebook.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autocoder.errors import CodebookError

DEFAULT_CODEBOOK = "samenwerking"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"
MAX_CODEBOOK_BYTES = 2 * 1024 * 1024


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
                raise ValueError(f"code id {code.id!r} appears twice")
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


def parse_codebook(text: str, source: str = "<codebook>") -> Codebook:
    """Validate YAML text; errors name the field path and the line in the file."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise CodebookError(f"{where}: not valid YAML ({_first_line(exc)})") from exc
    if not isinstance(data, dict):
        raise CodebookError(f"{source}: a codebook is a YAML mapping with id, name, codes, ...")
    try:
        return Codebook.model_validate(data)
    except ValidationError as exc:
        raise CodebookError(_describe(exc, root, source)) from exc


def _describe(exc: ValidationError, root: yaml.Node | None, source: str) -> str:
    error = exc.errors()[0]
    loc = [part for part in error["loc"] if not str(part).startswith("function-")]
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    line = _line_of(root, loc)
    where = f"{source}:{line}" if line else source
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (remove it or check its spelling)"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}: field {path or '(top)'}: {message}{more}"


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
