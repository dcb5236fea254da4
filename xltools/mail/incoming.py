"""One received message -> who sent it and every file it carries, each kept or refused with a
reason.

Mail from Chinese government systems is parsed as it really is: attachment names in RFC 2231
(with continuations) or RFC 2047 (often split in the middle of a character), in UTF-8, GBK/
GB18030 or Big5, or as raw 8-bit bytes with no charset declared (guessed: UTF-8 when valid,
else GB18030 or Big5, whichever reads as ordinary Chinese); forwarded messages with their own
attachments; winmail.dat; zip attachments screened with the workbook reader's zip-bomb limits.
Nothing here touches the network or the disk: bytes in, a plain `Incoming` out.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.utils
import hashlib
import io
import posixpath
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from email.message import Message
from pathlib import PurePosixPath

from xltools import UnreadableError
from xltools.messages import FETCH
from xltools.reader.sniff import DEFAULT_LIMITS, Limits, screen_zip

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MB

SPREADSHEETS = frozenset({".xlsx", ".xlsm", ".xls", ".et", ".ods"})
DOCUMENTS = frozenset({".docx", ".pdf", ".html", ".htm", ".txt"})
SUPPORTED = SPREADSHEETS | DOCUMENTS
OTHER_ARCHIVES = frozenset(
    {
        ".rar",
        ".7z",
        ".tar",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zipx",
        ".cab",
        ".arj",
        ".lzh",
        ".z",
        ".iso",
    }
)
MAX_DEPTH = 8  # MIME nesting (forwarded in forwarded …) followed at most
MAX_PARTS = 500  # MIME parts looked at per message

# skip reasons (codes in the ledger and JSON; the text is for people)
TOO_LARGE, UNSUPPORTED, ARCHIVE, BAD_ARCHIVE, DAMAGED, TNEF, EMPTY = (
    "too_large",
    "unsupported_type",
    "archive_unsupported",
    "archive_unreadable",
    "damaged",
    "tnef",
    "empty",
)

_TYPES_BY_MIME = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/x-rar-compressed": ".rar",
    "application/vnd.rar": ".rar",
    "application/x-7z-compressed": ".7z",
}


@dataclass(slots=True)
class Found:
    """One attachment (or one file inside a zip attachment)."""

    name: str  # the original name, decoded, as the sender wrote it
    data: bytes | None  # None: not kept (see skip)
    skip: str | None = None  # reason code when not kept
    detail: str = ""  # the reason in Chinese
    inside: str | None = None  # the zip or forwarded message it came from (for people)
    size: int = 0

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None


@dataclass(slots=True)
class Incoming:
    message_id: str | None
    sender: str | None  # address, lower-cased
    sender_name: str
    subject: str
    date: str | None  # ISO 8601 as the sender's clock said
    files: list[Found] = field(default_factory=list)
    content_hash: str = ""  # over every decoded leaf part: stable when headers are rewritten
    defects: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[Found]:
        return [f for f in self.files if f.data is not None]


def parse_message(
    raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES, limits: Limits = DEFAULT_LIMITS
) -> Incoming:
    """Read one message (RFC 5322 bytes). Never raises for bad mail: what cannot be read is a
    `Found` with a reason, or an empty field."""
    msg = email.message_from_bytes(raw)
    sender_name, sender = _sender(msg)
    digest = hashlib.sha256()
    incoming = Incoming(
        message_id=_message_id(raw_header(msg, "Message-ID")),
        sender=sender,
        sender_name=sender_name,
        subject=decode_words(raw_header(msg, "Subject")),
        date=_date(raw_header(msg, "Date")),
    )
    state = {"parts": 0}
    _walk(msg, incoming, None, 0, max_bytes, limits, digest, state)
    incoming.content_hash = digest.hexdigest()
    return incoming


# ------------------------------------------------------------------ text decoding

_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "hz",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "unknown-8bit": "",
    "x-unknown": "",
    "utf8": "utf-8",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}


def _codec(charset: str | None) -> str | None:
    name = (charset or "").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def guess_decode(data: bytes) -> str:
    """Bytes with no (or a wrong) charset: UTF-8 if valid, else the Chinese encoding under
    which they read as ordinary text. Never raises."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = []
    for codec in ("gb18030", "big5hkscs"):
        try:
            candidates.append((codec, data.decode(codec)))
        except UnicodeDecodeError:
            continue
    if not candidates:
        return data.decode("gb18030", "replace")
    # GBK first: on a tie it wins, being by far the more common in mainland mail
    best = candidates[0]
    for candidate in candidates[1:]:
        if _plausibility(candidate[1], candidate[0]) > _plausibility(best[1], best[0]):
            best = candidate
    return best[1]


def _plausibility(text: str, codec: str) -> float:
    """How ordinary the text is in the encoding it was decoded with: the share of its
    characters among that encoding's frequent ones (GB2312 level 1 or Big5's common
    characters, and full-width punctuation). Text decoded with the wrong one of the two is
    mostly rare characters, symbols, kana and private-use code points."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 1.0
    if codec == "gb18030":
        tiers = ("gb2312", (0xB0, 0xD7), (0xD8, 0xF7), (0xA1, 0xA3))
    else:
        tiers = ("big5", (0xA4, 0xC6), (0xC9, 0xF9), (0xA1, 0xA3))
    return sum(_frequency(c, *tiers) for c in wide) / len(wide)


def _frequency(ch: str, codec: str, common, rarer, punctuation) -> float:
    try:
        lead = ch.encode(codec)[0]
    except UnicodeEncodeError:
        return 0.3 if 0x4E00 <= ord(ch) <= 0x9FFF else 0.0
    if common[0] <= lead <= common[1] or punctuation[0] <= lead <= punctuation[1]:
        return 1.0
    if rarer[0] <= lead <= rarer[1]:
        return 0.6
    return 0.2


def _recover(text: str) -> str:
    """A header read from raw 8-bit bytes (the parser keeps them as surrogates): decode them."""
    if any("\udc80" <= c <= "\udcff" for c in text):
        return guess_decode(text.encode("utf-8", "surrogateescape"))
    return text


def decode_words(value: object) -> str:
    """A header value with RFC 2047 encoded-words (adjacent words of one charset joined before
    decoding, so a character split between two words survives), raw 8-bit bytes guessed."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = str(value)
    if "=?" not in text:
        return _clean(_recover(text))
    try:
        pieces = email.header.decode_header(text)
    except (ValueError, email.errors.HeaderParseError, AssertionError):
        return _clean(_recover(text))
    out: list[str] = []
    run: list[bytes] = []
    run_charset: str | None = None

    def flush() -> None:
        if run:
            data = b"".join(run)
            codec = _codec(run_charset)
            if codec:
                try:
                    out.append(data.decode(codec))
                except UnicodeDecodeError:
                    out.append(guess_decode(data))
            else:
                out.append(guess_decode(data))
            run.clear()

    for chunk, charset in pieces:
        if isinstance(chunk, str):
            flush()
            out.append(_recover(chunk))
            continue
        if charset is None:
            flush()
            out.append(_recover(chunk.decode("ascii", "surrogateescape")))
            continue
        if run and charset != run_charset:
            flush()
        run_charset = charset
        run.append(chunk)
    flush()
    return _clean("".join(out))


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return " ".join(
        "".join(
            " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text
        ).split()
    )


def raw_header(part: Message, name: str) -> str | None:
    """A header as it was in the message, unfolded; raw 8-bit bytes decoded by guessing (the
    parser would turn them into replacement characters)."""
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            text = str(value)
            text = re.sub(r"\r?\n[ \t]", " ", text).replace("\r", "").replace("\n", "")
            return _recover(text)
    return None


def _param(part: Message, name: str, header: str) -> str | None:
    raw = raw_header(part, header)
    if raw is not None and not raw.isascii():
        # 8-bit text in the header: parse the parameters from the decoded text
        holder = Message()
        holder[header] = raw
        part = holder
    value = part.get_param(name, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
        charset, _, text = value
        data = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else bytes(text)
        codec = _codec(charset)
        try:
            return _clean(data.decode(codec)) if codec else _clean(guess_decode(data))
        except UnicodeDecodeError:
            return _clean(guess_decode(data))
    value = email.utils.unquote(str(value))
    return decode_words(value)


def attachment_name(part: Message) -> str | None:
    """The file name a part carries: Content-Disposition filename, else Content-Type name."""
    for name, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = _param(part, name, header)
        except (ValueError, LookupError, TypeError, AttributeError):
            value = None
        if value:
            return value
    return None


# ------------------------------------------------------------------ headers


def _sender(msg: Message) -> tuple[str, str | None]:
    raw = raw_header(msg, "From")
    if raw is None:
        return "", None
    name, addr = email.utils.parseaddr(raw)
    addr = _clean(_recover(addr)).lower()
    if "@" not in addr or " " in addr:
        m = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", _recover(raw))
        addr = m.group(0).lower() if m else ""
    return decode_words(name), (addr or None)


def _message_id(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    m = re.search(r"<[^<>\s]+>", text)
    return (m.group(0) if m else text)[:300] or None


def _date(value: object) -> str | None:
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.isoformat() if when else None


# ------------------------------------------------------------------ walking the MIME tree


def _walk(
    part: Message,
    incoming: Incoming,
    inside: str | None,
    depth: int,
    max_bytes: int,
    limits: Limits,
    digest,
    state: dict,
) -> None:
    state["parts"] += 1
    if state["parts"] > MAX_PARTS:
        if state["parts"] == MAX_PARTS + 1:
            incoming.defects.append(FETCH.too_many_parts.format(n=MAX_PARTS))
        return
    ctype = part.get_content_type()
    if part.is_multipart():
        if depth >= MAX_DEPTH:
            incoming.defects.append(FETCH.too_deep)
            return
        payload = part.get_payload()
        if ctype == "message/rfc822" or (
            isinstance(payload, list) and payload and ctype.startswith("message/")
        ):
            for inner in payload if isinstance(payload, list) else []:
                _walk(
                    inner,
                    incoming,
                    _forwarded_label(inner),
                    depth + 1,
                    max_bytes,
                    limits,
                    digest,
                    state,
                )
            return
        for sub in payload if isinstance(payload, list) else []:
            _walk(sub, incoming, inside, depth + 1, max_bytes, limits, digest, state)
        return
    name = attachment_name(part)
    disposition = (part.get_content_disposition() or "").lower()
    if name is None and disposition != "attachment":
        if (
            ctype.startswith("text/")
            or ctype.startswith("image/")
            or ctype.startswith("multipart/")
        ):
            digest.update(_payload_bytes(part) or b"")  # the letter itself (or an inline picture)
            return
    if name is None:
        name = FETCH.unnamed + _TYPES_BY_MIME.get(ctype, "")
    if disposition == "inline" and ctype.startswith("image/") and part.get("Content-ID"):
        digest.update(_payload_bytes(part) or b"")  # a picture in the signature
        return
    _attachment(part, name, ctype, incoming, inside, depth, max_bytes, limits, digest, state)


def _forwarded_label(inner: Message) -> str:
    subject = decode_words(raw_header(inner, "Subject")) if isinstance(inner, Message) else ""
    return FETCH.forwarded_subject.format(subject=subject[:40]) if subject else FETCH.forwarded


def _payload_bytes(part: Message) -> bytes | None:
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, AssertionError):
        return None
    return data if isinstance(data, bytes) else None


def _encoded_size(part: Message) -> int:
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    return len(payload) * 3 // 4 if cte == "base64" else len(payload)


def _attachment(
    part: Message,
    name: str,
    ctype: str,
    incoming: Incoming,
    inside: str | None,
    depth: int,
    max_bytes: int,
    limits: Limits,
    digest,
    state: dict,
) -> None:
    suffix = _suffix(name)
    if (
        posixpath.basename(name.replace("\\", "/")).lower() == "winmail.dat"
        or ctype == "application/ms-tnef"
    ):
        incoming.files.append(Found(name, None, TNEF, FETCH.tnef, inside))
        return
    approx = _encoded_size(part)
    if approx > max_bytes:
        incoming.files.append(
            Found(name, None, TOO_LARGE, text_too_large(approx, max_bytes), inside, approx)
        )
        return
    data = _payload_bytes(part)
    damaged = [
        d
        for d in part.defects
        if type(d).__name__ in ("InvalidBase64CharactersDefect", "InvalidBase64LengthDefect")
    ]
    if data is None or damaged:
        incoming.files.append(Found(name, None, DAMAGED, FETCH.damaged, inside))
        return
    digest.update(data)
    if ctype == "message/rfc822" or suffix == ".eml":
        if depth < MAX_DEPTH:  # a forwarded message sent as a plain attachment
            inner = email.message_from_bytes(data)
            _walk(
                inner,
                incoming,
                _forwarded_label(inner),
                depth + 1,
                max_bytes,
                limits,
                digest,
                state,
            )
        return
    if len(data) > max_bytes:
        incoming.files.append(
            Found(name, None, TOO_LARGE, text_too_large(len(data), max_bytes), inside, len(data))
        )
    elif not data:
        incoming.files.append(Found(name, None, EMPTY, FETCH.empty, inside))
    elif suffix == ".zip" or (
        suffix not in SUPPORTED
        and data[:4] == b"PK\x03\x04"
        and suffix in ("", ".dat", ".bin")
        and not _is_office_zip(data)
    ):
        incoming.files.extend(open_zip(name, data, max_bytes, limits, inside))
    else:
        incoming.files.append(classify(name, data, inside))


def _is_office_zip(data: bytes) -> bool:
    return b"[Content_Types].xml" in data[:4096] or b"mimetype" in data[:256]


def _suffix(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/").rstrip(". ")).suffix.lower()


def classify(name: str, data: bytes, inside: str | None = None) -> Found:
    """Keep a supported file; say why another is not kept."""
    suffix = _suffix(name)
    if suffix in SUPPORTED:
        return Found(name, data, None, "", inside, len(data))
    if suffix in OTHER_ARCHIVES:
        return Found(
            name,
            None,
            ARCHIVE,
            FETCH.archive.format(kind=suffix.lstrip(".").upper()),
            inside,
            len(data),
        )
    formats = FETCH["formats"]
    if suffix in formats:
        return Found(
            name,
            None,
            UNSUPPORTED,
            FETCH.old_format.format(kind=formats[suffix]),
            inside,
            len(data),
        )
    return Found(
        name,
        None,
        UNSUPPORTED,
        FETCH.unsupported.format(suffix=suffix or FETCH.no_extension),
        inside,
        len(data),
    )


# ------------------------------------------------------------------ zip attachments


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """Names in zips made on Chinese Windows are GBK without the UTF-8 flag (zipfile then
    decodes them as cp437): undo that and guess."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    return guess_decode(raw)


def open_zip(
    name: str,
    data: bytes,
    max_bytes: int,
    limits: Limits = DEFAULT_LIMITS,
    inside: str | None = None,
) -> list[Found]:
    """The supported files inside a zip attachment, each limited like an attachment; the
    archive as a whole screened with the workbook reader's zip-bomb limits."""
    where = FETCH.in_zip.format(name=name)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return [Found(name, None, BAD_ARCHIVE, FETCH.bad_zip, inside, len(data))]
    out: list[Found] = []
    with zf:
        try:
            screen_zip(zf, limits)
        except UnreadableError as exc:
            return [Found(name, None, BAD_ARCHIVE, _zip_refusal(str(exc)), inside, len(data))]
        for info in zf.infolist():
            member = zip_member_name(info)
            base = posixpath.basename(member.replace("\\", "/"))
            if (
                info.is_dir()
                or not base
                or member.startswith("__MACOSX/")
                or base.startswith("._")
                or base in (".DS_Store", "Thumbs.db", "desktop.ini")
            ):
                continue
            suffix = _suffix(base)
            if suffix == ".zip" or suffix in OTHER_ARCHIVES:
                out.append(Found(base, None, ARCHIVE, FETCH.nested, where, info.file_size))
                continue
            if suffix not in SUPPORTED:
                out.append(
                    classify(base, b"", where)
                    if suffix
                    else Found(
                        base,
                        None,
                        UNSUPPORTED,
                        FETCH.unsupported.format(suffix=FETCH.no_extension),
                        where,
                    )
                )
                continue
            if info.file_size > max_bytes:
                out.append(
                    Found(
                        base,
                        None,
                        TOO_LARGE,
                        text_too_large(info.file_size, max_bytes),
                        where,
                        info.file_size,
                    )
                )
                continue
            try:
                with zf.open(info) as fh:
                    content = fh.read(info.file_size + 1)
                if len(content) != info.file_size:
                    raise zipfile.BadZipFile("size differs from the header")
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                ValueError,
                NotImplementedError,
                RuntimeError,
            ):
                out.append(Found(base, None, BAD_ARCHIVE, FETCH.bad_member, where, info.file_size))
                continue
            found = (
                classify(base, content, where)
                if content
                else Found(base, None, EMPTY, FETCH.empty, where)
            )
            out.append(found)
    if not out:
        out.append(Found(name, None, EMPTY, FETCH.empty_zip, inside, len(data)))
    return out


# ------------------------------------------------------------------ texts


def _zip_refusal(reason: str) -> str:
    """The reader's sentence is about a workbook file; here the file is a zip attachment."""
    for old, new in FETCH.zip_rewrites:
        reason = reason.replace(old, new)
    return FETCH.zip_refused.format(reason=reason.rstrip("。"))


def text_too_large(size: int, limit: int) -> str:
    return FETCH.too_large.format(size=f"{size / MB:.1f}", limit=f"{limit / MB:g}")
