"""Per-format text extractors for ``autocoder.ingest``: .docx, .odt and .pdf to light Markdown.

Each extractor takes the file's bytes (already size-checked) and returns the text with
paragraphs separated by a blank line. Containers are checked before any parser sees them
(``ingest_zip``: zip caps against decompression bombs, and no DTD or entity declaration in any
XML part). The .docx extractor lives in ``ingest_docx``; .odt and .pdf are here. Error
messages never quote report text.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import TYPE_CHECKING

from autocoder.config import Limits
from autocoder.errors import FileTooLargeError, InputError
from autocoder.ingest_zip import open_zip

if TYPE_CHECKING:
    import pypdf
    from odf.element import Element

ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

# ODF: footnotes, comments and change-tracking records are not report text.
ODT_SKIP = frozenset(
    {
        (ODF_TEXT, "note"),
        (ODF_TEXT, "tracked-changes"),
        (ODF_TEXT, "sequence-decls"),
        (ODF_OFFICE, "annotation"),
        (ODF_OFFICE, "forms"),
    }
)
MARKDOWN_HEADING = re.compile(r"\A#+ ")

__all__ = ["odt_text", "pdf_text"]


# --- .odt -------------------------------------------------------------------------------------


def odt_text(raw: bytes, source: str, limits: Limits) -> str:
    archive = open_zip(raw, source, limits, ".odt")
    try:
        manifest = archive.read("META-INF/manifest.xml")
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(source, "damaged .odt (no manifest): save it again") from exc
    if b"encryption-data" in manifest:
        raise InputError(source, "password-protected .odt: save a copy without password first")
    from odf import opendocument  # here: most runs read no .odt, and odfpy is slow to import

    damaged = InputError(source, "cannot read this .odt (damaged): save it again")
    printed = io.StringIO()
    try:
        # odfpy prints a part it fails to parse (report text) to stdout and carries on
        with redirect_stdout(printed):
            document = opendocument.load(io.BytesIO(raw))
        body = getattr(document, "text", None)
    except Exception as exc:  # odfpy raises many types on damaged input
        raise damaged from exc
    if printed.getvalue():
        raise damaged  # a part did not parse: the text would be incomplete
    if body is None:
        raise InputError(source, "not an OpenDocument text file: save it as .odt from a writer")
    try:
        return "\n\n".join(_odt_blocks(body, ""))
    except RecursionError as exc:
        raise InputError(source, "document nested too deeply: save it again") from exc


def _odt_blocks(element: Element, prefix: str) -> Iterator[str]:
    for child in _odt_elements(element):
        name = child.qname
        if name in ((ODF_TEXT, "h"), (ODF_TEXT, "p")):
            text = _odt_inline(child).strip()
            if text and name[1] == "h":
                yield "#" * _odt_level(child) + " " + " ".join(text.split("\n"))
            elif text:
                yield prefix + text
        elif name in ((ODF_TEXT, "list-item"), (ODF_TEXT, "list-header")):
            yield from _odt_blocks(child, "- ")
        elif name == (ODF_TABLE, "table-cell"):
            text = "\n".join(_odt_cell_lines(child))
            if text:
                yield text
        elif name != (ODF_TABLE, "covered-table-cell"):
            yield from _odt_blocks(child, prefix)


def _odt_cell_lines(cell: Element) -> Iterator[str]:
    for block in _odt_blocks(cell, ""):
        yield MARKDOWN_HEADING.sub("", block)


def _odt_elements(element: Element) -> Iterator[Element]:
    for child in element.childNodes:
        if child.nodeType == child.ELEMENT_NODE and child.qname not in ODT_SKIP:
            yield child


def _odt_level(heading: Element) -> int:
    try:
        return min(max(int(heading.getAttribute("outlinelevel") or 1), 1), 6)
    except ValueError:
        return 1


def _odt_inline(element: Element) -> str:
    """Text of a paragraph: spaces, tabs and line breaks unwrapped; notes and comments left out."""
    parts: list[str] = []
    for child in element.childNodes:
        if child.nodeType == child.TEXT_NODE:
            parts.append(child.data)
            continue
        if child.nodeType != child.ELEMENT_NODE or child.qname in ODT_SKIP:
            continue
        if child.qname == (ODF_TEXT, "line-break"):
            parts.append("\n")
        elif child.qname == (ODF_TEXT, "tab"):
            parts.append("\t")
        elif child.qname == (ODF_TEXT, "s"):
            count = child.getAttribute("c")
            parts.append(" " * min(int(count) if count and count.isdigit() else 1, 1000))
        else:
            parts.append(_odt_inline(child))
    return "".join(parts)


# --- .pdf -------------------------------------------------------------------------------------


def pdf_text(raw: bytes, source: str, limits: Limits) -> str:
    if b"%PDF-" not in raw[:1024]:
        raise InputError(source, "not a PDF file (no %PDF header): check the file type")
    try:
        with _quiet_pypdf():
            pages = list(_pdf_pages(raw, source, limits))
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged input
        raise InputError(source, "damaged or truncated PDF: export it again") from exc
    if not pages:
        raise InputError(source, "scanned PDF: run OCR first (no text layer found)")
    return "\n\n".join(pages)


def _pdf_pages(raw: bytes, source: str, limits: Limits) -> Iterator[str]:
    import pypdf  # here: most runs read no PDF, and pypdf takes a quarter second to import

    reader = pypdf.PdfReader(io.BytesIO(raw))
    if reader.is_encrypted:
        _pdf_decrypt(reader, source)
    total = 0
    for page in reader.pages:
        text = (page.extract_text() or "").strip()
        total += len(text)
        if total > limits.max_text_chars:
            raise FileTooLargeError(
                source, f"text longer than {limits.max_text_chars} characters: split the PDF"
            )
        if text:
            yield text


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf's warnings can quote strings from the PDF; report text must never reach a log."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _pdf_decrypt(reader: pypdf.PdfReader, source: str) -> None:
    """Open PDFs that only restrict printing/copying (empty user password); refuse the rest."""
    import pypdf

    try:
        opened = reader.decrypt("") != pypdf.PasswordType.NOT_DECRYPTED
    except Exception:  # unsupported cipher or missing crypto backend: same advice
        opened = False
    if not opened:
        raise InputError(source, "encrypted PDF: save or export a copy without password first")
