"""Unit tests for autocoder.ingest: decoding, normalisation, metadata, ids, paths."""

from __future__ import annotations

import contextlib
import io
import unicodedata
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autocoder.config import Limits
from autocoder.errors import (
    DecodeError,
    FileTooLargeError,
    InputError,
    MetadataWarning,
    SkippedFileWarning,
    UnsupportedFormatError,
)
from autocoder.ingest import (
    decode_text,
    iter_report_paths,
    load_metadata_csv,
    normalise_text,
    read_report,
    read_reports,
)
from autocoder.ingest_kinds import sniff_kind
from autocoder.ingest_zip import Prolog, prolog_kind
from autocoder.records import Group, Report, ReportMeta

DUTCH = "De respondent is geïnteresseerd, één keer, ‘quotes’ – € 5 en coördinatie."
FRONT = "---\nrespondent: R01\norganisation: Veilig Thuis\nrole: teamleider\ngroup: management\n"
FULL_META = ReportMeta("R01", "Veilig Thuis", "teamleider", Group.MANAGEMENT, "2026-03-12")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def read_quietly(path: Path, **kwargs) -> Report:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        return read_report(path, **kwargs)


# --- decode_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        DUTCH.encode("utf-8"),
        b"\xef\xbb\xbf" + DUTCH.encode("utf-8"),
        DUTCH.encode("utf-16"),
        DUTCH.encode("utf-32"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "utf-32-bom"],
)
def test_decode_unicode_routes(raw: bytes) -> None:
    assert decode_text(raw, "x.txt") == DUTCH


def test_decode_real_windows_1252_bytes() -> None:
    raw = "geïnteresseerd, één, ‘quotes’ – €".encode("cp1252")
    assert b"\x91" in raw and b"\x96" in raw and b"\x80" in raw  # genuinely cp1252, not latin-1
    assert decode_text(raw, "x.txt") == "geïnteresseerd, één, ‘quotes’ – €"


def test_decode_utf16_without_bom_goes_to_detection() -> None:
    # Valid cp1252 bytes, but the NULs show it is UTF-16: detection must get it right.
    assert decode_text(DUTCH.encode("utf-16-le"), "x.txt") == DUTCH


@pytest.mark.parametrize(
    "raw",
    [b"caf\xe9 \x81\x8d\x8f\x90\x9d na\xefef", bytes(range(128, 256)), b"\x81\x00\xff\xfe\x00" * 9],
)
def test_decode_garbage_detects_or_raises(raw: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        raw.decode("cp1252")  # undefined bytes: the strict cp1252 route must refuse them
    try:
        assert isinstance(decode_text(raw, "junk.txt"), str)
    except DecodeError as exc:
        assert exc.source == "junk.txt"


@given(st.binary(max_size=200))
def test_decode_any_bytes_gives_text_or_decode_error(raw: bytes) -> None:
    with contextlib.suppress(DecodeError):
        assert isinstance(decode_text(raw, "x"), str)


# --- normalise_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb\rc\n", "a\nb\nc\n"),
        ("\ufeffbegin", "begin"),
        ("tab\there\x00x\x07y\x0bz\x1bq", "tab\there x y z q"),
        ("non\u00a0breaking", "non\u00a0breaking"),
        ("gei\u0308nteresseerd", "geïnteresseerd"),
        ("next\u0085line\x7f", "next line "),
    ],
)
def test_normalise_examples(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF) | st.sampled_from("\r\n\ufeff\u0308")))
def test_normalise_output_is_clean(text: str) -> None:
    out = normalise_text(text)
    assert "\r" not in out and "\ufeff" not in out
    assert all(ch in "\n\t" or unicodedata.category(ch) != "Cc" for ch in out)
    assert unicodedata.is_normalized("NFC", out)


# --- front matter and metadata --------------------------------------------------------------


def test_front_matter_is_metadata_not_text(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", FRONT + "date: 2026-03-12\n---\nVraag 1.\r\n\r\nAntwoord.\n")
    report = read_report(path)
    assert report.text == "Vraag 1.\n\nAntwoord.\n"
    assert report.meta == FULL_META  # the YAML date object became an ISO string
    assert (report.format, report.source) == ("txt", "r.txt")


def test_front_matter_not_closed_stays_text(tmp_path: Path) -> None:
    path = write(tmp_path / "r.md", "---\nrespondent: R01\n\nGeen einde.\n")
    assert read_quietly(path).text == "---\nrespondent: R01\n\nGeen einde.\n"


def test_metadata_csv_fills_what_front_matter_lacks(tmp_path: Path) -> None:
    write(tmp_path / "r.txt", "---\nrespondent: R01\nrole: teamleider\n---\nTekst.\n")
    write(
        tmp_path / "metadata.csv",
        "file,respondent,organisation,group,date\nr.txt,R99,Veilig Thuis,management,2026-03-12\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetadataWarning)
        report = read_report(tmp_path / "r.txt")
    assert report.meta == FULL_META  # respondent from front matter wins over the CSV


def test_metadata_csv_semicolons_and_cp1252(tmp_path: Path) -> None:
    write(
        tmp_path / "metadata.csv", "File;Organisation;Group\nä.docx;Coördinatie;Overig\n", "cp1252"
    )
    meta = load_metadata_csv(tmp_path)["ä.docx"]
    assert (meta.organisation, meta.group, meta.respondent) == (
        "Coördinatie",
        Group.OVERIG,
        "unknown",
    )


@pytest.mark.parametrize(
    ("csv_text", "needle", "line"),
    [
        ("file,respondent,naam,leeftijd\n", "naam, leeftijd", 1),
        ("file,group\na.txt,management\nb.txt,bestuur\n", "'bestuur'", 3),
        ("r.txt,R01,management\n", "header row missing", 1),
        ("file,group\na.txt,overig\na.txt,overig\n", "twice", 3),
        ("file,group\na.txt,overig,extra\n", "more cells", 2),
    ],
)
def test_metadata_csv_errors(tmp_path: Path, csv_text: str, needle: str, line: int) -> None:
    write(tmp_path / "metadata.csv", csv_text)
    with pytest.raises(InputError, match=needle) as info:
        load_metadata_csv(tmp_path)
    assert info.value.line == line and info.value.source.endswith("metadata.csv")


def test_no_metadata_csv_is_empty(tmp_path: Path) -> None:
    assert load_metadata_csv(tmp_path) == {}


def test_missing_metadata_warns_and_the_respondent_is_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "kaal.txt", "Alleen tekst.\n")
    with pytest.warns(MetadataWarning, match=r"kaal\.txt.*respondent or group.*'kaal'"):
        report = read_report(path)
    assert report.meta == ReportMeta(respondent="kaal")
    other = write(tmp_path / "ander.txt", "---\ngroup: management\n---\nAlleen tekst.\n")
    with pytest.warns(MetadataWarning, match=r"ander\.txt: no respondent in.*'ander'"):
        assert read_report(other).meta.respondent == "ander"


def test_unknown_front_matter_key_warns(tmp_path: Path) -> None:
    path = write(tmp_path / "r.md", FRONT + "locatie: Delft\n---\nTekst.\n")
    with pytest.warns(MetadataWarning, match="locatie"):
        read_report(path)


@pytest.mark.parametrize(
    ("front", "needle"),
    [
        ("group: bestuur\n", "unknown group 'bestuur'"),
        ("respondent: [a, b]\n", "single value"),
        ("respondent: R01\n  bad: indent\n", "invalid YAML"),
        ("- een\n- twee\n", "key: value"),
        ("date: 2026-13-45\n", "invalid value"),
    ],
)
def test_bad_front_matter_is_input_error(tmp_path: Path, front: str, needle: str) -> None:
    path = write(tmp_path / "r.txt", f"---\n{front}---\nTekst.\n")
    with pytest.raises(InputError, match=needle) as info:
        read_quietly(path)
    assert info.value.source == "r.txt"


def test_front_matter_numbers_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "---\nrespondent: 010\nrole: no\ngroup: overig\n---\nT.\n")
    meta = read_report(path).meta
    assert (meta.respondent, meta.role) == ("010", "no")  # not YAML 1.1 octal 8 / False


def test_group_unknown_counts_as_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "r.txt", "---\nrespondent: R1\ngroup: Unknown\n---\nTekst.\n")
    with pytest.warns(MetadataWarning, match="no group"):
        assert read_report(path).meta.group is Group.UNKNOWN


# --- ids ------------------------------------------------------------------------------------


def test_ids_are_stable_from_normalised_content(tmp_path: Path) -> None:
    a = read_quietly(write(tmp_path / "a.txt", "Zelfde tekst.\nTwee.\n"))
    b = read_quietly(write(tmp_path / "b.md", "\ufeffZelfde tekst.\r\nTwee.\r\n"))
    c = read_quietly(write(tmp_path / "c.txt", "Andere tekst.\n"))
    assert a.id == b.id != c.id
    assert a.id == "r" + a.sha256[:12] and len(a.sha256) == 64
    assert read_quietly(tmp_path / "a.txt").id == a.id


def test_front_matter_does_not_change_id(tmp_path: Path) -> None:
    plain = read_quietly(write(tmp_path / "a.txt", "Tekst.\n"))
    fronted = read_quietly(write(tmp_path / "b.txt", FRONT + "---\nTekst.\n"))
    assert plain.id == fronted.id


# --- bad plain files and limits -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "error", "needle"),
    [
        ("leeg.txt", b"", InputError, "empty file"),
        ("nul.txt", b"tekst\x00\x01\x02", InputError, "binary"),
        ("ctrl.md", b"\x01\x02\x03\x04 ab \x05\x06\x07\x08", InputError, "binary"),
        ("wit.txt", b"   \n\n", InputError, "no text"),
        ("alleen-front.md", b"---\nrespondent: R1\n---\n", InputError, "no text"),
        ("verslag.rtf", b"{\\rtf1 tekst}", UnsupportedFormatError, r"RTF .* save it as \.docx"),
        ("oud.doc", b"\xd0\xcf\x11\xe0", UnsupportedFormatError, r"Word 97-2003 .* as \.docx"),
        ("foto.png", b"\x89PNG", UnsupportedFormatError, "unsupported file type '.png'"),
    ],
)
def test_bad_plain_files(tmp_path: Path, name: str, content: bytes, error, needle: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(error, match=needle) as info:
        read_quietly(tmp_path / name)
    assert info.value.source == name


def test_limits(tmp_path: Path) -> None:
    path = write(tmp_path / "groot.txt", "woord " * 200)
    with pytest.raises(FileTooLargeError, match="max_file_bytes"):
        read_quietly(path, limits=Limits(max_file_bytes=100))
    with pytest.raises(FileTooLargeError, match="longer than 10 characters"):
        read_quietly(path, limits=Limits(max_text_chars=10))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_report(tmp_path / "weg.txt")


# --- paths and streaming --------------------------------------------------------------------


def test_iter_report_paths(tmp_path: Path) -> None:
    names = [
        "b.txt", "a.DOCX", "sub/c.md", "sub/deeper/d.pdf", "sub/e.odt", ".hidden.txt",
        "~$lock.docx", "metadata.csv", "notes.rtf", ".git/x.txt", "sub/~$x.docx", "oud.DOC",
        "sub/foto.png", "planning.xlsx",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    loose = tmp_path / "sub" / "~$x.docx"
    with pytest.warns(SkippedFileWarning) as caught:
        found = [p.relative_to(tmp_path).as_posix() for p in iter_report_paths([tmp_path, loose])]
    assert found == [
        "a.DOCX", "b.txt", "notes.rtf", "oud.DOC", "sub/c.md", "sub/deeper/d.pdf", "sub/e.odt",
        "sub/~$x.docx",
    ]  # fmt: skip
    assert sorted(str(w.message) for w in caught) == [
        "foto.png: left out, not a report file type ('.png'); "
        "autocoder reads .txt, .md, .docx, .odt, .pdf",
        "planning.xlsx: left out, not a report file type ('.xlsx'); "
        "autocoder reads .txt, .md, .docx, .odt, .pdf",
    ]
    with pytest.raises(InputError, match="no such file"):
        list(iter_report_paths([tmp_path / "weg"]))


def test_folder_names_every_file_it_does_not_read(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", FRONT + "---\nEen.\n")
    (tmp_path / "oud.doc").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(512))
    (tmp_path / "brief.rtf").write_bytes(b"{\\rtf1\\ansi Tekst}")
    with pytest.warns(SkippedFileWarning, match="foto.jpg: left out"):
        (tmp_path / "foto.jpg").write_bytes(b"\xff\xd8\xff")
        results = list(read_reports([tmp_path]))
    by_name = {result.source: result for result in results}
    assert sorted(by_name) == ["a.txt", "brief.rtf", "oud.doc"]
    assert isinstance(by_name["a.txt"], Report)
    assert str(by_name["oud.doc"]) == (
        "oud.doc: an old-style Word 97-2003 document (.doc) is not read: open it in its word "
        "processor and save it as .docx, then retry"
    )
    assert "RTF document (.rtf) is not read" in str(by_name["brief.rtf"])


def test_read_reports_streams_and_carries_on(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", FRONT + "---\nEen.\n")
    write(tmp_path / "b.txt", "")
    write(tmp_path / "c.md", FRONT + "---\nDrie.\n")
    results = read_reports([tmp_path / "weg", tmp_path])
    first = next(results)  # a generator: nothing is read before it is asked for
    assert isinstance(first, InputError) and "no such file" in str(first)
    rest = list(results)
    assert [type(r).__name__ for r in rest] == ["Report", "InputError", "Report"]
    assert rest[0].meta.respondent == "R01" and rest[1].source == "b.txt"


def test_read_reports_reports_bad_metadata_once_and_carries_on(tmp_path: Path) -> None:
    write(tmp_path / "metadata.csv", "file,leeftijd\n")
    write(tmp_path / "a.txt", FRONT + "---\nEen.\n")
    write(tmp_path / "b.txt", FRONT + "---\nTwee.\n")
    results = list(read_reports([tmp_path]))
    assert isinstance(results[0], InputError) and "leeftijd" in str(results[0])
    assert [r.source for r in results[1:]] == ["a.txt", "b.txt"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<a/>", Prolog.XML),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- x -->\n<?pi y?>  <a/>', Prolog.XML),
        (b" " * 500 + b"<!DOCTYPE a []><a/>", Prolog.DTD),
        (b"<?xml version='1.0'?>" + b"<!-- lang -->" * 50 + b"<!ENTITY x 'y'>", Prolog.DTD),
        ("\ufeff   <!DOCTYPE a><a/>".encode("utf-16-be"), Prolog.DTD),
        ("  <!DOCTYPE a><a/>".encode("utf-32-le"), Prolog.DTD),
        ("<?xml version='1.0'?><!DOCTYPE a><a/>".encode("cp037"), Prolog.DTD),
        (b" " * 200_000 + b"<!DOCTYPE a []><a/>", Prolog.DTD),  # past the first prefix
        (b"<!--" + b"x" * 100_000 + b"--><!DOCTYPE a><a/>", Prolog.DTD),
        (b"<!--" + b"x" * 100_000 + b"--><a/>", Prolog.XML),
        (b" " * 65534 + b"<!-- -->" + b"<a/>", Prolog.XML),  # a comment across the prefix end
        (("\ufeff" + " " * 70_000 + "<!DOCTYPE a><a/>").encode("utf-16-le"), Prolog.DTD),
        (b"\x89PNG\r\n\x1a\n<!DOCTYPE", Prolog.NOT_XML),
        (b"", Prolog.NOT_XML),
        (b"   gewone tekst <a/>", Prolog.NOT_XML),
    ],
)
def test_prolog_kind_looks_past_the_whole_prolog(data: bytes, expected: Prolog) -> None:
    assert prolog_kind(data) is expected


def test_over_long_line_is_refused_naming_its_file_line(tmp_path: Path) -> None:
    """3 million characters on one line: refused (not cut blindly into 100,000-char pieces)."""
    body = "Korte eerste alinea.\n\n" + "Een zin zonder einde " * 150_000 + "\nLaatste regel.\n"
    path = write(tmp_path / "lang.txt", FRONT + "---\n" + body)
    with pytest.raises(FileTooLargeError) as info:
        read_quietly(path)
    line = FRONT.count("\n") + 1 + 3  # after the front matter and the closing ---
    assert info.value.line == line
    assert str(info.value) == (
        f"lang.txt:{line}: a line of 3,150,000 characters, over the limit of 100,000: no report "
        "paragraph is that long (a broken export?); put line breaks between its paragraphs "
        "and retry"
    )
    path.write_text(FRONT + "---\n" + body.replace("einde ", "einde\n"), encoding="utf-8")
    assert len(read_quietly(path).text) > 3_000_000  # the same text in lines is read


def zip_of(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<a/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(8), "ole"),
        (b"{\\rtf1\\ansi x}", "rtf"),
        (zip_of("[Content_Types].xml", "word/document.xml"), "docx"),
        (zip_of("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
        (zip_of("notities.txt"), "zip"),
        (zip_of("[Content_Types].xml", "inhoud/hoofd.xml"), None),  # unusual layout
        (zip_of("META-INF/manifest.xml", "content.xml"), None),  # ODF without mimetype
        (b"PK\x03\x04 afgebroken", None),
        (b"Gewone tekst.", None),
    ],
)
def test_sniff_kind_by_magic_bytes_and_members(raw: bytes, kind: str | None) -> None:
    assert sniff_kind(raw) == kind
