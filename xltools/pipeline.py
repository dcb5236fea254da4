"""The one way through: read -> clean -> rules -> Report.

    spec -> readers (RawForm) -> values -> rules -> findings (Report) -> annotate / consolidate -> mail

`check_file` reads any supported input and checks it in this process (xltools.batch runs it
in isolated workers). Importing a published report (read -> check -> fill the template) is the
same path with the template written at the end (xltools.importer).
"""

from __future__ import annotations

from pathlib import Path

from xltools import UnreadableError
from xltools.evaluate import evaluate
from xltools.findings import Finding, Report
from xltools.reader import read_raw


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
