"""A published report (.txt, .docx, .html/.htm, .pdf) as a flat list of lines. A scan (a PDF
without text, page images) raises ScannedError here; xltools.published.scan reads it by OCR.

Every format becomes the same shape: a `Line` is either a table row (`grid=True`: its tokens
are the row's cells, blank cells kept, a horizontally merged cell once, a vertically merged
cell's continuation as "") or a line of running text (`grid=False`: whitespace-separated
words, as PDF text extraction gives them). The table parser only ever sees lines.

python-docx and pdfplumber are imported by the function that reads their format: this module is
loaded with every workbook read (xltools.reader.workbook reads the 导入说明 sheet through
xltools.published), and the two cost 0.04 s and 0.08 s at start-up (-X importtime).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import opencc

from xltools import UnreadableError
from xltools.messages import Section

MSG = Section("published")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")  # page images: read as a scan
SUFFIXES = (".txt", ".docx", ".html", ".htm", ".pdf", *IMAGE_SUFFIXES)


class ScannedError(UnreadableError):
    """The document has no text to extract: a scan (an image-only PDF or page images)."""


_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_WS = re.compile(r"\s+")
# page furniture that PDF text extraction puts on the first or last line of a page
_PAGE_NO = re.compile(r"^[-—–－\s]*(第\s*)?\d{1,4}\s*(页)?(\s*[/共]\s*\d{1,4}\s*页?)?[-—–－\s]*$")
# the same, unmistakable anywhere: "- 2 -", "第 1 页 共 3 页"
_PAGE_MARK = re.compile(
    r"^\s*([-—–－]+\s*\d{1,4}\s*[-—–－]+|第\s*\d{1,4}\s*页(\s*[/共]\s*\d{1,4}\s*页)?)\s*$"
)


@dataclass(frozen=True, slots=True)
class Line:
    tokens: tuple[str, ...]
    where: str  # where a person finds it: "第 12 行", "第 2 个表格第 5 行", "第 3 页"
    grid: bool = False  # tokens are table cells

    @property
    def text(self) -> str:
        return " ".join(t for t in self.tokens if t)


def load_lines(path: str | Path) -> list[Line]:
    """Read a document into lines; raise UnreadableError when it cannot be read at all."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableError(
            MSG.unsupported.format(name=p.name, suffix=p.suffix, suffixes="、".join(SUFFIXES))
        )
    if suffix in IMAGE_SUFFIXES:
        if not p.is_file():
            raise UnreadableError(MSG.cannot_read.format(name=p.name, error="No such file"))
        raise ScannedError(MSG.scan_image.format(name=p.name))
    try:
        data = p.read_bytes()
    except OSError as e:
        raise UnreadableError(MSG.cannot_read.format(name=p.name, error=e.strerror or e)) from None
    try:
        if suffix == ".txt":
            return txt_lines(decode_text(data))
        if suffix == ".docx":
            return docx_lines(p)
        if suffix in (".html", ".htm"):
            return html_lines(data)
        return pdf_lines(p)
    except UnreadableError:  # ScannedError included
        raise
    except Exception as e:  # a broken file of any kind: say so, the batch goes on
        raise UnreadableError(
            MSG.cannot_parse.format(
                name=p.name, kind=suffix[1:].upper(), error=f"{type(e).__name__}: {e}"
            )
        ) from None


def decode_text(data: bytes, hint: str | None = None) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for enc in filter(None, (hint, "utf-8")):
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("gb18030", errors="replace")


def _clean(s: str) -> str:
    return _BOOKMARK.sub("", s).replace("\xa0", " ").replace("\u200b", "")


def _cell(s: str) -> str:
    return _WS.sub(" ", _clean(s)).strip()


# --- text -----------------------------------------------------------------------------------


def txt_lines(text: str) -> list[Line]:
    """Plain text. Two shapes are recognised: one table cell per line, each cell line starting
    with a tab and a blank line ending a row (what Word's and pandoc's text export give, like
    the reference report); otherwise each line is a row of tab-separated cells if it has tabs,
    or running text."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[Line] = []
    row: list[str] | None = None
    row_start = 0

    def end_row() -> None:
        nonlocal row
        if row is not None:
            out.append(Line(tuple(_cell(c) for c in row), MSG.where_line.format(n=row_start), True))
        row = None

    for n, line in enumerate(raw, 1):
        line = _clean(line)
        if line.startswith("\t") and "\t" not in line[1:]:
            if row is None:
                row, row_start = [], n
            row.append(line[1:])
        elif line == "":
            end_row()
        elif row is not None and "\t" not in line:
            row[-1] += line.strip()  # a cell's text wrapped onto the next line
        elif _is_pipe_row(line):
            end_row()
            if not _PIPE_RULE.match(line):
                out.append(Line(_pipe_cells(line), MSG.where_line.format(n=n), True))
        else:
            end_row()
            if "\t" in line.strip("\t "):
                out.append(
                    Line(
                        tuple(_cell(c) for c in line.split("\t")), MSG.where_line.format(n=n), True
                    )
                )
            elif line.strip() and not _PAGE_MARK.match(line):
                out.append(Line(tuple(line.split()), MSG.where_line.format(n=n)))
    end_row()
    return out


_PIPE = re.compile(r"\s*[|｜]\s*")
_PIPE_RULE = re.compile(r"^[\s|｜:：\-—=+]+$")  # a Markdown table's rule line: |---|:--|


def _is_pipe_row(line: str) -> bool:
    """A table row whose cells are separated by ` | ` or `｜` (web text, Markdown exports)."""
    return (
        bool(_PIPE.search(line)) and not re.search(r"[。；;]", line) and bool(line.strip(" |｜\t"))
    )


def _pipe_cells(line: str) -> tuple[str, ...]:
    s = line.strip()
    cells = _PIPE.split(s)
    # a leading and a trailing bar frame the row; they do not stand for cells
    if s[:1] in "|｜":
        cells = cells[1:]
    if s[-1:] in "|｜":
        cells = cells[:-1]
    return tuple(_cell(c) for c in cells)


# --- traditional characters -------------------------------------------------------------------


def simplify(lines: list[Line]) -> tuple[list[Line], int]:
    """Lines in traditional characters converted to simplified (OpenCC, t2s) when the document
    is written in them; (lines, number of characters changed). A simplified document is left
    as it is: a few characters that t2s would change do not make it traditional."""
    conv = opencc.OpenCC("t2s")
    text = "\n".join("\t".join(ln.tokens) for ln in lines)
    cjk = sum(1 for ch in text if 0x3400 <= ord(ch) <= 0x9FFF)
    simple = conv.convert(text)
    changed = sum(1 for a, b in zip(text, simple) if a != b)
    if len(simple) != len(text) or changed < 5 or changed < cjk * 0.01:
        return lines, 0
    out = [Line(tuple(conv.convert(t) for t in ln.tokens), ln.where, ln.grid) for ln in lines]
    return out, changed


# --- Word -----------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _w_text(el) -> str:
    return "".join(t.text or "" for t in el.iter(_W + "t"))


def docx_lines(path: Path) -> list[Line]:
    # python-docx, 0.04 s at start-up (see the module's docstring); its XML is read directly
    # so that merged cells are not repeated
    import docx  # noqa: PLC0415

    try:
        body = docx.Document(str(path)).element.body
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise UnreadableError(MSG.not_docx.format(name=path.name, error=e)) from None
    out: list[Line] = []
    para = tables = 0
    for child in body.iterchildren():
        if child.tag == _W + "p":
            para += 1
            text = _clean(_w_text(child))
            if text.strip():
                out.append(Line(tuple(text.split()), MSG.where_paragraph.format(n=para)))
        elif child.tag == _W + "tbl":
            tables += 1
            for r, tr in enumerate(child.iter(_W + "tr"), 1):
                cells = []
                for tc in tr.iterchildren(_W + "tc"):
                    vmerge = tc.find(f"{_W}tcPr/{_W}vMerge")
                    if vmerge is not None and vmerge.get(_W + "val") not in ("restart",):
                        cells.append("")  # continuation of a cell merged downwards
                    else:
                        cells.append(_cell("".join(_w_text(p) for p in tc.iter(_W + "p"))))
                out.append(Line(tuple(cells), MSG.where_table_row.format(t=tables, r=r), True))
    return out


# --- HTML -----------------------------------------------------------------------------------

_BLOCK = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol section article header footer br tr "
    "blockquote pre dd dt dl center".split()
)
_SKIP = frozenset("script style head noscript template select option".split())


def html_lines(data: bytes) -> list[Line]:
    m = re.search(rb"charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", data[:4096])
    text = decode_text(data, m.group(1).decode("ascii") if m else None)
    root = lxml.html.document_fromstring(text)
    out: list[Line] = []
    buf: list[str] = []
    state = {"para": 0, "table": 0}

    def flush() -> None:
        s = _clean("".join(buf))
        buf.clear()
        if s.strip():
            state["para"] += 1
            out.append(Line(tuple(s.split()), MSG.where_html_paragraph.format(n=state["para"])))

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP:
            return
        if tag == "table":
            flush()
            state["table"] += 1
            rows = el.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
            for r, tr in enumerate(rows, 1):
                cells = [_cell(_html_cell_text(td)) for td in tr if td.tag in ("td", "th")]
                out.append(
                    Line(tuple(cells), MSG.where_table_row.format(t=state["table"], r=r), True)
                )
            return
        if tag in _BLOCK:
            flush()
        if el.text and tag:
            buf.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                buf.append(child.tail)
        if tag in _BLOCK:
            flush()

    walk(root.find("body") if root.find("body") is not None else root)
    flush()
    return out


def _html_cell_text(td) -> str:
    # labels wrap inside a cell (<br>, <p>); Chinese joins without a space
    parts = [s.strip() for s in td.itertext()]
    return "".join(parts)


# --- PDF ------------------------------------------------------------------------------------


def pdf_lines(path: Path) -> list[Line]:
    """Text-based PDF. Ruled tables are read as grids (pdfplumber finds their cells, so blank
    cells and merged cells are known); everything else as text lines, in reading order."""
    import pdfplumber  # noqa: PLC0415  0.08 s at start-up: see the module's docstring

    out: list[Line] = []
    with pdfplumber.open(str(path)) as pdf:
        for pno, page in enumerate(pdf.pages, 1):
            items: list[tuple[float, int, list[Line]]] = []
            boxes = []
            for t in page.find_tables():
                rows = t.extract()
                grid = [
                    Line(_drop_merged(row), MSG.where_page_table_row.format(p=pno, r=r), True)
                    for r, row in enumerate(rows, 1)
                ]
                boxes.append(t.bbox)
                items.append((t.bbox[1], 0, grid))
            text_lines = page.extract_text_lines(strip=True)
            kept = [tl for tl in text_lines if not any(_inside(tl, b) for b in boxes)]
            for i, tl in enumerate(kept):
                s = _clean(tl["text"])
                if _PAGE_MARK.match(s) or (i == 0 or i == len(kept) - 1) and _PAGE_NO.match(s):
                    continue
                if s.strip():
                    items.append(
                        (tl["top"], 1, [Line(tuple(s.split()), MSG.where_page.format(p=pno))])
                    )
            for _, _, lines in sorted(items, key=lambda x: (x[0], x[1])):
                out.extend(lines)
    if not any(ln.tokens for ln in out):
        raise ScannedError(MSG.scanned_pdf.format(name=path.name))
    return out


def _drop_merged(row: list) -> tuple[str, ...]:
    # pdfplumber gives None for the cells a merged cell covers; a horizontal span is one cell,
    # a vertical one leaves a continuation, which only label columns have
    return tuple(_cell(c.replace("\n", "")) for c in row if c is not None)


def _inside(tl: dict, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    mid = (tl["top"] + tl["bottom"]) / 2
    return top - 1 <= mid <= bottom + 1 and tl["x0"] < x1 and tl["x1"] > x0
