"""The 导入说明 sheet: what importing a published report found that the workbook alone cannot
show (the document's form mismatch, its text against its tables, row labels as printed) and
why each unfilled cell is unfilled. `xltools import` writes it; the workbook reader reads the
findings back, so that `check`, `consolidate` and `mail` report them for the imported workbook.

The sheet is data from a file a stranger may have edited: only the import's own rules are
taken back, their severity comes from the catalogue (not from the sheet), texts are cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from xltools.findings import Finding
from xltools.messages import Section
from xltools.vocabulary import SEVERITY_LABELS

MSG = Section("published")
SHEET = MSG.notes_sheet
HEADER = tuple(MSG.notes_header)
KIND_FINDING, KIND_UNREAD, KIND_NOTE = MSG.kind_finding, MSG.kind_unread, MSG.kind_note
# findings only the import can see; anything else is found again from the workbook itself
IMPORT_RULES = frozenset({"form-mismatch", "text-vs-table", "label-variant"})
MAX_ROWS = 5000
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class Unread:
    key: str
    sheet: str | None
    cell: str | None
    why: str

    def to_dict(self) -> dict:
        return {"key": self.key, "sheet": self.sheet, "cell": self.cell, "why": self.why}


def rows(
    source: str, findings: Iterable[Finding], unread: Iterable[Unread], notes: Iterable[str]
) -> list[tuple]:
    """The sheet's rows after the header."""
    out: list[tuple] = [
        (KIND_NOTE, "", "", "", "", "", MSG.notes_source.format(source=source), "", "")
    ]
    out += [(KIND_NOTE, "", "", "", "", "", n, "", "") for n in notes]
    for f in findings:
        if f.rule in IMPORT_RULES:
            out.append(
                (
                    KIND_FINDING,
                    f.sheet or "",
                    f.cell or "",
                    f.key or "",
                    f.rule,
                    SEVERITY_LABELS.get(f.severity, f.severity),
                    f.message,
                    _cell_value(f.expected),
                    _cell_value(f.actual),
                )
            )
    for u in unread:
        out.append((KIND_UNREAD, u.sheet or "", u.cell or "", u.key, "", "", u.why, "", ""))
    return out


def _cell_value(v: Any) -> Any:
    return "" if v is None else v if isinstance(v, (int, float, str)) else str(v)


def write_sheet(wb, table: list[tuple]) -> None:
    """Add the sheet to an xlsxwriter workbook (text written as text, never as a formula)."""
    ws = wb.add_worksheet(SHEET)
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    for c, (h, w) in enumerate(zip(HEADER, (10, 8, 8, 28, 14, 6, 80, 8, 8))):
        ws.write_string(0, c, h, head)
        ws.set_column(c, c, w)
    for r, row in enumerate(table, 1):
        for c, v in enumerate(row):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(r, c, v, wrap)
            else:
                ws.write_string(r, c, str(v), wrap)
    ws.freeze_panes(1, 0)


def read_sheet(grid: list[list[Any]], catalogue: dict) -> list[Finding]:
    """The import's findings kept in the sheet (a grid of values from A1)."""
    if not grid or tuple(str(x).strip() for x in grid[0][: len(HEADER)]) != HEADER:
        return []
    out: list[Finding] = []
    for row in grid[1 : MAX_ROWS + 1]:
        row = list(row) + [""] * (len(HEADER) - len(row))
        kind, sheet, cell, key, rule, _, message, expected, actual = row[: len(HEADER)]
        if str(kind).strip() != KIND_FINDING or rule not in IMPORT_RULES or rule not in catalogue:
            continue
        out.append(
            Finding(
                rule,
                catalogue[rule].severity,
                _text(message),
                _text(sheet) or None,
                _text(cell) or None,
                _text(key) or None,
                _number(expected),
                _number(actual),
            )
        )
    return out


def _text(v: Any) -> str:
    return str(v if v is not None else "").strip()[:MAX_TEXT]


def _number(v: Any) -> Any:
    if isinstance(v, bool) or v in (None, ""):
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v if isinstance(v, (int, float)) else _text(v)
