"""Text that came from a workbook is data everywhere it goes."""

from __future__ import annotations

import math
import re
import unicodedata

from xltools.messages import NAMES

# characters XML 1.0 cannot hold (openpyxl raises on them)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_SPACES = re.compile(r"\s+")


def safe_text(text: str, limit: int = 32000) -> str:
    """Storable in a cell: illegal XML characters removed, bounded length."""
    text = str(text)
    if text.isprintable():  # nearly every text, and one quick pass (no control characters)
        return text[:limit]
    return _ILLEGAL.sub("", text)[:limit]


def one_line(text: str, limit: int = 200) -> str:
    """For headers, file names and one-line messages: no control characters or line breaks."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", str(text))).strip()[:limit]


def normalise(text: str) -> str:
    """Compare captions and names: NFKC (full-width -> half-width), no whitespace at all."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text)))


def safe_filename(text: str, limit: int = 80) -> str:
    """A file name built from workbook text: no path separators, no traversal, no controls."""
    s = one_line(text, 500)
    s = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", s)
    s = s.strip(" .")
    s = re.sub(r"\.{2,}", "_", s)
    return (s or NAMES.unnamed)[:limit]


def display_width(text: str) -> int:
    """Columns the text takes in a terminal or a spreadsheet cell: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """Lines the text takes when wrapped in a cell `width` characters wide."""
    return max(1, math.ceil(display_width(text) / max(width - 1, 1)))
