"""`xltools serve` over HTTP: login, CSRF, agency links, escaping, upload limits, hostile files,
the season flow through the page. A real server (waitress on loopback) and a real season."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import make_workbook
from webharness import PASSWORD, USER, Browserless, Server, make_season, token, wait_done

from xltools.cli import main
from xltools.messages import ACCOUNTS
from xltools.season import Season
from xltools.season.accounts import hash_password, reset_password, verify_password
from xltools.season.workflow import Actor, replace_link
from xltools.web.access import Throttle
from xltools.web.app import CSP, Options
from xltools.web.server import exposure_warning

A = "聊城市生态环境局"
B = "聊城市教育和体育局"
XSS = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
AGENCIES = [A, B, XSS, FORMULA]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    folder = make_season(root / "2022年报", AGENCIES)
    server = Server(folder, Options(max_upload=2 * 1024 * 1024))
    yield server, folder, root
    server.stop()


def upload(
    client: Browserless,
    tok: str,
    path: Path | None = None,
    name: str | None = None,
    data: bytes | None = None,
):
    csrf = client.csrf(f"/a/{tok}/")
    data = data if data is not None else path.read_bytes()
    return client.post_file(f"/a/{tok}/upload", {"csrf_token": csrf}, name or path.name, data)


def versions(folder: Path, agency: str):
    with Season.open(folder) as s:
        return s.history(agency)


# --- access -------------------------------------------------------------------------------------


def test_password_hash_is_salted_scrypt_and_verifies():
    a, b = hash_password("同一个密码abc"), hash_password("同一个密码abc")
    assert a["algorithm"] == "scrypt" and a["salt"] != b["salt"] and a["hash"] != b["hash"]
    assert verify_password("同一个密码abc", a) and not verify_password("同一个密码abd", a)


def test_no_password_is_kept_in_plain_text(tmp_path):
    folder = make_season(tmp_path / "s", [A])
    Server(folder).stop()  # the page's own file: a session key only
    access = json.loads((folder / "web" / "access.json").read_text(encoding="utf-8"))
    assert set(access) == {"secret_key"}
    with Season.open(folder) as s:
        (acc,) = s.accounts()
        assert (acc.name, acc.role) == (USER, "admin")
        assert acc.password["algorithm"] == "scrypt" and PASSWORD not in json.dumps(acc.password)
        assert verify_password(PASSWORD, acc.password)
    for name in ("season.db", "说明与审核.json", "操作记录.jsonl"):
        if (folder / name).exists():
            assert PASSWORD.encode() not in (folder / name).read_bytes(), name


def test_set_password_from_the_command_line_ends_sessions(tmp_path):
    folder = make_season(tmp_path / "s", [A])
    with Season.open(folder) as s:
        epoch = s.account(USER).epoch
    r = CliRunner().invoke(
        main, ["serve", str(folder), "--set-password"], input="新的密码 2026\n新的密码 2026\n"
    )
    assert r.exit_code == 0, r.output
    assert r.output == ACCOUNTS.text("password_set", name=USER) + "\n"
    with Season.open(folder) as s:
        acc = s.account(USER)
    assert verify_password("新的密码 2026", acc.password)
    assert not verify_password(PASSWORD, acc.password)
    assert acc.epoch == epoch + 1


def test_serve_outside_a_season_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(main, ["serve", str(tmp_path)])
    assert r.exit_code == 2 and "不是年报工作文件夹" in r.output and "Traceback" not in r.output


def test_listening_beyond_loopback_warns():
    assert exposure_warning("127.0.0.1") is None and exposure_warning("::1") is None
    assert exposure_warning("localhost") is None
    warn = exposure_warning("0.0.0.0")
    assert "所有网络接口" in warn and "不加密" in warn and "HTTPS 反向代理" in warn
    assert "192.168.1.5" in exposure_warning("192.168.1.5")


def test_throttle_doubles_the_wait_after_five_failures():
    now = [1000.0]
    t = Throttle(clock=lambda: now[0])
    assert [t.failed("1.2.3.4") for _ in range(4)] == [0, 0, 0, 0]
    assert t.failed("1.2.3.4") == 30 and t.wait_left("1.2.3.4") == 30
    now[0] += 31
    assert t.wait_left("1.2.3.4") == 0
    assert t.failed("1.2.3.4") == 60
    assert t.wait_left("5.6.7.8") == 0  # another address is not slowed down
    t.succeeded("1.2.3.4")
    assert t.wait_left("1.2.3.4") == 0


def test_board_needs_login_and_five_wrong_passwords_are_slowed_down(tmp_path):
    folder = make_season(tmp_path / "s", [A])
    server = Server(folder)
    try:
        c = Browserless(server.base)
        status, headers, _ = c.get("/")
        assert status == 302 and headers["Location"].startswith("/login")
        codes = [c.login("wrong password")[0] for _ in range(5)]  # against the account
        assert codes == [401, 401, 401, 401, 429]
        status, _, body = c.login(PASSWORD)  # even the right password must wait now
        assert status == 429 and "秒后再试" in body.decode()
        assert c.get("/")[0] == 302
        throttle = server.app.extensions["xltools"].throttle
        throttle.succeeded("account:" + USER)  # as if the wait had passed
        status, headers, _ = c.login(PASSWORD)
        assert status == 302 and headers["Location"] == "/"
        status, _, body = c.get("/")
        assert status == 200 and A in body.decode()
    finally:
        server.stop()


def test_session_ends_when_the_password_changes(site):
    server, folder, _ = site
    c = Browserless(server.base)
    c.login()
    assert c.get("/")[0] == 200
    with Season.open(folder) as s:  # same password, new epoch
        reset_password(s, s.account(USER).id, PASSWORD, actor=Actor("测试"))
    assert c.get("/")[0] == 302


# --- CSRF, headers, errors ----------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(site):
    server, folder, _ = site
    c = Browserless(server.base)
    tok = token(folder, B)
    before = len(versions(folder, B))
    wb = make_workbook(folder.parent / "b.xlsx", meta_agency=B)
    status, _, body = c.post_file(f"/a/{tok}/upload", {}, "b.xlsx", wb.read_bytes())
    assert status == 400 and "安全校验码" in body.decode()
    status, _, _ = c.post_file(
        f"/a/{tok}/upload", {"csrf_token": "forged"}, "b.xlsx", wb.read_bytes()
    )
    assert status == 400
    assert len(versions(folder, B)) == before
    assert c.post_form("/login", {"name": USER, "password": PASSWORD})[0] == 400
    c.login()
    assert c.post_form(f"/agency/{B}/approve", {})[0] == 400
    assert c.post_form("/consolidate", {"csrf_token": "x"})[0] == 400


def test_every_page_has_the_csp_and_no_inline_script(site):
    server, folder, _ = site
    c = Browserless(server.base)
    c.login()
    tok = token(folder, A)
    for path in ["/login", "/", "/links", f"/agency/{A}", "/consolidate", f"/a/{tok}/", "/nowhere"]:
        status, headers, body = c.get(path)
        assert headers["Content-Security-Policy"] == CSP, path
        assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert (
            headers["X-Content-Type-Options"] == "nosniff"
            and headers["Referrer-Policy"] == "no-referrer"
        )
        html = body.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " on" not in re.sub(r"<[^>]*>", "", "") and not re.search(
            r"<[^>]+\son[a-z]+=", html
        ), path
        assert "Server" not in headers or "waitress" not in headers.get("Server", "")


def test_no_directory_listing_no_debug_no_traceback(site):
    server, _, _ = site
    c = Browserless(server.base)
    for path in [
        "/static/",
        "/static",
        "/static/../season.toml",
        "/web/access.json",
        "/console",
        "/a/",
        "/a/x/",
    ]:
        status, _, body = c.get(path)
        assert status == 404, path
        assert "Traceback" not in body.decode() and "season.db" not in body.decode()
    assert c.get("/static/xltools.css")[0] == 200


def test_an_internal_error_shows_a_chinese_page_without_a_trace(site, monkeypatch):
    server, _, _ = site
    from xltools.season import workflow

    monkeypatch.setattr(workflow, "board", lambda *a, **kw: 1 / 0)
    c = Browserless(server.base)
    c.login()
    status, _, body = c.get("/")
    html = body.decode()
    assert status == 500 and "服务器处理请求时出错" in html
    assert "ZeroDivisionError" not in html and "Traceback" not in html and "app.py" not in html


# --- agency links --------------------------------------------------------------------------------


def test_template_carries_the_agency_name_and_year(site):
    server, folder, root = site
    c = Browserless(server.base)
    status, headers, body = c.get(f"/a/{token(folder, A)}/template")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    out = root / "template.xlsx"
    out.write_bytes(body)
    from xltools.pipeline import check_file

    r = check_file(out)
    assert r.agency == A and r.year == 2022 and r.form == "2021"


def test_another_agencys_link_gets_nothing_of_this_agency(site):
    server, folder, root = site
    c = Browserless(server.base)
    secret = 4321
    wb = make_workbook(
        root / "a-secret.xlsx", meta_agency=A, meta_contact="甲局联系人", t2_normative_issued=secret
    )
    assert upload(c, token(folder, A), wb)[0] == 303
    wait_done(server)
    seq = versions(folder, A)[-1].seq
    tok_b = token(folder, B)
    for path in [
        f"/a/{tok_b}/",
        f"/a/{tok_b}/v/{seq}",
        f"/a/{tok_b}/v/{seq}/annotated",
        f"/a/{tok_b}/v/1",
    ]:
        status, _, body = c.get(path)
        text = body.decode("utf-8", "replace")
        assert A not in text and "甲局联系人" not in text and str(secret) not in text, path
    # a guessed, truncated or revoked link gets a 404 page
    tok_a = token(folder, A)
    assert c.get(f"/a/{tok_a[:-1]}/")[0] == 404
    assert c.get(f"/a/{tok_a}x/")[0] == 404
    with Season.open(folder) as s:
        replace_link(s, A, actor=Actor("测试", "cli"))
    status, _, body = c.get(f"/a/{tok_a}/")
    assert status == 404 and A not in body.decode()
    assert c.get(f"/a/{token(folder, A)}/")[0] == 200


def test_a_link_refuses_another_agencys_workbook_and_files_an_unknown_name_with_a_warning(site):
    server, folder, root = site
    c = Browserless(server.base)
    wb = make_workbook(root / "wrong-name.xlsx", meta_agency=A)
    before_a, before_b = len(versions(folder, A)), len(versions(folder, B))
    status, headers, _ = upload(c, token(folder, B), wb)
    assert status == 303
    wait_done(server)
    page = c.follow(headers["Location"])[2].decode()
    assert f"封面的机关名称是“{A}”" in page and f"不能通过{B}的专用链接报送" in page
    assert (len(versions(folder, A)), len(versions(folder, B))) == (before_a, before_b)
    with Season.open(folder) as s:
        refused = s.refusals()
    assert [(r["agency"], r["cover"], r["other"], r["original_name"]) for r in refused] == [
        (B, A, A, "wrong-name.xlsx")
    ]
    c.login()
    board = c.get("/")[2].decode()
    assert "被拒收的链接上传" in board and "wrong-name.xlsx" in board
    # a name the season does not know (a short or old name): filed under the link, with a warning
    short = make_workbook(root / "short-name.xlsx", meta_agency="乙局（旧称）")
    assert upload(c, token(folder, B), short)[0] == 303
    wait_done(server)
    v = versions(folder, B)[-1]
    msg = next(f for f in v.findings if f.rule == "agency-mismatch")
    assert "“乙局（旧称）”" in msg.message and f"“{B}”" in msg.message and msg.cell == "B3"


def test_xss_in_agency_names_file_names_and_cells_is_text(site):
    server, folder, root = site
    c = Browserless(server.base)
    evil_name = "<img src=x onerror=alert(2)>.xlsx"
    wb = make_workbook(
        root / "xss.xlsx",
        meta_agency=XSS,
        meta_contact="<b onmouseover=alert(3)>联系人</b>",
        t3_new_person="<svg onload=alert(4)>",
    )
    assert upload(c, token(folder, XSS), wb, name=evil_name)[0] == 303
    wait_done(server)
    v = versions(folder, XSS)[-1]
    assert v.original_name == evil_name and v.errors >= 1
    c.login()
    pages = [
        "/",
        "/links",
        f"/agency/{XSS}",
        f"/a/{token(folder, XSS)}/",
        f"/a/{token(folder, XSS)}/v/{v.seq}",
        f"/agency/{FORMULA}",
    ]
    for path in pages:
        status, _, body = c.get(path)
        html = body.decode()
        assert status == 200, path
        for raw in (
            "<script>alert(1)</script>",
            "<img src=x onerror",
            "<svg onload",
            "<b onmouseover",
        ):
            assert raw not in html, (path, raw)
    assert (
        "&lt;img src=x onerror=alert(2)&gt;.xlsx" in c.get(f"/a/{token(folder, XSS)}/")[2].decode()
    )
    assert "&lt;svg onload=alert(4)&gt;" in c.get(f"/a/{token(folder, XSS)}/v/{v.seq}")[2].decode()
    board = c.get("/")[2].decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in board
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;点我&#34;)" in board


def test_uploaded_names_never_become_paths(site):
    server, folder, root = site
    c = Browserless(server.base)
    for i, name in enumerate(
        [
            "../../../../tmp/xltools-pwned.xlsx",
            "..\\..\\season.db.xlsx",
            "/etc/passwd.xlsx",
            "a/../../x.xlsx",
        ]
    ):
        wb = make_workbook(root / f"trav{i}.xlsx", meta_agency=B, t2_normative_issued=i)
        assert upload(c, token(folder, B), wb, name=name)[0] == 303
    wait_done(server)
    assert not Path("/tmp/xltools-pwned.xlsx").exists()
    assert (folder / "season.db").is_file() and not (folder / "season.db.xlsx").exists()
    names = [v.original_name for v in versions(folder, B)[-4:]]
    # the last component is kept as text; how a backslash inside the quoted multipart filename
    # arrives depends on the Werkzeug release (3.1.9 unescapes "\\." to "."), never as a separator
    assert [n for n in names if "/" in n or "\\" in n] == []
    assert names[0] == "xltools-pwned.xlsx" and names[2:] == ["passwd.xlsx", "x.xlsx"]
    assert names[1] in ("season.db.xlsx", "....season.db.xlsx")
    for v in versions(folder, B):
        assert v.stored.resolve().is_relative_to((folder / "files").resolve())


def test_oversized_and_non_spreadsheet_uploads_are_refused_with_a_message(site):
    server, folder, _ = site
    c = Browserless(server.base)
    tok = token(folder, B)
    before = len(versions(folder, B))
    status, _, body = upload(
        c, tok, name="big.xlsx", data=b"PK\x03\x04" + b"\0" * (3 * 1024 * 1024)
    )
    assert status == 413 and "不能超过 2 MB" in body.decode()
    status, headers, _ = upload(c, tok, name="report.docx", data=b"hello")
    assert status == 302
    status, _, body = c.get(headers["Location"])
    assert "不是表格文件" in body.decode()
    assert len(versions(folder, B)) == before
    assert c.get("/healthz")[0] == 200


def test_hostile_corpus_is_refused_with_a_message_and_the_server_stays_up(site, tmp_path):
    from hostile_corpus import CASES, UNREADABLE, build_corpus

    server, folder, _ = site
    cases = [k for k in CASES if k.status == UNREADABLE and not k.needs]
    built = build_corpus(tmp_path, cases)
    c = Browserless(server.base)
    tok = token(folder, B)
    before = len(versions(folder, B))
    sent = []
    for case in cases:
        for f in built[case.kind]:
            if f.stat().st_size > 2 * 1024 * 1024:
                continue
            status, headers, _ = upload(c, tok, f)
            if status == 302:  # refused before it was taken (an empty file): said on the page
                assert "空文件" in c.get(headers["Location"])[2].decode(), case.kind
                continue
            assert status == 303, case.kind
            sent.append((case, f))
    wait_done(server, 120)
    got = versions(folder, B)[before:]
    assert len(got) == len(sent)
    assert len(sent) >= 20
    for (case, f), v in zip(sent, got):
        assert v.original_name == f.name
        assert v.status == "unreadable", case.kind
        if case.fragment:
            assert any(case.fragment in x.message for x in v.findings), (
                case.kind,
                [x.message for x in v.findings],
            )
        html = c.get(f"/a/{tok}/v/{v.seq}")[2].decode()
        assert "无法读取" in html
    assert c.get("/healthz")[0] == 200
    assert upload(c, tok, make_workbook(tmp_path / "after.xlsx", meta_agency=B))[0] == 303


# --- the season through the page ------------------------------------------------------------------


def test_coordinator_accepts_approves_consolidates_and_downloads(tmp_path):
    folder = make_season(tmp_path / "s", [A, B])
    server = Server(folder)
    try:
        agency_c = Browserless(server.base)
        tok = token(folder, A)
        bad = make_workbook(tmp_path / "v1.xlsx", meta_agency=A, t3_new_person=999)
        status, headers, _ = upload(agency_c, tok, bad)
        assert status == 303
        wait_done(server)  # a loaded machine may take longer than the page waits
        status, headers, _ = agency_c.get(headers["Location"])
        assert status == 302 and re.search(r"/v/1\?new=1$", headers["Location"])
        html = agency_c.get(headers["Location"])[2].decode()
        assert 'class="k-input mark-error"' in html and "勾稽关系不成立" in html
        good = make_workbook(
            tmp_path / "v2.xlsx",
            meta_agency=A,
            t2_regulation_issued=5,
            t2_regulation_repealed=0,
            t2_regulation_in_force=1,
        )
        assert upload(agency_c, tok, good)[0] == 303
        wait_done(server)
        v1, v2 = versions(folder, A)
        assert (v1.status, v2.status) == ("errors", "warnings")

        c = Browserless(server.base)
        c.login()
        html = c.get(f"/agency/{A}")[2].decode()
        assert "第 2 版" in html and "第 1 版" in html and "与第 1 版相比改了" in html
        assert "t3_new_person" in html and "999" in html
        csrf = c.csrf(f"/agency/{A}")
        status, _, _ = c.post_form(f"/agency/{A}/approve", {"csrf_token": csrf})
        warning = next(f for f in v2.findings if f.severity == "warning")
        c.post_form(
            f"/agency/{A}/accept",
            {
                "csrf_token": csrf,
                "rule_cell": f"{warning.rule}|{warning.cell}",
                "note": "本年清理规章，现行有效件数以法制机构口径为准",
            },
        )
        c.post_form(f"/agency/{A}/approve", {"csrf_token": csrf})
        with Season.open(folder) as s:
            state = next(a for a in s.board() if a.agency == A)
        assert state.approved and state.explained == 1
        assert c.post_form("/consolidate", {"csrf_token": csrf})[0] == 302
        status, _, body = c.get("/download/summary")
        assert status == 200 and body[:2] == b"PK"
        (tmp_path / "汇总表.xlsx").write_bytes(body)
        r = CliRunner().invoke(main, ["check", str(tmp_path / "汇总表.xlsx"), "--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(c.get("/download/results")[2])
        entry = next(e for e in doc["entries"] if e["agency"] == A)
        assert entry["included"] and doc["counts"]["missing"] == 1
    finally:
        server.stop()


def test_a_stopped_server_finishes_spooled_uploads_on_restart(tmp_path):
    folder = make_season(tmp_path / "s", [A])
    server = Server(folder)
    server.intake.stop()  # nothing will be checked: the upload is only spooled
    try:
        c = Browserless(server.base)
        status, _, _ = upload(
            c, token(folder, A), make_workbook(tmp_path / "x.xlsx", meta_agency=A)
        )
        assert status == 303
        assert len(list(server.intake.folder.glob("*.json"))) == 1
        assert versions(folder, A) == []
    finally:
        server.stop()
    again = Server(folder)
    try:
        wait_done(again)
        assert [v.status for v in versions(folder, A)] == ["ok"]
    finally:
        again.stop()


def test_the_fast_board_agrees_with_the_seasons_board(tmp_path):
    """Every board status: missing, errors, warnings, explained, approved, changed after
    approval — the board read without building versions (the page's) equals the full one."""
    from xltools.pipeline import check_file
    from xltools.season.workflow import Actor, Incoming, accept, approve, take_in

    names = ["甲局", "乙局", "丙局", "丁局", "戊局", "己局"]
    folder = make_season(tmp_path / "s", names)
    me = Actor("测试", "web")
    season = Season.open(folder)

    def add(agency, **values):
        p = make_workbook(
            tmp_path / f"{agency}{len(list(tmp_path.iterdir()))}.xlsx", meta_agency=agency, **values
        )
        assert check_file(p).agency == agency
        return take_in(season, [Incoming(p, link_agency=agency)], actor=me, jobs=0).added[0]

    warn = dict(t2_regulation_issued=5, t2_regulation_repealed=0, t2_regulation_in_force=1)
    add("乙局", t3_new_person=999)
    add("丙局", **warn)
    add("丁局", **warn)
    w = next(f for f in season.history("丁局")[-1].findings if f.severity == "warning")
    accept(season, "丁局", w.rule, "已核实", actor=me, cell=w.cell)
    add("戊局")
    approve(season, "戊局", actor=me)
    add("己局")
    approve(season, "己局", actor=me)
    add("己局", t2_normative_issued=7)
    add("乙局", t3_new_person=998)

    def rows(board):
        return [
            (
                a.agency,
                a.status,
                a.versions,
                a.last_change,
                a.errors,
                a.warnings,
                a.explained,
                a.approved,
                a.diff_text,
                a.seq,
            )
            for a in board
        ]

    full, fast = rows(season.board(full=True)), rows(season.board(full=False))
    season.close()
    assert fast == full
    assert [x[1] for x in fast] == [
        "missing",
        "errors",
        "warnings",
        "explained",
        "approved",
        "changed_after_approval",
    ]


def test_return_composes_the_revise_mail_with_the_link_and_sends_it(tmp_path, monkeypatch):
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    class Box:
        def __init__(self):
            self.got = []

        async def handle_DATA(self, server, session, envelope):
            self.got.append((list(envelope.rcpt_tos), envelope.original_content))
            return "250 OK"

    box = Box()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    for k, v in {
        "XLTOOLS_SMTP_HOST": "127.0.0.1",
        "XLTOOLS_SMTP_PORT": str(port),
        "XLTOOLS_SMTP_SECURITY": "none",
        "XLTOOLS_MAIL_FROM": "gkb@example.gov.cn",
    }.items():
        monkeypatch.setenv(k, v)
    folder = make_season(tmp_path / "s", [A, B])
    server = Server(folder)
    try:
        agency_c = Browserless(server.base)
        upload(
            agency_c,
            token(folder, A),
            make_workbook(tmp_path / "bad.xlsx", meta_agency=A, t3_new_person=999),
        )
        wait_done(server)
        c = Browserless(server.base)
        c.login()
        status, _, body = c.get(f"/agency/{A}/return")
        html = body.decode()
        assert status == 200 and "需修改" in html and "unit0@example.gov.cn" in html
        assert f"/a/{token(folder, A)}/" in html and "勾稽关系不成立" in html
        assert B not in html  # only this agency's mail
        csrf = c.csrf(f"/agency/{A}/return")
        status, headers, _ = c.post_form(
            "/mail/send", {"csrf_token": csrf, "only": "errors", "agency": A}
        )
        assert status == 302
        assert "已发送 1 封" in c.get(headers["Location"])[2].decode()
        assert len(box.got) == 1
        to, raw = box.got[0]
        msg = message_from_bytes(raw, policy=policy.default)
        assert to == ["unit0@example.gov.cn"] and "需修改" in msg["Subject"]
        text = msg.get_body(("plain",)).get_content()
        assert f"{server.base}/a/{token(folder, A)}/" in text
        assert any(
            p.get_filename() and p.get_filename().endswith("批注.xlsx")
            for p in msg.iter_attachments()
        )
    finally:
        server.stop()
        smtp.stop()


def test_batch_upload_by_the_coordinator_files_each_under_its_agency(tmp_path):
    folder = make_season(tmp_path / "s", [A, B])
    server = Server(folder)
    try:
        c = Browserless(server.base)
        c.login()
        csrf = c.csrf("/")
        files = [
            (f"{n}.xlsx", make_workbook(tmp_path / f"{n}.xlsx", meta_agency=n).read_bytes())
            for n in (A, B)
        ]
        files.append(("readme.txt", b"not a workbook"))
        boundary = "----batch"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        ).encode()
        for name, data in files:
            body += (
                (
                    f"--{boundary}\r\n"
                    f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
                    f"Content-Type: application/octet-stream\r\n\r\n"
                ).encode()
                + data
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        status, headers, _ = c.request(
            "POST", "/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert status == 302
        page = c.get(headers["Location"])[2].decode()
        assert "收到 2 个文件，已记入 2 个" in page and "“readme.txt”不是表格文件" in page
        assert [v.status for v in versions(folder, A)] == ["ok"] and [
            v.status for v in versions(folder, B)
        ] == ["ok"]
        assert versions(folder, A)[0].origin.kind == "web"
    finally:
        server.stop()
