"""Tell what a file really is, and refuse what no reader should be given, before any parser.

Content decides, not the extension: an HTML page named .xls, a CSV named .xlsx or an .xlsx
named .et are recognised. ZIP containers are pre-scanned (entry count, declared sizes,
compression ratio, overlapping entries, sharedStrings counts) because no reader limits them.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from xltools import UnreadableError

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 20 * MB
    max_entries: int = 2000
    max_uncompressed: int = 200 * MB
    max_ratio: int = 200               # for entries over 1 MB uncompressed
    max_shared_strings: int = 1_000_000
    max_cells: int = 5_000_000         # cells written in all worksheets together (a summary
                                       # workbook of 10,000 agencies has about 2.3 million)
    max_area: int = 5_000_000          # rows x columns a reader must allocate for one sheet


DEFAULT_LIMITS = Limits()

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
RESAVE = "请在 Excel、WPS 或 LibreOffice 中打开本单位的报表，另存为“Excel 工作簿（*.xlsx）”后重新报送。"
# WPS's own .et usually holds an ordinary .xls or .xlsx inside (read by content); the rest is
# WPS's private format, which no library reads
ET_NATIVE = ("这是 WPS 表格自有格式（.et）的文件，内部不是 Excel 格式，无法读取。请在 WPS 表格中打开，"
             "点“文件 → 另存为”，文件类型选“Excel 工作簿（*.xlsx）”，保存后重新报送 .xlsx 文件。")


def sniff(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """Return "xlsx", "xls" or "ods", or raise UnreadableError with a Chinese explanation."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as e:
        raise UnreadableError(f"无法打开文件：{e.strerror or e}。请确认文件存在且有读取权限。") from None
    if size == 0:
        raise UnreadableError("文件为空（0 字节），可能保存或下载没有完成。" + RESAVE)
    if size > limits.max_file_bytes:
        raise UnreadableError(f"文件过大（{size / MB:.1f} MB），超过 {limits.max_file_bytes // MB} MB 的上限；年度报告表格通常不到 1 MB。"
                              "请删除表格中多余的图片或工作表后重新保存。")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            return _zip_kind(path, limits)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as e:
            # a part that does not inflate to what its headers say (CRC, size, method)
            raise UnreadableError(f"文件已损坏（内部部件校验失败：{str(e)[:80]}），可能是下载或复制没有完成，或被改动过。" + RESAVE) from None
    if head.startswith(CFB_MAGIC):
        return _cfb_kind(path)
    if path.suffix.lower() == ".et" and not head.lstrip().startswith((b"%PDF", b"<")):
        raise UnreadableError(ET_NATIVE)
    raise UnreadableError(_not_a_spreadsheet(head))


def _zip_kind(path: Path, limits: Limits) -> str:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnreadableError("文件已损坏（压缩结构不完整），可能是下载或复制没有完成。" + RESAVE) from None
    with zf:
        infos = screen_zip(zf, limits)
        names = {i.filename for i in infos}
        if "mimetype" in names:
            if zf.read("mimetype").strip() == ODS_MIME:
                return "ods"
            raise UnreadableError("这是 OpenDocument 文档，但不是电子表格（.ods）。" + RESAVE)
        if "word/document.xml" in names:
            raise UnreadableError("这是 Word 文档，不是 Excel 表格。请使用下发的 Excel 模板填报；"
                                  "已发布的 Word 报告可用 `xltools import` 读取。")
        if "ppt/presentation.xml" in names:
            raise UnreadableError("这是 PowerPoint 演示文稿，不是 Excel 表格。请使用下发的 Excel 模板填报。")
        if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
            _check_shared_strings(zf, names, limits)
            _check_sheets(zf, infos, limits)
            return "xlsx"
        raise UnreadableError("这是一个压缩包（zip），不是 Excel 表格。请解压后报送其中的 .xlsx 文件。")


def screen_zip(zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> list[zipfile.ZipInfo]:
    """Refuse a zip container before anything inflates it: entry count, declared sizes and
    compression ratio (zip bombs), encryption, overlapping entries. Also used for zip files
    attached to mail (xltools.mail.incoming). Returns the entries."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UnreadableError(f"文件内部包含 {len(infos)} 个部件，超过 {limits.max_entries} 的上限，不像正常的报表文件，已拒绝读取。")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > MB and info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise UnreadableError(f"文件内部的“{info.filename[:60]}”解压后达 {info.file_size / MB:.0f} MB（压缩比超过 {limits.max_ratio}:1），"
                                  "疑似“压缩炸弹”，已拒绝读取。请重新保存后报送。")
        if info.flag_bits & 0x1:
            raise UnreadableError("文件设有密码（内容已加密），无法读取。请取消密码后重新保存报送。")
    if total > limits.max_uncompressed:
        raise UnreadableError(f"文件解压后共 {total / MB:.0f} MB，超过 {limits.max_uncompressed // MB} MB 的上限，"
                              "疑似“压缩炸弹”或含有大量无关内容，已拒绝读取。")
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
    spans = sorted((i.header_offset, i.header_offset + 30 + _name_bytes(i) + i.compress_size) for i in infos)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise UnreadableError("文件内部结构异常（数据块相互重叠），疑似恶意构造的文件，已拒绝读取。")


_SST_TAG = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*>")
_COUNT = re.compile(rb"""\b(?:uniqueCount|count)\s*=\s*["']([^"']*)["']""")
_SST_HEAD = 64 * 1024     # real writers put <sst> in the first few hundred bytes


def _check_shared_strings(zf: zipfile.ZipFile, names: set[str], limits: Limits) -> None:
    """calamine reserves memory for the declared string count before reading any string
    (calamine#684): a lying count aborts the process, so it is checked here first."""
    for name in names:
        if not name.lower().endswith("sharedstrings.xml"):
            continue
        info = zf.getinfo(name)
        with zf.open(info) as fh:
            head = fh.read(_SST_HEAD)
        tag = _SST_TAG.search(head)
        if tag is None:
            if len(head) < _SST_HEAD and b"<" not in head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]:
                continue    # not XML at all: the reader reports it as damaged
            raise UnreadableError("文件内部的共享字符串表结构异常（找不到表头），疑似恶意构造或已损坏的文件，已拒绝读取。" + RESAVE)
        for m in _COUNT.finditer(tag.group(0)):
            value = m.group(1).strip()
            n = int(value) if value.isdigit() and len(value) < 19 else None
            # each string costs at least a few bytes of XML: a count beyond that is a lie
            if n is None or n > limits.max_shared_strings or n > info.file_size // 4 + 16:
                raise UnreadableError(f"文件内部的共享字符串表声明了 {value[:20].decode('ascii', 'replace')} 个字符串，与文件大小不符，"
                                      "疑似恶意构造的文件，已拒绝读取。")


# One cell far out (XFD1048576) makes calamine allocate rows x columns of the used range and
# abort the process (fastexcel#487). The screen reads each worksheet's XML once with one
# literal-prefixed regex (about 0.05 ms for the template); only a sheet with a reference beyond
# column Z or row 9999, or with cells/rows written without a reference, gets the exact bound.
# Rarer spellings (single-quoted references, reference-less cells with attributes) are left to
# the worker isolation in xltools.batch, which turns an abort into 无法读取 for that file.
_FAR_REF = re.compile(rb' r="(?:[A-Z]{2,3}\d|[A-Z]?\d{5,})')
_ANY_REF = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]{0,3})(\d+)""")
_TAG = re.compile(rb"<(?:[\w.-]+:)?(c|row)\b([^>]*)>")


def _check_sheets(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    sheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    # a cell takes at least 4 bytes of XML: count them only when the sheets could hold too many
    count_cells = sum(i.file_size for i in sheets) > 4 * limits.max_cells
    cells = 0
    for info in sheets:
        data = zf.read(info)
        if count_cells:
            cells += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>")
        if not _FAR_REF.search(data) and b"<c>" not in data and b"<row>" not in data:
            continue
        rows, cols = _extent(data)
        if rows * cols > limits.max_area:
            raise UnreadableError(f"工作表“{_sheet_name(zf, info.filename)}”中有内容远在表格之外（到第 {rows} 行、第 {cols} 列），"
                                  f"读取需要约 {rows * cols:,} 个单元格，超过 {limits.max_area:,} 的上限，疑似异常或恶意构造的文件，已拒绝读取。"
                                  "请在 Excel/WPS 中删除表格区域以外的内容（或把表格内容复制到新模板）后重新保存报送。")
    if cells > limits.max_cells:
        raise UnreadableError(f"文件中共有约 {cells:,} 个单元格，超过 {limits.max_cells:,} 的上限，年度报告表格通常只有几百个单元格。"
                              "请删除无关的工作表或内容后重新保存报送。")


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
                import html
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
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise UnreadableError("文件设有打开密码，无法读取。请在 Excel/WPS 中取消密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，"
                              "清空密码）后重新保存报送。")
    if "WordDocument".encode("utf-16-le") in data:
        raise UnreadableError("这是 Word 文档（.doc），不是 Excel 表格。请使用下发的 Excel 模板填报。")
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    if path.suffix.lower() == ".et":
        raise UnreadableError(ET_NATIVE)
    raise UnreadableError("文件是 Office 旧格式容器，但其中没有工作簿。" + RESAVE)


def _not_a_spreadsheet(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff \t\r\n").lower()
    if text.startswith(b"%pdf"):
        return "这是 PDF 文件，不是 Excel 表格。请报送填写好的 Excel 模板；已发布的 PDF 报告可用 `xltools import` 读取。"
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta", b"<head")) or b"<html" in text[:512]:
        return "这是网页（HTML）文件，只是扩展名像 Excel 表格（常见于从系统“导出”的文件）。" + RESAVE
    if text.startswith(b"{\\rtf"):
        return "这是 RTF 文档，不是 Excel 表格。" + RESAVE
    sample = head[:2048]
    for enc in ("utf-8", "gb18030"):
        try:
            decoded = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
        if decoded and printable / len(decoded) > 0.95:
            if "," in decoded or "\t" in decoded:
                return "这是文本（CSV）文件，只是扩展名像 Excel 表格；它没有模板的表格结构。" + RESAVE
            return "这是纯文本文件，不是 Excel 表格。" + RESAVE
    return "无法识别的文件格式：不是 Excel、WPS 或 LibreOffice 表格（可能已损坏或不是报表文件）。" + RESAVE
