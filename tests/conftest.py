"""Shared test fixtures. File builders write real documents (no mocks).

Plain functions ``make_docx``, ``make_odt``, ``make_pdf`` plus fixtures ``build_docx``,
``build_odt``, ``build_pdf`` that write into ``tmp_path`` and return the path;
``sentence_report`` builds a report and its sentence fragments for a project store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from odf.opendocument import OpenDocumentText
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import H, List, ListItem, P

from autocoder.records import Fragment, Group, Report, ReportMeta

# A block is a plain string (a paragraph) or (kind, value):
#   ("h1".."h6", text) heading, ("title", text), ("p", text), ("b", text) all-bold line,
#   ("li", text) list item, ("lines", [text, ...]) one paragraph with soft line breaks,
#   ("table", [[cell, ...], ...]) a table, row by row.
Block = str | tuple[str, object]


def _kind(block: Block) -> tuple[str, object]:
    return ("p", block) if isinstance(block, str) else block


def make_docx(path: Path, blocks: Sequence[Block]) -> Path:
    document = docx.Document()
    for block in blocks:
        kind, value = _kind(block)
        if kind.startswith("h") and kind[1:].isdigit():
            document.add_heading(str(value), int(kind[1:]))
        elif kind == "title":
            document.add_heading(str(value), 0)
        elif kind == "p":
            document.add_paragraph(str(value))
        elif kind == "b":
            document.add_paragraph().add_run(str(value)).bold = True
        elif kind == "li":
            document.add_paragraph(str(value), style="List Bullet")
        elif kind == "lines":
            paragraph = document.add_paragraph()
            for index, line in enumerate(value):
                run = paragraph.add_run(line)
                if index < len(value) - 1:
                    run.add_break()
        elif kind == "table":
            table = document.add_table(rows=len(value), cols=max(len(row) for row in value))
            for row, cells in zip(table.rows, value, strict=True):
                for cell, text in zip(row.cells, cells, strict=False):
                    cell.text = text
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    document.save(path)
    return path


def make_odt(path: Path, paragraphs: Sequence[Block]) -> Path:
    document = OpenDocumentText()
    for block in paragraphs:
        kind, value = _kind(block)
        if kind.startswith("h") and kind[1:].isdigit():
            document.text.addElement(H(outlinelevel=int(kind[1:]), text=str(value)))
        elif kind == "p":
            document.text.addElement(P(text=str(value)))
        elif kind == "li":
            item = ListItem()
            item.addElement(P(text=str(value)))
            listing = List()
            listing.addElement(item)
            document.text.addElement(listing)
        elif kind == "table":
            document.text.addElement(_odt_table(value))
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    document.save(str(path))
    return path


def _odt_table(rows: Sequence[Sequence[str]]) -> Table:
    table = Table()
    table.addElement(TableColumn(numbercolumnsrepeated=max(len(row) for row in rows)))
    for cells in rows:
        row = TableRow()
        table.addElement(row)
        for text in cells:
            cell = TableCell()
            if text:
                cell.addElement(P(text=text))
            row.addElement(cell)
    return table


def make_pdf(path: Path, lines: Sequence[str], *, user_password: str | None = None) -> Path:
    """One line per string with a core font ("\\f" starts a new page); no lines: a rectangle
    only (a PDF without text layer, like a scan)."""
    pdf = FPDF()
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    if not lines:
        pdf.rect(20, 20, 80, 40)
    for line in lines:
        if line == "\f":
            pdf.add_page()
        else:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


@pytest.fixture
def build_docx(tmp_path: Path) -> Callable[[str, Sequence[Block]], Path]:
    return lambda name, blocks: make_docx(tmp_path / name, blocks)


@pytest.fixture
def build_odt(tmp_path: Path) -> Callable[[str, Sequence[Block]], Path]:
    return lambda name, paragraphs: make_odt(tmp_path / name, paragraphs)


@pytest.fixture
def build_pdf(tmp_path: Path) -> Callable[..., Path]:
    return lambda name, lines, **kwargs: make_pdf(tmp_path / name, lines, **kwargs)


def sentence_report(
    text: str, source: str = "a.txt", respondent: str = "R1", group: str = Group.UNKNOWN.value
) -> tuple[Report, list[Fragment]]:
    """A txt report of ``text`` (id from its hash) and its fragments: each run up to a full
    stop, leading spaces included."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    rid = "r" + digest[:12]
    meta = ReportMeta(respondent=respondent, group=Group(group))
    report = Report(rid, source, text, meta, "txt", digest)
    fragments = [
        Fragment(
            f"{rid}:{m.start()}-{m.end()}", rid, m.start(), m.end(), m.group(), respondent, group
        )
        for m in re.finditer(r"[^.]+\.", text)
    ]
    return report, fragments
