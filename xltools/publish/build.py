"""A checked workbook (its Report) -> the Document of its published annual report."""

from __future__ import annotations

from typing import Any, Mapping

from xltools import XltoolsError
from xltools.findings import ERROR, Report, count
from xltools.publish.layout import layout, table_sheets
from xltools.publish.model import Document, Paragraph, Piece, Table
from xltools.publish.wording import Unknown, change_text, figures, message, render, sentence
from xltools.spec import Field, Form, load_form
from xltools.textsafe import one_line
from xltools.values import fmt


class PublishRefused(XltoolsError):
    """The workbook cannot be published: `problems` lists why (Chinese, one per line)."""

    def __init__(self, headline: str, problems: list[str], hint: str = ""):
        super().__init__(headline)
        self.headline = headline
        self.problems = problems
        self.hint = hint


def blank_means_zero(f: Field) -> bool:
    """The form says a blank here means 0 only for a numeric cell it does not require."""
    return f.is_numeric and not f.required


def printable(form: Form, report: Report, wording: Mapping) -> tuple[dict[str, Any], list[str]]:
    """The value each table cell prints, and the cells that have none."""
    out: dict[str, Any] = {}
    blanks: list[str] = []
    for sheet in table_sheets(form):
        for f in sheet.fields:
            v = report.values.get(f.key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f.key] = v
            elif v is None and blank_means_zero(f):
                out[f.key] = 0
            else:
                blanks.append(
                    message(wording, "blank", where=f.where, row=f.row_caption, col=f.col_caption)
                )
    return out, blanks


def check_publishable(report: Report, wording: Mapping, force: bool) -> dict[str, Any]:
    """The printable values, or PublishRefused with the list of errors (and blanks)."""
    if report.unreadable or report.form is None:
        reason = report.findings[0].message if report.findings else ""
        raise XltoolsError(message(wording, "unreadable", file=report.file, reason=reason))
    form = load_form(report.form)
    values, blanks = printable(form, report, wording)
    errors = [f for f in report.findings if f.severity == ERROR]
    problems = [
        f"{f.where}：{f.message}" if f.where and not f.message.startswith(f.where) else f.message
        for f in errors
    ]
    if errors and not force:
        # the locate finding is listed (it says which cell to fix) but is not one more error
        raise PublishRefused(
            message(wording, "refused", file=report.file, count=count(errors, ERROR)),
            problems,
            wording["messages"]["refused_hint"],
        )
    if blanks:
        # --force publishes numbers that do not add up, never a number nobody wrote
        raise PublishRefused(
            message(wording, "refused", file=report.file, count=len(blanks)), blanks
        )
    return values


def build_document(
    report: Report,
    wording: Mapping,
    *,
    previous: Report | None = None,
    agency: str | None = None,
    force: bool = False,
    analysis: Mapping[str, str] | None = None,
) -> Document:
    """`analysis`: the facts of the peer-group and trend sentences of a coordinator's report
    (wording.analysis_figures of the consolidation's results.json); absent, they are left out."""
    values = check_publishable(report, wording, force)
    form = load_form(report.form)
    draft = wording["document"]["draft"] if report.errors else None
    meta = report.values
    name = one_line(agency or meta.get("meta_agency") or "", 120)
    year = meta.get("meta_year")
    facts = {
        "agency": name,
        "year": year,
        "form_title": form.title,
        "form_issued_by": form.issued_by,
        "phone": one_line(meta.get("meta_phone") or "", 60),
        "email": one_line(meta.get("meta_email") or "", 120),
    }
    figs: dict[str, Any] = dict(figures(form, values, wording))
    figs.update(analysis or {})
    changes: dict[str, str] = {}
    if previous is not None:
        before = figures(load_form(previous.form), previous.values, wording)
        changes = {
            n: change_text(figs[n], before[n], wording)
            for n in figs
            if n in before and not isinstance(figs[n], str)
        }
    missing = wording.get("missing", {})
    try:
        title = tuple(
            "".join(p.text for p in render(line, facts)) for line in wording["document"]["title"]
        )
        doc = Document(title, name, year, form.id, draft)
        doc.blocks.append(
            Paragraph("opening", render(wording["document"]["opening"], facts, missing))
        )
        parts = list(wording["parts"])
        tables = [layout(s, lambda k: fmt(values[k])) for s in table_sheets(form)]
        for i, part in enumerate(parts):
            if i == 1:  # tables 二、三、四 stand after part 一
                doc.blocks.extend(tables)
                tables = []
            doc.blocks.append(Paragraph("heading", (Piece(part["heading"]),)))
            for para in part.get("paragraphs", []):
                if para.get("heading"):
                    doc.blocks.append(
                        Paragraph("subheading", render(para["heading"], facts, missing))
                    )
                # the figure sentences first, then the place for the office's own account
                pieces: list[Piece] = []
                for sname in para.get("sentences", []):
                    said = sentence(sname, form, figs, changes, wording)
                    if said:
                        doc.sentences[sname] = said
                        pieces.append(Piece(said))
                pieces += render(para.get("text", ""), facts, missing)
                if pieces:
                    doc.blocks.append(Paragraph("body", _join(pieces)))
        doc.blocks.extend(tables)
    except Unknown as e:
        raise XltoolsError(
            message(wording, "wording_unknown", text=e.text[:40], name=e.name)
        ) from None
    except (KeyError, TypeError, AttributeError) as e:
        # a part or paragraph of an office's wording without an entry it needs
        raise XltoolsError(
            message(wording, "wording_unknown", text=type(e).__name__, name=str(e))
        ) from None
    return doc


def _join(pieces: list[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for p in pieces:
        if out and out[-1].mark == p.mark:
            out[-1] = Piece(out[-1].text + p.text, p.mark)
        elif p.text:
            out.append(p)
    return tuple(out)


def tables_of(doc: Document) -> list[Table]:
    return [b for b in doc.blocks if isinstance(b, Table)]
