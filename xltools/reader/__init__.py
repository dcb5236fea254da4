"""Any input -> RawForm (xltools.reader.base). Cleaning and checking it: xltools.evaluate.

Which reader reads a file (xltools.reader.workbook, or xltools.published for a published
report) is xltools.pipeline.read_raw's choice, made above both: this package's __init__ runs
whenever the published reader imports RawForm, so it imports no reader.
"""

from __future__ import annotations

from xltools.reader.base import RawCell, RawForm

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".et", ".xlsb", ".xltx", ".xltm"})
DOCUMENT_SUFFIXES = frozenset(
    {".txt", ".docx", ".html", ".htm", ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
)


__all__ = ["RawCell", "RawForm", "WORKBOOK_SUFFIXES", "DOCUMENT_SUFFIXES"]
