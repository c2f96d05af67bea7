"""autocoder.ingest on real files: .docx, .odt, .pdf, Windows-1252 .txt, and hostile inputs."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.style import WD_STYLE_TYPE

from autocoder.config import Limits
from autocoder.errors import FileTooLargeError, InputError, MetadataWarning
from autocoder.ingest import read_report, read_reports
from autocoder.records import Group, Report

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
)


def read(path: Path, **kwargs) -> Report:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        return read_report(path, **kwargs)


def rezip(source: Path, target: Path, replace: dict[str, bytes] | None = None, **add: bytes):
    """Copy a zip, replacing some members and adding others (keyword name -> bytes)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
        for name, data in add.items():
            new.writestr(f"word/media/{name}.bin", data)
    return target


# --- good files -----------------------------------------------------------------------------


def test_docx_structure_in_document_order(build_docx) -> None:
    path = build_docx(
        "verslag.docx",
        [
            ("h1", "Verslag interview"),
            ("b", "Vraag 5. Hoe verloopt de samenwerking?"),
            "Het contact is goed.",
            ("table", [["Datum", "4 maart"], ["Duur", ""]]),
            ("li", "eerste punt"),
            ("li", "tweede punt"),
            ("lines", ["regel een", "regel twee"]),
            ("h2", "Afsluiting"),
            "Tot slot geïnteresseerd.",
        ],
    )
    report = read(path, metadata={})
    assert report.text == (
        "# Verslag interview\n\n**Vraag 5. Hoe verloopt de samenwerking?**\n\n"
        "Het contact is goed.\n\nDatum\n\n4 maart\n\nDuur\n\n- eerste punt\n\n- tweede punt"
        "\n\nregel een\nregel twee\n\n## Afsluiting\n\nTot slot geïnteresseerd."
    )
    assert report.format == "docx" and report.source == "verslag.docx"


def test_docx_merged_cells_once_dutch_heading_and_partly_bold(tmp_path: Path) -> None:
    document = docx.Document()
    document.styles.add_style("Kop 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Nederlandse kop", style="Kop 2")
    mixed = document.add_paragraph()
    mixed.add_run("Half ").bold = True
    mixed.add_run("vet.")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "breed"
    table.cell(0, 2).merge(table.cell(1, 2)).text = "hoog"
    table.cell(1, 0).text, table.cell(1, 1).text = "links", "midden"
    document.save(tmp_path / "samengevoegd.docx")
    text = read(tmp_path / "samengevoegd.docx", metadata={}).text
    assert text == "## Nederlandse kop\n\nHalf vet.\n\nbreed\n\nhoog\n\nlinks\n\nmidden"


WORD_BODY = """<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>
 <w:r><w:t xml:space="preserve">Eerst </w:t></w:r><w:del w:id="1" w:author="a"><w:r>
 <w:delText>weg</w:delText></w:r></w:del><w:ins w:id="2" w:author="a"><w:r><w:t>nieuw</w:t>
 </w:r></w:ins><w:r><w:tab/><w:t>en</w:t></w:r><w:hyperlink r:id="x"><w:r><w:t> link</w:t>
 </w:r></w:hyperlink></w:p>
<w:sdt><w:sdtContent><w:p><w:r><w:t>In een inhoudsbesturingselement.</w:t></w:r></w:p>
</w:sdtContent></w:sdt>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr>
 <w:r><w:rPr><w:b/></w:rPr><w:t>Vet genummerd</w:t></w:r></w:p>
<w:p><w:r><w:t>   </w:t></w:r></w:p>
</w:body></w:document>"""


def test_docx_tracked_changes_tabs_and_content_controls(build_docx, tmp_path: Path) -> None:
    base = build_docx("base.docx", ["x"])
    path = rezip(base, tmp_path / "wijzigingen.docx", {"word/document.xml": WORD_BODY.encode()})
    text = read(path, metadata={}).text
    assert text == "Eerst nieuw\ten link\n\nIn een inhoudsbesturingselement.\n\n- **Vet genummerd**"


def test_windows_1252_txt_with_front_matter(tmp_path: Path) -> None:
    body = "De respondent is geïnteresseerd in één ‘aanpak’ – coördinatie kost € 5.\r\n"
    raw = ("---\r\nrespondent: R2\r\ngroup: uitvoerend\r\n---\r\n" + body).encode("cp1252")
    (tmp_path / "cp1252.txt").write_bytes(raw)
    report = read_report(tmp_path / "cp1252.txt")
    assert report.text == body.replace("\r\n", "\n")
    assert (report.meta.respondent, report.meta.group) == ("R2", Group.UITVOEREND)


def test_pdf_pages_joined(build_pdf) -> None:
    path = build_pdf(
        "verslag.pdf", ["Eerste regel.", "De respondent is geïnteresseerd.", "\f", "P2"]
    )
    report = read(path, metadata={})
    assert report.text == "Eerste regel.\nDe respondent is geïnteresseerd.\n\nP2"
    assert report.format == "pdf"


def test_pdf_with_empty_user_password_opens(build_pdf) -> None:
    assert read(
        build_pdf("beperkt.pdf", ["Alleen printen beperkt."], user_password=""), metadata={}
    )


def test_odt_structure_in_document_order(build_odt) -> None:
    path = build_odt(
        "verslag.odt",
        [
            ("h1", "Kop"),
            "Alinea één.",
            ("li", "punt"),
            ("table", [["a", "b"], ["", "d"]]),
            ("h2", "Slot"),
        ],
    )
    report = read(path, metadata={})
    assert report.text == "# Kop\n\nAlinea één.\n\n- punt\n\na\n\nb\n\nd\n\n## Slot"
    assert report.format == "odt"


def test_metadata_csv_gives_docx_metadata(build_docx, tmp_path: Path) -> None:
    build_docx("a.docx", ["Tekst."])
    (tmp_path / "metadata.csv").write_text("file,respondent,group\na.docx,R7,observatie\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetadataWarning)
        meta = read_report(tmp_path / "a.docx").meta
    assert (meta.respondent, meta.group) == ("R7", Group.OBSERVATIE)


# --- hostile and broken files ---------------------------------------------------------------


@pytest.fixture
def bad_folder(tmp_path: Path, build_docx, build_pdf) -> Path:
    """A folder of broken files between two good ones (a.txt first, z.md last)."""
    good = build_docx("good.docx", ["Tekst van een verslag."])
    raw = good.read_bytes()
    (tmp_path / "a.txt").write_text("Eerste goede verslag.\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "ole.docx").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 1024)
    (tmp_path / "truncated.docx").write_bytes(raw[: len(raw) // 2])
    rezip(good, tmp_path / "ratio.docx", zeros=bytes(1_000_000))
    doc_xml = zipfile.ZipFile(good).read("word/document.xml")
    doctype = {"word/document.xml": BILLION_LAUGHS + doc_xml.split(b"?>", 1)[1].lstrip()}
    rezip(good, tmp_path / "doctype.docx", doctype)
    (tmp_path / "notpdf.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    build_pdf("scan.pdf", [])
    build_pdf("locked.pdf", ["geheim"], user_password="secret")
    (tmp_path / "z.md").write_text("Laatste goede verslag.\n")
    good.unlink()
    return tmp_path


EXPECTED = {
    "empty.txt": (InputError, "empty file"),
    "junk.txt": (InputError, "binary data"),
    "ole.docx": (InputError, "password-protected"),
    "truncated.docx": (InputError, "damaged or truncated"),
    "ratio.docx": (FileTooLargeError, "zip bomb"),
    "doctype.docx": (InputError, "DOCTYPE"),
    "notpdf.pdf": (InputError, "damaged or truncated PDF"),
    "scan.pdf": (InputError, "scanned PDF: run OCR first"),
    "locked.pdf": (InputError, "encrypted PDF"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_gives_clear_error(bad_folder: Path, name: str) -> None:
    error, needle = EXPECTED[name]
    with pytest.raises(error, match=needle) as info:
        read(bad_folder / name, metadata={})
    assert info.value.source == name
    assert "\n" not in str(info.value) and ":" in info.value.reason  # one line: what, then how


def test_read_reports_carries_on_past_bad_files(bad_folder: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        results = list(read_reports([bad_folder]))
    by_name = {result.source: result for result in results}
    assert sorted(by_name) == sorted([*EXPECTED, "a.txt", "z.md"])
    assert isinstance(by_name["a.txt"], Report) and isinstance(by_name["z.md"], Report)
    for name, (error, _) in EXPECTED.items():
        assert type(by_name[name]) is error, name


def test_zip_total_size_cap(build_docx, tmp_path: Path) -> None:
    bomb = rezip(
        build_docx("base.docx", ["Tekst."]), tmp_path / "bomb.docx", zeros=bytes(2_000_000)
    )
    limits = Limits(max_unzipped_bytes=1_500_000, max_zip_ratio=100_000)
    with pytest.raises(FileTooLargeError, match="uncompressed content"):
        read(bomb, limits=limits, metadata={})


def test_zip_member_count_cap(build_docx) -> None:
    path = build_docx("many.docx", ["Tekst."])
    with pytest.raises(FileTooLargeError, match="parts inside"):
        read(path, limits=Limits(max_zip_members=5), metadata={})


def test_odt_with_doctype_refused(build_odt, tmp_path: Path) -> None:
    good = build_odt("good.odt", ["Tekst."])
    content = zipfile.ZipFile(good).read("content.xml").split(b"?>", 1)[-1].lstrip()
    bad = rezip(good, tmp_path / "bad.odt", {"content.xml": BILLION_LAUGHS + content})
    with pytest.raises(InputError, match="DOCTYPE"):
        read(bad, metadata={})


def renamed_main_part(good: Path, target: Path, main: bytes) -> Path:
    """``good`` with its main part moved to word/document.bin, declared there as the main part."""
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info).replace(b"word/document.xml", b"word/document.bin")
            name = info.filename.replace("document.xml", "document.bin")
            new.writestr(name, main if name == "word/document.bin" else data)
    return target


def test_renamed_main_part_is_read_but_its_dtd_refused(build_docx, tmp_path: Path) -> None:
    """The guard goes by what the parser parses, not by the part's name or its first bytes."""
    good = build_docx("good.docx", ["Tekst van een verslag."])
    body = zipfile.ZipFile(good).read("word/document.xml").split(b"?>", 1)[1].lstrip()
    plain = renamed_main_part(good, tmp_path / "renamed.docx", body)
    assert read(plain, metadata={}).text == "Tekst van een verslag."
    dtd = BILLION_LAUGHS.split(b"?>", 1)[1]
    for padding in (b" " * 100, b"\n\t" * 5000, b"<!-- opmerking -->" + b" " * 200):
        bad = renamed_main_part(good, tmp_path / "bad.docx", padding + dtd + body)
        with pytest.raises(InputError, match="DOCTYPE"):
            read(bad, metadata={})
    garbage = renamed_main_part(good, tmp_path / "garbage.docx", b"\x01\x02 geen xml")
    with pytest.raises(InputError, match=r"damaged \.docx \(broken part inside\)"):
        read(garbage, metadata={})  # declared XML, so parsed by the guard whatever it looks like


def test_dtd_after_long_prolog_in_any_part_refused(build_docx, build_odt, tmp_path: Path) -> None:
    """A DTD after 64+ bytes of prolog in a part named neither .xml nor .rels, in any encoding."""
    dtd = BILLION_LAUGHS.split(b"?>", 1)[1].decode()
    part = (" \n" * 40 + "<!-- opmerking -->" + dtd + "<a/>").encode()
    wide = (" " * 70 + dtd + "<a/>").encode("utf-16-le")  # no BOM
    paths = [
        rezip(build_docx("d.docx", ["Tekst."]), tmp_path / "d2.docx", x=part),
        rezip(build_odt("o.odt", ["Tekst."]), tmp_path / "o2.odt", x=part),
        rezip(build_docx("w.docx", ["Tekst."]), tmp_path / "w2.docx", x=wide),
    ]
    for path in paths:
        with pytest.raises(InputError, match="DOCTYPE"):
            read(path, metadata={})


def test_odt_part_with_whitespace_and_dtd_refused(build_odt, tmp_path: Path) -> None:
    good = build_odt("good.odt", ["Tekst."])
    styles = zipfile.ZipFile(good).read("styles.xml").split(b"?>", 1)[-1].lstrip()
    bad = rezip(
        good,
        tmp_path / "bad.odt",
        {"styles.xml": b" " * 200 + BILLION_LAUGHS.split(b"?>", 1)[1] + styles},
    )
    with pytest.raises(InputError, match="DOCTYPE"):
        read(bad, metadata={})


def test_images_and_binary_parts_stay_accepted(build_docx, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    printer = "HP LaserJet".encode("utf-16-le") + bytes(300)
    path = rezip(build_docx("i.docx", ["Tekst."]), tmp_path / "i2.docx", img=png, printer=printer)
    assert read(path, metadata={}).text == "Tekst."


def test_oversize_docx_refused_before_parsing(build_docx) -> None:
    path = build_docx("big.docx", ["Tekst."])
    with pytest.raises(FileTooLargeError, match="max_file_bytes"):
        read(path, limits=Limits(max_file_bytes=1000), metadata={})


def test_docx_text_cap(build_docx) -> None:
    path = build_docx("long.docx", ["Een vrij lange alinea tekst."])
    with pytest.raises(FileTooLargeError, match="longer than 10 characters"):
        read(path, limits=Limits(max_text_chars=10), metadata={})


def test_zip_that_is_not_a_word_file(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hallo")
    (tmp_path / "fake.docx").write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match=r"plain zip archive \(no Word or OpenDocument text"):
        read(tmp_path / "fake.docx", metadata={})


def test_file_of_another_format_than_its_name_says(
    build_docx, build_odt, build_pdf, tmp_path: Path
) -> None:
    """Magic bytes, not the name, say what a file is: one line on what it is and what to do."""
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Respondent"
    workbook.save(tmp_path / "tabel.xlsx")
    real = {
        "pdf": build_pdf("echt.pdf", ["Een verslag."]).read_bytes(),
        "docx": build_docx("echt.docx", ["Een verslag."]).read_bytes(),
        "odt": build_odt("echt.odt", ["Een verslag."]).read_bytes(),
        "xlsx": (tmp_path / "tabel.xlsx").read_bytes(),
        "rtf": b"{\\rtf1\\ansi Een verslag.}",
    }
    cases = {
        "verslag.docx": ("pdf", "this is a PDF, not a .docx file: rename it to verslag.pdf"),
        "anders.docx": ("odt", "this is an OpenDocument text (.odt), not a .docx file: rename it "
                        "to anders.odt"),
        "werk.odt": ("docx", "this is a Word document (.docx), not a .odt file: rename it to "
                     "werk.docx"),
        "scan.pdf": ("docx", "this is a Word document (.docx), not a .pdf file: rename it to "
                     "scan.docx"),
        "notities.txt": ("pdf", "this is a PDF, not a .txt file: rename it to notities.pdf"),
        "tabel.docx": ("xlsx", "this is an Excel workbook, not a .docx file: save the report "
                       "itself as one of .txt, .md, .docx, .odt, .pdf"),
        "brief.docx": ("rtf", "this is an RTF document, not a .docx file: open it in its word "
                       "processor and save it as .docx, then retry"),
    }  # fmt: skip
    for name, (kind, reason) in cases.items():
        (tmp_path / name).write_bytes(real[kind])
        with pytest.raises(InputError) as info:
            read(tmp_path / name, metadata={})
        assert str(info.value) == f"{name}: {reason}"


# --- shipped examples -----------------------------------------------------------------------


def test_examples_read_cleanly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reports = list(read_reports([EXAMPLES]))
    assert [r.source for r in reports] == [
        "respondent-a.docx",
        "respondent-b.txt",
        "respondent-c.md",
    ]
    assert [r.meta.group for r in reports] == [Group.UITVOEREND, Group.MANAGEMENT, Group.OVERIG]
    assert all(250 <= len(r.text.split()) <= 450 for r in reports)
    a, b, c = (r.text for r in reports)
    assert a.startswith("# ") and "**Vraag 5." in a
    assert "geïnteresseerd" in b and "coördinatie" in b and "één" in b and "\r" not in b
    assert "\nI: Vraag 5." in c and "\nR: " in c
    assert (EXAMPLES / "respondent-b.txt").read_bytes().count(b"\xef") >= 1  # cp1252 ï


def test_make_examples_is_deterministic(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "make_examples.py"
    for out in ("one", "two"):
        subprocess.run(
            [sys.executable, script, "--out", tmp_path / out], check=True, capture_output=True
        )
    for name in ("respondent-a.docx", "respondent-b.txt"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
        assert (tmp_path / "one" / name).read_bytes() == (EXAMPLES / name).read_bytes()


def test_over_long_docx_paragraph_is_refused_naming_it(build_docx) -> None:
    path = build_docx("lang.docx", ["Eerste alinea.", "Tweede alinea, " + "heel " * 20 + "lang."])
    with pytest.raises(FileTooLargeError) as info:
        read(path, limits=Limits(max_line_chars=100), metadata={})
    assert str(info.value).startswith(
        "lang.docx: a line of 120 characters (paragraph 2), over the limit of 100: "
    )
    assert read(path, limits=Limits(max_line_chars=120), metadata={}).text.startswith("Eerste")


def test_odt_part_odfpy_cannot_parse_is_refused_and_not_printed(
    build_odt, tmp_path: Path, capfd
) -> None:
    """odfpy prints a part it fails to parse to stdout (report text) and goes on with less."""
    good = build_odt("good.odt", ["Vertrouwelijke tekst van het verslag."])
    content = zipfile.ZipFile(good).read("content.xml")
    # well-formed, but odfpy adds a second xmlns:meta as it sees no " xmlns:meta" (a space)
    broken = content.replace(b" xmlns:meta=", b"\nxmlns:meta=", 1)
    assert broken != content
    bad = rezip(good, tmp_path / "bad.odt", {"content.xml": broken})
    with pytest.raises(InputError, match=r"cannot read this \.odt \(damaged\)"):
        read(bad, metadata={})
    printed = capfd.readouterr()
    assert "Vertrouwelijke" not in printed.out + printed.err
