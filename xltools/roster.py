"""The roster: which agencies must report, with their e-mail addresses.

A roster is an .xlsx or .csv file with a header row. Columns are found by name (after
normalising), so a coordinator's own sheet with extra columns works as is.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from xltools import XltoolsError, textsafe
from xltools.addresses import split_addresses
from xltools.messages import FETCH, ROSTER

# canonical field -> accepted header captions (compared after _normalise_header)
COLUMNS: dict[str, tuple[str, ...]] = {field: tuple(caps) for field, caps in ROSTER.columns.items()}

# how far down a sheet the header row may be (a title row or two above it is common)
HEADER_SEARCH_ROWS = 10

# zero-width and direction marks pasted with names from web pages and Word
_INVISIBLE = re.compile(r"[\x80-\x9f\u200b-\u200f\u202a-\u202e\u2060\ufeff]")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    name: str
    email: str | None = None
    contact: str | None = None
    uscc: str | None = None
    group: str | None = None


def normalise_name(s: str) -> str:
    """A matching key for an agency name: NFKC (full-width → half-width, （ → (),
    no whitespace or invisible characters, case-folded Latin letters."""
    return textsafe.normalise(_INVISIBLE.sub("", s or "")).casefold()


def normalise_uscc(s: str | None) -> str:
    return normalise_name(s or "").upper()


def clean_text(value: object) -> str | None:
    """Cell text as data: one line, no control characters (CR/LF included)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return textsafe.one_line(_INVISIBLE.sub("", str(value)), 500) or None


class RosterIndex:
    """The one roster matcher (consolidate and mail both use it): an agency is the roster
    entry with its 统一社会信用代码, else with its normalised name, else — only when the caller
    passes one, for a file that names no agency — with the normalised file name."""

    def __init__(self, entries: Iterable[RosterEntry]):
        self.entries = list(entries)
        self.by_code: dict[str, RosterEntry] = {}
        self.by_name: dict[str, RosterEntry] = {}
        for r in self.entries:
            if r.uscc:
                self.by_code.setdefault(normalise_uscc(r.uscc), r)
            self.by_name.setdefault(normalise_name(r.name), r)

    def match(
        self, name: str | None = None, uscc: str | None = None, file_stem: str | None = None
    ) -> RosterEntry | None:
        code = normalise_uscc(uscc)
        hit = self.by_code.get(code) if code else None
        if hit is None and name:
            hit = self.by_name.get(normalise_name(name))
        if hit is None and file_stem:
            hit = self.by_name.get(normalise_name(file_stem))
        return hit

    def by_sender(self, address: str | None) -> RosterEntry | None:
        """The entry whose 电子邮箱 lists this address (a submission by e-mail that names no
        agency); None when no entry or several entries share it."""
        if not hasattr(self, "_emails"):
            self._emails: dict[str, list[RosterEntry]] = {}
            for r in self.entries:
                for a in split_addresses(r.email):
                    self._emails.setdefault(a.casefold(), []).append(r)
        hits = self._emails.get((address or "").strip().casefold(), [])
        return hits[0] if len(hits) == 1 else None

    def sender_mismatch(self, sender: str | None, agency: str | None) -> str | None:
        """A warning when the sender's address is the roster address of another roster
        agency than the one the file names (an agency reporting for another, or a wrong name)."""
        hit = self.by_sender(sender)
        named = self.match(name=agency) if agency else None
        if hit is None or named is None or named is hit:
            return None
        return FETCH.sender_mismatch.format(sender=sender, sender_agency=hit.name, agency=agency)


def match(
    entries: Iterable[RosterEntry], name: str | None = None, uscc: str | None = None
) -> RosterEntry | None:
    """The roster entry for an agency: by 统一社会信用代码 first, else by normalised name."""
    return RosterIndex(entries).match(name, uscc)


def load_roster(path: str | Path) -> list[RosterEntry]:
    """Read a roster (.xlsx or .csv). Raises XltoolsError with a Chinese message."""
    path = Path(path)
    if not path.is_file():
        raise XltoolsError(ROSTER.text("not_found", path=path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(path)
    else:
        raise XltoolsError(ROSTER.text("bad_suffix", name=path.name))
    return _entries(path, rows)


def _normalise_header(s: object) -> str:
    text = normalise_name(str(s or ""))
    # "单位名称(必填)", "*单位名称", "单位名称：" all name the same column
    text = _HEADER_MARKS.sub("", text)
    return text.strip(ROSTER.header_strip)


_HEADER_MARKS = re.compile(r"\((?:" + "|".join(map(re.escape, ROSTER.header_marks)) + r")\)")
_HEADER_LOOKUP = {_normalise_header(c): field for field, caps in COLUMNS.items() for c in caps}


def _entries(path: Path, rows: list[list[object]]) -> list[RosterEntry]:
    header_at, columns = None, {}
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for j, cell in enumerate(row):
            field = _HEADER_LOOKUP.get(_normalise_header(cell))
            if field and field not in found:
                found[field] = j
        if "name" in found:
            header_at, columns = i, found
            break
    if header_at is None:
        raise XltoolsError(ROSTER.text("no_header", name=path.name, rows=HEADER_SEARCH_ROWS))

    entries: list[RosterEntry] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    duplicates: list[str] = []
    for line, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = {f: clean_text(row[j]) if j < len(row) else None for f, j in columns.items()}
        name = values.get("name")
        if not name:
            continue
        key = normalise_name(name)
        if key in seen_names:
            duplicates.append(
                ROSTER.text("duplicate_name", name=name, first=seen_names[key], line=line)
            )
            continue
        seen_names[key] = line
        uscc = values.get("uscc")
        if uscc:
            uscc = normalise_uscc(uscc)
            if uscc in seen_codes:
                duplicates.append(
                    ROSTER.text("duplicate_uscc", uscc=uscc, first=seen_codes[uscc], line=line)
                )
            seen_codes[uscc] = line
        entries.append(
            RosterEntry(
                name=name,
                email=values.get("email"),
                contact=values.get("contact"),
                uscc=uscc,
                group=values.get("group"),
            )
        )
    if duplicates:
        raise XltoolsError(
            ROSTER.text("duplicates", name=path.name, items=ROSTER.join.join(duplicates))
        )
    if not entries:
        raise XltoolsError(ROSTER.text("empty", name=path.name))
    return entries


def _xlsx_rows(path: Path) -> list[list[object]]:
    # openpyxl costs 0.17 s at start-up (-X importtime), which a consolidation, the season's
    # store and the mail do not otherwise pay: only an .xlsx roster needs it
    import openpyxl  # noqa: PLC0415

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise XltoolsError(ROSTER.text("unreadable", name=path.name, error=exc)) from exc
    try:
        # the first sheet that has a 单位名称 header; else the first sheet (for the error message)
        for ws in wb.worksheets:
            ws.reset_dimensions()  # WPS may declare a wrong <dimension>
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            if any(
                _HEADER_LOOKUP.get(_normalise_header(c)) == "name"
                for r in rows[:HEADER_SEARCH_ROWS]
                for c in r
            ):
                return rows
        return []
    finally:
        wb.close()


def _csv_rows(path: Path) -> list[list[object]]:
    data = path.read_bytes()
    # Excel on Chinese Windows saves "CSV" as GBK; everything else saves UTF-8 (often with BOM)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise XltoolsError(ROSTER.text("bad_encoding", name=path.name))
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count) if first else ","
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
