"""Import a published report: read it (xltools.published) -> check it (xltools.evaluate) ->
write the filled template with its 导入说明 sheet (xltools.template, xltools.published.notes).

A pipeline step, kept outside the reader so that reading a document never depends on the
rules or the template (to be folded into xltools.pipeline once that exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltools.evaluate import evaluate
from xltools.findings import Report
from xltools.fsutil import atomic_path
from xltools.published import notes
from xltools.published.notes import Unread
from xltools.published.reader import read_document
from xltools.spec import load_form
from xltools.template import check_keys, new_workbook, write_form_sheets


@dataclass
class Imported:
    report: Report  # findings as `check` gives them; values as written
    unread: list[Unread] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    output: str = ""

    def to_dict(self) -> dict:
        return {
            **self.report.to_dict(),
            "output": self.output,
            "values": {
                k: (v.isoformat() if hasattr(v, "isoformat") else v)
                for k, v in self.report.values.items()
            },
            "unread": [u.to_dict() for u in self.unread],
            "notes": list(self.notes),
        }


def import_published(path: str | Path, output: str | Path) -> Imported:
    """Read a published report, check it, and write the filled template to `output` (written
    to a temporary name and renamed). Values written: the cleaned value, or the text as
    published where it is not a usable number ("/", "无"), so that checking the output
    reports the same cells again; a total is the printed figure, never a formula."""
    reading = read_document(path)
    raw = reading.raw
    report = evaluate(raw)
    form = load_form(raw.form)
    values: dict[str, Any] = {}
    for f in form.fields:
        rc = raw.cells.get(f.key)
        v = report.values.get(f.key)
        if v is None and rc is not None and rc.raw not in (None, ""):
            v = rc.raw
        if v is None and f.is_meta:
            continue
        # a total the document leaves blank, or that could not be read, stays blank: the
        # template's formula would put a figure there that the report does not print
        values[f.key] = "" if v is None and f.is_total else v
    unread = [
        Unread(f.key, f.sheet, f.cell, reading.unread[f.key])
        for f in form.fields
        if f.key in reading.unread
    ]
    check_keys(form, values)
    table = notes.rows(Path(path).name, raw.findings, unread, reading.notes)
    with atomic_path(Path(output)) as tmp:
        wb = new_workbook(tmp)
        write_form_sheets(wb, form, values)
        notes.write_sheet(wb, table)
        wb.close()
    report.values = {k: (None if v == "" else v) for k, v in values.items()}
    return Imported(report, unread, list(reading.notes), str(output))
