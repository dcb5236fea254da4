"""xltools publish: the published annual report (Word, HTML, PDF) written from a checked
workbook, an agency's or a consolidated summary, so its tables and figures are right by
construction.

    from xltools.publish import publish
    result = publish("某某局.xlsx", docx="某某局年报.docx", html="某某局年报.html")

The layout of tables 二、三、四 comes from the form definition (xltools/forms/<form>.toml); the
wording, headings and places to write from xltools/publish/wording.toml (or an office's copy).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from xltools import XltoolsError
from xltools.batch import check_paths
from xltools.findings import Report
from xltools.publish.build import PublishRefused, build_document, tables_of
from xltools.publish.docx_writer import write_docx
from xltools.publish.html_writer import write_html
from xltools.publish.model import Document
from xltools.publish.pdf import docx_to_pdf
from xltools.publish.wording import analysis_figures, load_wording, message
from xltools.results import RESULTS_NAME

__all__ = [
    "publish",
    "publish_report",
    "SeasonItem",
    "read_checked",
    "build_document",
    "PublishRefused",
    "Published",
    "load_wording",
    "tables_of",
]


@dataclass
class Published:
    document: Document
    report: Report
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things the user should know (Chinese)

    @property
    def draft(self) -> bool:
        return self.document.draft is not None


def read_checked(paths: list[Path]) -> list[Report]:
    """Read and check workbooks the way `xltools check` does (an isolated worker with limits)."""
    return check_paths(list(paths), 1)


def publish(
    workbook: str | Path,
    docx: str | Path | None = None,
    html: str | Path | None = None,
    pdf: str | Path | None = None,
    *,
    previous: str | Path | None = None,
    agency: str | None = None,
    force: bool = False,
    wording: str | Path | None = None,
) -> Published:
    """Write the report of `workbook` to the given outputs (each to a temporary name, then
    renamed). Raises PublishRefused (errors or blanks in the workbook) or XltoolsError."""
    words = load_wording(wording)
    workbook = Path(workbook)
    outputs = [Path(p) for p in (docx, html, pdf) if p is not None]
    inputs = [workbook] + ([Path(previous)] if previous else [])
    for out in outputs:
        for src in inputs:
            if out.exists() and src.exists() and out.resolve() == src.resolve():
                raise XltoolsError(message(words, "same_as_input", path=out))
    reports = read_checked(inputs)
    report, before = reports[0], (reports[1] if previous else None)
    notes: list[str] = []
    if before is not None:
        before = _previous_usable(report, before, words, notes)
    result = publish_report(
        report,
        docx,
        html,
        pdf,
        previous=before,
        agency=agency,
        force=force,
        words=words,
        analysis=analysis_beside(workbook, words),
    )
    result.notes[:0] = notes
    return result


def publish_report(
    report: Report,
    docx: str | Path | None = None,
    html: str | Path | None = None,
    pdf: str | Path | None = None,
    *,
    previous: Report | None = None,
    agency: str | None = None,
    force: bool = False,
    words: dict | None = None,
    analysis: dict | None = None,
) -> Published:
    """Write the report of an already checked `report` (a workbook read by `read_checked`, a
    season's version) to the given outputs, each to a temporary name, then renamed."""
    words = words or load_wording(None)
    doc = build_document(
        report, words, previous=previous, agency=agency, force=force, analysis=analysis
    )
    result = Published(doc, report)
    style = words["style"]
    docx_path = Path(docx) if docx else None
    if docx_path:
        result.written.append(write_docx(doc, docx_path, style))
    if html:
        result.written.append(write_html(doc, Path(html), style))
    if pdf:
        if docx_path is None:
            with tempfile.TemporaryDirectory(prefix="xltools-publish-") as tmp:
                src = write_docx(doc, Path(tmp) / "report.docx", style)
                result.written.append(docx_to_pdf(src, Path(pdf), words["messages"]))
        else:
            result.written.append(docx_to_pdf(docx_path, Path(pdf), words["messages"]))
    return result


def analysis_beside(workbook: Path, words: dict) -> dict[str, str]:
    """A summary workbook written by `xltools consolidate`, with its results.json beside it:
    the facts of the sentences quoting the peer groups and the trend of the totals."""
    path = workbook.parent / RESULTS_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(doc, dict) or doc.get("summary_workbook") != workbook.name:
        return {}
    return analysis_figures(doc, words)


def _previous_usable(report: Report, before: Report, words: dict, notes: list[str]) -> Report:
    if before.unreadable:
        reason = before.findings[0].message if before.findings else ""
        raise XltoolsError(message(words, "unreadable", file=before.file, reason=reason))
    if before.errors:
        raise PublishRefused(
            message(words, "previous_errors", file=before.file, count=before.errors),
            [f.message for f in before.findings if f.severity == "error"],
        )
    year = report.values.get("meta_year")
    found = before.values.get("meta_year")
    if isinstance(year, int) and found != year - 1:
        raise XltoolsError(
            message(
                words, "previous_year", file=before.file, found=found, year=year, expected=year - 1
            )
        )
    a, b = report.values.get("meta_agency"), before.values.get("meta_agency")
    if a and b and a != b:
        notes.append(message(words, "previous_agency", previous=b, agency=a))
    return before


@dataclass
class SeasonItem:
    agency: str
    published: Published | None = None
    problem: str | None = None  # why this agency's report was not written (Chinese)
