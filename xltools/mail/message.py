"""A planned message as data (recipients, subject, bodies, attachments), and the hygiene every
text from a workbook or roster gets before it goes into a header or a body."""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from xltools import XltoolsError, textsafe
from xltools.addresses import split_addresses, valid_address
from xltools.messages import MAIL as texts

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

KIND_LABELS: dict[str, str] = texts.kind_labels


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
    kind: str  # revise | unreadable | wrong_year | remind | accepted | accepted_warnings | summary
    agency: str  # who it is about ("" for the summary)
    status: str  # the entry's status ("" for the summary)
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    problem: str | None = None  # why it cannot be sent (无收件地址, 收件地址无效 …)
    in_reply_to: str | None = (
        None  # Message-ID of the agency's submission: the reply is threaded under it
    )

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def sendable(self) -> bool:
        return self.problem is None and bool(self.to)

    @property
    def digest(self) -> str:
        """The content hash the send log keys on (recipients are logged beside it)."""
        doc = {
            "kind": self.kind,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "attachments": [[a.filename, a.fingerprint] for a in self.attachments],
        }
        return hashlib.sha256(
            json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
        ).hexdigest()


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
                raise XltoolsError(
                    texts.BAD_OPTION_ADDRESS.format(what=what, addr=clean_header(addr))
                )
            out.append(addr)
    return tuple(out)
