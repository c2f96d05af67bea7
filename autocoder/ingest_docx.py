"""The .docx extractor for ``autocoder.ingest``: Word XML to light Markdown.

Headings (Heading/Kop/Title styles) become ``#`` lines, list paragraphs ``- `` items, wholly
bold paragraphs ``**...**``; table cells come once each (merged cells included once), in
document order. Deleted or moved-away text, drawing fallbacks and property subtrees are left
out. The container is checked by ``ingest_zip.open_zip`` first. Error messages never quote
report text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import docx
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from autocoder.config import Limits
from autocoder.errors import InputError
from autocoder.ingest_zip import open_zip

if TYPE_CHECKING:
    from docx.document import Document
    from lxml.etree import _Element as Element

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

# Word XML: subtrees whose text is not part of the paragraph (deleted/moved-away text,
# fallback copies of drawings, properties that contain w:tab stop definitions).
DOCX_SKIP = frozenset({W + "pPr", W + "rPr", W + "del", W + "moveFrom", MC_FALLBACK})
HEADING_STYLE = re.compile(r"(?:heading\s*(\d*)|kop\s*(\d+))", re.IGNORECASE)
TITLE_STYLES = frozenset({"title", "titel"})
LIST_STYLE_PREFIXES = ("list", "lijst")

__all__ = ["docx_text"]


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


def _docx_blocks(parent: Element, document: Document) -> Iterator[str]:
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


def _docx_runs(element: Element) -> Iterator[Element]:
    """The w:r elements of a paragraph, also inside hyperlinks, insertions and fields."""
    for child in element.iterchildren():
        if child.tag == W + "r":
            yield child
        elif child.tag not in DOCX_SKIP:
            yield from _docx_runs(child)


def _docx_run_text(run: Element) -> str:
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


def _docx_plain(paragraph: Element) -> str:
    return "".join(_docx_run_text(run) for run in _docx_runs(paragraph)).strip()


def _docx_paragraph(element: Element, document: Document) -> str:
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


def _is_list(element: Element, style: BaseStyle | None) -> bool:
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


def _docx_table_cells(table: Element) -> Iterator[str]:
    """Each cell once, row by row; merged cells are one w:tc or a vMerge continuation."""
    for row in table.iterchildren(W + "tr"):
        for cell in row.iterchildren(W + "tc"):
            merge = cell.find(f"{W}tcPr/{W}vMerge")
            if merge is not None and merge.get(W + "val") != "restart":
                continue
            text = "\n".join(_docx_cell_lines(cell))
            if text:
                yield text


def _docx_cell_lines(cell: Element) -> Iterator[str]:
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
