"""Scanned reports (an image-only PDF, or page images .png/.jpg/.tif) -> the same lines a text
PDF gives, read by Tesseract.

Each page is brought to one scale and straightened (the angle whose rows of ink are sharpest);
its ruled tables are found by their lines (OpenCV morphology), cut into cells by the walls
that are really drawn (a merged cell is one cell, as pdfplumber gives it for a text PDF), and
every cell is read on its own: Chinese and digits first, then a cell that holds a number once
more with a digit whitelist. The text outside the tables is read line by line. The lines go to
the same structural reader as every other format; `recheck` then holds the figures against the
table's own arithmetic and re-reads, or leaves unread, the cells of a relation that fails.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pypdfium2
import pytesseract
from PIL import Image, ImageSequence

from xltools import UnreadableError
from xltools.messages import Section
from xltools.published.docspec import doc_spec, norm
from xltools.published.document import Line
from xltools.published.tables import _distance
from xltools.spec import FORM_IDS
from xltools.values import PLACEHOLDERS

MSG = Section("published")
# Tesseract's OpenMP threads spin on a busy machine: one thread each costs a third of the CPU
# time (measured: 5.8 s against 14.1 s for a 4-page scan) for the same result
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

WIDTH = 1700  # pages are read at this width (an A4 or Letter page at about 200 dpi)
_MAX_PAGES = 60  # a report has a dozen pages; a file of thousands is not read whole
_DIGITS = "0123456789."
_CJK = re.compile(r"[\u3400-\u9fff（）“”、，。：；]")
_PLACEHOLDER = re.compile(r"^[/\\\-—–－―_一]+$")
_FIGURE = re.compile(r"^[0-9][0-9.,\s]*$")


def available() -> bool:
    """Tesseract and its Chinese model are installed."""
    if shutil.which("tesseract") is None:
        return False
    try:
        return "chi_sim" in pytesseract.get_languages(config="")
    except (pytesseract.TesseractError, OSError):
        return False


# --- pages ---------------------------------------------------------------------------------------


def page_images(path: Path) -> list[np.ndarray]:
    """The pages as greyscale arrays, WIDTH pixels wide."""
    pages: list[np.ndarray] = []
    if path.suffix.lower() == ".pdf":
        pdf = pypdfium2.PdfDocument(str(path))
        try:
            for i in range(min(len(pdf), _MAX_PAGES)):
                page = pdf[i]
                scale = WIDTH / page.get_width()
                pil = page.render(scale=scale, grayscale=True).to_pil()
                pages.append(np.asarray(pil.convert("L")))
        finally:
            pdf.close()
    else:
        with Image.open(path) as im:
            for frame in itertools.islice(ImageSequence.Iterator(im), _MAX_PAGES):
                pages.append(np.asarray(frame.convert("L")))
    out = []
    for g in pages:
        h, w = g.shape
        if w != WIDTH:
            g = cv2.resize(
                g,
                (WIDTH, round(h * WIDTH / w)),
                interpolation=cv2.INTER_AREA if w > WIDTH else cv2.INTER_CUBIC,
            )
        out.append(g)
    return out


def skew_angle(gray: np.ndarray) -> float:
    """The rotation (degrees) that makes the page's rows of ink sharpest: text lines and ruled
    lines are horizontal on a straight page."""
    # half scale, and ink as floats turned with interpolation: nearest-neighbour turning of a
    # small binary image biased the angle by 0.15° on straight pages
    small = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    bw = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
    bw = bw.astype(np.float32)
    h, w = bw.shape
    centre = (w / 2, h / 2)

    def sharpness(a: float) -> float:
        m = cv2.getRotationMatrix2D(centre, a, 1.0)
        r = cv2.warpAffine(bw, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        rows = r.sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(rows) ** 2))  # edges of rows of ink: sharpest when level

    best = max(np.arange(-3.0, 3.01, 0.25), key=sharpness)
    best = max(np.arange(best - 0.25, best + 0.26, 0.05), key=sharpness)
    return round(float(best), 2)


def straighten(gray: np.ndarray) -> tuple[np.ndarray, float]:
    a = skew_angle(gray)
    if abs(a) < 0.05:
        return gray, 0.0
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), a, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_CUBIC, borderValue=255), a


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0."""
    return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]


# --- ruled tables ----------------------------------------------------------------------------


@dataclass
class Box:
    x0: int
    y0: int
    x1: int
    y1: int


@dataclass
class Table:
    box: Box
    rows: list[list[Box]]  # per row band: the cells that start in it, left to right


def _segments(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The line segments of a line mask as (x0, y0, x1, y1)."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    return [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:n]]


def _cluster(pos: list[float]) -> list[int]:
    pos = sorted(pos)
    merged: list[list[float]] = []
    for p in pos:
        if merged and p - merged[-1][-1] <= 6:
            merged[-1].append(p)
        else:
            merged.append([p])
    return [round(sum(g) / len(g)) for g in merged]


def _near(v: float, marks: list[int], tol: int = 6) -> bool:
    return any(abs(v - m) <= tol for m in marks)


def find_tables(bw: np.ndarray) -> list[Table]:
    h, w = bw.shape
    k = cv2.getStructuringElement
    horiz = cv2.morphologyEx(bw, cv2.MORPH_OPEN, k(cv2.MORPH_RECT, (40, 1)))
    vert = cv2.morphologyEx(bw, cv2.MORPH_OPEN, k(cv2.MORPH_RECT, (1, 25)))
    # a ruled line may be broken by a scan; close small gaps along it
    horiz = cv2.morphologyEx(horiz, cv2.MORPH_CLOSE, k(cv2.MORPH_RECT, (9, 1)))
    vert = cv2.morphologyEx(vert, cv2.MORPH_CLOSE, k(cv2.MORPH_RECT, (1, 9)))
    both = cv2.dilate(horiz | vert, np.ones((5, 5), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(both)
    tables = []
    for i in range(1, n):
        x, y, bw_, bh, _ = stats[i]
        if bw_ < w * 0.25 or bh < 25:
            continue
        hm = horiz[y : y + bh, x : x + bw_].copy()
        vm = vert[y : y + bh, x : x + bw_].copy()
        hsegs = [s for s in _segments(hm) if s[2] - s[0] >= 40]
        ys = _cluster([(s[1] + s[3]) / 2 for s in hsegs])
        # a wall runs from one ruled line to another; a stroke of a character does not
        vsegs = [
            s for s in _segments(vm) if _near(s[1], ys, 4) and _near(s[3], ys, 4) and s[3] > s[1]
        ]
        for s in _segments(vm):
            if s not in vsegs:
                vm[s[1] : s[3], s[0] : s[2]] = 0
        xs = _cluster([(s[0] + s[2]) / 2 for s in vsegs])
        if len(ys) < 2 or len(xs) < 2:
            continue
        box = Box(x + xs[0], y + ys[0], x + xs[-1], y + ys[-1])
        tables.append(Table(box, _cells(hm, vm, xs, ys, x, y)))
    tables.sort(key=lambda t: t.box.y0)
    return tables


def _cells(hm, vm, xs: list[int], ys: list[int], ox: int, oy: int) -> list[list[Box]]:
    """Cells from the walls that are drawn: grid units joined where no wall separates them."""
    nr, nc = len(ys) - 1, len(xs) - 1

    def vwall(r: int, c: int) -> bool:  # wall at xs[c] across row band r
        # a wall meets the ruled lines above and below it; a character's stroke never does
        a, b = max(0, ys[r] - 2), ys[r + 1] + 3
        strip = vm[a:b, max(0, xs[c] - 4) : xs[c] + 5].max(axis=1)
        return bool(strip[:5].any() and strip[-5:].any()) and np.count_nonzero(strip) >= 0.85 * (
            b - a
        )

    def hwall(r: int, c: int) -> bool:  # wall at ys[r] across column band c
        a, b = xs[c] + 3, xs[c + 1] - 3
        if b <= a:
            return True
        strip = hm[max(0, ys[r] - 4) : ys[r] + 5, a:b].max(axis=0)
        return np.count_nonzero(strip) >= 0.6 * (b - a)

    parent = list(range(nr * nc))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(nr):
        for c in range(nc):
            if c + 1 < nc and not vwall(r, c + 1):
                parent[find(r * nc + c + 1)] = find(r * nc + c)
            if r + 1 < nr and not hwall(r + 1, c):
                parent[find((r + 1) * nc + c)] = find(r * nc + c)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(nr):
        for c in range(nc):
            groups.setdefault(find(r * nc + c), []).append((r, c))
    rows: list[list[Box]] = [[] for _ in range(nr)]
    for units in groups.values():
        r0 = min(r for r, _ in units)
        r1 = max(r for r, _ in units)
        c0 = min(c for _, c in units)
        c1 = max(c for _, c in units)
        rows[r0].append(Box(ox + xs[c0], oy + ys[r0], ox + xs[c1 + 1], oy + ys[r1 + 1]))
    for row in rows:
        row.sort(key=lambda b: b.x0)
    return rows


# --- reading cells -----------------------------------------------------------------------------


@dataclass
class Reading:
    text: str
    conf: float  # Tesseract's confidence of the weakest word, 0..100


def _crop(gray: np.ndarray, bw: np.ndarray, b: Box, pad: int = 4) -> np.ndarray | None:
    """The inside of a cell without its walls, as black on white; None when it holds no ink."""
    x0, y0, x1, y1 = b.x0 + pad, b.y0 + pad, b.x1 - pad, b.y1 - pad
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    ink = bw[y0:y1, x0:x1].copy()
    # strokes of a wall that the pad did not remove: long runs along an edge
    for edge in (ink[:2, :], ink[-2:, :]):
        edge[:] = 0
    ink[:, :2] = 0
    ink[:, -2:] = 0
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    keep = [i for i in range(1, n) if stats[i][4] >= 6]
    if not keep:
        return None
    ys = [stats[i][1] for i in keep] + [stats[i][1] + stats[i][3] for i in keep]
    xs = [stats[i][0] for i in keep] + [stats[i][0] + stats[i][2] for i in keep]
    a, bb, c, d = max(0, min(ys) - 3), max(ys) + 3, max(0, min(xs) - 3), max(xs) + 3
    return gray[y0:y1, x0:x1][a:bb, c:d]


def unwrap(crop: np.ndarray) -> np.ndarray:
    """A cell's text lines set side by side as one line: a label wrapped in a narrow column
    is read as one line of text (Tesseract reads a column of short lines poorly)."""
    ink = (crop < 128).any(axis=1)
    runs: list[list[int]] = []
    for y, on in enumerate(ink):
        if on:
            if runs and y - runs[-1][1] <= 3:
                runs[-1][1] = y
            else:
                runs.append([y, y])
    runs = [r for r in runs if r[1] - r[0] >= 6]
    if len(runs) < 2:
        return crop
    height = max(b - a + 1 for a, b in runs)
    parts = []
    for a, b in runs:
        piece = np.full((height, crop.shape[1]), 255, np.uint8)
        top = (height - (b - a + 1)) // 2
        piece[top : top + b - a + 1] = crop[a : b + 1]
        cols = np.where((piece < 128).any(axis=0))[0]
        parts.append(piece[:, cols[0] : cols[-1] + 1])
        parts.append(np.full((height, 6), 255, np.uint8))
    return np.hstack(parts[:-1])


def _join(words: list[str]) -> str:
    out = ""
    for w in words:
        if out and not (_CJK.search(out[-1]) or _CJK.search(w[0])):
            out += " "
        out += w
    return out


def ocr_many(crops: list[np.ndarray], lang: str, config: str, scale: float = 1.0) -> list[Reading]:
    """Read many small images with one Tesseract run: stacked one under another, far apart,
    each word given back to the image it stands in."""
    if not crops:
        return []
    gap = 30
    scaled = [
        cv2.resize(c, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale != 1 else c
        for c in crops
    ]
    width = max(c.shape[1] for c in scaled) + 2 * gap
    height = sum(c.shape[0] for c in scaled) + gap * (len(scaled) + 1)
    sheet = np.full((height, width), 255, np.uint8)
    bands = []
    y = gap
    for c in scaled:
        sheet[y : y + c.shape[0], gap : gap + c.shape[1]] = c
        bands.append((y, y + c.shape[0]))
        y += c.shape[0] + gap
    data = pytesseract.image_to_data(
        Image.fromarray(sheet), lang=lang, config=config, output_type=pytesseract.Output.DICT
    )
    words: list[list[tuple[int, int, int, str, float]]] = [[] for _ in crops]
    tops = [b[0] for b in bands]
    for i, text in enumerate(data["text"]):
        text = text.strip()
        if not text:
            continue
        mid = data["top"][i] + data["height"][i] / 2
        k = int(np.searchsorted(tops, mid, side="right")) - 1
        if k < 0 or not (bands[k][0] - gap / 2 <= mid <= bands[k][1] + gap / 2):
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        words[k].append((key, data["left"][i], data["top"][i], text, float(data["conf"][i])))
    out = []
    for ws in words:
        ws.sort(key=lambda t: (t[0], t[1]))
        text = _join([t[3] for t in ws])
        conf = min((t[4] for t in ws), default=0.0)
        out.append(Reading(unicodedata.normalize("NFKC", text).strip(), conf))
    return out


@lru_cache(maxsize=1)
def _captions() -> dict[str, str]:
    """Every caption of the forms' tables 2–4 (normalised -> as printed in the form)."""
    out: dict[str, str] = {}
    for form_id in FORM_IDS:
        spec = doc_spec(form_id)
        for sheet in (s.table for s in spec.tables):
            for c in spec.form.sheet(sheet).captions:
                out.setdefault(norm(c.text), c.text)
    return out


def snap_label(text: str) -> str:
    """A table label as OCR read it, put back to the form's caption it is unmistakably close
    to (one wrong character in four at most, of the same length or with the same first and
    last character, and no other caption as close); else as read."""
    text = text.replace(" ", "")
    n = norm(text)
    if len(n) < 2:
        return text
    caps = _captions()
    if n in caps:
        return caps[n]
    best: list[tuple[int, str]] = []
    for c in caps:
        # a misread character or two, not a piece: a label split over two pages (its halves
        # in two cells) must stay in pieces, so the ends must agree and the length nearly
        if len(c) < 3:
            continue
        piece = n[0] != c[0] or n[-1] != c[-1] or abs(len(n) - len(c)) > 1
        if piece and len(n) != len(c):
            continue
        # misread characters of a label read whole: up to one in three
        limit = max(1, len(c) // 3) if len(n) == len(c) else max(1, len(c) // 4)
        d = _distance(n, c, limit)
        if d <= limit:
            best.append((d, c))
    if not best:
        return text
    best.sort()
    if len(best) > 1 and best[1][0] == best[0][0]:
        return text
    return caps[best[0][1]]


@dataclass
class Cell:
    page: int  # 0-based index of the page image
    box: Box
    reading: Reading
    numeric: bool
    illegible: bool = False  # ink that no reading made anything of


@dataclass
class Scan:
    """A scanned report read: its lines, and for each table cell of them (line index, token
    index) the cell on the page, so that a figure can be re-read."""

    lines: list[Line]
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    pages: list[np.ndarray] = field(default_factory=list)
    angles: list[float] = field(default_factory=list)


def _digits(s: str) -> str:
    return s.replace(",", "").replace(" ", "")


def read_scan(path: Path) -> Scan:
    """Read a scanned report (Tesseract must be `available()`); raise UnreadableError when no
    page holds anything readable."""
    try:
        images = page_images(path)
    except (OSError, pypdfium2.PdfiumError, ValueError, Image.DecompressionBombError):
        raise UnreadableError(MSG.scan_bad_file.format(name=path.name)) from None
    scan = Scan([])
    for pno, raw in enumerate(images, 1):
        gray, angle = straighten(raw)
        scan.pages.append(gray)
        scan.angles.append(angle)
        _read_page(scan, pno, gray)
    if not any(ln.tokens for ln in scan.lines):
        raise UnreadableError(MSG.scan_nothing.format(name=path.name))
    _second_look(scan)
    return scan


def _second_look(scan: Scan) -> None:
    """Cells where a figure must stand but neither reading found one, read again other ways:
    one figure from them all is taken (as doubtful: the table's arithmetic decides), else the
    cell stays illegible."""
    at = [k for k, c in scan.cells.items() if c.illegible]
    if not at:
        return
    for (li, ti), got in zip(at, rereadings(scan, [scan.cells[k] for k in at])):
        figures = {g for g in got if g and _number(g) is not None}
        if len(figures) != 1:
            continue
        value = figures.pop()
        cell = scan.cells[(li, ti)]
        cell.reading, cell.illegible = Reading(value, 0.0), False
        ln = scan.lines[li]
        tokens = list(ln.tokens)
        tokens[ti] = value
        scan.lines[li] = Line(tuple(tokens), ln.where, ln.grid)


def _read_page(scan: Scan, pno: int, gray: np.ndarray) -> None:
    bw = binarize(gray)
    tables = find_tables(bw)
    # every cell of every table: first as text (Chinese and digits)
    crops: list[np.ndarray] = []
    where: list[tuple[int, Box]] = []  # per crop: its table, its cell
    shape: list[list[list[int | None]]] = []  # per table, per row: index into crops or None
    for ti, t in enumerate(tables):
        trows = []
        for row in t.rows:
            idx: list[int | None] = []
            for b in row:
                c = _crop(gray, bw, b)
                if c is None:
                    idx.append(None)
                else:
                    idx.append(len(crops))
                    crops.append(c)
                    where.append((ti, b))
            trows.append(idx)
        shape.append(trows)
    texts = ocr_many([unwrap(c) for c in crops], "chi_sim", "--psm 6")
    # A cell read as digits is a figure. A cell read otherwise is one only where the table's
    # structure says so: in a column of figures and a row of figures (a 1 read as 工 or 下),
    # or in a row of nothing but figures (table 4), not its first cell. Chinese read with a
    # digit whitelist gives digits too, so no other cell is read as digits.
    base = {i for i, r in enumerate(texts) if _FIGURE.match(r.text)}
    rows: dict[tuple[int, int], list[int]] = {}  # (table, top) -> crops of the row, in order
    for i, (ti, b) in enumerate(where):
        rows.setdefault((ti, b.y0), []).append(i)

    def aligned(i: int) -> bool:
        ti, b = where[i]
        return any(
            j != i
            and where[j][0] == ti
            and abs(where[j][1].x0 - b.x0) <= 8
            and abs(where[j][1].x1 - b.x1) <= 8
            for j in base
        )

    forced: set[int] = set()
    for i, r in enumerate(texts):
        if i in base:
            continue
        ti, b = where[i]
        mates = [j for j in rows[(ti, b.y0)] if j != i]
        in_grid = [j for j in mates if j in base or aligned(j)]
        figure_row = len(in_grid) >= 2 and sum(j in base for j in in_grid) >= 0.6 * len(in_grid)
        among = len(mates) >= 3 and all(j in base for j in mates) and min(mates) < i
        # a row that starts with a figure has no label: all its cells hold figures
        among = among or (
            len(mates) >= 3
            and mates[0] in base
            and min(mates) < i
            and sum(j in base for j in mates) >= 0.8 * len(mates)
        )
        # a row of a dozen cells and more, all figures but this one: table 4's row of
        # figures (no row of tables 2 and 3 has more than ten cells), its first cell included
        among = among or (len(mates) >= 11 and sum(j in base for j in mates) >= len(mates) - 1)
        # under a column of figures, ink with a digit in it (1.5 read as 圭.5)
        digit_in_column = aligned(i) and bool(re.search(r"\d", r.text))
        if _PLACEHOLDER.match(r.text):
            # "/" or "—" where a figure stands: as printed when read with confidence; a
            # figure with a stroke through it reads so too (as \): then illegible
            if ((figure_row and aligned(i)) or among) and r.conf < 80:
                texts[i] = Reading("", 0.0)
            continue
        if (figure_row and aligned(i)) or among or digit_in_column:
            forced.add(i)
    figure = sorted(base | forced)
    digits = ocr_many(
        [crops[i] for i in figure], "eng", f"--psm 6 -c tessedit_char_whitelist={_DIGITS}"
    )
    numeric: dict[int, Reading] = {}
    for i, r in zip(figure, digits):
        t = _digits(r.text)
        if t:
            conf = r.conf
            if i in base and t != _digits(texts[i].text):
                conf = min(conf, 50.0)  # the two readings disagree: the arithmetic decides
            numeric[i] = Reading(t, conf)
        elif i in base:
            numeric[i] = Reading(_digits(texts[i].text), texts[i].conf)
        else:
            texts[i] = Reading("", 0.0)  # no figure in a figure's place: illegible below
    # ink that neither reading makes anything of: a dash drawn thin and wide, else illegible
    illegible: set[int] = set()
    for i in range(len(crops)):
        if texts[i].text or i in numeric:
            continue
        ys, xs = np.where(crops[i] < 128)
        if len(xs) and xs.max() - xs.min() >= 8 and ys.max() - ys.min() <= 6:
            texts[i] = Reading(MSG.scan_dash, 0.0)
        else:
            illegible.add(i)
    items: list[tuple[int, int, list[tuple[Line, list[Cell | None]]]]] = []
    for t, trows in zip(tables, shape):
        lines = []
        for r, (row, idx) in enumerate(zip(t.rows, trows), 1):
            tokens, cells = [], []
            for b, i in zip(row, idx):
                if i is None:
                    tokens.append("")
                    cells.append(Cell(len(scan.pages) - 1, b, Reading("", 100.0), True))
                elif i in numeric:
                    tokens.append(numeric[i].text)
                    cells.append(Cell(len(scan.pages) - 1, b, numeric[i], True))
                elif i in illegible:
                    tokens.append("")
                    cells.append(Cell(len(scan.pages) - 1, b, Reading("", 0.0), True, True))
                elif _PLACEHOLDER.match(texts[i].text) and texts[i].text not in PLACEHOLDERS:
                    tokens.append(MSG.scan_dash)  # a dash read as 一 or _
                    cells.append(None)
                else:
                    tokens.append(snap_label(texts[i].text))
                    cells.append(None)
            where = MSG.where_page_table_row.format(p=pno, r=r)
            lines.append((Line(tuple(tokens), where, True), cells))
        items.append((t.box.y0, 0, lines))
    # the text outside the tables, line by line
    page = gray.copy()
    for t in tables:
        b = t.box
        page[max(0, b.y0 - 3) : b.y1 + 3, max(0, b.x0 - 3) : b.x1 + 3] = 255
    for top, text in _text_lines(page):
        items.append((top, 1, [(Line(tuple(text.split()), MSG.where_page.format(p=pno)), [])]))
    items.sort(key=lambda x: (x[0], x[1]))
    for _, _, lines in items:
        for ln, cells in lines:
            li = len(scan.lines)
            scan.lines.append(ln)
            for ti, c in enumerate(cells):
                if c is not None:
                    scan.cells[(li, ti)] = c


_PAGE_NO = re.compile(r"^[-—–－\s]*(第\s*)?\d{1,4}\s*(页)?(\s*[/共]\s*\d{1,4}\s*页?)?[-—–－\s]*$")


def _text_lines(gray: np.ndarray) -> list[tuple[int, str]]:
    bw = binarize(gray)
    if not np.count_nonzero(bw):
        return []
    data = pytesseract.image_to_data(
        Image.fromarray(gray), lang="chi_sim", config="--psm 4", output_type=pytesseract.Output.DICT
    )
    lines: dict[tuple, list[tuple[int, int, str]]] = {}
    for i, text in enumerate(data["text"]):
        text = text.strip()
        if not text:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append((data["left"][i], data["top"][i], text))
    out = []
    for ws in lines.values():
        ws.sort()
        s = unicodedata.normalize("NFKC", _join([w[2] for w in ws]))
        s = _tidy(s)
        if s and not _PAGE_NO.match(s):
            out.append((min(w[1] for w in ws), s))
    out.sort()
    return out


def _tidy(s: str) -> str:
    """OCR text of a Chinese line: no spaces between Chinese characters and figures."""
    s = re.sub(
        r"(?<=[\u3400-\u9fff，。、；：（）“”])\s+|\s+(?=[\u3400-\u9fff，。、；：（）“”])", "", s
    )
    return s.strip()


# --- the table's arithmetic checks the figures -------------------------------------------------


def _number(raw) -> int | float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return raw
    t = str(raw or "").strip()
    if re.fullmatch(r"\d+", t):
        return int(t)
    if re.fullmatch(r"\d+\.\d+", t):
        return float(t)
    return None


def _holds(rel, values: dict[str, int | float | None]) -> bool | None:
    total = 0.0
    for k, c in rel.terms:
        v = values.get(k)
        if v is None:
            return None
        total += c * v
    return abs(total) < 1e-6 if rel.op in ("=", "==") else total > -1e-6


def rereadings(scan: Scan, cells: list[Cell]) -> list[list[str]]:
    """Each cell read again three ways (larger, binarised, by the Chinese model): the first
    reading and the three others, as figures ("" where a reading gives none)."""
    crops = []
    for c in cells:
        g = scan.pages[c.page][c.box.y0 : c.box.y1, c.box.x0 : c.box.x1]
        crop = _crop(g, binarize(g), _shift(c.box))
        crops.append(crop if crop is not None else np.full((20, 20), 255, np.uint8))
    binary = [cv2.threshold(c, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1] for c in crops]
    wl = f"-c tessedit_char_whitelist={_DIGITS}"
    runs = [
        ocr_many(crops, "eng", f"--psm 6 {wl}", scale=2.0),
        ocr_many(binary, "eng", f"--psm 6 {wl}", scale=1.5),
        ocr_many(crops, "chi_sim", "--psm 6", scale=1.5),
    ]
    out = []
    for i, c in enumerate(cells):
        got = [c.reading.text]
        for run in runs:
            t = _digits(run[i].text)
            got.append(t if _number(t) is not None else "")
        out.append(got)
    return out


def _shift(b: Box) -> Box:
    """A cell's box relative to its own crop."""
    return Box(0, 0, b.x1 - b.x0, b.y1 - b.y0)


@dataclass
class Recheck:
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (first, new)
    doubtful: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # key -> (read, rules)


def recheck(
    scan: Scan,
    raw: dict[str, object],
    origin: dict[str, tuple[int, int]],
    relations,
    most: int = 2,
) -> Recheck:
    """Hold the figures read from the scan against the relations (the table's totals and
    balance). Where one fails, its cells are re-read; the fewest changes to other readings
    that make every relation hold are taken when they are the only ones; otherwise the cells
    whose readings disagree, or that Tesseract doubts, are given back as doubtful. A relation
    that fails with every cell read the same way every time is the document's own: kept."""
    out = Recheck()
    values = {k: _number(v) for k, v in raw.items()}
    failing = [r for r in relations if _holds(r, values) is False]
    if not failing:
        return out
    keys = sorted(
        {k for r in failing for k in r.keys if k in origin and origin[k] in scan.cells},
    )
    cells = [scan.cells[origin[k]] for k in keys]
    votes = dict(zip(keys, rereadings(scan, cells)))
    first = {k: _text(raw[k]) for k in keys}
    # read the same at least three times in four, and Tesseract sure of it: not in doubt
    stable = {
        k
        for k in keys
        if votes[k].count(first[k]) >= 3 and scan.cells[origin[k]].reading.conf >= 70
    }
    touched = [r for r in relations if any(k in votes for k in r.keys)]
    choices = {
        k: sorted({v for v in votes[k] if v and v != first[k]}, key=len)
        for k in keys
        if k not in stable
    }
    movable = [k for k in keys if choices.get(k)]
    solutions: list[dict[str, str]] = []
    for n in range(1, most + 1):
        for combo in itertools.combinations(movable, n):
            for picked in itertools.product(*(choices[k] for k in combo)):
                trial = dict(values)
                trial.update({k: _number(v) for k, v in zip(combo, picked)})
                if all(_holds(r, trial) is not False for r in touched):
                    solutions.append(dict(zip(combo, picked)))
        if solutions:
            break
    if len(solutions) == 1:
        for k, v in solutions[0].items():
            out.changed[k] = (first[k], v)
        return out
    rules_of = {k: sorted({r.rule for r in failing if k in r.keys}) for k in keys}
    suspects = {k for s in solutions for k in s} if solutions else set(keys) - stable
    for k in sorted(suspects):
        out.doubtful[k] = (first[k], rules_of.get(k, []))
    return out


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)
