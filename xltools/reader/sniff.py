"""Tell what a file really is, and refuse what no reader should be given, before any parser.

Content decides, not the extension: an HTML page named .xls, a CSV named .xlsx or an .xlsx
named .et are recognised. ZIP containers are pre-scanned (entry count, declared sizes,
compression ratio, overlapping entries, sharedStrings counts) because no reader limits them.
"""

from __future__ import annotations

import html
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from xltools import UnreadableError
from xltools.messages import READ

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 20 * MB
    max_entries: int = 2000
    max_uncompressed: int = 200 * MB
    max_ratio: int = 200  # for entries over 1 MB uncompressed
    max_shared_strings: int = 1_000_000
    max_cells: int = 5_000_000  # cells written in all worksheets together (a summary
    # workbook of 10,000 agencies has about 2.3 million)
    max_area: int = 5_000_000  # rows x columns a reader must allocate for one sheet


DEFAULT_LIMITS = Limits()

# the worksheet parts the screen inflated are kept for the reader up to this many bytes in all
# (a report's are about 0.1 MB; the rest of a huge file is read again if the reader needs it)
KEEP_BYTES = 4 * MB


@dataclass(slots=True)
class Parts:
    """What the screen of an .xlsx has read, for the reader to reuse: each worksheet's XML as
    inflated and CRC-checked, and the entries of the zip, so another part is read without
    parsing the zip's directory again. Raises what `_member` raises when a part is bad."""

    path: Path
    infos: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)

    def read(self, name: str) -> bytes:
        data = self.data.get(name)
        if data is None:
            info = self.infos[name]
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                with zipfile.ZipFile(self.path) as zf:
                    return zf.read(info)
            with open(self.path, "rb") as fh:
                data = _inflate(fh, info)
        return data


CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
RESAVE = READ.resave
# WPS's own .et usually holds an ordinary .xls or .xlsx inside (read by content); the rest is
# WPS's private format, which no library reads
ET_NATIVE = READ.et_native


def sniff(path: Path, limits: Limits = DEFAULT_LIMITS, keep: Parts | None = None) -> str:
    """Return "xlsx", "xls" or "ods", or raise UnreadableError with a Chinese explanation.
    `keep`: filled with what the screen of an .xlsx read (see Parts)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as e:
        raise UnreadableError(READ.text("cannot_open", error=e.strerror or e)) from None
    if size == 0:
        raise UnreadableError(READ.empty + RESAVE)
    if size > limits.max_file_bytes:
        raise UnreadableError(
            READ.text("too_large", size=f"{size / MB:.1f}", limit=limits.max_file_bytes // MB)
        )
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            return _zip_kind(path, limits, keep)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as e:
            # a part that does not inflate to what its headers say (CRC, size, method)
            raise UnreadableError(READ.text("bad_part", error=_part_trouble(e)) + RESAVE) from None
    if head.startswith(CFB_MAGIC):
        return _cfb_kind(path)
    if path.suffix.lower() == ".et" and not head.lstrip().startswith((b"%PDF", b"<")):
        raise UnreadableError(ET_NATIVE)
    raise UnreadableError(_not_a_spreadsheet(head))


class _PartError(zipfile.BadZipFile):
    """A part whose header or content does not match the directory; the message is Chinese."""


def _part_trouble(e: BaseException) -> str:
    """What is wrong with a part, in Chinese: the libraries' own (English) text is not shown."""
    if isinstance(e, _PartError):
        return str(e)
    if isinstance(e, zlib.error):
        return READ.part_inflate
    if isinstance(e, NotImplementedError):
        return READ.part_method
    if isinstance(e, RuntimeError) and (
        "encrypt" in str(e).lower() or "password" in str(e).lower()
    ):
        return READ.part_encrypted
    if isinstance(e, EOFError):
        return READ.part_truncated
    return READ.part_unreadable


def _zip_kind(path: Path, limits: Limits, keep: Parts | None = None) -> str:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnreadableError(READ.bad_zip + RESAVE) from None
    with zf:
        infos = screen_zip(zf, limits)
        names = {i.filename for i in infos}
        if "mimetype" in names:
            if zf.read("mimetype").strip() == ODS_MIME:
                return "ods"
            raise UnreadableError(READ.odf_not_ods + RESAVE)
        if "word/document.xml" in names:
            raise UnreadableError(READ.docx)
        if "ppt/presentation.xml" in names:
            raise UnreadableError(READ.pptx)
        if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
            _check_shared_strings(zf, names, limits)
            _check_sheets(zf, infos, limits, keep)
            if keep is not None:
                keep.infos.update((i.filename, i) for i in infos)
            return "xlsx"
        raise UnreadableError(READ.zip)


def screen_zip(zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> list[zipfile.ZipInfo]:
    """Refuse a zip container before anything inflates it: entry count, declared sizes and
    compression ratio (zip bombs), encryption, overlapping entries. Also used for zip files
    attached to mail (xltools.mail.incoming). Returns the entries."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnreadableError(READ.text("too_many_entries", n=len(infos), limit=limits.max_entries))
    total = 0
    for info in infos:
        total += info.file_size
        if (
            info.file_size > MB
            and info.compress_size
            and info.file_size / info.compress_size > limits.max_ratio
        ):
            raise UnreadableError(
                READ.text(
                    "zip_bomb_entry",
                    name=info.filename[:60],
                    size=f"{info.file_size / MB:.0f}",
                    ratio=limits.max_ratio,
                )
            )
        if info.flag_bits & 0x1:
            raise UnreadableError(READ.encrypted_zip)
    if total > limits.max_uncompressed:
        raise UnreadableError(
            READ.text("zip_bomb", size=f"{total / MB:.0f}", limit=limits.max_uncompressed // MB)
        )
    _check_overlap(infos)
    return infos


def _name_bytes(info: zipfile.ZipInfo) -> int:
    """The stored length of a member name: UTF-8 when flagged, else the bytes zipfile read as
    cp437 (zips made on Chinese Windows store GBK names that way)."""
    try:
        return len(info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"))
    except UnicodeEncodeError:
        return len(info.orig_filename.encode("utf-8"))


def _check_overlap(infos: list[zipfile.ZipInfo]) -> None:
    """Entries whose data overlap (the 'quoted-overlap' zip bomb, CVE-2024-0450)."""
    spans = sorted(
        (i.header_offset, i.header_offset + 30 + _name_bytes(i) + i.compress_size) for i in infos
    )
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise UnreadableError(READ.zip_overlap)


_SST_TAG = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*>")
_COUNT = re.compile(rb"""\b(?:uniqueCount|count)\s*=\s*["']([^"']*)["']""")
_SST_HEAD = 64 * 1024  # real writers put <sst> in the first few hundred bytes


def _check_shared_strings(zf: zipfile.ZipFile, names: set[str], limits: Limits) -> None:
    """calamine reserves memory for the declared string count before reading any string
    (calamine#684): a lying count aborts the process, so it is checked here first."""
    for name in names:
        if not name.lower().endswith("sharedstrings.xml"):
            continue
        info = zf.getinfo(name)
        head = _member(zf, info, _SST_HEAD)
        tag = _SST_TAG.search(head)
        if tag is None:
            if len(head) < _SST_HEAD and b"<" not in head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]:
                continue  # not XML at all: the reader reports it as damaged
            raise UnreadableError(READ.sst_no_head + RESAVE)
        for m in _COUNT.finditer(tag.group(0)):
            value = m.group(1).strip()
            n = int(value) if value.isdigit() and len(value) < 19 else None
            # each string costs at least a few bytes of XML: a count beyond that is a lie
            if n is None or n > limits.max_shared_strings or n > info.file_size // 4 + 16:
                raise UnreadableError(
                    READ.text("sst_count", n=value[:20].decode("ascii", "replace"))
                )


# One cell far out (XFD1048576) makes calamine allocate rows x columns of the used range and
# abort the process (fastexcel#487). The screen reads each worksheet's XML once with one
# literal-prefixed regex (about 0.05 ms for the template); only a sheet with a reference beyond
# column Z or row 9999, or with cells/rows written without a reference, gets the exact bound.
# Rarer spellings (single-quoted references, reference-less cells with attributes) are left to
# the worker isolation in xltools.batch, which turns an abort into 无法读取 for that file.
_FAR_REF = re.compile(rb' r="(?:[A-Z]{2,3}\d|[A-Z]?\d{5,})')
_ANY_REF = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]{0,3})(\d+)""")
_TAG = re.compile(rb"<(?:[\w.-]+:)?(c|row)\b([^>]*)>")


def _check_sheets(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, keep: Parts | None = None
) -> None:
    sheets = [
        i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
    ]
    # a cell takes at least 4 bytes of XML: count them only when the sheets could hold too many
    count_cells = sum(i.file_size for i in sheets) > 4 * limits.max_cells
    cells = kept = 0
    for info in sheets:
        data = _member(zf, info)
        if keep is not None and kept + len(data) <= KEEP_BYTES:
            keep.data[info.filename] = data
            kept += len(data)
        if count_cells:
            cells += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>")
        if not _FAR_REF.search(data) and b"<c>" not in data and b"<row>" not in data:
            continue
        rows, cols = _extent(data)
        if rows * cols > limits.max_area:
            raise UnreadableError(
                READ.text(
                    "far_cells",
                    sheet=_sheet_name(zf, info.filename),
                    rows=rows,
                    cols=cols,
                    area=f"{rows * cols:,}",
                    limit=f"{limits.max_area:,}",
                )
            )
    if cells > limits.max_cells:
        raise UnreadableError(
            READ.text("too_many_cells", n=f"{cells:,}", limit=f"{limits.max_cells:,}")
        )


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int | None = None) -> bytes:
    """A member's bytes (its first `limit` bytes), read straight from the zip's file: the
    local header, then the stored or deflated data, its size and CRC checked when read whole.
    This is what ZipFile.read does, without its per-member objects, which took half the
    screen's time; other compression methods go through zipfile. The declared sizes were
    bounded by screen_zip, and inflating never produces more than they say."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        if limit is None:
            return zf.read(info)
        with zf.open(info) as member:
            return member.read(limit)
    # the file ZipFile opened; its own readers seek before every read
    return _inflate(zf.fp, info, limit)


def _inflate(fh, info: zipfile.ZipInfo, limit: int | None = None) -> bytes:
    """A stored or deflated member read from the open zip file `fh` (see _member)."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise _PartError(READ.text("part_header", part=info.filename[:60]))
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    raw = fh.read(info.compress_size)
    want = info.file_size if limit is None else min(limit, info.file_size)
    if info.compress_type == zipfile.ZIP_STORED or want == 0:  # max_length 0 would mean no limit
        data = raw[:want]
    else:
        data = zlib.decompressobj(-15).decompress(raw, want)
    if limit is None and (len(data) != info.file_size or zlib.crc32(data) != info.CRC):
        raise _PartError(READ.text("part_crc", part=info.filename[:60]))
    return data


def _extent(data: bytes) -> tuple[int, int]:
    """The rows x columns a reader allocates for this sheet: references as written, cells and
    rows without one at the next position (as calamine places them)."""
    row = max_row = max_col = 0
    col = 0
    for kind, attrs in _TAG.findall(data):
        ref = _ANY_REF.search(b" " + attrs)
        if kind == b"row":
            row = int(ref.group(2)[:9]) if ref else row + 1
            col = 0
            max_row = max(max_row, row)
            continue
        if ref:
            col = _col_number(ref.group(1)) if ref.group(1) else col + 1
            max_row = max(max_row, int(ref.group(2)[:9]))
        else:
            col += 1
        max_col = max(max_col, col)
    return max(max_row, 1), max(max_col, 1)


def _sheet_name(zf: zipfile.ZipFile, target: str) -> str:
    """The sheet's name as the user sees it (for the message only)."""
    try:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        tail = target.removeprefix("xl/")
        rid = None
        for tag in re.findall(r"<Relationship\b[^>]*>", rels):
            if re.search(r'Target="/?(?:xl/)?' + re.escape(tail) + '"', tag):
                rid = re.search(r'Id="([^"]*)"', tag).group(1)
                break
        for tag in re.findall(r"<sheet\b[^>]*>", book):
            if f'r:id="{rid}"' in tag:
                return html.unescape(re.search(r'name="([^"]*)"', tag).group(1))[:40]
    except (KeyError, StopIteration, AttributeError, zipfile.BadZipFile, OSError):
        pass
    return target.rsplit("/", 1)[-1]


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _cfb_kind(path: Path) -> str:
    data = path.read_bytes()
    if (
        "EncryptedPackage".encode("utf-16-le") in data
        or "EncryptionInfo".encode("utf-16-le") in data
    ):
        raise UnreadableError(READ.encrypted)
    if "WordDocument".encode("utf-16-le") in data:
        raise UnreadableError(READ.doc)
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    if path.suffix.lower() == ".et":
        raise UnreadableError(ET_NATIVE)
    raise UnreadableError(READ.cfb_no_workbook + RESAVE)


def _not_a_spreadsheet(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff \t\r\n").lower()
    if text.startswith(b"%pdf"):
        return READ.pdf
    if (
        text.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta", b"<head"))
        or b"<html" in text[:512]
    ):
        return READ.html + RESAVE
    if text.startswith(b"{\\rtf"):
        return READ.rtf + RESAVE
    sample = head[:2048]
    for enc in ("utf-8", "gb18030"):
        try:
            decoded = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
        if decoded and printable / len(decoded) > 0.95:
            if "," in decoded or "\t" in decoded:
                return READ.csv + RESAVE
            return READ.text_file + RESAVE
    return READ.unknown_format + RESAVE
