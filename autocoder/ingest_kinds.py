"""What a report file really is, and why a file is not read: named reasons, never silence.

``refuse_other_kind`` reads a file's first bytes (and, for a zip, its member names) and refuses
a file whose content is another format than its name says ("this is a PDF, rename it to
verslag.pdf"). ``unsupported_reason`` gives the advice for a file type autocoder does not read
(".doc": save it as .docx), and ``skipped_reason`` says why a file in a folder is left out.
Nothing here parses a document or quotes its text.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from autocoder.errors import InputError, UnsupportedFormatError
from autocoder.ingest_zip import OLE_MAGIC

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".pdf")
SUFFIX_LIST = ", ".join(SUPPORTED_SUFFIXES)
SAVE_AS_DOCX = "open it in its word processor and save it as .docx, then retry"

# Word-processor files a report may come in that autocoder does not read: in a folder they are
# named as skipped (they hold reports), not passed over.
DOCUMENT_SUFFIXES = {
    ".doc": "an old-style Word 97-2003 document (.doc)",
    ".docm": "a Word document with macros (.docm)",
    ".dot": "a Word template (.dot)",
    ".dotx": "a Word template (.dotx)",
    ".dotm": "a Word template with macros (.dotm)",
    ".rtf": "an RTF document (.rtf)",
    ".wpd": "a WordPerfect document (.wpd)",
    ".wps": "a Works document (.wps)",
    ".pages": "a Pages document (.pages)",
    ".ott": "an OpenDocument template (.ott)",
    ".fodt": "a flat OpenDocument text (.fodt)",
}

# kind -> (what it is, the suffix it should have if autocoder reads it)
KINDS = {
    "pdf": ("a PDF", ".pdf"),
    "docx": ("a Word document (.docx)", ".docx"),
    "odt": ("an OpenDocument text (.odt)", ".odt"),
    "xlsx": ("an Excel workbook", None),
    "pptx": ("a PowerPoint presentation", None),
    "odf": ("an OpenDocument spreadsheet, presentation or drawing", None),
    "zip": ("a plain zip archive (no Word or OpenDocument text inside)", None),
    "ole": ("an old-style Office file (.doc) or a password-protected one", None),
    "rtf": ("an RTF document", None),
}
ZIP_FOLDERS = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))
ODF_TEXT_TYPE = b"application/vnd.oasis.opendocument.text"
OOXML_TYPES, ODF_MANIFEST = "[Content_Types].xml", "META-INF/manifest.xml"


def sniff_kind(raw: bytes) -> str | None:
    """The format the bytes are, by magic bytes and zip member names; None when unknown."""
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if raw.startswith(OLE_MAGIC):
        return "ole"
    if raw.startswith(b"{\\rtf"):
        return "rtf"
    if raw.startswith(b"PK\x03\x04"):
        return _zip_kind(raw)
    return None


def _zip_kind(raw: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as handle:
                    mimetype = handle.read(100).strip()
                return "odt" if mimetype.startswith(ODF_TEXT_TYPE) else "odf"
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return None  # truncated or odd: the extractor names what is wrong
    for folder, kind in ZIP_FOLDERS:
        if any(name.startswith(folder) for name in names):
            return kind
    if OOXML_TYPES in names or ODF_MANIFEST in names:
        return None  # a package laid out unusually: its extractor judges it
    return "zip"


def refuse_other_kind(raw: bytes, suffix: str, source: str) -> None:
    """Raise when the file's content is another format than its suffix says."""
    kind = sniff_kind(raw)
    if kind is None or KINDS[kind][1] == suffix:
        return
    if kind == "ole" and suffix in (".docx", ".odt"):
        return  # the container check explains password protection and .doc files
    what, target = KINDS[kind]
    if target is not None:
        advice = f"rename it to {PurePath(source).stem}{target}"
    elif kind in ("ole", "rtf"):
        advice = SAVE_AS_DOCX
    elif kind == "zip":
        advice = "unzip it and give the report files inside"
    else:
        advice = f"save the report itself as one of {SUFFIX_LIST}"
    raise InputError(source, f"this is {what}, not a {suffix} file: {advice}")


def unsupported_reason(suffix: str) -> str:
    """The reason and advice for a file type autocoder does not read."""
    if suffix in DOCUMENT_SUFFIXES:
        return f"{DOCUMENT_SUFFIXES[suffix]} is not read: {SAVE_AS_DOCX}"
    return f"unsupported file type '{suffix or 'none'}': save it as one of {SUFFIX_LIST}"


def refuse_unsupported(suffix: str, source: str) -> None:
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(source, unsupported_reason(suffix))


def skipped_reason(name: str) -> str:
    """Why a file found in a folder is left out (not a report file type)."""
    suffix = PurePath(name).suffix.lower()
    return (
        f"{name}: left out, not a report file type ('{suffix or 'no suffix'}'); "
        f"autocoder reads {SUFFIX_LIST}"
    )
