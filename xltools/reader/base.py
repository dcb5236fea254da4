"""The reader's intermediate shape: raw cell contents located by key, before cleaning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from xltools.findings import Finding


class RawCell(NamedTuple):
    """One cell as found. Immutable; a named tuple rather than a frozen dataclass because a
    reader makes one per field of every file (about 220), and a tuple is made in a third of
    the time."""

    raw: Any  # as found: str, int, float, bool, datetime, None
    sheet: str | None  # sheet name (documents: the template sheet the key belongs to)
    cell: str | None  # A1 address (documents: the template cell of the key)
    uncached_formula: bool = False  # a formula cell with no cached result: compute it


@dataclass(slots=True)
class RawForm:
    form: str  # form id whose layout the input follows: "2021" / "2019"
    source: str  # the input path as given
    cells: dict[str, RawCell] = field(default_factory=dict)
    findings: list[Finding] = field(
        default_factory=list
    )  # reader findings (form-mismatch, text-vs-table …)
    kind: str = "workbook"  # "workbook" | "document"
    skipped_sheets: set[str] = field(
        default_factory=set
    )  # sheets not read (missing / layout altered)
    typed_totals: bool = (
        False  # totals are figures as typed or printed, not formulas (documents, imports)
    )
    # Whether a total is the template's formula or a figure typed over it matters only for a
    # total with an unusable part, so it is asked then: keys known to be typed, and a probe
    # the reader may leave (key -> True formula, False typed, None not known)
    typed_keys: set[str] = field(default_factory=set)
    formula_of: Callable[[str], bool | None] | None = None
