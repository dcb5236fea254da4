"""The form as HTML tables in the official layout, built from the form definition.

Each sheet of the spec becomes a grid of cells with row and column spans (the merged ranges of
the template); input cells carry the agency's value, and a cell with findings carries the same
mark as the annotated copy (`annotate.plan_marks`: one mark per cell, errors over warnings) and
a number that points at its message beside the table. Nothing here produces HTML: the Jinja
templates render this model and escape every text in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from xltools.annotate import plan_marks
from xltools.findings import Finding, count
from xltools.spec import Form, Sheet, col_letter, parse_a1
from xltools.vocabulary import ERROR, SEVERITY_LABELS, WARNING
from xltools.vocabulary import SEVERITY_FILLS as FILLS

EXCEL_WIDTH_PX = 7.0  # one Excel width unit is about 7 px at 96 dpi
DEFAULT_WIDTH = 8.43


@dataclass(slots=True)
class Cell:
    text: str = ""
    kind: str = (
        "empty"  # title/hint/section/header/corner/label/group/vertical/text/input/total/empty
    )
    rowspan: int = 1
    colspan: int = 1
    ref: str = ""  # A1 of the top-left cell
    key: str | None = None
    mark: str | None = None  # "error" / "warning"
    numbers: list[int] = field(default_factory=list)  # message numbers on this cell
    changed: tuple[Any, Any] | None = None  # (old, new) when compared with another version
    note: str = ""  # the tooltip: the messages of the cell, as the annotated copy's note


@dataclass(slots=True)
class Message:
    number: int
    severity: str
    label: str  # 错误 / 警告
    rule: str
    where: str  # 表三!D5 or ""
    sheet: str | None
    anchor: str | None
    text: str
    accepted: str | None = None  # the note when a warning was explained (已说明)
    caption: str = ""  # the cell's row and column captions in the official table
    value: str | None = None  # what the cell holds (as typed when it could not be used)


@dataclass(slots=True)
class SheetView:
    name: str
    anchor: str
    widths: list[int]  # px per column
    rows: list[list[Cell]]
    errors: int = 0
    warnings: int = 0


@dataclass(slots=True)
class FormView:
    sheets: list[SheetView]
    messages: list[Message]  # every finding, numbered; those without a cell come first
    general: list[Message]  # findings with no cell (unreadable file, layout)
    colors: dict[str, str]


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)


def _span(rng: str) -> tuple[int, int, int, int]:
    a, _, b = rng.partition(":")
    r1, c1 = parse_a1(a)
    r2, c2 = parse_a1(b or a)
    return r1, c1, r2, c2


def build_view(
    form: Form,
    values: dict[str, Any] | None,
    findings: list[Finding] | None = None,
    previous: dict[str, Any] | None = None,
    accepted: dict[tuple[str, str | None], str] | None = None,
) -> FormView:
    """`values`: key -> value as read; `findings` to mark; `previous`: the values of the version
    to compare with (changed cells are outlined); `accepted`: (rule, cell) -> note of explained
    warnings."""
    values = values or {}
    findings = list(findings or [])
    accepted = accepted or {}
    messages: list[Message] = []
    general: list[Message] = []
    by_cell: dict[tuple[str, str], list[int]] = {}
    # number the located findings in the order of the sheets and cells, like reading the form
    order = {s.name: i for i, s in enumerate(form.sheets)}
    by_place = {(fl.sheet, fl.cell): fl for fl in form.fields}

    def sort_key(f: Finding):
        if not (f.sheet and f.cell):
            return (-1, 0, 0)
        try:
            r, c = parse_a1(f.cell)
        except ValueError:
            r, c = 0, 0
        return (order.get(f.sheet, 99), r, c)

    for n, f in enumerate(sorted(findings, key=sort_key), start=1):
        sheet_anchor = _anchor(form, f.sheet) if f.sheet in order else None
        field_ = form.by_key.get(f.key) if f.key else None
        if field_ is None and f.sheet and f.cell:
            field_ = by_place.get((f.sheet, f.cell))
        m = Message(
            n,
            f.severity,
            SEVERITY_LABELS.get(f.severity, f.severity),
            f.rule,
            f.where,
            f.sheet,
            f"{sheet_anchor}-{f.cell}" if sheet_anchor and f.cell else None,
            f.message,
            accepted.get((f.rule, f.cell)) if f.severity != ERROR else None,
        )
        if field_ is not None and f.cell:
            m.caption = " / ".join(x for x in (field_.row_caption, field_.col_caption) if x)
            value = values.get(field_.key)
            m.value = display(value if value is not None else f.actual)
        messages.append(m)
        if f.sheet and f.cell:
            by_cell.setdefault((f.sheet, f.cell), []).append(n)
        else:
            general.append(m)
    marks = {(m.sheet, m.cell): m for m in plan_marks(findings)}
    actuals = {
        (f.sheet, f.cell): f.actual for f in findings if f.sheet and f.cell and f.actual is not None
    }
    sheets = [
        _sheet_view(form, s, values, marks, by_cell, previous, messages, actuals)
        for s in form.sheets
    ]
    return FormView(
        sheets, messages, general, {"error": "#" + FILLS[ERROR], "warning": "#" + FILLS["warning"]}
    )


def _anchor(form: Form, sheet: str | None) -> str:
    for i, s in enumerate(form.sheets):
        if s.name == sheet:
            return f"s{i}"
    return "s"


def _sheet_view(
    form: Form,
    sheet: Sheet,
    values: dict[str, Any],
    marks,
    by_cell,
    previous,
    messages: list[Message],
    actuals: dict[tuple[str, str], Any],
) -> SheetView:
    items: dict[tuple[int, int], Cell] = {}
    covered: set[tuple[int, int]] = set()
    max_r = max_c = 1

    def place(rng: str, cell: Cell) -> None:
        nonlocal max_r, max_c
        r1, c1, r2, c2 = _span(rng)
        cell.rowspan, cell.colspan, cell.ref = r2 - r1 + 1, c2 - c1 + 1, f"{col_letter(c1)}{r1}"
        items[(r1, c1)] = cell
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1):
                    covered.add((r, c))
        max_r, max_c = max(max_r, r2), max(max_c, c2)

    for cap in sheet.captions:
        kind = "vertical" if cap.vertical else cap.style  # the form says which labels stand
        place(cap.range, Cell(cap.text, kind))
    if sheet.name == form.cover["sheet"]:
        place(form.cover["title_cell"], Cell(form.full_title, "text"))
        place(form.cover["form_cell"], Cell(form.marker, "text"))
    for f in sheet.fields:
        value = values.get(f.key)
        cell = Cell(display(value), "total" if f.is_total else "input", key=f.key)
        mark = marks.get((sheet.name, f.cell))
        if mark:
            cell.mark, cell.note = mark.severity, mark.note
            cell.numbers = by_cell.get((sheet.name, f.cell), [])
            if value is None and (sheet.name, f.cell) in actuals:
                # show what the agency typed when it could not be used ("/", "2件")
                cell.text = display(actuals[(sheet.name, f.cell)])
        if previous is not None and f.key in previous and previous.get(f.key) != value:
            cell.changed = (display(previous.get(f.key)), display(value))
        place(f.merge or f.cell, cell)
    rows: list[list[Cell]] = []
    for r in range(1, max_r + 1):
        row = []
        for c in range(1, max_c + 1):
            if (r, c) in covered:
                continue
            row.append(items.get((r, c)) or Cell(ref=f"{col_letter(c)}{r}"))
        rows.append(row)
    widths = [
        round(sheet.widths.get(col_letter(c), DEFAULT_WIDTH) * EXCEL_WIDTH_PX + 5)
        for c in range(1, max_c + 1)
    ]
    errors = count((m for m in messages if m.sheet == sheet.name), ERROR)
    warnings = count((m for m in messages if m.sheet == sheet.name), WARNING)
    return SheetView(sheet.name, _anchor(form, sheet.name), widths, rows, errors, warnings)


def changed_cells(
    form: Form, old: dict[str, Any], new: dict[str, Any]
) -> list[tuple[str, str, str, str, str]]:
    """(where, row caption, column caption, old, new) for every key whose value differs."""
    out = []
    for f in form.fields:
        a, b = old.get(f.key), new.get(f.key)
        if a != b:
            out.append((f.where, f.row_caption, f.col_caption, display(a), display(b)))
    return out
