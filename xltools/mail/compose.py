"""Plan one message per agency from a consolidation run (pure data: PlannedMessage).

The message itself and text hygiene are xltools.mail.message; MIME is xltools.mail.mime.
"""

from __future__ import annotations

import html
import re
import string
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from xltools import XltoolsError
from xltools.findings import ERROR, WARNING, Finding, count
from xltools.mail.config import MailConfig
from xltools.mail.fetch import origins
from xltools.mail.message import (
    KIND_LABELS,
    XLSX_TYPE,
    Attachment,
    PlannedMessage,  # noqa: F401  (re-exported)
    check_addresses,
    clean_body,
    clean_header,
    safe_filename,
    split_addresses,
    valid_address,
)
from xltools.mail.mime import MAIL_POLICY, compose  # noqa: F401  (re-exported)
from xltools.messages import MAIL as texts
from xltools.messages import NAMES
from xltools.results import Entry, Run, inside, load_results
from xltools.roster import RosterEntry, RosterIndex, load_roster
from xltools.template import build_template
from xltools.vocabulary import (
    ERRORS,
    MISSING,
    OK,
    STATUS_LABELS,
    SUPERSEDED,
    UNREADABLE,
    WARNINGS,
    WRONG_YEAR,
    severity_label,
)

STATUS_KIND = {
    ERRORS: "revise",
    UNREADABLE: "unreadable",
    WRONG_YEAR: "wrong_year",
    MISSING: "remind",
    OK: "accepted",
    WARNINGS: "accepted_warnings",
}
ONLY_CHOICES = ("errors", "missing", "all")
_ONLY_KINDS = {
    "errors": {"revise", "unreadable", "wrong_year"},
    "missing": {"remind"},
    "all": set(STATUS_KIND.values()),
    None: {"revise", "unreadable", "wrong_year", "remind"},
}

# placeholders a template may use; anything else is a typo we refuse before sending
TEMPLATE_VARS = frozenset(
    {
        "agency",
        "year",
        "office",
        "deadline",
        "signature",
        "date",
        "status",
        "file",
        "note",
        "errors",
        "warnings",
        "findings",
        "attachment",
        "attachment_note",
        "contact",
        "counts",
        "missing_list",
        "error_list",
        "link",
    }
)
TEMPLATE_KINDS = tuple(KIND_LABELS)
MAX_FINDINGS_LISTED = 50


# ---------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class MailTemplate:
    subject: string.Template
    text: string.Template
    html: string.Template


def load_templates(folder: Path | None = None) -> dict[str, MailTemplate]:
    """The shipped templates, each file overridable by one of the same name in `folder`."""
    if folder is not None and not Path(folder).is_dir():
        raise XltoolsError(texts.TEMPLATE_DIR_MISSING.format(folder=folder))
    shipped = resources.files("xltools.mail") / "templates"
    out = {}
    for kind in TEMPLATE_KINDS:
        parts = {}
        for ext in ("txt", "html"):
            name = f"{kind}.{ext}"
            own = Path(folder) / name if folder is not None else None
            source = own if own is not None and own.is_file() else shipped / name
            try:
                parts[ext] = source.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise XltoolsError(
                    texts.TEMPLATE_UNREADABLE.format(name=source, error=exc)
                ) from exc
        first, _, rest = parts["txt"].partition("\n")
        m = re.match(r"\s*主题\s*[:：]\s*(.*)", first)
        if not m:
            raise XltoolsError(texts.TEMPLATE_NO_SUBJECT.format(name=f"{kind}.txt"))
        tpl = MailTemplate(
            string.Template(m.group(1).strip()),
            string.Template(rest.lstrip("\r\n")),
            string.Template(parts["html"]),
        )
        for ext, t in (("txt", tpl.subject), ("txt", tpl.text), ("html", tpl.html)):
            unknown = set(t.get_identifiers()) - TEMPLATE_VARS
            if unknown or not t.is_valid():
                raise XltoolsError(
                    texts.TEMPLATE_BAD_PLACEHOLDER.format(
                        name=f"{kind}.{ext}",
                        names="、".join(sorted(f"${n}" for n in unknown)) or "$",
                        allowed="、".join(f"${n}" for n in sorted(TEMPLATE_VARS)),
                    )
                )
        out[kind] = tpl
    return out


def _render(
    tpl: MailTemplate, plain: dict[str, str], blocks: dict[str, tuple[str, str]]
) -> tuple[str, str, str]:
    """(subject, text, html). `plain` values are workbook/roster text: HTML-escaped in the HTML
    body; `blocks` are (text, html) pairs built here, already escaped."""
    text_vars = {**plain, **{k: v[0] for k, v in blocks.items()}}
    html_vars = {k: html.escape(v).replace("\n", "<br>\n") for k, v in plain.items()}
    html_vars.update({k: v[1] for k, v in blocks.items()})
    subject = clean_header(tpl.subject.substitute(text_vars))
    return subject, tpl.text.substitute(text_vars), tpl.html.substitute(html_vars)


# ---------------------------------------------------------------- planning


def plan_messages(
    outdir: str | Path,
    roster: str | Path | Sequence[RosterEntry] | None = None,
    only: str | None = None,
    config: MailConfig | None = None,
    summary_to: Sequence[str] = (),
) -> list[PlannedMessage]:
    """One message per agency whose status `only` selects (None: 需修改 and 催报), plus one
    summary message when `summary_to` is given. Raises XltoolsError for bad input/config."""
    if only not in _ONLY_KINDS:
        raise XltoolsError(texts.BAD_ONLY.format(only=only, choices="、".join(ONLY_CHOICES)))
    config = config or MailConfig()
    run = load_results(outdir)
    if isinstance(roster, (str, Path)):
        roster = load_roster(roster)
    roster = RosterIndex(roster) if roster else None
    cc = check_addresses(config.cc, "--cc")
    summary_to = check_addresses(summary_to, "--summary-to")
    templates = load_templates(config.templates)
    kinds = _ONLY_KINDS[only]
    common = {
        "year": str(run.year or ""),
        "office": config.office,
        "deadline": config.deadline,
        "signature": config.signature_text,
        "date": _date_text(run.created),
    }

    messages = []
    for entry in run.entries:
        kind = STATUS_KIND.get(entry.status)
        if kind in kinds:
            messages.append(_plan_entry(run, entry, kind, roster, cc, templates[kind], common))
    if summary_to:
        messages.append(_plan_summary(run, summary_to, templates["summary"], common))
    return messages


def _plan_entry(
    run: Run, entry: Entry, kind: str, roster, cc, tpl: MailTemplate, common: dict[str, str]
) -> PlannedMessage:
    agency = clean_header(entry.name)
    message_id, sender = submission_origin(entry)
    to, problem = _recipients(entry, roster, sender)
    attachments: list[Attachment] = []
    attachment_note = ""
    if kind == "revise":
        path = inside(run.outdir, entry.annotated)
        if path is not None:
            attachments.append(
                Attachment(
                    NAMES.text("mail_annotated", agency=safe_filename(agency), year=common["year"]),
                    path.read_bytes(),
                )
            )
            attachment_note = texts.NOTE_ANNOTATED
    elif kind == "remind":
        blank, error = _blank_template(run, agency)
        if blank is not None:
            attachments.append(
                Attachment(
                    NAMES.text("mail_template", agency=safe_filename(agency), year=common["year"]),
                    blank,
                )
            )
            attachment_note = texts.NOTE_BLANK
        else:
            problem = problem or texts.PROBLEM_NO_TEMPLATE.format(error=error)
    # errors first: they are what must be fixed
    shown = sorted(
        (f for f in entry.findings if kind == "revise" or f.severity != ERROR),
        key=lambda f: f.severity != ERROR,
    )
    plain = {
        **common,
        "agency": agency,
        "status": STATUS_LABELS.get(entry.status, entry.status),
        "file": clean_body(re.split(r"[\\/]", entry.file)[-1])
        if entry.file
        else "—",  # Windows paths too
        "note": clean_body(entry.note) or texts.NO_NOTE,
        "errors": str(count(entry.findings, ERROR)),
        "warnings": str(count(entry.findings, WARNING)),
        "attachment": texts.list_join.join(a.filename for a in attachments) or texts.none,
        "attachment_note": attachment_note,
        "contact": clean_body(entry.contact) or agency,
        "counts": "",
        "missing_list": "",
        "error_list": "",
    }
    subject, text, body_html = _render(tpl, plain, {"findings": _findings_block(shown)})
    return PlannedMessage(
        kind,
        agency,
        entry.status,
        to,
        cc if to else (),
        subject,
        text,
        body_html,
        tuple(attachments),
        problem,
        in_reply_to=message_id,
    )


def plan_notice(
    kind: str,
    agency: str,
    to: tuple[str, ...],
    problem: str | None,
    tpl: MailTemplate,
    values: dict[str, str],
) -> PlannedMessage:
    """A message of one agency that no consolidation entry drives (its link, a decision on
    its explanation): `values` fill the template's placeholders (workbook text, escaped in
    the HTML body)."""
    plain = (
        {k: "" for k in TEMPLATE_VARS}
        | {"agency": clean_header(agency)}
        | {k: clean_body(v) for k, v in values.items()}
    )
    subject, text, body_html = _render(tpl, plain, {})
    return PlannedMessage(kind, agency, "", to, (), subject, text, body_html, (), problem)


def _plan_summary(
    run: Run, to: tuple[str, ...], tpl: MailTemplate, common: dict[str, str]
) -> PlannedMessage:
    # a superseded file's agency is counted by its newer file
    entries = [e for e in run.entries if e.status != SUPERSEDED]
    counts = Counter(e.status for e in entries)
    order = list(STATUS_LABELS)
    rows = [
        (STATUS_LABELS.get(s, s), counts[s])
        for s in sorted(counts, key=lambda s: order.index(s) if s in order else len(order))
    ]
    counts_text = "\n".join(
        texts.text("count_line", label=label, n=n) for label, n in rows
    ) + texts.text("count_total", n=len(entries))
    counts_html = (
        texts.counts_table_head
        + "".join(texts.text("count_row", label=html.escape(label), n=n) for label, n in rows)
        + texts.text("count_total_row", n=len(entries))
    )
    missing = [clean_body(e.name) for e in run.entries if e.status == MISSING]
    errors = [
        clean_body(e.name) for e in run.entries if e.status in (ERRORS, UNREADABLE, WRONG_YEAR)
    ]
    attachments, problem = [], None
    path = inside(run.outdir, run.summary_workbook)
    if path is not None:
        attachments.append(
            Attachment(NAMES.text("summary_download", year=common["year"]), path.read_bytes())
        )
    else:
        problem = texts.PROBLEM_NO_SUMMARY.format(
            name=run.summary_workbook or NAMES.summary_workbook
        )
    plain = {
        **common,
        "agency": "",
        "status": "",
        "file": "",
        "note": "",
        "errors": str(len(errors)),
        "warnings": str(counts.get(WARNINGS, 0)),
        "contact": "",
        "attachment": texts.list_join.join(a.filename for a in attachments) or texts.none,
        "attachment_note": "",
        "missing_list": texts.list_join.join(missing) or texts.none,
        "error_list": texts.list_join.join(errors) or texts.none,
    }
    subject, text, body_html = _render(
        tpl, plain, {"counts": (counts_text, counts_html), "findings": ("", "")}
    )
    return PlannedMessage(
        "summary", "", "", to, (), subject, text, body_html, tuple(attachments), problem
    )


def submission_origin(entry: Entry) -> tuple[str | None, str | None]:
    """(Message-ID, sender) of the e-mail that brought the entry's file: recorded in the entry
    (a season), else in the fetch ledger beside the file (xltools fetch -o)."""
    if entry.message_id or entry.sender:
        return entry.message_id, entry.sender
    if entry.sha256 and entry.file:
        rec = origins(Path(entry.file).parent).get(entry.sha256)
        if rec is not None:
            return rec.message_id, rec.sender
    return None, None


def _recipients(
    entry: Entry, roster: RosterIndex | None, sender: str | None = None
) -> tuple[tuple[str, ...], str | None]:
    """The roster given to `mail` (a newer list of addresses) first, matched as consolidate
    matches; then the roster e-mail consolidate recorded; then the workbook's own address;
    then the address the file was e-mailed from."""
    raw = None
    if roster is not None:
        found = roster.match(name=entry.name, uscc=entry.uscc) or roster.match(
            name=entry.workbook_agency or entry.agency
        )
        raw = found.email if found else None
    return recipients(raw or entry.roster_email or entry.email or sender)


def recipients(raw: str | None) -> tuple[tuple[str, ...], str | None]:
    """The valid addresses of a roster or workbook e-mail cell, or () and why not."""
    addresses = split_addresses(raw)
    if not addresses:
        return (), texts.PROBLEM_NO_ADDRESS
    bad = [a for a in addresses if not valid_address(a)]
    if bad:
        return (), texts.PROBLEM_BAD_ADDRESS.format(addr="、".join(clean_header(a) for a in bad))
    return tuple(dict.fromkeys(addresses)), None


def _findings_block(findings: Sequence[Finding]) -> tuple[str, str]:
    shown = list(findings)[:MAX_FINDINGS_LISTED]
    lines, items = [], []
    for i, f in enumerate(shown, 1):
        label = severity_label(f.severity)
        message = clean_body(f.message)
        where = clean_body(f.where)
        if where and where not in message:
            message = f"{message}（{where}）"
        lines.append(f"  {i}. 【{label}】{message}")
        items.append(f"<li><b>【{label}】</b>{html.escape(message)}</li>")
    more = len(findings) - len(shown)
    if more > 0:
        lines.append("  " + texts.MORE_FINDINGS.format(n=more))
        items.append(f"<li>{html.escape(texts.MORE_FINDINGS.format(n=more))}</li>")
    if not lines:
        return "  " + texts.NO_FINDINGS, f"<p>{html.escape(texts.NO_FINDINGS)}</p>"
    return "\n".join(lines), "<ol>\n" + "\n".join(items) + "\n</ol>"


def _blank_template(run: Run, agency: str) -> tuple[bytes | None, str | None]:
    try:
        with tempfile.TemporaryDirectory(prefix="xltools-mail-") as tmp:
            path = build_template(
                Path(tmp) / "blank.xlsx", form_id=run.form or "2021", year=run.year, agency=agency
            )
            return Path(path).read_bytes(), None
    except Exception as exc:  # one agency's reminder must not stop the others
        return None, f"{type(exc).__name__}: {exc}"


def _date_text(created: str | None) -> str:
    try:
        when = datetime.fromisoformat(created) if created else datetime.now()
    except ValueError:
        when = datetime.now()
    return texts.text("date", year=when.year, month=when.month, day=when.day)
