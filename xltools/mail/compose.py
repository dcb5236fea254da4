"""Plan one message per agency from a consolidation run, and compose it as MIME.

Planning is pure data (PlannedMessage); composing adds what is different on every build
(Date, Message-ID) and the MIME encoding mail clients need.
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import re
import string
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from xltools import XltoolsError, __version__, textsafe
from xltools.addresses import split_addresses, valid_address  # noqa: F401  (re-exported for mail)
from xltools.findings import (ERROR, ERRORS, MISSING, OK, STATUS_LABELS, SUPERSEDED, UNREADABLE,
                              WARNINGS, WRONG_YEAR, Finding)
from xltools.messages import MAIL as texts
from xltools.mail.config import MailConfig
from xltools.vocabulary import severity_label
from xltools.results import Entry, Run, inside, load_results
from xltools.roster import RosterEntry, RosterIndex, load_roster

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# message kind per status; statuses not listed (superseded, not_in_roster) get no message
STATUS_KIND = {
    ERRORS: "revise",
    UNREADABLE: "unreadable",
    WRONG_YEAR: "wrong_year",
    MISSING: "remind",
    OK: "accepted",
    WARNINGS: "accepted_warnings",
}
KIND_LABELS = {
    "revise": "需修改", "unreadable": "需修改", "wrong_year": "需修改",
    "remind": "催报", "accepted": "已通过", "accepted_warnings": "已通过", "summary": "汇总",
}
ONLY_CHOICES = ("errors", "missing", "all")
_ONLY_KINDS = {
    "errors": {"revise", "unreadable", "wrong_year"},
    "missing": {"remind"},
    "all": set(STATUS_KIND.values()),
    None: {"revise", "unreadable", "wrong_year", "remind"},
}

# placeholders a template may use; anything else is a typo we refuse before sending
TEMPLATE_VARS = frozenset({
    "agency", "year", "office", "deadline", "signature", "date", "status", "file", "note",
    "errors", "warnings", "findings", "attachment", "attachment_note", "contact",
    "counts", "missing_list", "error_list",
})
TEMPLATE_KINDS = tuple(KIND_LABELS)
MAX_FINDINGS_LISTED = 50

# SMTP line endings; headers we set raw (attachment parameters) are written exactly as given
MAIL_POLICY = policy.SMTP.clone(refold_source="none")



@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = XLSX_TYPE

    @property
    def fingerprint(self) -> str:
        """What the attachment says, not when it was saved: for an xlsx the members' CRCs
        without docProps (which carry timestamps), so a re-run consolidation is no change."""
        digest = hashlib.sha256()
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    if not info.filename.startswith("docProps/"):
                        digest.update(f"{info.filename}:{info.CRC}:{info.file_size}\n".encode())
        except zipfile.BadZipFile:
            digest.update(self.data)
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    kind: str                       # revise | unreadable | wrong_year | remind | accepted | accepted_warnings | summary
    agency: str                     # who it is about ("" for the summary)
    status: str                     # the entry's status ("" for the summary)
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    problem: str | None = None      # why it cannot be sent (无收件地址, 收件地址无效 …)

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def sendable(self) -> bool:
        return self.problem is None and bool(self.to)

    @property
    def digest(self) -> str:
        """The content hash the send log keys on (recipients are logged beside it)."""
        doc = {"kind": self.kind, "subject": self.subject, "text": self.text, "html": self.html,
               "attachments": [[a.filename, a.fingerprint] for a in self.attachments]}
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- text hygiene

def clean_header(value: object) -> str:
    """Text for a header: no control, format or line-separator characters, one line."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)
    return " ".join(text.split())


def clean_body(value: object) -> str:
    """Workbook text for a body: single line, printable."""
    return clean_header(value)


def safe_filename(value: object, limit: int = 60) -> str:
    return textsafe.safe_filename(clean_header(value), limit)


def check_addresses(addresses: Sequence[str], what: str) -> tuple[str, ...]:
    """Addresses the coordinator typed (--cc, --summary-to, From): invalid is a usage error."""
    out = []
    for raw in addresses:
        for addr in split_addresses(raw):
            if not valid_address(addr):
                raise XltoolsError(texts.BAD_OPTION_ADDRESS.format(what=what, addr=clean_header(addr)))
            out.append(addr)
    return tuple(out)


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
                raise XltoolsError(texts.TEMPLATE_UNREADABLE.format(name=source, error=exc)) from exc
        first, _, rest = parts["txt"].partition("\n")
        m = re.match(r"\s*主题\s*[:：]\s*(.*)", first)
        if not m:
            raise XltoolsError(texts.TEMPLATE_NO_SUBJECT.format(name=f"{kind}.txt"))
        tpl = MailTemplate(string.Template(m.group(1).strip()), string.Template(rest.lstrip("\r\n")),
                           string.Template(parts["html"]))
        for ext, t in (("txt", tpl.subject), ("txt", tpl.text), ("html", tpl.html)):
            unknown = set(t.get_identifiers()) - TEMPLATE_VARS
            if unknown or not t.is_valid():
                raise XltoolsError(texts.TEMPLATE_BAD_PLACEHOLDER.format(
                    name=f"{kind}.{ext}", names="、".join(sorted(f"${n}" for n in unknown)) or "$",
                    allowed="、".join(f"${n}" for n in sorted(TEMPLATE_VARS))))
        out[kind] = tpl
    return out


def _render(tpl: MailTemplate, plain: dict[str, str], blocks: dict[str, tuple[str, str]]
            ) -> tuple[str, str, str]:
    """(subject, text, html). `plain` values are workbook/roster text: HTML-escaped in the HTML
    body; `blocks` are (text, html) pairs built here, already escaped."""
    text_vars = {**plain, **{k: v[0] for k, v in blocks.items()}}
    html_vars = {k: html.escape(v).replace("\n", "<br>\n") for k, v in plain.items()}
    html_vars.update({k: v[1] for k, v in blocks.items()})
    subject = clean_header(tpl.subject.substitute(text_vars))
    return subject, tpl.text.substitute(text_vars), tpl.html.substitute(html_vars)


# ---------------------------------------------------------------- planning

def plan_messages(outdir: str | Path, roster: str | Path | Sequence[RosterEntry] | None = None,
                  only: str | None = None, config: MailConfig | None = None,
                  summary_to: Sequence[str] = ()) -> list[PlannedMessage]:
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
    common = {"year": str(run.year or ""), "office": config.office, "deadline": config.deadline,
              "signature": config.signature_text, "date": _date_text(run.created)}

    messages = []
    for entry in run.entries:
        kind = STATUS_KIND.get(entry.status)
        if kind in kinds:
            messages.append(_plan_entry(run, entry, kind, roster, cc, templates[kind], common))
    if summary_to:
        messages.append(_plan_summary(run, summary_to, templates["summary"], common))
    return messages


def _plan_entry(run: Run, entry: Entry, kind: str, roster, cc, tpl: MailTemplate,
                common: dict[str, str]) -> PlannedMessage:
    agency = clean_header(entry.name)
    to, problem = _recipients(entry, roster)
    attachments: list[Attachment] = []
    attachment_note = ""
    if kind == "revise":
        path = inside(run.outdir, entry.annotated)
        if path is not None:
            attachments.append(Attachment(f"{safe_filename(agency)}_{common['year']}年度报告_批注.xlsx",
                                          path.read_bytes()))
            attachment_note = texts.NOTE_ANNOTATED
    elif kind == "remind":
        blank, error = _blank_template(run, agency)
        if blank is not None:
            attachments.append(Attachment(f"{safe_filename(agency)}_{common['year']}年度报告模板.xlsx", blank))
            attachment_note = texts.NOTE_BLANK
        else:
            problem = problem or texts.PROBLEM_NO_TEMPLATE.format(error=error)
    # errors first: they are what must be fixed
    shown = sorted((f for f in entry.findings if kind == "revise" or f.severity != ERROR),
                   key=lambda f: f.severity != ERROR)
    plain = {
        **common,
        "agency": agency,
        "status": STATUS_LABELS.get(entry.status, entry.status),
        "file": clean_body(re.split(r"[\\/]", entry.file)[-1]) if entry.file else "—",   # Windows paths too
        "note": clean_body(entry.note) or texts.NO_NOTE,
        "errors": str(sum(1 for f in entry.findings if f.severity == ERROR)),
        "warnings": str(sum(1 for f in entry.findings if f.severity != ERROR)),
        "attachment": "、".join(a.filename for a in attachments) or "无",
        "attachment_note": attachment_note,
        "contact": clean_body(entry.contact) or agency,
        "counts": "", "missing_list": "", "error_list": "",
    }
    subject, text, body_html = _render(tpl, plain, {"findings": _findings_block(shown)})
    return PlannedMessage(kind, agency, entry.status, to, cc if to else (), subject, text, body_html,
                          tuple(attachments), problem)


def _plan_summary(run: Run, to: tuple[str, ...], tpl: MailTemplate, common: dict[str, str]) -> PlannedMessage:
    # a superseded file's agency is counted by its newer file
    entries = [e for e in run.entries if e.status != SUPERSEDED]
    counts = Counter(e.status for e in entries)
    order = list(STATUS_LABELS)
    rows = [(STATUS_LABELS.get(s, s), counts[s])
            for s in sorted(counts, key=lambda s: order.index(s) if s in order else len(order))]
    counts_text = "\n".join(f"  {label}：{n} 家" for label, n in rows) + f"\n  合计：{len(entries)} 家"
    counts_html = ("<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr><th>状态</th><th>单位数</th></tr>\n"
                   + "".join(f"<tr><td>{html.escape(label)}</td><td>{n}</td></tr>\n" for label, n in rows)
                   + f"<tr><td>合计</td><td>{len(entries)}</td></tr>\n</table>")
    missing = [clean_body(e.name) for e in run.entries if e.status == MISSING]
    errors = [clean_body(e.name) for e in run.entries if e.status in (ERRORS, UNREADABLE, WRONG_YEAR)]
    attachments, problem = [], None
    path = inside(run.outdir, run.summary_workbook)
    if path is not None:
        attachments.append(Attachment(f"{common['year']}年度政府信息公开工作年度报告汇总表.xlsx", path.read_bytes()))
    else:
        problem = texts.PROBLEM_NO_SUMMARY.format(name=run.summary_workbook or "汇总表.xlsx")
    plain = {**common, "agency": "", "status": "", "file": "", "note": "", "errors": str(len(errors)),
             "warnings": str(counts.get(WARNINGS, 0)), "contact": "",
             "attachment": "、".join(a.filename for a in attachments) or "无", "attachment_note": "",
             "missing_list": "、".join(missing) or "无", "error_list": "、".join(errors) or "无"}
    subject, text, body_html = _render(tpl, plain, {"counts": (counts_text, counts_html), "findings": ("", "")})
    return PlannedMessage("summary", "", "", to, (), subject, text, body_html, tuple(attachments), problem)


def _recipients(entry: Entry, roster: RosterIndex | None) -> tuple[tuple[str, ...], str | None]:
    """The roster given to `mail` (a newer list of addresses) first, matched as consolidate
    matches; then the roster e-mail consolidate recorded; then the workbook's own address."""
    raw = None
    if roster is not None:
        found = (roster.match(name=entry.name, uscc=entry.uscc)
                 or roster.match(name=entry.workbook_agency or entry.agency))
        raw = found.email if found else None
    raw = raw or entry.roster_email or entry.email
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
        from xltools.template import build_template   # the lead's module; optional at import time
    except ImportError as exc:
        return None, str(exc)
    try:
        with tempfile.TemporaryDirectory(prefix="xltools-mail-") as tmp:
            path = build_template(Path(tmp) / "blank.xlsx", form_id=run.form or "2021",
                                  year=run.year, agency=agency)
            return Path(path).read_bytes(), None
    except Exception as exc:   # one agency's reminder must not stop the others
        return None, f"{type(exc).__name__}: {exc}"


def _date_text(created: str | None) -> str:
    try:
        when = datetime.fromisoformat(created) if created else datetime.now()
    except ValueError:
        when = datetime.now()
    return f"{when.year}年{when.month}月{when.day}日"


# ---------------------------------------------------------------- MIME

PLACEHOLDER_SENDER = "mail-from-not-configured@invalid"


def compose(message: PlannedMessage, config: MailConfig, *, when: datetime | None = None) -> EmailMessage:
    """The message as MIME: text + HTML alternative, attachments named for every client."""
    sender = config.sender or PLACEHOLDER_SENDER
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = Address(display_name=clean_header(config.office), addr_spec=sender)
    name = clean_header(message.agency)
    msg["To"] = [Address(display_name=name, addr_spec=a) for a in message.to] or "undisclosed-recipients:;"
    if message.cc:
        msg["Cc"] = [Address(addr_spec=a) for a in message.cc]
    msg["Subject"] = clean_header(message.subject)
    msg["Date"] = format_datetime((when or datetime.now()).astimezone())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["X-Mailer"] = f"xltools {__version__}"
    msg.set_content(message.text, cte="base64")
    msg.add_alternative(_html_document(message.html), subtype="html", cte="base64")
    if message.attachments:
        msg.make_mixed()
        for a in message.attachments:
            msg.attach(_attachment_part(a))
    return msg


def _html_document(body: str) -> str:
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n"
            "<body style=\"font-family:'Microsoft YaHei','PingFang SC',sans-serif;font-size:14px\">\n"
            f"{body}</body></html>\n")


def _attachment_part(a: Attachment) -> EmailMessage:
    """Content-Type name= as RFC 2047 (what Outlook reads) and Content-Disposition filename*=
    as RFC 2231 (the standard; Thunderbird, Apple Mail, Foxmail, Coremail)."""
    part = EmailMessage(policy=MAIL_POLICY)
    maintype, _, subtype = a.content_type.partition("/")
    part.set_content(a.data, maintype=maintype, subtype=subtype, cte="base64")
    del part["Content-Type"]
    del part["Content-Disposition"]
    encoded = Header(a.filename, "utf-8", maxlinelen=68).encode(linesep="\r\n")
    part.set_raw("Content-Type", f'{a.content_type};\r\n name="{encoded}"')
    part.set_raw("Content-Disposition", "attachment;\r\n" + _rfc2231("filename", a.filename))
    return part


def _rfc2231(param: str, value: str, width: int = 54) -> str:
    tokens = [c if c.isascii() and quote(c, safe="") == c else quote(c, safe="") for c in value]
    chunks, current = [], ""
    for token in tokens:
        if current and len(current) + len(token) > width:
            chunks.append(current)
            current = ""
        current += token
    chunks.append(current)
    if len(chunks) == 1:
        return f" {param}*=utf-8''{chunks[0]}"
    return ";\r\n".join(f" {param}*{i}*=" + ("utf-8''" if i == 0 else "") + c for i, c in enumerate(chunks))
