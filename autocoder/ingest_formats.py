"""Per-format text extractors for ``autocoder.ingest``: .docx, .odt and .pdf to light Markdown.

Each extractor takes the file's bytes (already size-checked) and returns the text with
paragraphs separated by a blank line. Containers are checked before any parser sees them: zip
caps against decompression bombs, and no DTD or entity declaration in any XML part (billion
laughs, XXE). Error messages never quote report text.
"""

from __future__ import annotations

import io
import logging
import re
import xml.sax
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from xml.sax.handler import ContentHandler

import defusedxml.sax
import docx
import pypdf
from defusedxml import DefusedXmlException
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from odf import opendocument

from autocoder.config import Limits
from autocoder.errors import FileTooLargeError, InputError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
ODF_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
XML_HEADS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00<")

# Word XML: subtrees whose text is not part of the paragraph (deleted/moved-away text,
# fallback copies of drawings, properties that contain w:tab stop definitions).
DOCX_SKIP = frozenset({W + "pPr", W + "rPr", W + "del", W + "moveFrom", MC_FALLBACK})
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
HEADING_STYLE = re.compile(r"(?:heading\s*(\d*)|kop\s*(\d+))", re.IGNORECASE)
MARKDOWN_HEADING = re.compile(r"\A#+ ")
TITLE_STYLES = frozenset({"title", "titel"})
LIST_STYLE_PREFIXES = ("list", "lijst")


# --- zip containers -------------------------------------------------------------------------


def open_zip(raw: bytes, source: str, limits: Limits, kind: str) -> zipfile.ZipFile:
    """Open a .docx/.odt container after checking it is no bomb and holds no DTD."""
    if raw.startswith(OLE_MAGIC):
        raise InputError(
            source,
            f"password-protected or old-style (.doc) file: remove the password or save it "
            f"as {kind} again, then retry",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(source, f"damaged or truncated {kind}: open it and save it again") from exc
    _check_zip_caps(infos, source, limits)
    for info in infos:
        _check_xml_member(archive, info, source, kind)
    return archive


def _check_zip_caps(infos: list[zipfile.ZipInfo], source: str, limits: Limits) -> None:
    if len(infos) > limits.max_zip_members:
        raise FileTooLargeError(
            source, f"{len(infos)} parts inside the file, over the limit {limits.max_zip_members}"
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped_bytes:
        raise FileTooLargeError(
            source,
            f"uncompressed content is {total} bytes, over the limit "
            f"{limits.max_unzipped_bytes}: split the document or raise max_unzipped_bytes",
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise InputError(source, "encrypted zip content: save the file without a password")
        if info.file_size / max(info.compress_size, 1) > limits.max_zip_ratio:
            raise FileTooLargeError(
                source,
                f"a part compresses more than {limits.max_zip_ratio:g}:1 (zip bomb?): "
                "save the document again from its word processor",
            )


def _check_xml_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, kind: str
) -> None:
    """Parse every XML-looking part with defusedxml: no DTD, no entities, no external refs."""
    try:
        with archive.open(info) as handle:
            head = handle.read(64).lstrip()
        is_xml = info.filename.lower().endswith((".xml", ".rels")) or head.startswith(XML_HEADS)
        if not is_xml:
            return
        with archive.open(info) as handle:
            defusedxml.sax.parse(handle, ContentHandler(), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(
            source,
            "XML with a DOCTYPE or entity declarations inside (unsafe, possibly an attack): "
            f"save the document again as {kind} from its word processor",
        ) from exc
    except (xml.sax.SAXException, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise InputError(source, f"damaged {kind} (broken part inside): save it again") from exc
    except (NotImplementedError, ValueError, RuntimeError) as exc:  # odd compression method
        raise InputError(source, f"unsupported {kind} packaging: save it again") from exc


# --- .docx ------------------------------------------------------------------------------------


def docx_text(raw: bytes, source: str, limits: Limits) -> str:
    open_zip(raw, source, limits, ".docx")
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises many types on foreign or damaged input
        raise InputError(
            source, "cannot read this .docx (damaged or not a Word file): save it again in Word"
        ) from exc
    try:
        return "\n\n".join(_docx_blocks(document.element.body, document))
    except RecursionError as exc:
        raise InputError(source, "document nested too deeply: save it again in Word") from exc


def _docx_blocks(parent, document) -> Iterator[str]:
    """Paragraphs and table cells in document order."""
    for child in parent.iterchildren():
        if child.tag == W + "p":
            text = _docx_paragraph(child, document)
            if text:
                yield text
        elif child.tag == W + "tbl":
            yield from _docx_table_cells(child)
        elif child.tag == W + "sdt":  # content control wrapping block content
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _docx_blocks(content, document)


def _docx_runs(element) -> Iterator:
    """The w:r elements of a paragraph, also inside hyperlinks, insertions and fields."""
    for child in element.iterchildren():
        if child.tag == W + "r":
            yield child
        elif child.tag not in DOCX_SKIP:
            yield from _docx_runs(child)


def _docx_run_text(run) -> str:
    parts: list[str] = []
    for child in run.iterchildren():
        if child.tag == W + "t":
            parts.append(child.text or "")
        elif child.tag in (W + "tab", W + "ptab"):
            parts.append("\t")
        elif child.tag in (W + "br", W + "cr"):
            parts.append("\n")
        elif child.tag == W + "noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def _docx_plain(paragraph) -> str:
    return "".join(_docx_run_text(run) for run in _docx_runs(paragraph)).strip()


def _docx_paragraph(element, document) -> str:
    runs = [(run, _docx_run_text(run)) for run in _docx_runs(element)]
    text = "".join(part for _, part in runs).strip()
    if not text:
        return ""
    paragraph = Paragraph(element, document)
    try:
        style = paragraph.style
    except Exception:  # a broken style reference: treat as plain text
        style = None
    level = _heading_level(style)
    if level:
        return "#" * level + " " + " ".join(text.split("\n"))
    bold = all(_run_bold(Run(run, paragraph), style) for run, part in runs if part.strip())
    prefix = "- " if _is_list(element, style) else ""
    return f"{prefix}**{text}**" if bold else prefix + text


def _style_names(style: BaseStyle | None) -> list[str]:
    if style is None:
        return []
    return [name.strip().lower() for name in (style.name, style.style_id) if name]


def _heading_level(style: BaseStyle | None) -> int:
    for name in _style_names(style):
        if name in TITLE_STYLES:
            return 1
        match = HEADING_STYLE.match(name)
        if match:
            return min(max(int(match.group(1) or match.group(2) or 1), 1), 6)
    return 0


def _is_list(element, style: BaseStyle | None) -> bool:
    if any(name.startswith(LIST_STYLE_PREFIXES) for name in _style_names(style)):
        return True
    num_id = element.find(f"{W}pPr/{W}numPr/{W}numId")
    return num_id is not None and num_id.get(W + "val") != "0"


def _run_bold(run: Run, style: BaseStyle | None) -> bool:
    if run.bold is not None:
        return run.bold
    try:
        character_style = run.style
    except Exception:  # a broken character-style reference: fall back to the paragraph
        character_style = None
    return _style_bold(character_style) or _style_bold(style)


def _style_bold(style: BaseStyle | None) -> bool:
    for _ in range(20):  # a style chain; guards against cycles
        if style is None:
            return False
        bold = style.font.bold
        if bold is not None:
            return bold
        style = style.base_style
    return False


def _docx_table_cells(table) -> Iterator[str]:
    """Each cell once, row by row; merged cells are one w:tc or a vMerge continuation."""
    for row in table.iterchildren(W + "tr"):
        for cell in row.iterchildren(W + "tc"):
            merge = cell.find(f"{W}tcPr/{W}vMerge")
            if merge is not None and merge.get(W + "val") != "restart":
                continue
            text = "\n".join(_docx_cell_lines(cell))
            if text:
                yield text


def _docx_cell_lines(cell) -> Iterator[str]:
    for child in cell.iterchildren():
        if child.tag == W + "p":
            text = _docx_plain(child)
            if text:
                yield text
        elif child.tag == W + "tbl":
            yield from _docx_table_cells(child)
        elif child.tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _docx_cell_lines(content)


# --- .odt -------------------------------------------------------------------------------------


def odt_text(raw: bytes, source: str, limits: Limits) -> str:
    archive = open_zip(raw, source, limits, ".odt")
    try:
        manifest = archive.read("META-INF/manifest.xml")
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(source, "damaged .odt (no manifest): save it again") from exc
    if b"encryption-data" in manifest:
        raise InputError(source, "password-protected .odt: save a copy without password first")
    try:
        document = opendocument.load(io.BytesIO(raw))
        body = getattr(document, "text", None)
    except Exception as exc:  # odfpy raises many types on damaged input
        raise InputError(source, "cannot read this .odt (damaged): save it again") from exc
    if body is None:
        raise InputError(source, "not an OpenDocument text file: save it as .odt from a writer")
    try:
        return "\n\n".join(_odt_blocks(body, ""))
    except RecursionError as exc:
        raise InputError(source, "document nested too deeply: save it again") from exc


def _odt_blocks(element, prefix: str) -> Iterator[str]:
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


def _odt_cell_lines(cell) -> Iterator[str]:
    for block in _odt_blocks(cell, ""):
        yield MARKDOWN_HEADING.sub("", block)


def _odt_elements(element) -> Iterator:
    for child in element.childNodes:
        if child.nodeType == child.ELEMENT_NODE and child.qname not in ODT_SKIP:
            yield child


def _odt_level(heading) -> int:
    try:
        return min(max(int(heading.getAttribute("outlinelevel") or 1), 1), 6)
    except ValueError:
        return 1


def _odt_inline(element) -> str:
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
    try:
        opened = reader.decrypt("") != pypdf.PasswordType.NOT_DECRYPTED
    except Exception:  # unsupported cipher or missing crypto backend: same advice
        opened = False
    if not opened:
        raise InputError(source, "encrypted PDF: save or export a copy without password first")
