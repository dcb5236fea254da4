"""Any input -> RawForm (xltools.reader.base). Cleaning and checking it: xltools.evaluate."""

from __future__ import annotations

from pathlib import Path

from xltools.reader.base import RawCell, RawForm

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".et", ".xlsb", ".xltx", ".xltm"})
DOCUMENT_SUFFIXES = frozenset(
    {".txt", ".docx", ".html", ".htm", ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
)


def read_raw(path: str | Path) -> RawForm:
    """Read any supported input into a RawForm; raises UnreadableError."""
    path = Path(path)
    if path.suffix.lower() in DOCUMENT_SUFFIXES:
        from xltools.published import read_published

        return read_published(path)
    from xltools.reader.workbook import read_workbook

    return read_workbook(path)


__all__ = ["RawCell", "RawForm", "read_raw", "WORKBOOK_SUFFIXES", "DOCUMENT_SUFFIXES"]
