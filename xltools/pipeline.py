"""The one way through: read -> clean -> rules -> Report.

    spec -> readers (RawForm) -> values -> rules -> findings (Report)
         -> annotate / consolidate -> mail

`read_raw` picks the reader by the file's suffix: a workbook (xltools.reader.workbook) or a
published report (xltools.published). It lives here, above both readers, and not in
xltools.reader's __init__: the published reader builds xltools.reader.base's RawForm, so a
reader package that imported it would be an import cycle.

`check_file` reads any supported input and checks it in this process (xltools.batch runs it
in isolated workers). Importing a published report (read -> check -> fill the template) is the
same path with the template written at the end (xltools.importer).
"""

from __future__ import annotations

from pathlib import Path

from xltools import UnreadableError
from xltools.evaluate import evaluate
from xltools.findings import Finding, Report
from xltools.published import read_published
from xltools.reader import DOCUMENT_SUFFIXES, RawForm
from xltools.reader.workbook import read_workbook


def read_raw(path: str | Path) -> RawForm:
    """Read any supported input into a RawForm; raises UnreadableError."""
    path = Path(path)
    if path.suffix.lower() in DOCUMENT_SUFFIXES:
        return read_published(path)
    return read_workbook(path)


def check_file(path: str | Path) -> Report:
    """Read and check one input in this process (see xltools.batch for isolated workers)."""
    try:
        return evaluate(read_raw(path))
    except UnreadableError as e:
        return unreadable_report(str(path), str(e))


def unreadable_report(file: str, message: str) -> Report:
    r = Report(file=file, unreadable=True)
    r.findings.append(Finding("unreadable", "error", message))
    return r
