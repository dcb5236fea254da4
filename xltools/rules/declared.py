"""Rules whose findings are made where the evidence is, not on the cleaned values: cell values
(while cleaning each cell, where the raw text is at hand), the layout (while reading the
workbook), a published report's text against its tables (while reading the document), an agency's
indicators against its peers (while consolidating).

They are rule objects like the others — id, severity, description from the catalogue, listed
by `xltools schema` — whose `check` on cleaned values has nothing to add; `stage` says which
step reports them. None has a formula in the live 校验 sheet (the sheet's own data validation
guards the values)."""

from __future__ import annotations

from xltools.rules.base import (
    STAGE_CLEANING,
    STAGE_DOCUMENT,
    STAGE_PEERS,
    STAGE_READING,
    Rule,
    kind,
)


@kind("cell_value")
class CellValue(Rule):
    """value-blank, value-not-number, value-not-integer, value-negative, value-coerced,
    meta-missing: reported by xltools.values while cleaning each cell."""

    stage = STAGE_CLEANING


@kind("layout")
class Layout(Rule):
    """form-mismatch: the readers report a form that does not match the year, renamed, missing
    or altered sheets (xltools.reader.workbook, xltools.evaluate)."""

    stage = STAGE_READING


@kind("document_text")
class DocumentText(Rule):
    """text-vs-table: figures in a published report's text against its tables (reported by the
    published-report reader)."""

    stage = STAGE_DOCUMENT


@kind("peers")
class Peers(Rule):
    """peer-zero, peer-count, peer-rate: an agency's indicators against the other agencies of
    its group, judged by a consolidation (xltools.analytics; thresholds in indicators.toml)."""

    stage = STAGE_PEERS
