"""Check the workbook open in a spreadsheet application and mark its problem cells in place.

The spreadsheet is reached only through `LiveWorkbook`, a handful of calls an adapter implements
(xltools.live_xlwings for Microsoft Excel; a fake in memory for the tests). This module never
imports xlwings.

- Reading: each sheet's block A1:BH200 in one call (the block the file reader's layout checks
  look at), then the file reader's own `raw_from_grids` and `evaluate` — the same form
  identification, caption checks and rules as `xltools check`.
- Painting: `annotate.plan_marks`, the plan the annotated copies apply, so the two never disagree.
- Undo: before painting, the cell's previous fill and note are written to a record kept in the
  open workbook (the adapter stores it; Excel: a hidden sheet). `clear_live` puts back the
  previous fill/note of every cell that still shows exactly what was painted, and leaves cells
  the user has changed since. A second run clears the first run's marks before painting, so
  notes never pile up. Nothing here saves the workbook.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from xltools import XltoolsError
from xltools.annotate import CellMark, plan_marks
from xltools.evaluate import evaluate
from xltools.findings import Report
from xltools.messages import LIVE
from xltools.reader.base import RawForm
from xltools.reader.workbook import SCAN_COLS, SCAN_ROWS, Grid, raw_from_grids
from xltools.spec import a1

BLOCK = f"A1:{a1(SCAN_ROWS, SCAN_COLS)}"
RECORD_SHEET = "xltools_live"  # where the Excel adapter keeps the record: a hidden sheet
RECORD_VERSION = 1

# user-facing messages of `xltools live`: the [live] section of the message catalogue
MESSAGES = LIVE


class LiveError(XltoolsError):
    """`xltools live` cannot do its job (no Excel, no workbook, a record it cannot keep)."""


class LiveWorkbook(Protocol):
    """What `xltools live` needs from the open workbook. Colours are "RRGGBB" or None (no fill);
    notes are the legacy cell notes ("批注"), text or None."""

    name: str

    def sheet_names(self) -> list[str]:
        """The workbook's sheets in order (without the adapter's own record sheet)."""

    def read(self, sheet: str, ref: str) -> Grid:
        """The values of block `ref` ("A1:BH200") as rows of columns, in ONE call to the
        application."""

    def fill(self, sheet: str, cell: str) -> str | None: ...

    def set_fill(self, sheet: str, cell: str, color: str | None) -> None:
        """Colour the cell, or the whole merged range it is the top-left cell of (as the
        annotated copy does); None removes the fill."""

    def note(self, sheet: str, cell: str) -> str | None: ...

    def set_note(self, sheet: str, cell: str, text: str | None) -> None:
        """Replace the cell's note (None removes it). May raise if the application refuses."""

    def load_record(self) -> str | None:
        """The text stored by `save_record`, surviving between runs while the workbook lives."""

    def save_record(self, text: str | None) -> None:
        """Store the record text in the workbook (None removes it). Raise if it cannot."""

    def editing(self) -> AbstractContextManager[Any]:
        """A block of edits (the adapter may pause screen updates, lift a template's sheet
        protection so notes can be added, and restore both at the end)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """One painted cell: what it showed before and what was put there."""

    sheet: str
    cell: str
    color: str
    note: str
    prev_color: str | None
    prev_note: str | None

    def to_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "cell": self.cell,
            "color": self.color,
            "note": self.note,
            "prev_color": self.prev_color,
            "prev_note": self.prev_note,
        }


@dataclass(slots=True)
class Cleared:
    restored: int = 0  # cells put back as they were
    kept: list[str] = field(
        default_factory=list
    )  # "表三!F5": changed by the user since; left alone


@dataclass(slots=True)
class LiveResult:
    report: Report
    marks: list[CellMark]
    painted: int = 0
    notes_refused: list[str] = field(
        default_factory=list
    )  # cells coloured whose note Excel refused
    cleared: Cleared = field(default_factory=Cleared)  # the previous run's marks, removed first

    @property
    def exit_code(self) -> int:
        return 1 if self.report.errors else 0


# --- reading ---------------------------------------------------------------------------------


def read_live(book: LiveWorkbook) -> RawForm:
    """The open workbook as a RawForm, located exactly as the file reader locates cells."""
    grids: dict[str, Grid] = {}

    def grid(name: str) -> Grid:
        if name not in grids:
            grids[name] = _grid(book.read(name, BLOCK))
        return grids[name]

    return raw_from_grids(list(book.sheet_names()), grid, book.name)


def _grid(values: Any) -> Grid:
    # an application gives None for an empty cell where the file reader gives "": same cleaning
    if not isinstance(values, (list, tuple)):
        values = [[values]]
    return [
        ["" if v is None else v for v in (row if isinstance(row, (list, tuple)) else [row])]
        for row in values
    ]


# --- checking and painting -------------------------------------------------------------------


def check_live(book: LiveWorkbook) -> LiveResult:
    """Clear the previous run's marks, check the open workbook and mark its problem cells."""
    with book.editing():
        cleared = _clear(book)
        report = evaluate(read_live(book))
        marks = plan_marks(report.findings)
        result = LiveResult(report, marks, cleared=cleared)
        names = set(book.sheet_names())
        applied = [
            Applied(
                m.sheet,
                m.cell,
                m.color,
                m.note,
                _hex(book.fill(m.sheet, m.cell)),
                book.note(m.sheet, m.cell),
            )
            for m in marks
            if m.sheet in names
        ]
        if applied:
            # the record goes in first: if painting stops half-way, --clear still finds every cell
            _save(book, applied)
        for a in applied:
            book.set_fill(a.sheet, a.cell, a.color)
            try:
                book.set_note(a.sheet, a.cell, a.note)
            except Exception:  # a protected sheet or a threaded comment: the colour still shows it
                result.notes_refused.append(f"{a.sheet}!{a.cell}")
            result.painted += 1
    return result


def clear_live(book: LiveWorkbook) -> Cleared:
    """Remove what `check_live` painted, restoring each cell's previous fill and note."""
    with book.editing():
        return _clear(book)


def _clear(book: LiveWorkbook) -> Cleared:
    cleared = Cleared()
    applied = _load(book)
    if applied is None:
        return cleared
    for a in applied:
        # each part: ours -> put back what was there; as before -> nothing to do (never painted,
        # or Excel refused it); anything else -> the user changed it since: leave it
        changed = False
        fill = _hex(book.fill(a.sheet, a.cell))
        if fill == a.color:
            book.set_fill(a.sheet, a.cell, a.prev_color)
        elif fill != _hex(a.prev_color):
            changed = True
        note = book.note(a.sheet, a.cell)
        if _same_note(note, a.note):
            book.set_note(a.sheet, a.cell, a.prev_note)
        elif not _same_note(note, a.prev_note):
            changed = True
        if changed:
            cleared.kept.append(f"{a.sheet}!{a.cell}")
        else:
            cleared.restored += 1
    book.save_record(None)
    return cleared


def _hex(color: str | None) -> str | None:
    return color.upper().lstrip("#")[-6:] if color else None


def _same_note(a: str | None, b: str | None) -> bool:
    # Excel may hand back a note with CR line breaks or a trailing newline
    def norm(s: str | None) -> str:
        return (s or "").replace("\r\n", "\n").replace("\r", "\n").strip()

    return norm(a) == norm(b)


# --- the record ------------------------------------------------------------------------------


def _save(book: LiveWorkbook, applied: list[Applied]) -> None:
    text = json.dumps(
        {"xltools_live": RECORD_VERSION, "marks": [a.to_dict() for a in applied]},
        ensure_ascii=False,
    )
    try:
        book.save_record(text)
    except LiveError:
        raise
    except Exception as e:
        raise LiveError(MESSAGES["record"].format(book=book.name, error=_short(e))) from None


def _load(book: LiveWorkbook) -> list[Applied] | None:
    text = book.load_record()
    if not text:
        return None
    try:
        doc = json.loads(text)
        if doc.get("xltools_live") != RECORD_VERSION:
            raise ValueError(LIVE.text("record_version", version=repr(doc.get("xltools_live"))))
        return [
            Applied(
                d["sheet"],
                d["cell"],
                d["color"],
                d["note"],
                d.get("prev_color"),
                d.get("prev_note"),
            )
            for d in doc["marks"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise LiveError(
            MESSAGES["bad-record"].format(book=book.name, error=_short(e), sheet=RECORD_SHEET)
        ) from None


def _short(e: BaseException) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:160] or type(e).__name__


def summary(result: LiveResult) -> str:
    """One or two lines for stderr after a run."""
    r = result.report
    lines = []
    if result.cleared.restored or result.cleared.kept:
        lines.append(LIVE.text("cleared_before", n=result.cleared.restored))
    if result.painted:
        lines.append(LIVE.text("painted", n=result.painted, errors=r.errors, warnings=r.warnings))
    else:
        lines.append(LIVE.text("nothing_to_paint", errors=r.errors, warnings=r.warnings))
    if result.notes_refused:
        lines.append(LIVE.text("notes_refused", cells=_cells(result.notes_refused)))
    return "\n".join(lines)


def clear_summary(cleared: Cleared) -> str:
    if not cleared.restored and not cleared.kept:
        return LIVE.nothing_to_clear
    text = LIVE.text("cleared", n=cleared.restored)
    if cleared.kept:
        text += LIVE.text("kept", cells=_cells(cleared.kept))
    return text


def _cells(cells: list[str]) -> str:
    """The first ten cells, 「、」-separated, with 等 when there are more."""
    return LIVE.list_join.join(cells[:10]) + (LIVE.and_more if len(cells) > 10 else "")
