"""Tables 二、三、四 of the report laid out from the form definition.

The template's sheet of each table already holds the official layout: caption cells with their
merged ranges (the article rows of table 二, the three-level header of table 三 with its
vertical group of results, table 四's two-level header) and the input cells with theirs. The
published table is that grid without the sheet's title row, which becomes the heading above it.
Nothing about the tables is written here.
"""

from __future__ import annotations

from typing import Any, Callable

from xltools.publish.model import Cell, Table
from xltools.spec import Form, Sheet, col_letter, parse_a1

TITLE_STYLE = "title"


def _span(rng: str) -> tuple[int, int, int, int]:
    a, _, b = rng.partition(":")
    r1, c1 = parse_a1(a)
    r2, c2 = parse_a1(b or a)
    return r1, c1, r2, c2


def table_sheets(form: Form) -> list[Sheet]:
    """The sheets that are published as tables: those holding the numbers of tables 2–4."""
    return [s for s in form.sheets if any(f.is_numeric and not f.is_meta for f in s.fields)]


def layout(sheet: Sheet, text_of: Callable[[str], str]) -> Table:
    """The sheet's grid as a Table; `text_of(key)` gives what a value cell shows."""
    heading = next((c.text for c in sheet.captions if c.style == TITLE_STYLE), sheet.name)
    ranges: list[tuple[tuple[int, int, int, int], str, str, Any]] = []
    for c in sheet.captions:
        if c.style != TITLE_STYLE:
            ranges.append((_span(c.range), c.text, c.style, None))
    for f in sheet.fields:
        ranges.append((_span(f.merge or f.cell), text_of(f.key), "value", f.key))
    top = min(r[0][0] for r in ranges)
    left = min(r[0][1] for r in ranges)
    bottom = max(r[0][2] for r in ranges)
    right = max(r[0][3] for r in ranges)
    cells: list[Cell] = []
    taken: set[tuple[int, int]] = set()
    for (r1, c1, r2, c2), text, kind, key in ranges:
        cells.append(Cell(r1 - top, c1 - left, r2 - r1 + 1, c2 - c1 + 1, text, kind, key))
        taken.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
    # a position the sheet leaves empty is still a cell of the table
    for r in range(top, bottom + 1):
        for c in range(left, right + 1):
            if (r, c) not in taken:
                cells.append(Cell(r - top, c - left, 1, 1, "", "empty"))
    cells.sort(key=lambda x: (x.row, x.col))
    widths = tuple(float(sheet.widths.get(col_letter(c), 9)) for c in range(left, right + 1))
    header_rows = 0
    if sheet.print_rows:
        first, last = (int(x) for x in sheet.print_rows.split(":"))
        if first == top:
            header_rows = last - top + 1
    return Table(heading, bottom - top + 1, right - left + 1, tuple(cells), widths, header_rows)
