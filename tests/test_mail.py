"""xltools mail: planning, MIME, outbox, and sending through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import email
import io
import json
import socket
import ssl
from email import policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from xltools import XltoolsError
from xltools.cli import main
from xltools.mail import (
    MailConfig,
    load_config,
    plan_messages,
    plan_table,
    send_messages,
    write_outbox,
)
from xltools.mail.compose import compose
from xltools.mail.config import with_smtp
from xltools.mail.send import SENDLOG
from xltools.messages import MAIL as texts

# implicit-TLS servers below run with auth_require_tls=False (see smtp_server)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

YEAR = 2025
T3_FINDING = {
    "rule": "t3-balance",
    "severity": "error",
    "sheet": "表三",
    "cell": "D31",
    "key": "t3_carried_out_person",
    "message": "表三!D31「四、结转下年度继续办理」×「自然人」：应为 3，实为 2，相差 1。",
    "expected": 3,
    "actual": 2,
}
T4_FINDING = {
    "rule": "t4-total",
    "severity": "error",
    "sheet": "表四",
    "cell": "F10",
    "key": "t4_review_total",
    "message": "行政复议总计 <应为> 5 & 实为 4。",
    "expected": 5,
    "actual": 4,
}
WARN_FINDING = {
    "rule": "value-coerced",
    "severity": "warning",
    "sheet": "表二",
    "cell": "C8",
    "key": "t2_licensing_decisions",
    "message": "表二!C8 的「2件」已按 2 计算。",
    "expected": None,
    "actual": "2件",
}


# ------------------------------------------------------------------ OUTDIR factory


def annotated_workbook(path: Path, agency: str) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表三"
    ws["A1"] = agency
    ws["D31"] = 2
    ws["D31"].comment = openpyxl.comments.Comment("应为 3", "xltools")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def entry(agency, status, *, email=None, findings=(), annotated=None, note=None, roster_name=None):
    missing = status == "missing"
    return {
        "agency": agency,
        "roster_name": roster_name or agency,
        "file": None if missing else f"/in/{agency}.xlsx",
        "status": status,
        "errors": sum(f["severity"] == "error" for f in findings),
        "warnings": sum(f["severity"] == "warning" for f in findings),
        "findings": list(findings),
        "annotated": annotated,
        "email": email,
        "contact": None,
        "sha256": None if missing else "0" * 64,
        "note": note,
    }


def default_entries():
    return [
        entry(
            "某某市商务局",
            "errors",
            email="swj@example.gov.cn",
            findings=[T3_FINDING, T4_FINDING, WARN_FINDING],
            annotated="批注/某某市商务局.xlsx",
        ),
        entry("某某市财政局", "warnings", email="czj@example.gov.cn", findings=[WARN_FINDING]),
        entry("某某市教育局", "ok", email="jyj@example.gov.cn"),
        entry(
            "某某市交通运输局",
            "unreadable",
            email="jtj@example.gov.cn",
            note="文件已加密，无法打开。",
        ),
        entry("某某市卫生健康委员会", "missing"),  # address from the roster
        entry("某某镇人民政府", "missing"),  # no address anywhere
        entry(
            "某某市水利局",
            "wrong_year",
            email="slj@example.gov.cn",
            note="报告年度为 2024，应为 2025。",
        ),
        entry(
            "某某市水利局", "superseded", email="slj@example.gov.cn", note="已被较新的文件取代。"
        ),
        entry("外单位", "not_in_roster", email="x@example.com"),
    ]


def make_outdir(tmp_path: Path, entries=None) -> Path:
    outdir = tmp_path / "out"
    outdir.mkdir()
    entries = default_entries() if entries is None else entries
    for e in entries:
        if e["annotated"]:
            annotated_workbook(outdir / e["annotated"], e["agency"])
    summary = openpyxl.Workbook()
    summary.active.title = "汇总"
    summary.active["A1"] = "汇总表"
    summary.save(outdir / "汇总表.xlsx")
    write_results(outdir, entries)
    return outdir


def write_results(outdir: Path, entries) -> None:
    doc = {
        "schema_version": 1,
        "created": "2026-01-20T10:00:00",
        "year": YEAR,
        "form": "2021",
        "summary_workbook": "汇总表.xlsx",
        "entries": entries,
        "included": [e["agency"] for e in entries if e["status"] in ("ok", "warnings")],
    }
    (outdir / "results.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def make_roster(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["单位名称", "电子邮箱", "联系人"])
    ws.append(["某某市商务局", "swj@example.gov.cn", "张三"])
    ws.append(["某某市卫生健康委员会", "ｗｊｗ＠example.gov.cn", "李四"])  # full-width, as typed
    ws.append(["某某镇人民政府", None, None])
    path = tmp_path / "名单.xlsx"
    wb.save(path)
    return path


def config(**kw) -> MailConfig:
    return MailConfig(
        office="某某市政务公开办", deadline="2026年2月10日前", sender="gkb@example.gov.cn", **kw
    )


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def attachments(msg) -> dict[str, bytes]:
    return {a.get_filename(): a.get_content() for a in msg.iter_attachments()}


def bodies(msg) -> tuple[str, str]:
    return (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content())


# ------------------------------------------------------------------ planning


def test_default_plan_is_revise_and_remind(tmp_path):
    outdir = make_outdir(tmp_path)
    messages = plan_messages(outdir, roster=make_roster(tmp_path), config=config())
    assert [
        (m.kind, m.agency, m.to, m.problem, [a.filename for a in m.attachments]) for m in messages
    ] == [
        (
            "revise",
            "某某市商务局",
            ("swj@example.gov.cn",),
            None,
            ["某某市商务局_2025年度报告_批注.xlsx"],
        ),
        ("unreadable", "某某市交通运输局", ("jtj@example.gov.cn",), None, []),
        (
            "remind",
            "某某市卫生健康委员会",
            ("wjw@example.gov.cn",),
            None,
            ["某某市卫生健康委员会_2025年度报告模板.xlsx"],
        ),
        (
            "remind",
            "某某镇人民政府",
            (),
            texts.PROBLEM_NO_ADDRESS,
            ["某某镇人民政府_2025年度报告模板.xlsx"],
        ),
        ("wrong_year", "某某市水利局", ("slj@example.gov.cn",), None, []),
    ]
    assert [m.subject for m in messages] == [
        "【需修改】某某市商务局 2025年度政府信息公开工作年度报告",
        "【需修改】某某市交通运输局 2025年度政府信息公开工作年度报告无法读取",
        "【催报】请报送某某市卫生健康委员会 2025年度政府信息公开工作年度报告",
        "【催报】请报送某某镇人民政府 2025年度政府信息公开工作年度报告",
        "【需修改】某某市水利局 报送的报告年度不符，请报送2025年度报告",
    ]


@pytest.mark.parametrize(
    "only,kinds",
    [
        ("errors", ["revise", "unreadable", "wrong_year"]),
        ("missing", ["remind", "remind"]),
        (
            "all",
            [
                "revise",
                "accepted_warnings",
                "accepted",
                "unreadable",
                "remind",
                "remind",
                "wrong_year",
            ],
        ),
    ],
)
def test_only(tmp_path, only, kinds):
    messages = plan_messages(make_outdir(tmp_path), only=only, config=config())
    assert [m.kind for m in messages] == kinds


def test_without_roster_the_workbook_address_is_used(tmp_path):
    messages = plan_messages(make_outdir(tmp_path), only="missing", config=config())
    assert [(m.agency, m.problem) for m in messages] == [
        ("某某市卫生健康委员会", "无收件地址"),
        ("某某镇人民政府", "无收件地址"),
    ]


def test_revise_body_lists_findings_and_what_to_do(tmp_path):
    m = plan_messages(make_outdir(tmp_path), config=config())[0]
    assert "发现 2 处错误、1 处需核实的警告" in m.text
    assert "  1. 【错误】" + T3_FINDING["message"] in m.text
    assert "  2. 【错误】行政复议总计 <应为> 5 & 实为 4。（表四!F10）" in m.text
    assert "  3. 【警告】" + WARN_FINDING["message"] in m.text
    assert "并于2026年2月10日前将修改后的报表重新报送" in m.text
    assert m.text.rstrip().endswith("某某市政务公开办")
    # workbook text is escaped in the HTML body
    assert "行政复议总计 &lt;应为&gt; 5 &amp; 实为 4。" in m.html
    assert "<应为>" not in m.html


def test_accepted_with_warnings_lists_only_warnings(tmp_path):
    messages = plan_messages(make_outdir(tmp_path), only="all", config=config())
    warned = next(m for m in messages if m.kind == "accepted_warnings")
    assert (
        warned.subject == "【已通过】某某市财政局 2025年度政府信息公开工作年度报告（有 1 处警告）"
    )
    assert "  1. 【警告】" + WARN_FINDING["message"] in warned.text
    assert not warned.attachments


def test_unreadable_and_wrong_year_explain_the_note(tmp_path):
    messages = plan_messages(make_outdir(tmp_path), only="errors", config=config())
    assert (
        "贵单位报送的文件（某某市交通运输局.xlsx）无法读取：文件已加密，无法打开。"
        in messages[1].text
    )
    assert "报告年度为 2024，应为 2025。" in messages[2].text


def test_summary_message(tmp_path):
    outdir = make_outdir(tmp_path)
    m = plan_messages(outdir, only="errors", config=config(), summary_to=["lead@example.gov.cn"])[
        -1
    ]
    assert (m.kind, m.to, m.subject) == (
        "summary",
        ("lead@example.gov.cn",),
        "2025年度政府信息公开工作年度报告汇总情况",
    )
    assert "  未报送：2 家" in m.text and "  合计：8 家" in m.text and "重复报送" not in m.text
    assert "未报送的单位：某某市卫生健康委员会、某某镇人民政府" in m.text
    assert "需修改的单位：某某市商务局、某某市交通运输局、某某市水利局" in m.text
    assert attachments_of(m) == {
        "2025年度政府信息公开工作年度报告汇总表.xlsx": (outdir / "汇总表.xlsx").read_bytes()
    }


def attachments_of(m):
    return {a.filename: a.data for a in m.attachments}


def test_invalid_addresses(tmp_path):
    entries = [
        entry("甲局", "errors", email="not an address", findings=[T3_FINDING]),
        entry("乙局", "errors", email="a@b.cn; bad@", findings=[T3_FINDING]),
        entry("丙局", "errors", email="ｃ＠ｄ．ｃｎ、e@f.cn", findings=[T3_FINDING]),
    ]
    messages = plan_messages(make_outdir(tmp_path, entries), config=config())
    assert [(m.to, m.problem) for m in messages] == [
        ((), "收件地址无效：not、an、address"),
        ((), "收件地址无效：bad@"),
        (("c@d.cn", "e@f.cn"), None),
    ]
    with pytest.raises(XltoolsError, match="--cc 中的邮箱地址「x@」无效"):
        plan_messages(tmp_path / "out", config=config(cc=("x@",)))


def test_header_injection_is_impossible(tmp_path):
    evil = "某局\r\nBcc: evil@x.cn\r\nSubject: 假"
    entries = [
        entry(
            evil,
            "errors",
            email="a@b.cn\r\nBcc: evil2@x.cn",
            findings=[T3_FINDING],
            annotated="批注/evil.xlsx",
        )
    ]
    outdir = make_outdir(tmp_path, entries)
    [m] = plan_messages(outdir, config=config())
    assert (m.to, m.problem) == ((), "收件地址无效：Bcc:")
    entries[0]["email"] = "a@b.cn"
    write_results(outdir, entries)
    [m] = plan_messages(outdir, config=config())
    assert m.to == ("a@b.cn",)
    raw = compose(m, config()).as_bytes()
    msg = parse(raw)
    assert msg["Bcc"] is None and msg.get_all("Subject") == [m.subject]
    assert "\r" not in m.subject and "\n" not in m.subject
    assert m.subject == "【需修改】某局 Bcc: evil@x.cn Subject: 假 2025年度政府信息公开工作年度报告"
    assert [a.addr_spec for a in msg["To"].addresses] == ["a@b.cn"]
    assert b"\nBcc:" not in raw
    assert list(attachments(msg)) == ["某局 Bcc_ evil@x.cn Subject_ 假_2025年度报告_批注.xlsx"]


def test_annotated_path_outside_outdir_is_not_attached(tmp_path):
    secret = tmp_path / "secret.xlsx"
    annotated_workbook(secret, "x")
    entries = [
        entry("甲局", "errors", email="a@b.cn", findings=[T3_FINDING], annotated="../secret.xlsx")
    ]
    [m] = plan_messages(make_outdir(tmp_path, entries), config=config())
    assert m.attachments == () and texts.NOTE_ANNOTATED not in m.text


def test_digest_ignores_workbook_timestamps(tmp_path):
    outdir = make_outdir(tmp_path)
    before = [m.digest for m in plan_messages(outdir, config=config())]
    # consolidate re-run: same content, new docProps timestamps
    wb = openpyxl.load_workbook(outdir / "批注/某某市商务局.xlsx")
    wb.properties.modified = dt.datetime(2030, 1, 1)
    wb.save(outdir / "批注/某某市商务局.xlsx")
    assert [m.digest for m in plan_messages(outdir, config=config())] == before
    wb["表三"]["D31"] = 3
    wb.save(outdir / "批注/某某市商务局.xlsx")
    assert [m.digest for m in plan_messages(outdir, config=config())][0] != before[0]


def test_missing_results_json(tmp_path):
    with pytest.raises(XltoolsError, match="没有 results.json：请先运行 xltools consolidate"):
        plan_messages(tmp_path)


# ------------------------------------------------------------------ templates and config


def test_coordinator_templates_override_shipped_ones(tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "revise.txt").write_text(
        "主题：请改 $agency\n$agency：\n$findings\n——$signature\n", encoding="utf-8"
    )
    m = plan_messages(
        make_outdir(tmp_path),
        only="errors",
        config=config(templates=own, signature="市政务公开办 张科长"),
    )[0]
    assert m.subject == "请改 某某市商务局"
    assert m.text.startswith("某某市商务局：\n  1. 【错误】")
    assert m.text.endswith("——市政务公开办 张科长\n")
    assert "<p>某某市商务局：</p>" in m.html  # revise.html not overridden: shipped


def test_template_with_unknown_placeholder_is_refused(tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "remind.txt").write_text("主题：$agncy\n正文\n", encoding="utf-8")
    with pytest.raises(XltoolsError, match=r"remind.txt 中有无法识别的占位符 \$agncy"):
        plan_messages(make_outdir(tmp_path), config=config(templates=own))


def test_config_file_environment_and_options(tmp_path):
    cfg = tmp_path / "mail.toml"
    cfg.write_text(
        '[mail]\noffice = "甲市政务公开办"\ndeadline = "1月31日前"\n'
        'from = "a@b.cn"\ncc = ["c@d.cn"]\n'
        '[smtp]\nhost = "smtp.b.cn"\nsecurity = "starttls"\nuser = "u"\nca_file = "ca.pem"\n',
        encoding="utf-8",
    )
    c = load_config(
        cfg,
        env={"XLTOOLS_SMTP_PASSWORD": "pw", "XLTOOLS_SMTP_HOST": "mail.b.cn"},
        deadline="2月1日前",
        cc=("e@f.cn",),
    )
    assert (c.office, c.deadline, c.sender, c.cc) == (
        "甲市政务公开办",
        "2月1日前",
        "a@b.cn",
        ("c@d.cn", "e@f.cn"),
    )
    assert (c.smtp.host, c.smtp.effective_port, c.smtp.security, c.smtp.user, c.smtp.password) == (
        "mail.b.cn",
        587,
        "starttls",
        "u",
        "pw",
    )
    assert c.smtp.ca_file == str(tmp_path / "ca.pem")
    assert "pw" not in repr(c)
    cfg.write_text('[smtp]\npassword = "x"\n', encoding="utf-8")
    with pytest.raises(XltoolsError, match="配置文件 .* 中不能写密码"):
        load_config(cfg, env={})
    with pytest.raises(XltoolsError, match="SMTP 加密方式「tls」无效"):
        load_config(env={"XLTOOLS_SMTP_SECURITY": "tls"})


# ------------------------------------------------------------------ MIME and outbox


def test_outbox_eml_reads_as_a_recipient_would(tmp_path):
    outdir = make_outdir(tmp_path)
    messages = plan_messages(outdir, roster=make_roster(tmp_path), config=config())
    paths = write_outbox(outdir, messages, config())
    assert [p.name for p in paths] == [
        "001_需修改_某某市商务局.eml",
        "002_需修改_某某市交通运输局.eml",
        "003_催报_某某市卫生健康委员会.eml",
        "004_催报_某某镇人民政府.eml",
        "005_需修改_某某市水利局.eml",
    ]
    assert not list((outdir / "outbox").glob(".*"))  # no temporary files left
    raw = paths[0].read_bytes()
    msg = parse(raw)
    assert msg["Subject"] == messages[0].subject
    assert str(msg["From"]) == "某某市政务公开办 <gkb@example.gov.cn>"
    assert str(msg["To"]) == "某某市商务局 <swj@example.gov.cn>"
    text, html_body = bodies(msg)
    assert text.replace("\r\n", "\n") == messages[0].text  # CRLF is the canonical form
    assert "<li><b>【错误】</b>" in html_body and '<meta charset="utf-8">' in html_body
    annotated = (outdir / "批注/某某市商务局.xlsx").read_bytes()
    assert attachments(msg) == {"某某市商务局_2025年度报告_批注.xlsx": annotated}
    wb = openpyxl.load_workbook(io.BytesIO(attachments(msg)["某某市商务局_2025年度报告_批注.xlsx"]))
    assert wb["表三"]["D31"].comment.text == "应为 3"
    # Outlook reads the RFC 2047 name=, others the RFC 2231 filename*=
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 998
    part = raw[raw.index(b"Content-Type: application/vnd.openxmlformats") :]
    assert b'\r\n name="=?utf-8?b?' in part
    assert b"filename*0*=utf-8''%E6%9F%90" in part
    # the reminder carries a blank template that names the agency
    remind = parse(paths[2].read_bytes())
    [(name, data)] = attachments(remind).items()
    assert name == "某某市卫生健康委员会_2025年度报告模板.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "封面" in wb.sheetnames
    assert wb.defined_names["meta_agency"].attr_text
    sheet, cell = next(wb.defined_names["meta_agency"].destinations)
    assert wb[sheet][cell.replace("$", "")].value == "某某市卫生健康委员会"


def test_outbox_is_replaced_on_each_run(tmp_path):
    outdir = make_outdir(tmp_path)
    write_outbox(outdir, plan_messages(outdir, only="all", config=config()), config())
    assert len(list((outdir / "outbox").glob("*.eml"))) == 7
    write_outbox(outdir, plan_messages(outdir, only="missing", config=config()), config())
    assert len(list((outdir / "outbox").glob("*.eml"))) == 2


# ------------------------------------------------------------------ a real SMTP server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    folder = tmp_path_factory.mktemp("certs")
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xltools test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder


class Mailbox:
    """aiosmtpd handler: records what it accepts; refuses or defers chosen recipients."""

    def __init__(self, refuse=(), defer_once=()):
        self.received: list[tuple[str, list[str], bytes, bool, bool]] = []
        self.refuse = set(refuse)
        self.defer_once = set(defer_once)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.defer_once:
            self.defer_once.discard(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                bool(session.authenticated),
                server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 OK"

    def messages(self):
        return [parse(raw) for _, _, raw, _, _ in self.received]


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"gkb",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture
def smtp_server(certs):
    """Start an SMTP server: smtp_server(security, mailbox) -> SmtpConfig-ready env dict."""
    controllers = []

    def start(security="ssl", mailbox=None):
        mailbox = mailbox or Mailbox()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certs / "server.pem", certs / "server.key")
        port = free_port()
        kwargs = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": True}
        if security == "ssl":
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; here the whole
            # connection is TLS (the handler records session.ssl to prove it)
            kwargs.update(ssl_context=context, auth_require_tls=False)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port, server_hostname="127.0.0.1", **kwargs
        )
        controller.start()
        controllers.append(controller)
        env = {
            "XLTOOLS_SMTP_HOST": "127.0.0.1",
            "XLTOOLS_SMTP_PORT": str(port),
            "XLTOOLS_SMTP_USER": "gkb",
            "XLTOOLS_SMTP_PASSWORD": "s3cret",
            "XLTOOLS_SMTP_SECURITY": security,
            "XLTOOLS_SMTP_CA_FILE": str(certs / "ca.pem"),
            "XLTOOLS_MAIL_FROM": "gkb@example.gov.cn",
        }
        return mailbox, env

    yield start
    for c in controllers:
        c.stop()


def smtp_config(env, **kw):
    return with_smtp(
        load_config(env=env, office="某某市政务公开办", deadline="2026年2月10日前", **kw),
        retry_delay=0,
    )


def no_sleep(_seconds):
    return None


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_send_over_tls_with_auth(tmp_path, smtp_server, security):
    mailbox, env = smtp_server(security)
    outdir = make_outdir(tmp_path)
    cfg = smtp_config(env)
    messages = plan_messages(outdir, roster=make_roster(tmp_path), config=cfg)
    result = send_messages(outdir, messages, cfg, sleep=no_sleep)

    assert [(d.message.agency, d.outcome, d.detail) for d in result.deliveries] == [
        ("某某市商务局", "sent", None),
        ("某某市交通运输局", "sent", None),
        ("某某市卫生健康委员会", "sent", None),
        ("某某镇人民政府", "not_sent", "无收件地址"),
        ("某某市水利局", "sent", None),
    ]
    assert not result.ok
    assert [(frm, rcpts, auth, tls) for frm, rcpts, _, auth, tls in mailbox.received] == [
        ("gkb@example.gov.cn", ["swj@example.gov.cn"], True, True),
        ("gkb@example.gov.cn", ["jtj@example.gov.cn"], True, True),
        ("gkb@example.gov.cn", ["wjw@example.gov.cn"], True, True),
        ("gkb@example.gov.cn", ["slj@example.gov.cn"], True, True),
    ]
    got = mailbox.messages()
    assert [m["Subject"] for m in got] == [messages[i].subject for i in (0, 1, 2, 4)]
    text, html_body = bodies(got[0])
    assert T3_FINDING["message"] in text and "行政复议总计 &lt;应为&gt; 5" in html_body
    annotated = (outdir / "批注/某某市商务局.xlsx").read_bytes()
    assert attachments(got[0]) == {"某某市商务局_2025年度报告_批注.xlsx": annotated}
    assert openpyxl.load_workbook(io.BytesIO(annotated))["表三"]["D31"].value == 2
    assert attachments(got[1]) == {}
    # the send log: one line per accepted message, with its Message-ID
    log = [json.loads(line) for line in (outdir / SENDLOG).read_text(encoding="utf-8").splitlines()]
    assert [(r["agency"], r["to"], r["message_id"]) for r in log] == [
        (m["To"].addresses[0].display_name, [m["To"].addresses[0].addr_spec], m["Message-ID"])
        for m in got
    ]


def test_send_twice_sends_once_changed_resent_and_resend(tmp_path, smtp_server):
    mailbox, env = smtp_server("ssl")
    entries = default_entries()
    outdir = make_outdir(tmp_path, entries)
    cfg = smtp_config(env)

    def run(**kw):
        return send_messages(
            outdir,
            plan_messages(outdir, roster=make_roster(tmp_path), config=cfg),
            cfg,
            sleep=no_sleep,
            **kw,
        )

    first = run()
    assert first.count("sent") == 4 and len(mailbox.received) == 4
    second = run()
    assert (second.count("sent"), second.count("skipped")) == (0, 4) and len(mailbox.received) == 4
    # one agency's findings changed after a new consolidation: only that message goes again
    entries[0]["findings"] = [T3_FINDING]
    write_results(outdir, entries)
    third = run()
    assert [d.message.agency for d in third.deliveries if d.outcome == "sent"] == ["某某市商务局"]
    assert len(mailbox.received) == 5
    assert "发现 1 处错误、0 处需核实的警告" in bodies(mailbox.messages()[-1])[0]
    fourth = run(resend=True)
    assert fourth.count("sent") == 4 and len(mailbox.received) == 9


def test_refused_and_deferred_recipients(tmp_path, smtp_server):
    mailbox, env = smtp_server(
        "starttls", Mailbox(refuse={"jtj@example.gov.cn"}, defer_once={"slj@example.gov.cn"})
    )
    outdir = make_outdir(tmp_path)
    cfg = smtp_config(env)
    messages = plan_messages(outdir, roster=make_roster(tmp_path), config=cfg)
    result = send_messages(outdir, messages, cfg, sleep=no_sleep)
    assert [(d.message.agency, d.outcome, d.detail, d.attempts) for d in result.deliveries] == [
        ("某某市商务局", "sent", None, 1),
        (
            "某某市交通运输局",
            "failed",
            "收件人被拒绝：jtj@example.gov.cn（550 5.1.1 mailbox unavailable）",
            1,
        ),
        ("某某市卫生健康委员会", "sent", None, 1),
        ("某某镇人民政府", "not_sent", "无收件地址", 0),
        ("某某市水利局", "sent", None, 2),
    ]
    assert [r[1] for r in mailbox.received] == [
        ["swj@example.gov.cn"],
        ["wjw@example.gov.cn"],
        ["slj@example.gov.cn"],
    ]
    # the refused one was not logged: the next run tries it (and only it) again
    mailbox.refuse.clear()
    again = send_messages(outdir, messages, cfg, sleep=no_sleep)
    assert [d.message.agency for d in again.deliveries if d.outcome == "sent"] == [
        "某某市交通运输局"
    ]


def test_dropped_connection_is_retried_on_a_new_one(tmp_path, smtp_server):
    class DropOnce(Mailbox):
        dropped = False

        async def handle_DATA(self, server, session, envelope):
            if not self.dropped:
                self.dropped = True
                server.transport.close()
                return "250 OK"  # never reaches the client
            return await super().handle_DATA(server, session, envelope)

    mailbox, env = smtp_server("ssl", DropOnce())
    outdir = make_outdir(tmp_path)
    cfg = smtp_config(env)
    result = send_messages(
        outdir, plan_messages(outdir, only="errors", config=cfg), cfg, sleep=no_sleep
    )
    assert [(d.outcome, d.attempts) for d in result.deliveries] == [
        ("sent", 2),
        ("sent", 1),
        ("sent", 1),
    ]
    assert [r[1] for r in mailbox.received] == [
        ["swj@example.gov.cn"],
        ["jtj@example.gov.cn"],
        ["slj@example.gov.cn"],
    ]


def test_temporary_failure_gives_up_after_bounded_retries(tmp_path, smtp_server):
    class AlwaysDefer(Mailbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "451 4.3.0 try again later"

    mailbox, env = smtp_server("ssl", AlwaysDefer())
    outdir = make_outdir(tmp_path)
    cfg = smtp_config(env)
    delays = []
    result = send_messages(
        outdir, plan_messages(outdir, only="errors", config=cfg)[:1], cfg, sleep=delays.append
    )
    [d] = result.deliveries
    assert (d.outcome, d.attempts) == ("failed", 3)
    assert d.detail == "收件人被拒绝：swj@example.gov.cn（451 4.3.0 try again later）；已尝试 3 次"
    assert delays == [0, 0]
    assert not (outdir / SENDLOG).exists()


def test_untrusted_certificate_and_wrong_password_are_config_errors(tmp_path, smtp_server):
    _, env = smtp_server("ssl")
    outdir = make_outdir(tmp_path)
    messages = plan_messages(outdir, only="errors", config=config())
    untrusted = {k: v for k, v in env.items() if k != "XLTOOLS_SMTP_CA_FILE"}
    with pytest.raises(XltoolsError, match="无法验证 SMTP 服务器 127.0.0.1 的证书"):
        send_messages(outdir, messages, smtp_config(untrusted), sleep=no_sleep)
    with pytest.raises(XltoolsError, match="SMTP 登录失败（535"):
        send_messages(
            outdir, messages, smtp_config({**env, "XLTOOLS_SMTP_PASSWORD": "wrong"}), sleep=no_sleep
        )
    with pytest.raises(XltoolsError, match="未配置SMTP 服务器"):
        send_messages(outdir, messages, smtp_config({}), sleep=no_sleep)


def test_unreachable_server_fails_every_message_without_hanging(tmp_path):
    outdir = make_outdir(tmp_path)
    env = {
        "XLTOOLS_SMTP_HOST": "127.0.0.1",
        "XLTOOLS_SMTP_PORT": str(free_port()),
        "XLTOOLS_SMTP_SECURITY": "starttls",
        "XLTOOLS_MAIL_FROM": "gkb@example.gov.cn",
    }
    cfg = smtp_config(env)
    result = send_messages(
        outdir, plan_messages(outdir, only="errors", config=cfg), cfg, sleep=no_sleep
    )
    assert [d.outcome for d in result.deliveries] == ["failed"] * 3
    assert (
        result.deliveries[0].detail.startswith("与服务器的连接中断")
        and result.deliveries[0].attempts == 3
    )
    assert [d.detail for d in result.deliveries[1:]] == [texts.NOT_TRIED] * 2


def test_header_injection_over_smtp(tmp_path, smtp_server):
    mailbox, env = smtp_server("ssl")
    entries = [entry("某局\r\nBcc: evil@x.cn", "errors", email="a@b.cn", findings=[T3_FINDING])]
    outdir = make_outdir(tmp_path, entries)
    cfg = smtp_config(env)
    send_messages(outdir, plan_messages(outdir, config=cfg), cfg, sleep=no_sleep)
    [(_, rcpts, raw, _, _)] = mailbox.received
    assert rcpts == ["a@b.cn"]
    assert parse(raw)["Bcc"] is None and b"\nBcc:" not in raw


# ------------------------------------------------------------------ CLI


def test_cli_dry_run_prints_the_plan(tmp_path):
    outdir = make_outdir(tmp_path)
    roster = make_roster(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "mail",
            str(outdir),
            "--roster",
            str(roster),
            "--office",
            "某某市政务公开办",
            "--deadline",
            "2026年2月10日前",
        ],
        env={"XLTOOLS_MAIL_FROM": "gkb@example.gov.cn"},
    )
    assert result.exit_code == 1, result.output  # one message has no address
    cfg = load_config(
        env={"XLTOOLS_MAIL_FROM": "gkb@example.gov.cn"},
        office="某某市政务公开办",
        deadline="2026年2月10日前",
    )
    expected = plan_table(plan_messages(outdir, roster=roster, config=cfg))
    assert result.stdout == expected + "\n"
    assert len(list((outdir / "outbox").glob("*.eml"))) == 5
    assert not (outdir / SENDLOG).exists()


def test_cli_send(tmp_path, smtp_server):
    mailbox, env = smtp_server("ssl")
    entries = [e for e in default_entries() if e["agency"] != "某某镇人民政府"]
    outdir = make_outdir(tmp_path, entries)
    args = [
        "mail",
        str(outdir),
        "--roster",
        str(make_roster(tmp_path)),
        "--send",
        "--cc",
        "lead@example.gov.cn",
        "--summary-to",
        "boss@example.gov.cn",
    ]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert [r[1] for r in mailbox.received] == [
        ["swj@example.gov.cn", "lead@example.gov.cn"],
        ["jtj@example.gov.cn", "lead@example.gov.cn"],
        ["wjw@example.gov.cn", "lead@example.gov.cn"],
        ["slj@example.gov.cn", "lead@example.gov.cn"],
        ["boss@example.gov.cn"],
    ]
    assert "共 已发送 5 封，已发送过，跳过 0 封，发送失败 0 封，未发送 0 封。" in result.stdout
    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code == 0 and len(mailbox.received) == 5
    assert "共 已发送 0 封，已发送过，跳过 5 封" in again.stdout
    dry = CliRunner().invoke(main, [a for a in args if a != "--send"], env=env)
    assert dry.exit_code == 0 and dry.stdout.count(texts.WOULD_SKIP) == 5
    mailbox.refuse.add("slj@example.gov.cn")
    failed = CliRunner().invoke(main, [*args, "--resend"], env=env)
    assert failed.exit_code == 1
    assert (
        "发送失败：收件人被拒绝：slj@example.gov.cn（550 5.1.1 mailbox unavailable）"
        in failed.stdout
    )


@pytest.mark.parametrize(
    "args,env,message",
    [
        ([], {}, "没有 results.json"),
        (["--send"], {}, "未配置SMTP 服务器（XLTOOLS_SMTP_HOST）、发件地址（XLTOOLS_MAIL_FROM）"),
        (["--roster", "/nonexistent.xlsx"], {}, "名单文件不存在"),
        (["--summary-to", "boss@"], {}, "--summary-to 中的邮箱地址「boss@」无效"),
    ],
)
def test_cli_usage_errors_exit_2(tmp_path, args, env, message):
    outdir = make_outdir(tmp_path) if args else tmp_path
    result = CliRunner().invoke(
        main, ["mail", str(outdir), *args], env={"XLTOOLS_SMTP_HOST": "", **env}
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_cli_help_ends_with_an_example():
    result = CliRunner().invoke(main, ["mail", "--help"])
    assert result.exit_code == 0
    description = result.output.split("Options:")[0]
    assert description.rstrip().splitlines()[-1].strip().startswith("xltools mail ")
