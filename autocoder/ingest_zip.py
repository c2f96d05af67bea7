"""Safety checks for zip containers (.docx, .odt, .xlsx) before any parser sees them.

Zip caps against decompression bombs (member count, total unzipped size, compression ratio,
no encrypted members), and no DTD or entity declaration in any XML part (billion laughs,
XXE). A part is XML by its name, by the package's own declaration ([Content_Types].xml, the
ODF manifest: what the parsers go by) or by its content, judged after the whole prolog; every
such part goes through defusedxml, which refuses a DTD. Error messages never quote report text.
"""

from __future__ import annotations

import codecs
import enum
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from typing import TypeVar
from xml.etree.ElementTree import ParseError
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

import defusedxml.ElementTree
import defusedxml.sax
from defusedxml import DefusedXmlException

from autocoder.config import Limits
from autocoder.errors import FileTooLargeError, InputError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CONTENT_TYPES = "[Content_Types].xml"
ODF_MANIFEST = "META-INF/manifest.xml"
ODF_NS = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"
ODF_PATH, ODF_TYPE = ODF_NS + "full-path", ODF_NS + "media-type"
# Whitespace, processing instructions (the XML declaration too) and comments: the prolog
# before a DOCTYPE or the root element may hold any number of them.
PROLOG_MISC = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
PROLOG_PREFIX = 65536  # bytes scanned first; a longer prolog is followed to its end
WIDE_HEADS = (
    ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),  # before UTF-16: same first bytes
    ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
    ((b"\x4c\x6f\xa7\x94",), "cp037"),  # "<?xm" in EBCDIC, which libxml2 reads too
)
T = TypeVar("T")


class Prolog(enum.Enum):
    NOT_XML = "not xml"
    XML = "xml"
    DTD = "dtd"


__all__ = ["OLE_MAGIC", "Prolog", "open_zip", "prolog_kind"]


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
    declared = _declared_xml(archive, source, kind)
    for info in infos:
        _check_xml_member(archive, info, _is_declared(info.filename, declared), source, kind)
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


def _declared_xml(archive: zipfile.ZipFile, source: str, kind: str) -> frozenset[str]:
    """Lower-case member names (and ``*.ext`` defaults) that the package declares as XML.

    A .docx parser picks parts by ``[Content_Types].xml``, an .odt one by its manifest, not by
    name: a main part renamed ``word/document.bin`` is still parsed as XML.
    """
    names: set[str] = set()
    for index, attributes in (
        (CONTENT_TYPES, (("PartName", "ContentType"), ("Extension", "ContentType"))),
        (ODF_MANIFEST, ((ODF_PATH, ODF_TYPE),)),
    ):
        try:
            data = archive.read(index)
        except KeyError:
            continue
        root = _guarded(partial(defusedxml.ElementTree.fromstring, data), source, kind)
        for element in root.iter():
            for name_key, type_key in attributes:
                name, media = element.get(name_key), element.get(type_key) or ""
                if name and "xml" in media.lower():
                    prefix = "*." if name_key == "Extension" else ""
                    names.add(prefix + name.lstrip("/").lower())
    return frozenset(names)


def _is_declared(filename: str, declared: frozenset[str]) -> bool:
    name = filename.lower()
    suffix = name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else ""
    return name.endswith((".xml", ".rels")) or name in declared or f"*.{suffix}" in declared


def _check_xml_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, declared: bool, source: str, kind: str
) -> None:
    """Parse every part that is XML by name, declaration or content with defusedxml."""
    data = _guarded(partial(archive.read, info), source, kind)
    prolog = prolog_kind(data)
    if prolog is Prolog.NOT_XML and not declared:
        return
    parse = partial(defusedxml.sax.parseString, data, ContentHandler(), forbid_dtd=True)
    try:
        _guarded(parse, source, kind)
    except InputError as exc:
        if prolog is Prolog.DTD:  # a DTD that expat cannot even read is refused all the same
            raise _unsafe(source, kind) from exc
        raise


def prolog_kind(data: bytes) -> Prolog:
    """What comes first after the whole prolog (BOM, space, XML declaration, PIs, comments).

    Scans a prefix first and more of the part only while the prolog has not ended.
    """
    size = PROLOG_PREFIX
    while True:
        whole = size >= len(data)
        kind = _scan_prolog(_ascii_compatible(data[:size]), whole)
        if kind is not None:
            return kind
        size *= 16


def _scan_prolog(text: bytes, whole: bool) -> Prolog | None:
    """None when ``text`` (not ``whole``) ends before the prolog does."""
    position = 0
    while (match := PROLOG_MISC.match(text, position)) and match.end() > position:
        position = match.end()
    rest = text[position : position + 4]
    if not whole and (len(text) - position < 4 or rest.startswith((b"<?", b"<!--"))):
        return None  # the prefix ends inside the prolog or in an open PI or comment
    if rest.startswith(b"<!"):  # <!DOCTYPE (or anything else no prolog may hold)
        return Prolog.DTD
    return Prolog.XML if rest.startswith(b"<") else Prolog.NOT_XML


def _ascii_compatible(data: bytes) -> bytes:
    """The bytes re-encoded as UTF-8 when they are UTF-16/32 or EBCDIC, as XML parsers detect."""
    for marks, codec in WIDE_HEADS:
        if any(data.startswith(mark) for mark in marks):
            return data.decode(codec, errors="replace").encode("utf-8")
    head = data[:4]
    if len(head) == 4 and (head[0] == 0 or head[1] == 0):
        big = head[0] == 0
        wide = head[:2] == b"\0\0" or head[2:] == b"\0\0"
        codec = ("utf-32" if wide else "utf-16") + ("-be" if big else "-le")
        return data.decode(codec, errors="replace").encode("utf-8")
    return data.removeprefix(codecs.BOM_UTF8)


def _guarded(read: Callable[[], T], source: str, kind: str) -> T:
    """Run one read or parse of the container, turning its failures into one clear line."""
    try:
        return read()
    except DefusedXmlException as exc:
        raise _unsafe(source, kind) from exc
    except (ParseError, SAXException, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise InputError(source, f"damaged {kind} (broken part inside): save it again") from exc
    except (NotImplementedError, ValueError, RuntimeError) as exc:  # odd compression method
        raise InputError(source, f"unsupported {kind} packaging: save it again") from exc


def _unsafe(source: str, kind: str) -> InputError:
    return InputError(
        source,
        "XML with a DOCTYPE or entity declarations inside (unsafe, possibly an attack): "
        f"save the document again as {kind} from its word processor",
    )
