"""Settings with shipped defaults: the input caps and the default random seed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MB = 1024 * 1024


class Limits(BaseModel):
    """Caps that protect against oversized files and decompression bombs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_file_bytes: int = Field(50 * MB, gt=0, description="largest report file read")
    max_unzipped_bytes: int = Field(200 * MB, gt=0, description="largest uncompressed .docx/.odt")
    max_zip_ratio: float = Field(200.0, gt=1, description="largest compression ratio of a member")
    max_zip_members: int = Field(5000, gt=0, description="most members in a .docx/.odt")
    max_text_chars: int = Field(20_000_000, gt=0, description="longest extracted report text")
    max_line_chars: int = Field(100_000, gt=0, description="longest line (paragraph) of a report")
    max_jsonl_line_chars: int = Field(1_000_000, gt=0, description="longest JSONL line")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: Limits = Limits()
    seed: int = 13


DEFAULT_SETTINGS = Settings()
