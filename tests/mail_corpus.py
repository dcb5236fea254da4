"""A mailbox of submissions written as real Chinese mail clients write them.

Each Case is the raw message (bytes, exactly as it would sit in the Maildir) and what a fetch
must make of it: the message's outcome, the files saved (by their saved name) and the files
refused (name and reason code). Header and MIME shapes follow what Outlook, Foxmail, QQ Mail /
Tencent Exmail, Coremail (and 263, Thunderbird, Apple Mail) actually send: RFC 2047 names in
GB2312 split across encoded words, RFC 2231 with continuations, raw 8-bit GBK names, Big5 names,
zips made on Chinese Windows (GBK member names without the UTF-8 flag), forwarded messages,
winmail.dat, a zip bomb, hostile names.
"""

from __future__ import annotations

import base64
import io
import quopri
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from factory import make_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# roster of the test season: name -> address (教育局 has two addresses)
AGENCIES = {
    "某某市教育局": "jyj@edu.example.gov.cn; bgs@edu.example.gov.cn",
    "某某市财政局": "czj@example.gov.cn",
    "某某市交通运输局": "jtj@example.gov.cn",
    "某某市卫生健康委员会": "wjw@example.gov.cn",
    "某某市民政局": "mzj@example.gov.cn",
    "某某市司法局": "sfj@example.gov.cn",
    "某某市商务局": "swj@example.gov.cn",
    "某某市自然资源和规划局": "zrzy@example.gov.cn",
    "某某市住房和城乡建设局": "zjj@example.gov.cn",
    "某某市人力资源和社会保障局": "rsj@example.gov.cn",
    "某某市生态环境局": "sthj@example.gov.cn",
    "某某市农业农村局": "nyj@example.gov.cn",
    "某某市文化和旅游局": "wlj@example.gov.cn",
    "某某市市场监督管理局": "scj@example.gov.cn",
    "某某市应急管理局": "yjj@example.gov.cn",
    "某某市医疗保障局": "ybj@example.gov.cn",
    "某某市统计局": "tjj@example.gov.cn",
    "某某市审计局": "sjj@example.gov.cn",
}


def address(agency: str) -> str:
    return AGENCIES[agency].split(";")[0].strip()


@dataclass
class Case:
    title: str
    raw: bytes
    status: str  # saved | no_attachment | nothing_kept | already
    saved: list[str] = field(default_factory=list)  # saved file names
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name as sent, reason code)
    duplicates: int = 0
    agency: str | None = None  # the roster agency matched by the sender
    message_id: str | None = None


# ------------------------------------------------------------------ MIME helpers


def b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def ew(text: str, charset: str = "gb2312", enc: str = "B", chunk: int = 30) -> str:
    """RFC 2047 encoded words, split every `chunk` BYTES (as Foxmail/Outlook do: a character
    may be cut in two between words)."""
    data = text.encode("gb18030" if charset.lower() in ("gb2312", "gbk", "gb18030") else charset)
    words = []
    for i in range(0, len(data), chunk):
        piece = data[i : i + chunk]
        if enc == "B":
            words.append(f"=?{charset}?B?{base64.b64encode(piece).decode()}?=")
        else:
            q = quopri.encodestring(piece, header=True).decode().replace("=\n", "")
            words.append(f"=?{charset}?Q?{q}?=")
    return "\r\n\t".join(words)


def rfc2231(param: str, value: str, charset: str = "utf-8", width: int = 40) -> str:
    encoded = "".join(
        c
        if c.isascii() and c.isalnum()
        else quote(c.encode("gb18030" if charset.lower().startswith("gb") else charset), safe="")
        for c in value
    )
    chunks = [encoded[i : i + width] for i in range(0, len(encoded), width)]
    # never split a %XX escape
    fixed, carry = [], ""
    for c in chunks:
        c = carry + c
        cut = len(c)
        if "%" in c[-2:]:
            cut = c.rfind("%")
        fixed.append(c[:cut])
        carry = c[cut:]
    if carry:
        fixed.append(carry)
    if len(fixed) == 1:
        return f"{param}*={charset}''{fixed[0]}"
    return ";\r\n\t".join(
        f"{param}*{i}*=" + (f"{charset}''" if i == 0 else "") + c for i, c in enumerate(fixed)
    )


CRLF = "\r\n"
_n = [0]


def msgid(domain: str) -> str:
    _n[0] += 1
    return f"<2026010{_n[0] % 9}.{_n[0]:04d}.xltools-test@{domain}>"


def message(
    headers: list[str],
    parts: list[str | bytes] | None,
    *,
    body: str = "您好，附件是我单位报表，请查收。",
    boundary: str = "----=_NextPart_000_0001_01DA3F6B.1C2D3E40",
    end: bool = True,
    alternative: bool = False,
) -> bytes:
    """multipart/mixed with a text (or text+html) first part and `parts` as attachments."""
    head = CRLF.join(headers)
    if parts is None:
        return (
            head
            + CRLF
            + "MIME-Version: 1.0"
            + CRLF
            + 'Content-Type: text/plain; charset="gb2312"'
            + CRLF
            + "Content-Transfer-Encoding: base64"
            + CRLF
            + CRLF
            + b64(body.encode("gb18030"))
            + CRLF
        ).encode()
    out = ([head] if head else []) + [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed;{CRLF}\tboundary="{boundary}"',
        "",
        "This is a multi-part message in MIME format.",
        "",
        f"--{boundary}",
    ]
    if alternative:
        inner = "----=_NextPart_001_0002"
        out += [
            f'Content-Type: multipart/alternative; boundary="{inner}"',
            "",
            f"--{inner}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            b64(body.encode()),
            f"--{inner}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            b64(f"<p>{body}</p>".encode()),
            f"--{inner}--",
            "",
        ]
    else:
        out += [
            'Content-Type: text/plain; charset="gb2312"',
            "Content-Transfer-Encoding: base64",
            "",
            b64(body.encode("gb18030")),
        ]
    raw = CRLF.join(out).encode()
    for p in parts:
        raw += f"{CRLF}--{boundary}{CRLF}".encode() + (p.encode() if isinstance(p, str) else p)
    if end:
        raw += f"{CRLF}--{boundary}--{CRLF}".encode()
    return raw


def part(
    ctype: str,
    data: bytes,
    *,
    ct_params: str = "",
    disposition: str | None = None,
    cte: str = "base64",
) -> str:
    lines = [f"Content-Type: {ctype}" + (f";{CRLF}\t{ct_params}" if ct_params else "")]
    if cte == "base64":
        lines.append("Content-Transfer-Encoding: base64")
        payload = b64(data)
    else:
        lines.append("Content-Transfer-Encoding: quoted-printable")
        payload = quopri.encodestring(data).decode().replace("\n", CRLF)
    if disposition:
        lines.append(f"Content-Disposition: {disposition}")
    return CRLF.join(lines) + CRLF + CRLF + payload


def outlook_headers(agency: str, subject: str, mid: str, sender: str | None = None) -> list[str]:
    sender = sender or address(agency)
    return [
        f"From: {ew(agency, 'gb2312')} <{sender}>",
        'To: "政务公开办" <gkb@example.gov.cn>',
        f"Subject: {ew(subject, 'gb2312')}",
        "Date: Mon, 5 Jan 2026 09:12:33 +0800",
        f"Message-ID: {mid}",
        "X-Mailer: Microsoft Outlook 16.0",
        "Thread-Index: AdpAbCdEfGhIjKlMnOpQrStUvWxYz==",
        "Content-Language: zh-cn",
    ]


def foxmail_headers(agency: str, subject: str, mid: str) -> list[str]:
    return [
        f'From: "{ew(agency, "GB2312")}" <{address(agency)}>',
        'To: "gkb" <gkb@example.gov.cn>',
        f"Subject: {ew(subject, 'GB2312')}",
        "Date: Tue, 6 Jan 2026 15:40:02 +0800",
        f"Message-ID: {mid}",
        "X-Priority: 3",
        "X-GUID: 4E1C0D2B-7A8E-4F3B-9C61-2B7E0F1A3C5D",
        "X-Has-Attach: yes",
        "X-Mailer: Foxmail 7.2.25.228[cn]",
    ]


def qq_headers(agency: str, subject: str, mid: str) -> list[str]:
    return [
        f'From: "{ew(agency, "utf-8", chunk=21)}" <{address(agency)}>',
        'To: "gkb" <gkb@example.gov.cn>',
        f"Subject: {ew(subject, 'utf-8', chunk=21)}",
        "Date: Wed, 7 Jan 2026 10:01:45 +0800",
        f"Message-ID: {mid}",
        "X-QQ-mid: bizesmtp12t1767751305t8x2k9qz",
        "X-QQ-SSF: 00400000000000F0",
        "X-QQ-GoodBg: 0",
        "X-Mailer: QQMail 2.x",
    ]


def coremail_headers(agency: str, subject: str, mid: str) -> list[str]:
    return [
        f"From: {ew(agency, 'GBK', 'Q')} <{address(agency)}>",
        "To: gkb@example.gov.cn",
        f"Subject: {ew(subject, 'GBK', 'B')}",
        "Date: Thu, 8 Jan 2026 16:20:11 +0800 (GMT+08:00)",
        f"Message-ID: {mid}",
        "X-Priority: 3",
        "X-Mailer: Coremail Webmail Server Version XT5.0.13 build 20210104(2a3e8f5b)",
        "X-Originating-IP: [10.12.3.45]",
        "X-Coremail-Locale: zh_CN",
        "X-CM-TRANSID: AQAAfwBnwyZ7u1xlq4sAAA--.2145S2",
    ]


def zip_bytes(members: list[tuple[str, bytes]], *, gbk_names: bool = False) -> bytes:
    """A zip as Windows' built-in tool / WinRAR make it on a Chinese system when gbk_names:
    member names in GBK without the UTF-8 flag."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 5, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    data = buf.getvalue()
    if not gbk_names:
        return data
    for name, _ in members:
        utf8, gbk = name.encode("utf-8"), name.encode("gbk")
        assert len(utf8) != len(gbk) or utf8 == gbk
    return _rename_members(data, {n.encode("utf-8"): n.encode("gbk") for n, _ in members})


def _rename_members(data: bytes, renames: dict[bytes, bytes]) -> bytes:
    """Rewrite a zip's member names as raw bytes (no UTF-8 flag), rebuilding the offsets."""
    import struct

    zf = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    central = []
    for info in zf.infolist():
        raw_name = info.filename.encode("utf-8")
        new_name = renames.get(raw_name, raw_name)
        start = info.header_offset
        (sig, ver, flag, method, mtime, mdate, crc, csize, usize, nlen, xlen) = struct.unpack(
            "<IHHHHHIIIHH", data[start : start + 30]
        )
        body = data[start + 30 + nlen + xlen : start + 30 + nlen + xlen + csize]
        flag &= ~0x800
        offset = out.tell()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                sig,
                ver,
                flag,
                method,
                mtime,
                mdate,
                crc,
                csize,
                usize,
                len(new_name),
                0,
            )
            + new_name
            + body
        )
        central.append((info, new_name, flag, method, mtime, mdate, crc, csize, usize, offset))
    cd_start = out.tell()
    for info, name, flag, method, mtime, mdate, crc, csize, usize, offset in central:
        out.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                flag,
                method,
                mtime,
                mdate,
                crc,
                csize,
                usize,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    cd_end = out.tell()
    out.write(
        struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            len(central),
            len(central),
            cd_end - cd_start,
            cd_start,
            0,
        )
    )
    return out.getvalue()


def with_zip_comment(data: bytes, comment: bytes) -> bytes:
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = comment
    return buf.getvalue()


def zip_bomb() -> bytes:
    """One member of 300 MB of zeros (deflated to about 300 KB: a ratio of ~1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("报表.xlsx", date_time=(2026, 1, 5, 9, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            block = bytes(1024 * 1024)
            for _ in range(300):
                fh.write(block)
    return buf.getvalue()


def encrypted_zip(name: str) -> bytes:
    """A zip whose member is flagged encrypted (as WinRAR's 'set password' writes it)."""
    data = bytearray(zip_bytes([(name, b"x" * 100)]))
    # general-purpose flag bit 0 in the local header (offset 6) and the central header (offset 8)
    data[6] |= 1
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 1
    return bytes(data)


def docx_bytes(text: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------ the mailbox


def build(workdir: Path) -> list[Case]:
    workdir.mkdir(parents=True, exist_ok=True)

    def wb(agency: str, variant: int = 0) -> bytes:
        """The agency's workbook; a variant differs in its bytes only (as when re-saved)."""
        path = workdir / f"{agency}.xlsx"
        if not path.exists():
            make_workbook(path, meta_agency=agency, meta_year=2025, meta_email=address(agency))
        data = path.read_bytes()
        return data if not variant else with_zip_comment(data, f"variant {variant}".encode())

    cases: list[Case] = []
    dom = "example.gov.cn"

    def add(case: Case) -> None:
        cases.append(case)

    # 1-4 Outlook: RFC 2047 GB2312 names in name= and filename=
    for agency in ("某某市财政局", "某某市民政局", "某某市司法局", "某某市商务局"):
        name = f"{agency}2025年政府信息公开工作年度报告.xlsx"
        mid = msgid(dom)
        raw = message(
            outlook_headers(agency, f"报送{agency}2025年度政府信息公开工作年度报告", mid),
            [
                part(
                    XLSX,
                    wb(agency),
                    ct_params=f'name="{ew(name)}"',
                    disposition=f'attachment;{CRLF}\tfilename="{ew(name)}"',
                )
            ],
            alternative=True,
        )
        add(Case(f"outlook {agency}", raw, "saved", [name], agency=agency, message_id=mid))

    # 5-7 Foxmail: application/octet-stream, GB2312 encoded words cut mid-character
    for agency in (
        "某某市自然资源和规划局",
        "某某市住房和城乡建设局",
        "某某市人力资源和社会保障局",
    ):
        name = f"{agency}年报（2025年度）.xlsx"
        mid = msgid(dom)
        raw = message(
            foxmail_headers(agency, "年报报送", mid),
            [
                part(
                    "application/octet-stream",
                    wb(agency),
                    ct_params=f'name="{ew(name, "GB2312", chunk=7)}"',
                    disposition=f'attachment; filename="{ew(name, "GB2312", chunk=7)}"',
                )
            ],
        )
        add(Case(f"foxmail {agency}", raw, "saved", [name], agency=agency, message_id=mid))

    # 8-10 QQ Mail / Exmail: UTF-8 encoded words cut inside a 3-byte character
    for agency in ("某某市生态环境局", "某某市农业农村局", "某某市文化和旅游局"):
        name = f"{agency}—政府信息公开年报2025.xlsx"
        mid = msgid("qq.com")
        raw = message(
            qq_headers(agency, f"{agency}年报", mid),
            [
                part(
                    "application/octet-stream",
                    wb(agency),
                    ct_params=f'charset="utf-8"; name="{ew(name, "utf-8", chunk=8)}"',
                    disposition=f'attachment; filename="{ew(name, "utf-8", chunk=8)}"',
                )
            ],
            boundary="----=_Part_QQ_0123456789",
            alternative=True,
        )
        add(Case(f"qq {agency}", raw, "saved", [name], agency=agency, message_id=mid))

    # 11-12 Coremail: GBK quoted-printable encoded words, application/vnd.ms-excel for an xlsx
    for agency in ("某某市市场监督管理局", "某某市应急管理局"):
        name = f"{agency}年度报告.xlsx"
        mid = msgid("coremail.example.gov.cn")
        raw = message(
            coremail_headers(agency, "政府信息公开工作年度报告", mid),
            [
                part(
                    "application/vnd.ms-excel",
                    wb(agency),
                    ct_params=f'name="{ew(name, "GBK", "Q", chunk=12)}"',
                    disposition=f'attachment; filename="{ew(name, "GBK", "Q", chunk=12)}"',
                )
            ],
            boundary="----=_Part_123456_7890.1767860411000",
        )
        add(Case(f"coremail {agency}", raw, "saved", [name], agency=agency, message_id=mid))

    # 13 Thunderbird / Apple Mail: RFC 2231 with continuations, UTF-8
    agency = "某某市医疗保障局"
    name = "某某市医疗保障局关于报送2025年度政府信息公开工作年度报告统计表的函（附表）.xlsx"
    mid = msgid(dom)
    raw = message(
        [
            f"From: {ew(agency, 'UTF-8')} <ybj@example.gov.cn>",
            "To: gkb@example.gov.cn",
            "Subject: =?UTF-8?B?5bm05oql?=",
            "Date: Fri, 9 Jan 2026 08:00:00 +0800",
            f"Message-ID: {mid}",
            "User-Agent: Mozilla Thunderbird",
        ],
        [
            part(
                XLSX,
                wb(agency),
                ct_params=f"{rfc2231('name', name)}",
                disposition=f"attachment;{CRLF}\t{rfc2231('filename', name)}",
            )
        ],
    )
    add(
        Case(
            "thunderbird rfc2231 continuations", raw, "saved", [name], agency=agency, message_id=mid
        )
    )

    # 14 RFC 2231 declared GB18030 (263 企业邮箱)
    agency = "某某市统计局"
    name = "统计局𠀀年报.xlsx"  # a GB18030-only character (CJK Ext. B)
    mid = msgid("263.net")
    raw = message(
        outlook_headers(agency, "统计局年报", mid),
        [part(XLSX, wb(agency), disposition=f"attachment; {rfc2231('filename', name, 'gb18030')}")],
    )
    add(Case("rfc2231 gb18030", raw, "saved", [name], agency=agency, message_id=mid))

    # 15 raw 8-bit GBK name, no charset declared (old Coremail / 263)
    agency = "某某市审计局"
    name = "审计局2025年报表.xlsx"
    mid = msgid(dom)
    head = CRLF.join(coremail_headers(agency, "审计局年报", mid)).encode()
    att = (
        'Content-Type: application/octet-stream; name="'.encode() + name.encode("gbk") + b'"\r\n'
        b'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="'
        + name.encode("gbk")
        + b'"\r\n\r\n'
        + b64(wb(agency)).encode()
    )
    raw = _splice(message(["X-Placeholder: 1"], [att]), head)
    add(Case("raw gbk name", raw, "saved", [name], agency=agency, message_id=mid))

    # 16 Big5 encoded word (a Hong Kong / Taiwan client)
    agency = "某某市教育局"
    name = "教育局政府資訊公開年報.xlsx"
    mid = msgid("edu.example.gov.cn")
    raw = message(
        outlook_headers(agency, "年報", mid, sender="bgs@edu.example.gov.cn"),
        [
            part(
                XLSX,
                wb(agency),
                ct_params=f'name="{ew(name, "big5")}"',
                disposition=f'attachment; filename="{ew(name, "big5")}"',
            )
        ],
    )
    add(Case("big5 encoded word", raw, "saved", [name], agency=agency, message_id=mid))

    # 17 Big5 raw 8-bit, undeclared: guessed (a Word report, no agency in a workbook)
    name = "教育局政府資訊公開工作年度報告.docx"
    mid = msgid("edu.example.gov.cn")
    att = (
        b'Content-Type: application/octet-stream; name="' + name.encode("big5") + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(docx_bytes("某某市教育局2025年政府信息公开工作年度报告")).encode()
    )
    raw = _splice(
        message(["X-Placeholder: 1"], [att]),
        CRLF.join(
            outlook_headers(agency, "年报正文", mid, sender="jyj@edu.example.gov.cn")
        ).encode(),
    )
    add(Case("raw big5 name, word report", raw, "saved", [name], agency=agency, message_id=mid))

    # 18 zip from Chinese Windows: GBK member names, workbook + Word report + a folder
    agency = "某某市卫生健康委员会"
    members = [
        ("年报材料/卫健委年报统计表.xlsx", wb(agency)),
        ("年报材料/卫健委年报正文.docx", docx_bytes("卫健委年报")),
        ("年报材料/说明.jpg", b"\xff\xd8\xff\xe0fakejpeg"),
    ]
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "卫健委年报（压缩包）", mid),
        [
            part(
                "application/x-zip-compressed",
                zip_bytes(members, gbk_names=True),
                ct_params=f'name="{ew("卫健委年报材料.zip")}"',
                disposition=f'attachment; filename="{ew("卫健委年报材料.zip")}"',
            )
        ],
    )
    add(
        Case(
            "zip with gbk names",
            raw,
            "saved",
            ["卫健委年报统计表.xlsx", "卫健委年报正文.docx"],
            [("说明.jpg", "unsupported_type")],
            agency=agency,
            message_id=mid,
        )
    )

    # 19 zip with a nested zip and a rar inside (UTF-8 flagged names)
    agency = "某某市交通运输局"
    mid = msgid(dom)
    inner = zip_bytes([("inner.xlsx", wb(agency))])
    raw = message(
        qq_headers(agency, "交通局年报", mid),
        [
            part(
                "application/zip",
                zip_bytes(
                    [
                        ("交通局/交通运输局年报.xlsx", wb(agency)),
                        ("交通局/旧版.zip", inner),
                        ("交通局/附件.rar", b"Rar!\x1a\x07\x00x"),
                    ]
                ),
                disposition=f"attachment; {rfc2231('filename', '交通运输局.zip')}",
            )
        ],
    )
    add(
        Case(
            "zip with nested archives",
            raw,
            "saved",
            ["交通运输局年报.xlsx"],
            [("旧版.zip", "archive_unsupported"), ("附件.rar", "archive_unsupported")],
            agency=agency,
            message_id=mid,
        )
    )

    # 20 .rar and .7z attachments only
    agency = "某某市民政局"
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "民政局年报（rar）", mid),
        [
            part(
                "application/octet-stream",
                b"Rar!\x1a\x07\x01\x00rest",
                disposition='attachment; filename="mzj.rar"',
            ),
            part(
                "application/x-7z-compressed",
                b"7z\xbc\xaf\x27\x1crest",
                disposition='attachment; filename="mzj.7z"',
            ),
        ],
    )
    add(
        Case(
            "rar and 7z",
            raw,
            "nothing_kept",
            [],
            [("mzj.rar", "archive_unsupported"), ("mzj.7z", "archive_unsupported")],
            agency=agency,
            message_id=mid,
        )
    )

    # 21 forwarded message (message/rfc822) carrying its own attachment
    agency = "某某市司法局"
    inner_mid = msgid(dom)
    inner_raw = message(
        foxmail_headers(agency, "司法局年报（更正版）", inner_mid),
        [
            part(
                XLSX,
                wb(agency, variant=7),
                disposition=f'attachment; filename="{ew("司法局年报更正版.xlsx")}"',
            )
        ],
        boundary="inner-boundary-1",
    )
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "转发: 司法局年报（更正版）", mid),
        [
            "Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n".encode()
            + inner_raw
        ],
    )
    add(
        Case(
            "forwarded message/rfc822",
            raw,
            "saved",
            ["司法局年报更正版.xlsx"],
            agency=agency,
            message_id=mid,
        )
    )

    # 22 forwarded as an .eml file (application/octet-stream)
    agency = "某某市商务局"
    inner_raw = message(
        coremail_headers(agency, "商务局报告正文", msgid(dom)),
        [
            part(
                DOCX,
                docx_bytes("商务局2025年报告"),
                disposition='attachment; filename="swj-report.docx"',
            )
        ],
        boundary="inner-boundary-2",
    )
    mid = msgid(dom)
    raw = message(
        foxmail_headers(agency, "Fw: 商务局报告正文", mid),
        [
            part(
                "application/octet-stream",
                inner_raw,
                disposition=f'attachment; filename="{ew("商务局报告.eml")}"',
            )
        ],
    )
    add(
        Case(
            "forwarded .eml attachment",
            raw,
            "saved",
            ["swj-report.docx"],
            agency=agency,
            message_id=mid,
        )
    )

    # 23-24 no attachment: a question by plain text (GB2312), an HTML letter with a signature logo
    agency = "某某市农业农村局"
    mid = msgid(dom)
    raw = message(
        foxmail_headers(agency, "请问年报模板在哪里下载？", mid),
        None,
        body="您好，请问今年的模板在哪里下载？谢谢。",
    )
    add(Case("no attachment (question)", raw, "no_attachment", agency=agency, message_id=mid))
    agency = "某某市文化和旅游局"
    mid = msgid("qq.com")
    logo = part(
        "image/png",
        b"\x89PNG\r\n\x1a\nlogo",
        ct_params='name="logo.png"',
        disposition='inline; filename="logo.png"',
    ).replace("Content-Type", "Content-ID: <logo@qq>\r\nContent-Type", 1)
    raw = message(
        qq_headers(agency, "年报稍后报送", mid), [logo], alternative=True, body="年报将于下周报送。"
    )
    add(Case("no attachment, signature logo", raw, "no_attachment", agency=agency, message_id=mid))

    # 25 oversized attachment (the test fetches with --max-size 1): a 1.5 MB workbook-named file
    agency = "某某市生态环境局"
    mid = msgid(dom)
    big = bytes(range(256)) * (6 * 1024)
    raw = message(
        outlook_headers(agency, "生态环境局年报（含扫描件）", mid),
        [
            part(XLSX, wb(agency, variant=21), disposition='attachment; filename="sthj.xlsx"'),
            part("application/pdf", big, disposition=f'attachment; filename="{ew("扫描件.pdf")}"'),
        ],
    )
    add(
        Case(
            "oversized attachment",
            raw,
            "saved",
            ["sthj.xlsx"],
            [("扫描件.pdf", "too_large")],
            agency=agency,
            message_id=mid,
        )
    )

    # 26 malformed MIME: no closing boundary, a header line without colon; the attachment is whole
    agency = "某某市应急管理局"
    mid = msgid(dom)
    raw = message(
        coremail_headers(agency, "应急管理局年报（补）", mid),
        [part(XLSX, wb(agency, variant=3), disposition='attachment; filename="yjj-2.xlsx"')],
        end=False,
    )
    add(
        Case(
            "malformed: no closing boundary",
            raw,
            "saved",
            ["yjj-2.xlsx"],
            agency=agency,
            message_id=mid,
        )
    )

    # 27 malformed MIME: base64 cut short with junk characters
    agency = "某某市市场监督管理局"
    mid = msgid(dom)
    broken = part(XLSX, wb(agency), disposition='attachment; filename="scj-broken.xlsx"')
    broken = broken[: len(broken) // 2] + "\r\n!!!$$$***\r\nAB"
    raw = message(coremail_headers(agency, "市场监管局年报", mid), [broken])
    add(
        Case(
            "malformed: damaged base64",
            raw,
            "nothing_kept",
            [],
            [("scj-broken.xlsx", "damaged")],
            agency=agency,
            message_id=mid,
        )
    )

    # 28 malformed MIME: multipart without a boundary parameter (read as one text body)
    mid = msgid("spam.example")
    raw = (
        "From: nobody@spam.example\r\nSubject: broken\r\n"
        f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed\r\n\r\n"
        "--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n"
    ).encode()
    add(Case("malformed: multipart without boundary", raw, "no_attachment", message_id=mid))

    # 29 zip bomb
    agency = "某某市统计局"
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "统计局年报（压缩）", mid),
        [part("application/zip", zip_bomb(), disposition='attachment; filename="tjj.zip"')],
    )
    add(
        Case(
            "zip bomb",
            raw,
            "nothing_kept",
            [],
            [("tjj.zip", "archive_unreadable")],
            agency=agency,
            message_id=mid,
        )
    )

    # 30 path traversal, device name, reserved characters, an overlong name
    agency = "某某市审计局"
    mid = msgid(dom)
    long_name = "审计局" * 90 + ".xlsx"
    raw = message(
        outlook_headers(agency, "审计局材料", mid),
        [
            part(
                XLSX,
                wb(agency, variant=11),
                disposition='attachment; filename="../../../../etc/cron.d/evil.xlsx"',
            ),
            part(
                XLSX,
                wb(agency, variant=12),
                disposition='attachment; filename="..\\\\..\\\\Windows\\\\System32\\\\evil2.xlsx"',
            ),
            part(XLSX, wb(agency, variant=13), disposition='attachment; filename="CON.xlsx"'),
            part(
                XLSX,
                wb(agency, variant=14),
                disposition=f'attachment; filename="{ew("报表:2025?<终>.xlsx")}"',
            ),
            part(
                XLSX,
                wb(agency, variant=15),
                disposition=f"attachment; {rfc2231('filename', long_name)}",
            ),
        ],
    )
    add(
        Case(
            "hostile names",
            raw,
            "saved",
            [
                "evil.xlsx",
                "evil2.xlsx",
                "_CON.xlsx",
                "报表_2025__终_.xlsx",
                "审计局" * 19 + "审.xlsx",
            ],
            agency=agency,
            message_id=mid,
        )
    )

    # 31 the same workbook attached twice in one message
    agency = "某某市人力资源和社会保障局"
    mid = msgid(dom)
    data = wb(agency, variant=4)
    raw = message(
        foxmail_headers(agency, "人社局年报（重发）", mid),
        [
            part(XLSX, data, disposition='attachment; filename="rsj-final.xlsx"'),
            part(XLSX, data, disposition='attachment; filename="rsj-final-copy.xlsx"'),
        ],
    )
    add(
        Case(
            "same workbook twice",
            raw,
            "saved",
            ["rsj-final.xlsx"],
            duplicates=1,
            agency=agency,
            message_id=mid,
        )
    )

    # 32 the same workbook again in a later message
    mid = msgid(dom)
    raw = message(
        foxmail_headers(agency, "人社局年报（再发一次）", mid),
        [part(XLSX, data, disposition='attachment; filename="rsj-final.xlsx"')],
    )
    add(
        Case(
            "same workbook in a later message",
            raw,
            "already",
            [],
            duplicates=1,
            agency=agency,
            message_id=mid,
        )
    )

    # 33 winmail.dat
    agency = "某某市住房和城乡建设局"
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "住建局年报", mid),
        [
            part(
                "application/ms-tnef",
                b"\x78\x9f\x3e\x22tnefdata",
                ct_params='name="winmail.dat"',
                disposition='attachment; filename="winmail.dat"',
            )
        ],
    )
    add(
        Case(
            "winmail.dat",
            raw,
            "nothing_kept",
            [],
            [("winmail.dat", "tnef")],
            agency=agency,
            message_id=mid,
        )
    )

    # 34 old formats and a photo
    agency = "某某市自然资源和规划局"
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "自然资源局年报（doc）", mid),
        [
            part(
                "application/msword",
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1doc",
                disposition=f'attachment; filename="{ew("年报.doc")}"',
            ),
            part(
                "application/octet-stream",
                b"wpsdata",
                disposition=f'attachment; filename="{ew("年报.wps")}"',
            ),
            part(
                "image/jpeg",
                b"\xff\xd8\xff\xe0photo",
                disposition=f'attachment; filename="{ew("盖章页.jpg")}"',
            ),
        ],
    )
    add(
        Case(
            "old formats and a photo",
            raw,
            "nothing_kept",
            [],
            [
                ("年报.doc", "unsupported_type"),
                ("年报.wps", "unsupported_type"),
                ("盖章页.jpg", "unsupported_type"),
            ],
            agency=agency,
            message_id=mid,
        )
    )

    # 35 WPS .et (OOXML inside), .txt and .html reports (quoted-printable)
    agency = "某某市文化和旅游局"
    mid = msgid(dom)
    raw = message(
        foxmail_headers(agency, "文旅局年报（WPS）", mid),
        [
            part(
                "application/octet-stream",
                wb(agency, variant=22),
                disposition=f'attachment; filename="{ew("文旅局年报.et")}"',
            ),
            part(
                "text/plain; charset=gb2312",
                "文旅局2025年政府信息公开工作年度报告".encode("gbk"),
                cte="qp",
                disposition=f'attachment; filename="{ew("文旅局年报.txt")}"',
            ),
            part(
                "text/html; charset=utf-8",
                "<html><body><h1>文旅局年报</h1></body></html>".encode(),
                cte="qp",
                disposition='attachment; filename="wlj.html"',
            ),
        ],
    )
    add(
        Case(
            "et, txt and html",
            raw,
            "saved",
            ["文旅局年报.et", "文旅局年报.txt", "wlj.html"],
            agency=agency,
            message_id=mid,
        )
    )

    # 36 empty attachment and an attachment without any name
    agency = "某某市医疗保障局"
    mid = msgid(dom)
    raw = message(
        outlook_headers(agency, "医保局年报（修改）", mid),
        [
            part(XLSX, b"", disposition='attachment; filename="empty.xlsx"'),
            part("application/vnd.ms-excel", wb(agency, variant=5), disposition="attachment"),
        ],
    )
    add(
        Case(
            "empty and nameless",
            raw,
            "saved",
            ["附件.xls"],
            [("empty.xlsx", "empty")],
            agency=agency,
            message_id=mid,
        )
    )

    # 37 no From, no Message-ID, raw GBK subject
    raw = (
        b"Subject: "
        + "无发件人的报表".encode("gbk")
        + b"\r\nDate: Sat, 10 Jan 2026 12:00:00 +0800\r\n"
        + message(
            [],
            [
                part(
                    XLSX,
                    wb("某某市财政局", variant=9),
                    disposition='attachment; filename="unknown.xlsx"',
                )
            ],
        )
    )
    add(Case("no sender, no message-id", raw, "saved", ["unknown.xlsx"], agency=None))

    # 38 encrypted zip
    agency = "某某市农业农村局"
    mid = msgid(dom)
    raw = message(
        foxmail_headers(agency, "农业农村局年报（加密）", mid),
        [
            part(
                "application/zip",
                encrypted_zip("nyj.xlsx"),
                disposition='attachment; filename="nyj.zip"',
            )
        ],
    )
    add(
        Case(
            "encrypted zip",
            raw,
            "nothing_kept",
            [],
            [("nyj.zip", "archive_unreadable")],
            agency=agency,
            message_id=mid,
        )
    )

    # 39 mismatch: the workbook says 交通运输局, the sender is 教育局's roster address
    mid = msgid("edu.example.gov.cn")
    raw = message(
        outlook_headers("某某市教育局", "代交通运输局报送", mid, sender="jyj@edu.example.gov.cn"),
        [
            part(
                XLSX,
                wb("某某市交通运输局", variant=6),
                disposition='attachment; filename="jtj-by-edu.xlsx"',
            )
        ],
    )
    add(
        Case(
            "sender and workbook disagree",
            raw,
            "saved",
            ["jtj-by-edu.xlsx"],
            agency="某某市教育局",
            message_id=mid,
        )
    )

    # 40 an unknown sender (not in the roster) sending a workbook
    mid = msgid("163.com")
    raw = message(
        [
            "From: =?utf-8?B?5byg5LiJ?= <zhangsan@163.com>",
            "To: gkb@example.gov.cn",
            "Subject: =?utf-8?B?5bm05oql?=",
            "Date: Sun, 11 Jan 2026 20:00:00 +0800",
            f"Message-ID: {mid}",
            "X-Mailer: NetEase Flash Mail 2.4.1.32",
        ],
        [
            part(
                XLSX,
                wb("某某市财政局", variant=8),
                disposition='attachment; filename="czj-by-163.xlsx"',
            )
        ],
    )
    add(
        Case("sender not in roster", raw, "saved", ["czj-by-163.xlsx"], agency=None, message_id=mid)
    )

    # 41 a plain reply (Re:) quoting our earlier mail, no attachment
    mid = msgid(dom)
    raw = message(
        outlook_headers("某某市财政局", "回复: 已收到", mid) + ["In-Reply-To: <abc@xltools>"],
        None,
        body="已收到，谢谢。",
    )
    add(
        Case(
            "reply without attachment", raw, "no_attachment", agency="某某市财政局", message_id=mid
        )
    )

    # 42 non-multipart message whose whole body is the workbook
    agency = "某某市教育局"
    mid = msgid("edu.example.gov.cn")
    raw = (
        CRLF.join(outlook_headers(agency, "教育局统计表", mid, sender="bgs@edu.example.gov.cn"))
        + CRLF
        + f"MIME-Version: 1.0{CRLF}"
        f'Content-Type: {XLSX}; name="jyj.xlsx"{CRLF}Content-Transfer-Encoding: base64{CRLF}'
        f'Content-Disposition: attachment; filename="jyj.xlsx"{CRLF}{CRLF}'
        + b64(wb(agency, variant=23))
        + CRLF
    ).encode()
    add(Case("single-part attachment", raw, "saved", ["jyj.xlsx"], agency=agency, message_id=mid))

    return cases


def _splice(raw: bytes, head: bytes) -> bytes:
    """Replace the placeholder header of `raw` by raw header bytes (8-bit, undeclared)."""
    return raw.replace(b"X-Placeholder: 1", head, 1)
