"""A planned message as MIME: text + HTML alternative, attachments named for every client.
What differs on every build (Date, Message-ID) is added here, not in the plan."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote

from xltools import __version__
from xltools.mail.config import MailConfig
from xltools.mail.message import Attachment, PlannedMessage, clean_header

# SMTP line endings; headers we set raw (attachment parameters) are written exactly as given
MAIL_POLICY = policy.SMTP.clone(refold_source="none")


PLACEHOLDER_SENDER = "mail-from-not-configured@invalid"


def compose(
    message: PlannedMessage, config: MailConfig, *, when: datetime | None = None
) -> EmailMessage:
    """The message as MIME: text + HTML alternative, attachments named for every client."""
    sender = config.sender or PLACEHOLDER_SENDER
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = Address(display_name=clean_header(config.office), addr_spec=sender)
    name = clean_header(message.agency)
    msg["To"] = [
        Address(display_name=name, addr_spec=a) for a in message.to
    ] or "undisclosed-recipients:;"
    if message.cc:
        msg["Cc"] = [Address(addr_spec=a) for a in message.cc]
    msg["Subject"] = clean_header(message.subject)
    msg["Date"] = format_datetime((when or datetime.now()).astimezone())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if message.in_reply_to:
        # threaded under the agency's own message in Outlook, Foxmail, Coremail
        msg["In-Reply-To"] = clean_header(message.in_reply_to)
        msg["References"] = clean_header(message.in_reply_to)
    msg["X-Mailer"] = f"xltools {__version__}"
    msg.set_content(message.text, cte="base64")
    msg.add_alternative(_html_document(message.html), subtype="html", cte="base64")
    if message.attachments:
        msg.make_mixed()
        for a in message.attachments:
            msg.attach(_attachment_part(a))
    return msg


def _html_document(body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        "<body style=\"font-family:'Microsoft YaHei','PingFang SC',sans-serif;font-size:14px\">\n"
        f"{body}</body></html>\n"
    )


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
    return ";\r\n".join(
        f" {param}*{i}*=" + ("utf-8''" if i == 0 else "") + c for i, c in enumerate(chunks)
    )
