"""xltools fetch: submissions from a real IMAP server (Dovecot on loopback) into a folder."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import imap_server
import mail_corpus
import pytest
from click.testing import CliRunner

from xltools.cli import main
from xltools.mail.fetch import LEDGER, FolderTarget, fetch, safe_name
from xltools.mail.imap import ConnectionLost, load_imap_config

REASON = imap_server.unavailable_reason()
needs_dovecot = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture(scope="module")
def server():
    if REASON:
        pytest.skip(REASON)
    srv = imap_server.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(srv.root, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return mail_corpus.build(tmp_path_factory.mktemp("corpus"))


def run(server, args, security="none", **env):
    full = {**server.env(security), **env}
    result = CliRunner().invoke(main, ["fetch", *args], env=full, catch_exceptions=False)
    return result


def deliver(server, cases):
    server.clear()
    for i, case in enumerate(cases):
        server.deliver(case.raw, name=f"{i:03d}.xltools-test")


def by_subject(doc):
    return {m["subject"]: m for m in doc["messages"]}


# ------------------------------------------------------------------ the mailbox of 42 messages


@needs_dovecot
def test_every_message_accounted_for_and_each_file_saved_once(server, corpus, tmp_path):
    assert len(corpus) >= 40
    deliver(server, corpus)
    out = tmp_path / "收件箱"
    result = run(server, ["-o", str(out), "--max-size", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["complete"] is True and doc["already_fetched"] == 0
    messages = doc["messages"]
    assert len(messages) == len(corpus)
    assert sorted(m["uid"] for m in messages) == list(range(1, len(corpus) + 1))

    saved_names = []
    for case, msg in zip(corpus, sorted(messages, key=lambda m: m["uid"])):
        assert msg["status"] == case.status, (case.title, msg)
        if case.message_id:
            assert msg["message_id"] == case.message_id
        saved = [f["saved_as"] for f in msg["files"] if f["status"] == "saved"]
        assert saved == case.saved, case.title
        skipped = [(f["name"], f["reason"]) for f in msg["files"] if f["status"] == "skipped"]
        assert skipped == case.skipped, case.title
        assert sum(f["status"] == "duplicate" for f in msg["files"]) == case.duplicates, case.title
        for f in msg["files"]:
            if f["status"] == "skipped":
                assert f["detail"] and f["status_label"] == "未保存"
        saved_names += saved

    # exactly those files, each once, nothing outside the folder
    on_disk = sorted(p.name for p in out.iterdir() if p.name != LEDGER)
    assert on_disk == sorted(saved_names)
    assert len(set(saved_names)) == len(saved_names)
    import hashlib

    digests = [hashlib.sha256((out / n).read_bytes()).hexdigest() for n in saved_names]
    assert len(set(digests)) == len(digests)
    assert not (tmp_path / "etc").exists() and not list(tmp_path.rglob("cron.d"))
    assert all(len(n.encode()) <= 180 for n in on_disk)

    # the ledger has one line per message, the summary counts them all on stderr
    lines = (out / LEDGER).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(corpus)
    c = doc["counts"]
    expected = {
        s: sum(1 for k in corpus if k.status == s)
        for s in ("saved", "already", "no_attachment", "nothing_kept")
    }
    assert {s: c[s] for s in expected} == expected
    assert f"本次处理 {len(corpus)} 封邮件" in result.stderr

    # a second fetch saves nothing and says so
    again = run(server, ["-o", str(out), "--max-size", "1"])
    assert again.exit_code == 0
    assert again.stdout.strip() == f"没有新邮件（INBOX 中的 {len(corpus)} 封此前均已收取）。"
    assert sorted(p.name for p in out.iterdir() if p.name != LEDGER) == sorted(saved_names)


@needs_dovecot
def test_screen_report_names_every_reason(server, corpus, tmp_path):
    picked = [
        c
        for c in corpus
        if c.title in ("winmail.dat", "zip bomb", "no attachment (question)", "hostile names")
    ]
    deliver(server, picked)
    result = run(server, ["-o", str(tmp_path / "in")])
    assert result.exit_code == 0
    out = result.stdout
    assert "[附件未保存]" in out and "winmail.dat——Outlook 的 TNEF 格式附件" in out
    assert (
        "tjj.zip——压缩包内的“报表.xlsx”解压后达 300 MB（压缩比超过 200:1），疑似“压缩炸弹”" in out
    )
    assert "[来信无附件]" in out and "邮件中没有附件，请阅读邮件正文。" in out
    assert "已保存：../../../../etc/cron.d/evil.xlsx → evil.xlsx" in out
    # progress on stderr, one line per message
    assert result.stderr.count("[") >= 4 and "[4/4]" in result.stderr


@needs_dovecot
def test_renumbered_server_is_recognised_by_message_id_and_content(server, corpus, tmp_path):
    picked = corpus[:5]
    deliver(server, picked)
    out = tmp_path / "in"
    first = json.loads(run(server, ["-o", str(out), "--json"]).stdout)
    files = sorted(p.name for p in out.iterdir())
    # the mailbox is rebuilt: same messages, new UIDVALIDITY (Dovecot takes it from the clock)
    time.sleep(1.1)
    deliver(server, picked)
    again = run(server, ["-o", str(out), "--json"])
    doc = json.loads(again.stdout)
    assert doc["uidvalidity"] != first["uidvalidity"]
    assert [m["status"] for m in doc["messages"]] == ["already"] * 5
    assert doc["counts"]["files_saved"] == 0
    assert sorted(p.name for p in out.iterdir()) == files
    # and the third fetch knows the new numbers
    third = json.loads(run(server, ["-o", str(out), "--json"]).stdout)
    assert third["messages"] == [] and third["already_fetched"] == 5


@needs_dovecot
def test_connection_dropped_mid_fetch_loses_nothing_and_resumes(server, corpus, tmp_path):
    picked = [c for c in corpus if c.status == "saved"][:8]
    deliver(server, picked)
    out = tmp_path / "in"
    config = load_imap_config(server.env("none"))
    target = FolderTarget(out)

    def cut_after_three(i, total, record):
        if i == 3:
            server.kick()

    with pytest.raises(ConnectionLost) as info:
        fetch(config, target, progress=cut_after_three)
    partial = info.value.result
    assert not partial.complete and len(partial.messages) == 3 and partial.remaining == 5
    assert "其余 5 封将在下次运行 xltools fetch 时继续" in str(info.value)
    assert len((out / LEDGER).read_text(encoding="utf-8").splitlines()) == 3

    result = fetch(config, FolderTarget(out))
    assert len(result.messages) == 5 and result.already == 3
    names = sorted(p.name for p in out.iterdir() if p.name != LEDGER)
    assert names == sorted(n for c in picked for n in c.saved)


@needs_dovecot
def test_cli_reports_a_dropped_connection_with_exit_2(server, corpus, tmp_path, monkeypatch):
    deliver(server, corpus[:4])
    import xltools.mail.fetch as fetch_module

    original = fetch_module._fetch_one
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            server.kick()
        return original(*args, **kwargs)

    monkeypatch.setattr(fetch_module, "_fetch_one", flaky)
    result = run(server, ["-o", str(tmp_path / "in")])
    assert result.exit_code == 2
    assert "其余 3 封将在下次运行 xltools fetch 时继续" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    monkeypatch.setattr(fetch_module, "_fetch_one", original)
    again = run(server, ["-o", str(tmp_path / "in"), "--json"])
    assert again.exit_code == 0 and len(json.loads(again.stdout)["messages"]) == 3


@needs_dovecot
def test_mark_seen_and_move_are_opt_in_and_nothing_is_deleted(server, corpus, tmp_path):
    from imap_tools import MailBoxUnencrypted

    deliver(server, corpus[:3])
    assert run(server, ["-o", str(tmp_path / "a")]).exit_code == 0
    with MailBoxUnencrypted("127.0.0.1", server.port).login_utf8(
        server.user, server.password
    ) as mb:
        assert mb.folder.status("INBOX")["UNSEEN"] == 3  # untouched by default
    assert (
        run(server, ["-o", str(tmp_path / "b"), "--mark-seen", "--move-to", "已收取"]).exit_code
        == 0
    )
    with MailBoxUnencrypted("127.0.0.1", server.port).login_utf8(
        server.user, server.password
    ) as mb:
        assert mb.folder.status("INBOX")["MESSAGES"] == 0
        moved = mb.folder.status("已收取")
        assert moved["MESSAGES"] == 3 and moved["UNSEEN"] == 0


@needs_dovecot
def test_since_limits_the_search(server, corpus, tmp_path):
    picked = [c for c in corpus if c.title.startswith(("outlook", "sender not in roster"))]
    deliver(server, picked)
    # Dovecot's SINCE compares the internal (delivery) date: all are today; a future date finds none
    result = run(server, ["-o", str(tmp_path / "in"), "--since", "2099年1月1日", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["messages"] == []
    result = run(server, ["-o", str(tmp_path / "in"), "--since", "2020-01-01", "--json"])
    assert len(json.loads(result.stdout)["messages"]) == len(picked)
    bad = run(server, ["-o", str(tmp_path / "in"), "--since", "昨天"])
    assert bad.exit_code == 2 and "日期「昨天」无效" in bad.stderr


# ------------------------------------------------------------------ TLS, login, network failures


@needs_dovecot
def test_imaps_with_the_throwaway_ca(server, corpus, tmp_path):
    deliver(server, corpus[:2])
    ok = run(
        server,
        ["-o", str(tmp_path / "a"), "--json"],
        security="ssl",
        XLTOOLS_IMAP_CA_FILE=str(server.ca_file),
    )
    assert ok.exit_code == 0, ok.output
    assert len(json.loads(ok.stdout)["messages"]) == 2
    starttls = run(
        server,
        ["-o", str(tmp_path / "b"), "--json"],
        security="starttls",
        XLTOOLS_IMAP_CA_FILE=str(server.ca_file),
    )
    assert starttls.exit_code == 0 and len(json.loads(starttls.stdout)["messages"]) == 2


@needs_dovecot
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_unknown_certificate_is_refused(server, tmp_path, security):
    result = run(server, ["-o", str(tmp_path / "a")], security=security)
    assert result.exit_code == 2
    port = server.ssl_port if security == "ssl" else server.port
    assert result.stderr.startswith(
        f"错误：无法验证收件服务器 127.0.0.1:{port} 的证书"
        "（unable to get local issuer certificate），已拒绝连接"
    )
    assert "XLTOOLS_IMAP_CA_FILE" in result.stderr and "不会跳过证书验证" in result.stderr
    assert not (tmp_path / "a" / LEDGER).exists()


@needs_dovecot
def test_wrong_password_exit_2(server, tmp_path):
    result = run(server, ["-o", str(tmp_path / "a")], XLTOOLS_IMAP_PASSWORD="wrong")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "错误：收件邮箱登录失败（[AUTHENTICATIONFAILED] Authentication failed.）："
        "请检查用户名 gkb@example.gov.cn 和密码"
    )
    assert "Traceback" not in result.stderr


@needs_dovecot
def test_ssl_against_the_plain_port_is_a_tls_failure(server, tmp_path):
    result = run(
        server,
        ["-o", str(tmp_path / "a")],
        security="ssl",
        XLTOOLS_IMAP_PORT=str(server.port),
        XLTOOLS_IMAP_CA_FILE=str(server.ca_file),
    )
    assert result.exit_code == 2
    assert f"与收件服务器 127.0.0.1:{server.port} 建立加密连接失败" in result.stderr
    assert "端口 993 应使用 ssl" in result.stderr


@needs_dovecot
def test_missing_folder(server, tmp_path):
    result = run(server, ["-o", str(tmp_path / "a"), "--folder", "没有这个"])
    assert result.exit_code == 2 and "收件邮箱中没有文件夹「没有这个」" in result.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_and_timeout(tmp_path):
    env = {
        "XLTOOLS_IMAP_HOST": "127.0.0.1",
        "XLTOOLS_IMAP_USER": "u",
        "XLTOOLS_IMAP_PASSWORD": "p",
        "XLTOOLS_IMAP_SECURITY": "none",
    }
    port = _free_port()
    result = CliRunner().invoke(
        main, ["fetch", "-o", str(tmp_path / "a")], env={**env, "XLTOOLS_IMAP_PORT": str(port)}
    )
    assert result.exit_code == 2
    assert (
        result.stderr == f"错误：收件服务器 127.0.0.1:{port} 拒绝连接："
        "请检查端口（IMAP 通常为 993 或 143）和服务器地址。\n"
    )

    # a server that accepts the connection and never says a word
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        result = CliRunner().invoke(
            main,
            ["fetch", "-o", str(tmp_path / "a")],
            env={
                **env,
                "XLTOOLS_IMAP_PORT": str(silent.getsockname()[1]),
                "XLTOOLS_IMAP_TIMEOUT": "1",
            },
        )
    finally:
        silent.close()
    assert result.exit_code == 2
    assert "超时（1 秒无响应）" in result.stderr


def test_settings_errors_are_usage_errors(tmp_path):
    runner = CliRunner()
    r = runner.invoke(
        main,
        ["fetch", "-o", str(tmp_path)],
        env={"XLTOOLS_IMAP_HOST": None, "XLTOOLS_IMAP_USER": None},
    )
    assert (
        r.exit_code == 2
        and "未配置收件邮箱的服务器（XLTOOLS_IMAP_HOST）、用户名（XLTOOLS_IMAP_USER）" in r.stderr
    )
    r = runner.invoke(
        main,
        ["fetch", "-o", str(tmp_path)],
        env={
            "XLTOOLS_IMAP_HOST": "mail.example.gov.cn",
            "XLTOOLS_IMAP_USER": "u",
            "XLTOOLS_IMAP_PASSWORD": None,
        },
    )
    assert (
        r.exit_code == 2
        and "没有收件邮箱 u 的密码：请设置环境变量 XLTOOLS_IMAP_PASSWORD" in r.stderr
    )
    r = runner.invoke(
        main,
        ["fetch", "-o", str(tmp_path)],
        env={
            "XLTOOLS_IMAP_HOST": "mail.example.gov.cn",
            "XLTOOLS_IMAP_USER": "u",
            "XLTOOLS_IMAP_PASSWORD": "p",
            "XLTOOLS_IMAP_SECURITY": "none",
        },
    )
    assert r.exit_code == 2 and "不加密的 IMAP 连接会明文发送密码，只允许连接本机" in r.stderr
    r = runner.invoke(main, ["fetch", "-o", str(tmp_path)], env={"XLTOOLS_IMAP_SECURITY": "tls"})
    assert r.exit_code == 2 and "IMAP 加密方式「tls」无效：应为 ssl、starttls 或 none" in r.stderr
    r = runner.invoke(main, ["fetch"])
    assert (
        r.exit_code == 2
        and "请指定 -o 文件夹（保存附件）或 --season 年报工作文件夹，二者选一" in r.stderr
    )


def test_help_ends_with_an_example():
    text = CliRunner().invoke(main, ["fetch", "--help"]).output
    assert "示例：" in text and text.split("Options:")[0].rstrip().endswith(
        "xltools fetch --season 2025年度/ --move-to 已收取"
    )


# ------------------------------------------------------------------ file names from mail


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("C:\\Users\\a\\年报.xlsx", "年报.xlsx"),
        ("CON.xlsx", "_CON.xlsx"),
        ("lpt1", "_lpt1"),
        ("aux.tar.gz", "_aux.tar.gz"),
        ("报表:2025?<终>|*.xlsx", "报表_2025__终___.xlsx"),
        ("  年报.xlsx. . ", "年报.xlsx"),
        ("...", "附件"),
        ("", "附件"),
        ("~$年报.xlsx", "_年报.xlsx"),
        (".hidden.xlsx", "hidden.xlsx"),
        ("a\x00b\r\nc.xlsx", "a_b__c.xlsx"),
        ("年报\u202eslx.exe", "年报slx.exe"),
        ("年报..xlsx", "年报.xlsx"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_safe_name_bounds_length_and_keeps_extension():
    name = safe_name("局" * 300 + ".xlsx")
    assert name.endswith(".xlsx") and len(name.encode()) <= 180
    assert safe_name("x" * 300).startswith("x") and len(safe_name("x" * 300).encode()) <= 180


# ------------------------------------------------------------------ into a season; replies threaded


def write_roster(path: Path, without_email: tuple[str, ...] = ()) -> Path:
    lines = ["单位名称,电子邮箱"] + [
        f"{name},{'' if name in without_email else mail}"
        for name, mail in mail_corpus.AGENCIES.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


@needs_dovecot
def test_fetch_into_a_season_records_each_file_as_a_version_with_its_origin(
    server, corpus, tmp_path
):
    from xltools.season import Season

    season_dir = tmp_path / "2025年度"
    Season.create(season_dir, year=2025, roster=write_roster(tmp_path / "名单.csv")).close()
    # the mailbox settings may live in the season (never the password)
    with open(season_dir / "season.toml", "a", encoding="utf-8") as fh:
        fh.write(
            f'\n[imap]\nhost = "127.0.0.1"\nport = {server.port}\n'
            f'security = "none"\nuser = "{server.user}"\n'
        )
    deliver(server, corpus)
    env = {
        k: None
        for k in (
            "XLTOOLS_IMAP_HOST",
            "XLTOOLS_IMAP_PORT",
            "XLTOOLS_IMAP_USER",
            "XLTOOLS_IMAP_SECURITY",
        )
    }
    result = CliRunner().invoke(
        main,
        ["fetch", "--season", str(season_dir), "--max-size", "1", "--json"],
        env={"XLTOOLS_IMAP_PASSWORD": server.password, **env},
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["messages"]) == len(corpus)
    assert [m["status"] for m in sorted(doc["messages"], key=lambda m: m["uid"])] == [
        c.status for c in corpus
    ]
    kept = [(m, f) for m in doc["messages"] for f in m["files"] if f["status"] == "saved"]
    assert len(kept) == sum(len(c.saved) for c in corpus)
    assert all(f["version"] for _, f in kept)
    assert (season_dir / LEDGER).is_file()
    # the workbook names 交通运输局, the sender is 教育局's roster address: a warning to check
    from xltools.messages import FETCH

    mismatch = next(m for m in doc["messages"] if m["subject"] == "代交通运输局报送")
    assert (
        FETCH.sender_mismatch.format(
            sender="jyj@edu.example.gov.cn", sender_agency="某某市教育局", agency="某某市交通运输局"
        )
        in mismatch["note"]
    )
    flagged = [m["subject"] for m in doc["messages"] if "是名单中" in (m["note"] or "")]
    assert flagged == ["代交通运输局报送"], [
        (m["subject"], m["note"]) for m in doc["messages"] if m["note"]
    ]

    with Season.open(season_dir) as season:
        # every kept file is a version carrying the e-mail it came by
        for m, f in kept:
            v = season.version(int(f["version"]))
            assert v.original_name == f["name"] and v.sha256 == f["sha256"]
            assert v.origin.kind == "mail" and v.origin.message_id == (m["message_id"] or "")
            assert v.origin.sender == (m["sender"] or "") and v.origin.imap_folder == "INBOX"
            assert v.origin.imap_uid == m["uid"]
        # the Word report names no agency: the sender's roster address does
        word = next(f for m, f in kept if f["name"] == "教育局政府資訊公開工作年度報告.docx")
        assert season.version(int(word["version"])).agency == "某某市教育局"
        assert season.has_message(corpus[0].message_id)
        versions = season.conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]

    again = CliRunner().invoke(
        main,
        ["fetch", "--season", str(season_dir), "--json"],
        env={"XLTOOLS_IMAP_PASSWORD": server.password, **env},
    )
    assert again.exit_code == 0 and json.loads(again.stdout)["messages"] == []
    with Season.open(season_dir) as season:
        assert season.conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == versions


@needs_dovecot
def test_season_settings_cannot_hold_the_password(server, tmp_path):
    from xltools.season import Season

    season_dir = tmp_path / "s"
    Season.create(season_dir, year=2025).close()
    with open(season_dir / "season.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[imap]\nhost = "127.0.0.1"\npassword = "x"\n')
    r = CliRunner().invoke(main, ["fetch", "--season", str(season_dir)])
    assert r.exit_code == 2 and "season.toml 的 [imap] 中不能写密码" in r.stderr


@needs_dovecot
def test_fetch_consolidate_mail_replies_in_thread(server, corpus, tmp_path):
    import email
    from email import policy

    picked = [c for c in corpus if c.title.startswith(("outlook", "foxmail", "qq", "coremail"))]
    deliver(server, picked)
    inbox, out = tmp_path / "收件箱", tmp_path / "汇总"
    roster = write_roster(tmp_path / "名单.csv", without_email=("某某市民政局",))
    assert run(server, ["-o", str(inbox)]).exit_code == 0
    r = CliRunner().invoke(
        main, ["consolidate", str(inbox), "--roster", str(roster), "-o", str(out), "-j", "0"]
    )
    assert r.exit_code in (0, 1), r.output
    r = CliRunner().invoke(main, ["mail", str(out), "--only", "all"])
    assert r.exit_code in (0, 1), r.output
    replies = {}
    for eml in sorted((out / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        replies[str(msg["To"])] = msg
    threaded = 0
    for case in picked:
        to = mail_corpus.address(case.agency)
        msg = next((m for t, m in replies.items() if to in t), None)
        assert msg is not None, (case.agency, list(replies))
        assert msg["In-Reply-To"] == case.message_id and msg["References"] == case.message_id
        threaded += 1
    assert threaded == len(picked)
    # 民政局 has no address in the roster: the reply goes to the address its report came from
    assert any("mzj@example.gov.cn" in t for t in replies)


def test_reply_address_falls_back_to_the_sender():
    from xltools.mail.compose import _recipients
    from xltools.results import Entry

    entry = Entry(
        agency="某某镇人民政府",
        status="errors",
        email=None,
        roster_email=None,
        sender="zf@town.example.gov.cn",
        message_id="<a@b>",
    )
    assert _recipients(entry, None, "zf@town.example.gov.cn") == (("zf@town.example.gov.cn",), None)
    doc = entry.to_dict()
    assert doc["sender"] == "zf@town.example.gov.cn" and doc["message_id"] == "<a@b>"
    # a season's results.json records the origin as a whole
    seasonal = Entry.from_dict(
        {
            "agency": "x",
            "status": "ok",
            "origin": {"kind": "mail", "sender": "s@x.cn", "message_id": "<m@x>"},
        }
    )
    assert (seasonal.sender, seasonal.message_id) == ("s@x.cn", "<m@x>")


@needs_dovecot
def test_season_fetch_consolidate_mail_threaded(server, corpus, tmp_path):
    """The coordinator's day: fetch → consolidate → mail, all on the season."""
    import email
    from email import policy

    from factory import make_workbook

    from xltools.season import Season

    picked = [
        c
        for c in corpus
        if c.title.startswith(("outlook", "foxmail")) or c.title == "sender and workbook disagree"
    ]
    wrong = make_workbook(
        tmp_path / "wrong.xlsx",
        meta_agency="某某市统计局",
        meta_year=2025,
        meta_email="tjj@example.gov.cn",
        t3_new_person=7,
    )
    wrong_id = "<wrong-figures.0001@example.gov.cn>"
    wrong_raw = mail_corpus.message(
        mail_corpus.outlook_headers("某某市统计局", "统计局年报", wrong_id),
        [
            mail_corpus.part(
                mail_corpus.XLSX, wrong.read_bytes(), disposition='attachment; filename="tjj.xlsx"'
            )
        ],
    )
    deliver(server, picked)
    server.deliver(wrong_raw)
    season_dir = tmp_path / "2025年报"
    Season.create(season_dir, year=2025, roster=write_roster(tmp_path / "名单.csv")).close()
    runner = CliRunner()
    r = runner.invoke(main, ["fetch", "--season", str(season_dir)], env=server.env("none"))
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["consolidate", "--season", str(season_dir), "-j", "0"])
    assert r.exit_code == 1, r.output  # 统计局 has an error
    results = json.loads((season_dir / "汇总" / "results.json").read_text(encoding="utf-8"))
    by_agency = {e["agency"]: e for e in results["entries"]}
    # 报送情况 warns that 教育局's address sent 交通运输局's workbook
    assert (
        "发件地址 jyj@edu.example.gov.cn 是名单中“某某市教育局”的邮箱，"
        "与报表中的单位“某某市交通运输局”不一致" in by_agency["某某市交通运输局"]["note"]
    )
    assert by_agency["某某市统计局"]["status"] == "errors"
    assert by_agency["某某市统计局"]["origin"]["message_id"] == wrong_id
    r = runner.invoke(main, ["approve", "某某市财政局", "--season", str(season_dir)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["consolidate", "--season", str(season_dir), "-j", "0"])
    r = runner.invoke(main, ["mail", "--season", str(season_dir)])
    assert r.exit_code in (0, 1), r.output
    outbox = season_dir / "汇总" / "outbox"
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(outbox.glob("*.eml"))
    ]
    revise = next(m for m in mails if "tjj@example.gov.cn" in str(m["To"]))
    assert revise["In-Reply-To"] == wrong_id and revise["References"] == wrong_id
    accepted = next(m for m in mails if "czj@example.gov.cn" in str(m["To"]))
    assert accepted["In-Reply-To"] == corpus[0].message_id
    reminders = [m for m in mails if m["In-Reply-To"] is None]
    assert reminders and all(
        "催报" in str(m["Subject"]) or "报送" in str(m["Subject"]) for m in reminders
    )


@needs_dovecot
def test_fetch_inside_a_season_folder_needs_no_option(server, corpus, tmp_path, monkeypatch):
    from xltools.season import Season

    season_dir = tmp_path / "2025年报"
    Season.create(season_dir, year=2025).close()
    deliver(server, corpus[:2])
    monkeypatch.chdir(season_dir)
    r = CliRunner().invoke(main, ["fetch", "--json"], env=server.env("none"))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["target"] == f"年报工作文件夹 {season_dir}" and len(doc["messages"]) == 2
