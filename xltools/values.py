"""Clean one raw cell into the value the form asks for, the way FORMAT.md says.

A blank or a placeholder is never taken for 0; a number that needed cleaning is accepted with
a `value-coerced` warning; anything else that is not a usable number is an error finding and
the value is None, so later rules skip it instead of reporting a consequence twice.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from xltools.findings import Finding, fmt, make_finding  # noqa: F401  (make_finding re-exported for the published reader until it imports findings)
from xltools.messages import DETAIL, GRAMMAR
from xltools.reader.base import RawCell
from xltools.spec import Field, Form

PLACEHOLDERS = frozenset(GRAMMAR.placeholders)
_ERROR_PREFIXES = ("#", "Err:")
_UNITS = re.compile(r"(件|个|项|条|次|宗|份|人次|万元|元)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_YEAR = re.compile(r"^(\d{4})(年|年度)?$")


def _display(raw: Any) -> str:
    s = str(raw)
    return s if len(s) <= 40 else s[:40] + "…"


def clean_number(form: Form, f: Field, rc: RawCell) -> tuple[Any, Finding | None]:
    raw = rc.raw
    # fast path: what a spreadsheet stores for a typed count
    if type(raw) is float or type(raw) is int:
        if raw == raw and not math.isinf(raw):
            return _check_number(form, f, rc, raw, None)
        return None, make_finding(
            form, "value-not-number", f, sheet=rc.sheet, cell=rc.cell, raw=_display(raw), detail=""
        )
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        detail = DETAIL.uncached_formula if rc.uncached_formula else DETAIL.blank_cell
        return None, make_finding(
            form, "value-blank", f, sheet=rc.sheet, cell=rc.cell, detail=detail
        )
    if isinstance(raw, bool):
        return None, make_finding(
            form,
            "value-not-number",
            f,
            sheet=rc.sheet,
            cell=rc.cell,
            raw=_display(raw),
            detail=DETAIL.boolean,
        )
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return None, make_finding(
            form,
            "value-not-number",
            f,
            sheet=rc.sheet,
            cell=rc.cell,
            raw=_display(raw),
            detail=DETAIL.date_value,
        )
    s = str(raw).strip()
    if s.startswith(_ERROR_PREFIXES):
        return None, make_finding(
            form,
            "value-not-number",
            f,
            sheet=rc.sheet,
            cell=rc.cell,
            raw=_display(s),
            detail=DETAIL.error_value,
        )
    t = unicodedata.normalize("NFKC", s)
    t = re.sub(r"\s+", "", t)
    if t.lower() in PLACEHOLDERS:
        return None, make_finding(
            form,
            "value-blank",
            f,
            sheet=rc.sheet,
            cell=rc.cell,
            detail=DETAIL.placeholder.format(raw=_display(s)),
        )
    t = _UNITS.sub("", t)
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    if not _NUMBER.match(t):
        return None, make_finding(
            form, "value-not-number", f, sheet=rc.sheet, cell=rc.cell, raw=_display(s), detail=""
        )
    v: float | int = float(t)
    if v.is_integer() and "." not in t:
        v = int(t)
    return _check_number(form, f, rc, v, s)


def _check_number(form: Form, f: Field, rc: RawCell, v: float | int, coerced_from: str | None):
    if f.type in ("count", "signed"):
        if isinstance(v, float):
            if not v.is_integer():
                return None, make_finding(
                    form, "value-not-integer", f, sheet=rc.sheet, cell=rc.cell, actual=v
                )
            v = int(v)
    elif f.type == "amount" and isinstance(v, float) and v.is_integer():
        v = int(v)
    if v < 0 and f.type != "signed":
        return None, make_finding(form, "value-negative", f, sheet=rc.sheet, cell=rc.cell, actual=v)
    if coerced_from is not None:
        return v, make_finding(
            form,
            "value-coerced",
            f,
            sheet=rc.sheet,
            cell=rc.cell,
            actual=v,
            raw=_display(coerced_from),
        )
    return v, None


def clean_meta(form: Form, f: Field, rc: RawCell | None) -> tuple[Any, Finding | None]:
    raw = rc.raw if rc else None
    sheet, cell = (rc.sheet, rc.cell) if rc else (f.sheet, f.cell)
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        if f.required:
            return None, make_finding(
                form,
                "meta-missing",
                f,
                sheet=sheet,
                cell=cell,
                detail=DETAIL.meta_empty.format(label=f.row_caption),
            )
        return None, None
    if f.type == "year":
        year = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer():
            year = int(raw)
        elif isinstance(raw, str):
            m = _YEAR.match(unicodedata.normalize("NFKC", raw).replace(" ", ""))
            year = int(m.group(1)) if m else None
        if year is None or not 2019 <= year <= dt.date.today().year + 1:
            return None, make_finding(
                form,
                "meta-missing",
                f,
                sheet=sheet,
                cell=cell,
                detail=DETAIL.bad_year.format(raw=_display(raw)),
            )
        return year, None
    if f.type == "date":
        if isinstance(raw, dt.datetime):
            return raw.date(), None
        if isinstance(raw, dt.date):
            return raw, None
        s = unicodedata.normalize("NFKC", str(raw))
        m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", s.replace(" ", ""))
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), None
            except ValueError:
                pass
        return s, None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = re.sub(r"\s+", " ", str(raw)).strip()
    if f.type == "choice":
        text = text.replace(" ", "")
    return text, None
