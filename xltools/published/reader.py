"""A published report (.txt/.docx/.html/.htm/.pdf) -> RawForm (kind "document"), with an
account of every cell it did not fill.

Steps: the document's lines (xltools.published.document), converted from traditional
characters when it is written in them; the parts found by their headings; each table's form
identified by the words the form TOML lists; each table read by its own structure
(xltools.published.tables); agency and year from the title, the statistics period, the
signature or the prose; the text's figures compared with the tables (text-vs-table).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from xltools import UnreadableError
from xltools.messages import Section
from xltools.published.docspec import DocSpec, doc_spec, label_core, norm
from xltools.published.document import Line, ScannedError, load_lines, simplify
from xltools.published.tables import (
    Reading,
    Stream,
    identify,
    read_table2,
    read_table3,
    read_table4,
)
from xltools.published.text import text_vs_table
from xltools.reader.base import RawCell, RawForm
from xltools.rules import linear_relations
from xltools.spec import FORM_IDS, form_for_year

MSG = Section("published")


@dataclass
class DocumentReading:
    """What reading a published report gives: the RawForm for the rules, and for the person
    importing it, why each unfilled cell is unfilled and what was done to the text."""

    raw: RawForm
    unread: dict[str, str] = field(default_factory=dict)  # key -> why
    notes: list[str] = field(default_factory=list)


def read_published(path: str | Path) -> RawForm:
    """Read a published report into a RawForm (kind "document"). Raises UnreadableError when
    the file cannot be read at all."""
    return read_document(path).raw


def read_document(path: str | Path) -> DocumentReading:
    scan = None
    try:
        lines = load_lines(path)
    except ScannedError as e:
        scan = _read_scan(Path(path), e)
        lines = scan.lines
    notes: list[str] = []
    if scan is not None:
        turned = [
            MSG.scan_page_angle.format(p=i, a=f"{a:+.2f}")
            for i, a in enumerate(scan.angles, 1)
            if a
        ]
        notes.append(
            MSG.scan_read.format(
                pages=len(scan.pages),
                straightened=MSG.scan_straightened.format(angles="，".join(turned))
                if turned
                else "",
            )
        )
    lines, changed = simplify(lines)
    if changed:
        notes.append(MSG.converted.format(n=changed))
    base = doc_spec(FORM_IDS[0])
    sec = find_sections(lines, base)
    end = len(lines)

    def region(part: int) -> tuple[int, int] | None:
        if part not in sec:
            return None
        nxt = min((v for k, v in sec.items() if k > part), default=end)
        return sec[part], nxt

    tables = {s.part: s.table for s in base.tables}
    streams = {p: Stream.build(lines, *region(p)) for p in tables if region(p)}
    first_table = min((sec[p] for p in tables if p in sec), default=end)
    agency, year = read_meta(lines, first_table, base)
    forms = {p: identify(streams[p], tables[p]) for p in streams}
    known = {f for f in forms.values() if f}
    if len(known) == 1:
        form_id = known.pop()
    elif year:
        form_id = form_for_year(int(year))
    else:
        form_id = next((forms[p] for p in sorted(forms) if forms[p]), FORM_IDS[0])
    spec = doc_spec(form_id)
    rd = Reading(spec, lines)
    form = spec.form
    for f in form.fields:
        rd.cells[f.key] = RawCell(None, f.sheet, f.cell)
    rd.put(form.field("meta_agency"), agency)
    rd.put(form.field("meta_year"), int(year) if year else None)

    mixed = len({f for f in forms.values() if f}) > 1
    if mixed:
        said = "，".join(
            MSG.form_of_table.format(sheet=tables[p], form=forms[p])
            for p in sorted(forms)
            if forms[p]
        )
        why = MSG.form_by_year.format(year=year) if year else MSG.form_by_tables
        rd.mismatch(MSG.forms_differ.format(said=said, form=form_id, why=why), None)
    for part, sheet in tables.items():
        if part not in streams:
            msg = MSG.no_heading.format(sheet=sheet, title=_title(spec, sheet))
            rd.mismatch(msg, sheet)
            rd.skip_table(sheet, msg)
            continue
        own = forms[part] or form_id
        if own != form_id:
            if part == 3 and doc_spec(own).form.first_year < form.first_year:
                read_table3(rd, streams[part], sheet, doc_spec(own))
                continue
            msg = MSG.other_form_table.format(sheet=sheet, own=own, form=form_id)
            rd.skip_table(sheet, msg)
            continue
        reader = {2: read_table2, 3: read_table3, 4: read_table4}[part]
        reader(rd, streams[part], sheet)

    if scan is not None:
        _check_scan(rd, scan, notes)
    text_end = region(4)[1] if region(4) else end
    prose = [ln for i, ln in enumerate(lines) if not ln.grid and (i < first_table or i >= text_end)]
    inner = [ln for i, ln in enumerate(lines) if not ln.grid and first_table <= i < text_end]
    rd.findings += text_vs_table(spec, rd.cells, prose, inner)
    if agency is None:
        rd.unread["meta_agency"] = MSG.no_agency
    if year is None:
        rd.unread["meta_year"] = MSG.no_year
    raw = RawForm(
        form_id, str(path), rd.cells, rd.findings, kind="document", skipped_sheets=rd.skipped_sheets
    )
    return DocumentReading(raw, dict(rd.unread), notes)


def _read_scan(path: Path, why: ScannedError):
    """A scan read by OCR (xltools.published.scan, imported here: OpenCV and Tesseract's
    wrapper, which brings pandas, add 0.5 s to start-up after the readers and the rules
    (measured with -X importtime) that reading any other document should not pay)."""
    from xltools.published import scan  # noqa: PLC0415

    if not scan.available():
        raise UnreadableError(MSG.scan_no_ocr.format(error=str(why))) from None
    return scan.read_scan(path)


def _check_scan(rd: Reading, scan, notes: list[str]) -> None:
    """Figures read from a scan, held against the table's arithmetic: re-read where a relation
    fails, left unread (with a note naming the cell) where it still cannot be settled; the
    differences of OCR'd row labels are OCR's, said once as a note, not as label-variant."""
    # 0.5 s at start-up: see _read_scan, which has loaded it already
    from xltools.published.scan import recheck  # noqa: PLC0415

    form = rd.form
    variants = [f for f in rd.findings if f.rule == "label-variant"]
    if variants:
        rd.findings = [f for f in rd.findings if f.rule != "label-variant"]
        labels = "、".join(f"{f.sheet}!{f.cell}" for f in variants)
        notes.append(MSG.scan_labels.format(n=len(variants), labels=labels))
    # figures read from text lines, not from ruled cells: a table drawn without lines, whose
    # figures OCR read as running text; no cell to read again, so none is taken
    tables = {s.table for s in rd.spec.tables}
    loose = [
        f
        for f in form.fields
        if f.sheet in tables
        and f.key in rd.cells
        and f.key not in rd.origin
        and rd.cells[f.key].raw not in (None, "")
    ]
    for sheet in sorted({f.sheet for f in loose}):
        rd.leave([f for f in loose if f.sheet == sheet], MSG.scan_unruled.format(sheet=sheet))
    for key, at in list(rd.origin.items()):
        cell = scan.cells.get(at)
        if cell is not None and cell.illegible:
            f = form.field(key)
            rd.leave(
                [f],
                MSG.scan_illegible.format(
                    where=f"{f.sheet}!{f.cell}", row=f.row_caption, col=f.col_caption
                ),
            )
    rels = [r for r in linear_relations(form) if form.catalogue[r.rule].severity == "error"]
    raw = {k: c.raw for k, c in rd.cells.items()}
    result = recheck(scan, raw, rd.origin, rels)
    for key, (first, new) in result.changed.items():
        f = form.field(key)
        rd.put(f, new, rd.origin.get(key))
        notes.append(
            MSG.scan_reread.format(
                where=f"{f.sheet}!{f.cell}",
                row=f.row_caption,
                col=f.col_caption,
                first=first,
                second=new,
            )
        )
    for key, (first, rules) in result.doubtful.items():
        f = form.field(key)
        rd.leave(
            [f],
            MSG.scan_doubtful.format(
                where=f"{f.sheet}!{f.cell}",
                row=f.row_caption,
                col=f.col_caption,
                first=first or MSG.blank,
                rules="；".join(form.catalogue[r].description for r in rules),
            ),
        )


def _title(spec: DocSpec, sheet: str) -> str:
    return next((c.text for c in spec.form.sheet(sheet).captions if c.style == "title"), sheet)


# --- sections ---------------------------------------------------------------------------------


def _heading(ln: Line, phrases: tuple[str, ...], slack: int = 10) -> bool:
    tokens = [t for t in ln.tokens if t]
    if ln.grid and len(tokens) != 1:
        return False
    n = norm(ln.text)
    return all(p in n for p in phrases) and len(n) <= sum(map(len, phrases)) + slack


def find_sections(lines: list[Line], spec: DocSpec) -> dict[int, int]:
    """Line index of each part's heading. Where the prose repeats a heading's words as a
    sub-heading inside the overview, the heading is the one its
    table follows: the first row label of the table, or a fallback phrase, within a few lines."""
    found: dict[int, int] = {}
    start = 0
    for s in spec.sections:
        phrases = tuple(norm(p) for p in s.phrases)
        cands = [i for i in range(start, len(lines)) if _heading(lines[i], phrases)]
        idx = None
        if s.table and cands:
            marks = [norm(p) for p in s.fallback] + [
                label_core(c) for c, _ in spec.rows(s.table)[:2]
            ]
            # the mark must come before the next candidate: a sub-heading a few lines above the
            # real heading does not borrow the table that follows the real one
            nexts = cands[1:] + [len(lines)]
            follows = [
                i
                for i, stop in zip(cands, nexts)
                if any(
                    m and m in norm(lines[j].text)
                    for j in range(i + 1, min(i + 15, stop))
                    for m in marks
                )
            ]
            idx = follows[0] if follows else cands[-1]
        elif cands:
            idx = cands[0]
        if idx is None and s.fallback:
            idx = next(
                (
                    i
                    for i in range(start, len(lines))
                    if all(norm(p) in norm(lines[i].text) for p in s.fallback)
                ),
                None,
            )
        if idx is not None:
            found[s.part] = idx
            start = idx + 1
    return found


# --- agency and year --------------------------------------------------------------------------

# page furniture glued to a title line: "Page8-", "第 3 页", "- 2 -", "3/12"
_FURNITURE = re.compile(
    r"^(?:page\s*\d+\s*[-—–]?|第\s*\d+\s*页(?:\s*[/共]\s*\d+\s*页)?|[-—–]\s*\d+\s*[-—–]|\d+\s*/\s*\d+)\s*",
    re.IGNORECASE,
)
_FURNITURE_END = re.compile(
    r"\s*(?:page\s*\d+\s*[-—–]?|第\s*\d+\s*页(?:\s*[/共]\s*\d+\s*页)?|[-—–]\s*\d+\s*[-—–])$",
    re.IGNORECASE,
)
_DATE = re.compile(r"(20\d\d)\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
# how the name of a government body ends
_BODY_END = re.compile(
    r"(?:局|委|委员会|办|办公室|政府|厅|院|中心|所|处|站|队|部|署|会|馆|社|街道|镇|乡|管委会|管理委员会)$"
)


def _title_rx(spec: DocSpec) -> re.Pattern:
    words = [re.escape(unicodedata.normalize("NFKC", w)) for w in spec.title_words]
    tail = ".{0,4}?".join(words)
    return re.compile(rf"^(?P<a>.*?)(?P<y>20\d\d)\s*年度?(?P<b>.*?){tail}")


def read_meta(lines: list[Line], stop: int, spec: DocSpec) -> tuple[str | None, str | None]:
    """Agency and report year: from the title (the lines before the tables, page furniture
    set aside); else the year from the statistics period and the agency from the closing
    signature or the prose that names the report."""
    rx = _title_rx(spec)
    agency = year = None
    for i in range(min(stop, 25)):
        s = unicodedata.normalize("NFKC", "".join(lines[i].tokens))
        s = _FURNITURE_END.sub("", _FURNITURE.sub("", s))
        m = rx.match(s)
        if not m or len(s) > 80:
            continue
        agency = (m.group("a") or m.group("b")).strip(" ,，:：")
        if not agency and i > 0:
            prev = _FURNITURE.sub("", "".join(lines[i - 1].tokens))
            if len(prev) <= 40 and not re.search(r"[，。；：,;]", prev):
                agency = prev
        year = m.group("y")
        break
    text = "".join("".join(ln.tokens) for ln in lines[:stop] if not ln.grid)
    if year is None and spec.period_words:
        m = re.search(
            rf"(?:{'|'.join(map(re.escape, spec.period_words))})[^0-9]{{0,6}}(20\d\d)\s*年", text
        )
        year = m.group(1) if m else None
    if not agency:
        agency = _signature(lines) or _prose_agency(text, spec)
    return agency or None, year


def _signature(lines: list[Line]) -> str | None:
    """The body that signs the report: a short name just before (or on the line of) the date
    at the end."""
    tail = [ln for ln in lines[-8:] if not ln.grid]
    for k in range(len(tail) - 1, -1, -1):
        s = unicodedata.normalize("NFKC", "".join(tail[k].tokens))
        m = _DATE.search(s)
        if not m:
            continue
        before = s[: m.start()].strip()
        cands = [before] if before else []
        if k > 0:
            cands.append(unicodedata.normalize("NFKC", "".join(tail[k - 1].tokens)).strip())
        for c in cands:
            if (
                2 < len(c) <= 30
                and not re.search(r"[，。；：,;!?！？\d]", c)
                and _BODY_END.search(c)
            ):
                return c
        return None
    return None


def _prose_agency(text: str, spec: DocSpec) -> str | None:
    """ "现向社会公布2022年聊城市商务局政府信息公开工作年度报告" and the like."""
    words = [re.escape(w) for w in spec.title_words]
    if not words:
        return None
    tail = ".{0,4}?".join(words)
    if spec.prose_title_words:
        tail += "|" + ".{0,2}".join(re.escape(w) for w in spec.prose_title_words)
    m = re.search(
        rf"(?:公布|发布|编制)(?:20\d\d年度?)?(?P<a>[^，。；、：:\s\d《》“”]{{2,30}}?)(?:20\d\d年度?)?"
        rf"(?:{tail})",
        text,
    )
    if m and _BODY_END.search(m.group("a")):
        return m.group("a")
    return None
