"""The published report as plain data, before it becomes Word or HTML.

Both writers render the same `Document`, so the Word file and the web page cannot say
different things. Text comes in `Piece`s: `mark=True` is a place for the office to write
(【请填写…】), highlighted in both formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    mark: bool = False


@dataclass(frozen=True, slots=True)
class Paragraph:
    kind: str  # "opening" | "heading" | "subheading" | "body"
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


@dataclass(frozen=True, slots=True)
class Cell:
    row: int  # 0-based position in the table's grid
    col: int
    rowspan: int
    colspan: int
    text: str
    kind: str  # caption style (header, label, section, corner, group) or "value"
    key: str | None = None  # the form key of a value cell


@dataclass(frozen=True, slots=True)
class Table:
    heading: str  # the form's caption of the table (its sheet's title)
    nrows: int
    ncols: int
    cells: tuple[Cell, ...]  # the cells that start a (merged) range, row by row
    widths: tuple[float, ...]  # relative column widths, from the form's sheet
    header_rows: int = 0  # rows repeated at the top of every page

    def merged(self) -> list[tuple[int, int, int, int]]:
        """(first row, first col, last row, last col) of every merged range, 0-based."""
        return sorted(
            (c.row, c.col, c.row + c.rowspan - 1, c.col + c.colspan - 1)
            for c in self.cells
            if c.rowspan > 1 or c.colspan > 1
        )

    def at(self, row: int, col: int) -> Cell | None:
        for c in self.cells:
            if c.row <= row < c.row + c.rowspan and c.col <= col < c.col + c.colspan:
                return c
        return None


@dataclass(slots=True)
class Document:
    title: tuple[str, ...]  # title lines
    agency: str
    year: int
    form: str
    draft: str | None  # the header text when published with --force from a workbook with errors
    blocks: list[Paragraph | Table] = field(default_factory=list)
    sentences: dict[str, str] = field(default_factory=dict)  # the figure sentences said, by name
