"""Report bytes to normalised text: size-capped reading, decoding and normalising.

Input is untrusted: a file is read up to the size cap only, binary data that pretends to be
text is refused, and a problem becomes one ``InputError`` naming the file (never its text).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

import charset_normalizer

from autocoder.config import Limits
from autocoder.errors import DecodeError, FileTooLargeError, InputError

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


def read_bytes(path: Path, source: str, limits: Limits) -> bytes:
    """The file's bytes; refuses a missing, unreadable, empty or too large file."""
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


def plain_text(raw: bytes, source: str) -> str:
    """Decoded .txt/.md content; refuses binary data that only pretends to be text."""
    binary = InputError(source, "binary data, not text: check that this is really a text file")
    if b"\x00" in raw and not raw.startswith(tuple(bom for bom, _ in BOMS)):
        raise binary
    text = decode_text(raw, source)
    sample = text[:BINARY_SAMPLE]
    if len(BINARY_CHARS.findall(sample)) > BINARY_SHARE * len(sample):
        raise binary
    return text


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


def refuse_long_lines(text: str, source: str, limits: Limits, first_line: int | None) -> None:
    """Refuse a line longer than ``limits.max_line_chars``: no paragraph of a report is that
    long (a broken export), and cutting it blindly would make meaningless fragments.

    ``first_line`` is the file line of the text's first line (plain text); None for extracted
    text, whose lines are counted as paragraphs.
    """
    limit = limits.max_line_chars
    paragraph = 0
    for number, line in enumerate(text.split("\n")):
        paragraph += bool(line)
        if len(line) <= limit:
            continue
        what = f"a line of {len(line):,} characters" + (
            "" if first_line else f" (paragraph {paragraph})"
        )
        raise FileTooLargeError(
            source,
            f"{what}, over the limit of {limit:,}: no report paragraph is that long (a broken "
            "export?); put line breaks between its paragraphs and retry",
            line=None if first_line is None else first_line + number,
        )
