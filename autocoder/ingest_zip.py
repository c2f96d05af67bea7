"""Safety checks for zip containers (.docx, .odt, .xlsx) before any parser sees them.

Zip caps against decompression bombs (member count, total unzipped size, compression ratio,
no encrypted members), and no DTD or entity declaration in any XML part (billion laughs,
XXE). Error messages never quote report text.
"""

from __future__ import annotations

import io
import xml.sax
import zipfile
import zlib
from xml.sax.handler import ContentHandler

import defusedxml.sax
from defusedxml import DefusedXmlException

from autocoder.config import Limits
from autocoder.errors import FileTooLargeError, InputError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XML_HEADS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00<")

__all__ = ["OLE_MAGIC", "XML_HEADS", "open_zip"]


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
