"""Workbooks (.xlsx/.xlsm/.xls/.ods) -> RawForm.

python-calamine reads the four form sheets (the fast path, well under a millisecond). Cells
are located by the spec's positions, and the layout is verified against the spec's captions
first: a workbook whose rows or columns moved gives a `form-mismatch` finding naming what
moved, never numbers read from the wrong cells. Calamine cannot tell an empty cell from an
error value or from a formula without a cached result, nor a total that holds the template's
formula from a figure typed over it; for an .xlsx that needs it, a sheet's XML is scanned once
(the copy the pre-scan inflated) for all its formula and error cells.

Calamine is native code that can abort the process on hostile input: batch reading runs it
in worker processes (xltools.batch) after xltools.reader.sniff has pre-scanned the file.
"""

from __future__ import annotations

import html
import re
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from python_calamine import CalamineWorkbook

from xltools import UnreadableError
from xltools.findings import Finding
from xltools.messages import DETAIL, READ
from xltools.published.notes import SHEET as IMPORT_NOTES
from xltools.published.notes import read_sheet as read_import_notes
from xltools.reader.base import RawCell, RawForm
from xltools.reader.sniff import DEFAULT_LIMITS, Limits, Parts, sniff
from xltools.spec import Caption, Form, Sheet, a1, form_ids, load_form, parse_a1
from xltools.textsafe import normalise
from xltools.values import make_finding

Grid = list[list[Any]]
_SUFFIXES = {"xlsx": {".xlsx", ".xlsm", ".xltx", ".xltm"}, "xls": {".xls"}, "ods": {".ods"}}
# the block the layout checks look at: a moved caption is searched for in these rows/columns
SCAN_ROWS, SCAN_COLS = 200, 60


def read_workbook(
    path: str | Path, limits: Limits = DEFAULT_LIMITS, *, screen: bool = True
) -> RawForm:
    """screen=False skips the pre-scan, for an .xlsx xltools itself has just written (the
    summary workbook read back): the scan guards against hostile input and costs a pass over
    every sheet, which for a summary of thousands of agencies is most of the read."""
    path = Path(path)
    parts = Parts(path)  # the worksheet XML the pre-scan inflates, kept for _SheetProbe
    kind = sniff(path, limits, parts) if screen else "xlsx"
    try:
        if path.suffix.lower() in _SUFFIXES[kind]:
            wb = CalamineWorkbook.from_path(str(path))
        else:
            # calamine picks its reader by extension: an .xls named .xlsx is read by content
            with open(path, "rb") as fh:
                wb = CalamineWorkbook.from_filelike(fh)
        names = list(wb.sheet_names)
    except BaseException as e:  # calamine raises its own errors and pyo3 PanicException
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise UnreadableError(_open_error(e, kind)) from None
    grids: dict[str, Grid] = {}

    def grid(name: str) -> Grid:
        if name not in grids:
            try:
                grids[name] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except BaseException as e:
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                raise UnreadableError(
                    READ.text("sheet_unreadable", name=name, error=_short(e))
                ) from None
        return grids[name]

    raw = raw_from_grids(names, grid, str(path))
    if kind == "xlsx":
        probe = _SheetProbe(path, raw, parts if screen else None)
        _probe_blanks(raw, probe)
        raw.formula_of = probe
    return raw


def raw_from_grids(names: list[str], grid: Callable[[str], Grid], source: str) -> RawForm:
    """Identify the form, verify each sheet's captions and locate every field, given the
    workbook's sheet names and `grid(name)` -> that sheet's values from A1 (at least
    SCAN_ROWS x SCAN_COLS, or the whole sheet). Shared by the file reader and `xltools live`."""
    form_id, sheet_map, findings = _identify(names, grid)
    form = load_form(form_id)
    raw = RawForm(form=form_id, source=source, findings=findings)
    if IMPORT_NOTES in names:
        # written by `xltools import`: the document's own findings, and totals as printed
        raw.findings += read_import_notes(grid(IMPORT_NOTES), form.catalogue)
        raw.typed_totals = True
    for spec_sheet in form.sheets:
        actual = sheet_map.get(spec_sheet.name)
        if actual is None:
            raw.skipped_sheets.add(spec_sheet.name)
            continue
        g = grid(actual)
        moved = _verify(form, spec_sheet, g, actual)
        if moved:
            raw.findings.append(moved)
            raw.skipped_sheets.add(spec_sheet.name)
            continue
        cells = raw.cells
        n = len(g)
        for key, r, c, ref in _fields_of(spec_sheet):
            row = g[r] if r < n else ()
            cells[key] = RawCell(row[c] if c < len(row) else "", actual, ref)
    return raw


# Positions resolved once per process, not per file: the spec's A1 references are parsed
# when a sheet is first read, then each file costs list lookups only.
_pos = lru_cache(maxsize=4096)(parse_a1)


_plans: dict[int, tuple[Sheet, tuple, tuple]] = {}  # id(sheet) -> (sheet, fields, captions)


def _plan(sheet: Sheet) -> tuple[Sheet, tuple, tuple]:
    plan = _plans.get(id(sheet))
    if plan is None or plan[0] is not sheet:
        fields = tuple(
            (f.key, _pos(f.cell)[0] - 1, _pos(f.cell)[1] - 1, f.cell) for f in sheet.fields
        )
        captions = tuple(
            (cap, _pos(cap.cell)[0] - 1, _pos(cap.cell)[1] - 1)
            for cap in sheet.captions
            if cap.style != "hint"
        )
        plan = _plans[id(sheet)] = (sheet, fields, captions)
    return plan


def _fields_of(sheet: Sheet) -> tuple[tuple[str, int, int, str], ...]:
    """(key, row, column, A1) of each field, 0-based."""
    return _plan(sheet)[1]


def _checked_captions(sheet: Sheet) -> tuple[tuple[Caption, int, int], ...]:
    """The captions the layout check compares (hints are free text), with 0-based positions."""
    return _plan(sheet)[2]


def _short(e: BaseException) -> str:
    return str(e).splitlines()[0][:120] if str(e) else type(e).__name__


def _open_error(e: BaseException, kind: str) -> str:
    msg = str(e).lower()
    if "password" in msg or "encrypt" in msg:
        return READ.password
    return READ.text("damaged", label=READ.kinds.get(kind, READ.kinds["xlsx"]), error=_short(e))


# --- which form, which sheet is which --------------------------------------------------------


def _cell(g: Grid, ref: str) -> Any:
    r, c = _pos(ref)
    if r <= len(g) and c <= len(g[r - 1]):
        return g[r - 1][c - 1]
    return ""


def _title(sheet: Sheet) -> Caption:
    return sheet.captions[0]


def _identify(names: list[str], grid) -> tuple[str, dict[str, str], list[Finding]]:
    """The form the workbook follows and where each of its sheets is; findings for sheets
    that were renamed or are missing."""
    base = load_form(form_ids()[0])
    cover_name = base.cover["sheet"]
    form_id = None
    if cover_name in names:
        marker = str(_cell(grid(cover_name), base.cover["form_cell"]))
        m = re.match(r"^xltools:([A-Za-z0-9_-]+):", marker)
        if m and m.group(1) in form_ids():
            form_id = m.group(1)
    sheet_map: dict[str, str] = {}
    findings: list[Finding] = []
    spec_sheets = [s for s in base.sheets]
    for s in spec_sheets:
        if s.name in names:
            sheet_map[s.name] = s.name
    unclaimed = [n for n in names if n not in sheet_map.values()]
    for s in spec_sheets:
        if s.name in sheet_map:
            continue
        want = normalise(_title(s).text)
        found = next(
            (n for n in unclaimed if normalise(str(_cell(grid(n), _title(s).cell))) == want), None
        )
        if found:
            sheet_map[s.name] = found
            unclaimed.remove(found)
            findings.append(
                make_finding(
                    base,
                    "form-mismatch",
                    None,
                    sheet=found,
                    cell=_title(s).cell,
                    detail=DETAIL.sheet_renamed.format(name=s.name, found=found),
                )
            )
    if not sheet_map:
        detail = DETAIL.not_a_form.format(names="、".join(names[:8]))
        findings.append(
            make_finding(
                base, "form-mismatch", None, sheet=names[0] if names else None, detail=detail
            )
        )
        return base.id, {}, findings
    if form_id is None:
        form_id = _form_from_layout(sheet_map, grid)
    form = load_form(form_id)
    for s in form.sheets:
        if s.name not in sheet_map:
            findings.append(
                make_finding(
                    form,
                    "form-mismatch",
                    None,
                    sheet=s.name,
                    detail=DETAIL.sheet_missing.format(name=s.name, title=_title(s).text),
                )
            )
    return form_id, sheet_map, findings


def _form_from_layout(sheet_map: dict[str, str], grid) -> str:
    """No marker (a copy made by hand, or an older template): the form whose captions the
    workbook's sheets show; the form with most sheets matching when none matches them all."""
    best, best_score = form_ids()[0], -1
    for fid in form_ids():
        form = load_form(fid)
        score = 0
        for s in form.sheets:
            if s.name not in sheet_map:
                continue
            g = grid(sheet_map[s.name])
            if all(
                normalise(str(_cell(g, c.cell))) == normalise(c.text)
                for c in s.captions
                if c.style in ("label", "header")
            ):
                score += 1
        if score > best_score:
            best, best_score = fid, score
    return best


# --- layout verification -----------------------------------------------------------------------


def _verify(form: Form, sheet: Sheet, g: Grid, actual_name: str) -> Finding | None:
    wrong: list[Caption] = []
    n = len(g)
    for cap, r, c in _checked_captions(sheet):
        row = g[r] if r < n else ()
        v = row[c] if c < len(row) else ""
        if v == cap.text:
            continue
        if not isinstance(v, str) or normalise(v) != normalise(cap.text):
            wrong.append(cap)
    if not wrong:
        return None
    wrong.sort(key=lambda cap: parse_a1(cap.cell))  # the first thing that moved comes first
    notes = []
    index = _text_index(g)
    for cap in wrong[:3]:
        found = _cell(g, cap.cell)
        now = index.get(normalise(cap.text))
        r0, c0 = parse_a1(cap.cell)
        if now:
            r1, c1 = now
            how = []
            if r1 != r0:
                how.append(
                    (DETAIL.layout_down if r1 > r0 else DETAIL.layout_up).format(n=abs(r1 - r0))
                )
            if c1 != c0:
                how.append(
                    (DETAIL.layout_right if c1 > c0 else DETAIL.layout_left).format(n=abs(c1 - c0))
                )
            notes.append(
                DETAIL.layout_moved.format(
                    caption=_clip(cap.text), cell=cap.cell, now=a1(r1, c1), how="、".join(how)
                )
            )
        elif found in ("", None):
            notes.append(DETAIL.layout_emptied.format(cell=cap.cell, caption=_clip(cap.text)))
        else:
            notes.append(
                DETAIL.layout_changed.format(
                    cell=cap.cell, caption=_clip(cap.text), found=_clip(str(found))
                )
            )
    more = DETAIL.layout_more.format(n=len(wrong)) if len(wrong) > 3 else ""
    detail = DETAIL.layout.format(sheet=actual_name, notes="；".join(notes), more=more)
    return make_finding(
        form, "form-mismatch", None, sheet=actual_name, cell=wrong[0].cell, detail=detail
    )


def _clip(s: str, n: int = 24) -> str:
    s = s.replace("\n", "")
    return s if len(s) <= n else s[:n] + "…"


def _text_index(g: Grid) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for r, row in enumerate(g[:SCAN_ROWS], start=1):
        for c, v in enumerate(row[:SCAN_COLS], start=1):
            if isinstance(v, str) and v:
                out.setdefault(normalise(v), (r, c))
    return out


# --- cells calamine cannot tell apart: empty, error value, formula without a cached result ----
# and whether a total holds the template's formula or a figure typed over it. One pass over a
# sheet's XML finds all its formula cells and error values; a sheet is scanned only when one of
# its cells needs it (a blank cell, or a total that disagrees with its parts), and at most once,
# from the copy the pre-scan kept when there is one.

_SHEET_REL = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"')
_REL_ALT = re.compile(rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"')
# a cell whose content starts with a formula, matched from the cell's start: its reference and
# its cached value (None or b"" if none)
_FORMULA_CELL = re.compile(
    rb'<c\s[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^>]*(?<!/)>\s*'
    rb"<f\b(?:[^>]*/>|[^>]*>[^<]*</f>)\s*(?:<v\b[^>]*>([^<]*)</v>)?"
)
_AFTER_NAME = frozenset((b">", b"/", b" ", b"\t", b"\n", b"\r"))
_ERROR_CELL = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)(?<!/)>(.*?)</c>', re.S)
_REF = re.compile(rb'\sr="([A-Z]{1,3}[0-9]{1,7})"')
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)
_ZIP_TROUBLE = (
    zipfile.BadZipFile,
    KeyError,
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
)


@dataclass(frozen=True, slots=True)
class _Scan:
    formulas: dict[str, bool]  # A1 of each formula cell -> it has no cached result
    errors: dict[str, str]  # A1 of each error value -> the value shown ("#DIV/0!")


def _scan(xml: bytes) -> _Scan:
    """From each `<f` (a formula element, rare) back to the cell it opens: a regex over every
    cell of the sheet took ten times as long."""
    formulas: dict[str, bool] = {}
    find, rfind, match = xml.find, xml.rfind, _FORMULA_CELL.match
    pos = find(b"<f")
    while pos >= 0:
        start = rfind(b"<c", 0, pos)
        # <f>, <f t="shared" …/>, not <formula>; opened right after its cell's start tag
        if start >= 0 and xml[pos + 2 : pos + 3] in _AFTER_NAME:
            m = match(xml, start)
            if m:
                v = m.group(2)
                formulas[m.group(1).decode()] = not v or not v.strip()
        pos = find(b"<f", pos + 2)
    errors: dict[str, str] = {}
    if b't="e"' in xml:
        for attrs, body in _ERROR_CELL.findall(xml):
            ref = _REF.search(attrs)
            if ref:
                v = _VALUE.search(body)
                errors[ref.group(1).decode()] = (
                    v.group(1).decode("utf-8", "replace") if v else "#ERROR"
                )
    return _Scan(formulas, errors)


class _SheetProbe:
    """The formula and error cells of a workbook's sheets, each sheet scanned when first asked.
    Called with a key, it is the reader's `formula_of`: True when the cell holds a formula,
    False when it holds none (a figure typed over the template's formula), None if unknown."""

    def __init__(self, path: Path, raw: RawForm, parts: Parts | None):
        self.path, self.raw, self.parts = path, raw, parts
        self.scans: dict[str, _Scan | None] = {}
        self.targets: dict[str, str] | None = None

    def scan(self, sheet: str) -> _Scan | None:
        if sheet not in self.scans:
            self.scans[sheet] = self._read(sheet)
        return self.scans[sheet]

    def _read(self, sheet: str) -> _Scan | None:
        try:
            if self.parts is None:
                with zipfile.ZipFile(self.path) as zf:
                    self.parts = Parts(self.path, {i.filename: i for i in zf.infolist()})
            if self.targets is None:
                self.targets = _sheet_targets(self.parts)
            target = self.targets.get(sheet)
            return _scan(self.parts.read(target)) if target else None
        except _ZIP_TROUBLE:
            return None

    def __call__(self, key: str) -> bool | None:
        rc = self.raw.cells.get(key)
        if rc is None or rc.sheet is None or rc.cell is None:
            return None
        scan = self.scan(rc.sheet)
        return None if scan is None else rc.cell in scan.formulas


def _probe_blanks(raw: RawForm, probe: _SheetProbe) -> None:
    cells = raw.cells
    for key, rc in cells.items():
        v = rc.raw
        if v is None or (v.__class__ is str and not v):
            scan = probe.scan(rc.sheet)
            if scan is None:
                continue
            error = scan.errors.get(rc.cell)
            if error is not None:
                cells[key] = RawCell(error, rc.sheet, rc.cell)
            elif scan.formulas.get(rc.cell):
                cells[key] = RawCell(None, rc.sheet, rc.cell, uncached_formula=True)


def _sheet_targets(parts: Parts) -> dict[str, str]:
    wb = parts.read("xl/workbook.xml")
    rels = parts.read("xl/_rels/workbook.xml.rels")
    rel_map = {rid: tgt for rid, tgt in _REL.findall(rels)}
    rel_map.update({rid: tgt for tgt, rid in _REL_ALT.findall(rels)})
    out = {}
    for name, rid in _SHEET_REL.findall(wb):
        tgt = rel_map.get(rid)
        if not tgt:
            continue
        t = tgt.decode()
        t = t[1:] if t.startswith("/") else str(PurePosixPath("xl") / t)
        out[html.unescape(name.decode("utf-8"))] = t
    return out
