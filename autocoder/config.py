"""Settings with shipped defaults; a TOML file can override any of them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autocoder.errors import AutocoderError

MB = 1024 * 1024


class Limits(BaseModel):
    """Caps that protect against oversized files and decompression bombs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_file_bytes: int = Field(50 * MB, gt=0, description="largest report file read")
    max_unzipped_bytes: int = Field(200 * MB, gt=0, description="largest uncompressed .docx/.odt")
    max_zip_ratio: float = Field(200.0, gt=1, description="largest compression ratio of a member")
    max_zip_members: int = Field(5000, gt=0, description="most members in a .docx/.odt")
    max_text_chars: int = Field(20_000_000, gt=0, description="longest extracted report text")
    max_jsonl_line_chars: int = Field(1_000_000, gt=0, description="longest JSONL line")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: Limits = Limits()
    unit: str = Field("sentence", pattern="^(sentence|paragraph|answer)$")
    seed: int = 13


DEFAULT_SETTINGS = Settings()


def load_settings(path: Path | None = None) -> Settings:
    """Defaults, overridden by a TOML file when one is given."""
    if path is None:
        return DEFAULT_SETTINGS
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Settings.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise AutocoderError(f"{path}: invalid settings: {exc}") from exc
