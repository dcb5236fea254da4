"""The web page as the coordinator's whole workplace (HTTP against a served season, real SMTP
and IMAP servers on loopback): deadline and 催报, links sent and exported, the board exported,
agencies explaining their warnings, the printable form, fetching the mailbox and publishing."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from email.message import EmailMessage
from pathlib import Path

import imap_server
import pytest
from factory import make_workbook
from loopback_smtp import loopback_smtp
from openpyxl import load_workbook
from webharness import USER, Browserless, Server, make_season, token, wait_done

from xltools.importer import import_published
from xltools.messages import SEASON, WEB
from xltools.season import Season
from xltools.season.workflow import Actor, configure
from xltools.web.app import Options

A, B, C, D = "聊城市甲局", "聊城市乙局", "聊城市丙局", "聊城市丁局"
PUBLIC = "https://nianbao.example.gov.cn"
WARNING = dict(t2_regulation_issued=5, t2_regulation_repealed=0, t2_regulation_in_force=1)


@pytest.fixture
def smtp(monkeypatch):
    with loopback_smtp() as (box, env):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        for k in (
            "XLTOOLS_IMAP_HOST",
            "XLTOOLS_IMAP_PORT",
            "XLTOOLS_IMAP_USER",
            "XLTOOLS_IMAP_PASSWORD",
            "XLTOOLS_IMAP_SECURITY",
        ):
            monkeypatch.delenv(k, raising=False)
        yield box


@pytest.fixture
def site(tmp_path, smtp):
    folder = make_season(tmp_path / "s", [A, B, C, D])
    with Season.open(folder) as s:
        configure(s, actor=Actor("测试"), office="聊城市人民政府办公室")
    server = Server(folder, Options(public_url=PUBLIC, jobs=1))
    c = Browserless(server.base)
    c.login()
    yield server, folder, c, smtp
    server.stop()


FLASH = re.compile(r'class="flash flash-[a-z]+" role="status">([^<]*)<')


def post(c: Browserless, path: str, fields: dict, page: str = "/") -> str:
    """POST a form as the page would; the flashed messages of the page it leads to."""
    status, headers, _ = c.post_form(path, {"csrf_token": c.csrf(page), **fields})
    assert status == 302, (path, status)
    html = c.follow(headers["Location"])[2].decode()
    return " ".join(FLASH.findall(html)) + "\n" + html


def agency_upload(server, folder, agency: str, path: Path) -> None:
    c = Browserless(server.base)
    tok = token(folder, agency)
    status, _, _ = c.post_file(
        f"/a/{tok}/upload", {"csrf_token": c.csrf(f"/a/{tok}/")}, path.name, path.read_bytes()
    )
    assert status == 303
    wait_done(server)


def test_deadline_overdue_and_remind_once_per_deadline(site, tmp_path):
    server, folder, c, box = site
    agency_upload(server, folder, A, make_workbook(tmp_path / "a.xlsx", meta_agency=A))
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    html = post(
        c,
        "/settings",
        {"deadline": past, "public_url": PUBLIC, "office": "聊城市人民政府办公室"},
        "/settings",
    )
    assert WEB.settings_saved in html
    board = c.get("/")[2].decode()
    assert f"报送期限：{past}" in board and "（已过期 3 天）" in board
    assert "<b>3</b> 家逾期未报送" in board and board.count('tag-overdue">逾期') == 3
    # 催报 for one agency: one mail, to it
    html = post(c, "/remind", {"agency": B})
    assert WEB.text("mail_sent", n=1) in html and box.to() == ["unit1@example.gov.cn"]
    assert str(box.received[0]["Subject"]) == f"【催报】请报送{B} 2022年度政府信息公开工作年度报告"
    body = box.received[0].get_body(("plain",)).get_content()
    y, m, d = (int(x) for x in past.split("-"))
    assert f"请于{y}年{m}月{d}日前填报并报送" in body and f"{PUBLIC}/a/{token(folder, B)}/" in body
    # all overdue: the two others only, and never twice for this deadline
    html = post(c, "/remind", {})
    assert WEB.text("mail_sent", n=2) in html
    assert sorted(box.to()[1:]) == ["unit2@example.gov.cn", "unit3@example.gov.cn"]
    assert WEB.nothing_to_send in post(c, "/remind", {})
    assert WEB.nothing_to_send in post(c, "/remind", {"agency": B})
    assert len(box.received) == 3
    with Season.open(folder) as s:
        assert [(m["kind"], m["deadline"]) for m in s.mails(B)] == [
            ("remind", f"{y}年{m}月{d}日前")
        ]


def test_links_sent_exported_replaced_and_the_old_one_dead(site, tmp_path):
    server, folder, c, box = site
    html = post(c, "/links/send", {"agency": A}, "/links")
    assert WEB.text("mail_sent", n=1) in html
    m = box.received[0]
    assert str(m["Subject"]) == f"【报送链接】{A} 2022年度政府信息公开工作年度报告在线报送"
    assert f"{PUBLIC}/a/{token(folder, A)}/" in m.get_body(("plain",)).get_content()
    html = post(c, "/links/send", {}, "/links")  # all not yet sent: B, C, D
    assert WEB.text("mail_sent", n=3) in html and len(box.received) == 4
    assert WEB.nothing_to_send in post(c, "/links/send", {}, "/links")
    # the list as a workbook: 单位、联系人、电子邮箱、链接
    status, headers, data = c.get("/export/links.xlsx")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert list(rows[0]) == SEASON.export_links_heads
    assert rows[1][:4] == (A, "联系人", "unit0@example.gov.cn", f"{PUBLIC}/a/{token(folder, A)}/")
    assert len(rows) == 5 and all(r[4] for r in rows[1:])  # each link's sending time
    # replaced: the old link is dead (a Chinese page saying whom to ask), the new one unsent
    old = token(folder, A)
    post(c, f"/agency/{A}/revoke", {}, f"/agency/{A}")
    status, _, body = Browserless(server.base).get(f"/a/{old}/")
    page = body.decode()
    assert status == 404 and "这个报送链接已失效或不完整" in page and "聊城市人民政府办公室" in page
    assert "Not Found" not in page and "404" not in page.split("<title>")[1].split("</title>")[0]
    assert WEB.text("mail_sent", n=1) in post(c, "/links/send", {}, "/links")
    assert f"{PUBLIC}/a/{token(folder, A)}/" in box.received[-1].get_body(("plain",)).get_content()


def test_links_on_this_computers_address_are_flagged(tmp_path, smtp):
    folder = make_season(tmp_path / "s", [A])
    server = Server(folder)  # the harness sets the server's own loopback address, as serve does
    try:
        c = Browserless(server.base)
        c.login()
        expected = SEASON.text("public_url_loopback", url=server.base)
        for path in ("/links", "/mail", "/settings"):
            assert expected in c.get(path)[2].decode().replace("&#34;", '"'), path
    finally:
        server.stop()


def test_board_exported_with_who_approved(site, tmp_path):
    server, folder, c, _ = site
    agency_upload(server, folder, A, make_workbook(tmp_path / "a.xlsx", meta_agency=A))
    agency_upload(
        server, folder, B, make_workbook(tmp_path / "b.xlsx", meta_agency=B, t3_new_person=999)
    )
    post(c, f"/agency/{A}/approve", {}, f"/agency/{A}")
    status, _, data = c.get("/export/board.xlsx")
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert list(rows[0]) == SEASON.export_board_heads
    by = {r[0]: r for r in rows[1:]}
    assert set(by) == {A, B, C, D}
    assert by[A][1] == "已审核" and by[A][9] == SEASON.yes and by[A][10] == USER
    assert by[B][1] == "有错误" and by[B][6] >= 1 and by[B][9] in (None, "")
    assert by[C][1] == "未报送" and by[C][3] == 0


def test_an_agency_explains_its_warning_and_the_coordinator_decides(site, tmp_path):
    server, folder, c, box = site
    agency_upload(server, folder, A, make_workbook(tmp_path / "a.xlsx", meta_agency=A, **WARNING))
    agency_upload(server, folder, B, make_workbook(tmp_path / "b.xlsx", meta_agency=B, **WARNING))
    with Season.open(folder) as s:
        warn = next(f for f in s.current(A).findings if f.severity == "warning")
    for agency, note in ((A, "本年集中清理，废止较多"), (B, "数字无误")):
        agent = Browserless(server.base)
        tok = token(folder, agency)
        status, headers, _ = agent.post_form(
            f"/a/{tok}/explain",
            {
                "csrf_token": agent.csrf(f"/a/{tok}/v/1"),
                "rule_cell": f"{warn.rule}|{warn.cell}",
                "note": note,
                "seq": "1",
            },
        )
        assert status == 302
        assert WEB.explained_by_agency in agent.follow(headers["Location"])[2].decode()
    board = c.get("/")[2].decode()
    assert "有 2 条单位填写的说明等待确认" in board
    page = c.get(f"/agency/{A}")[2].decode()
    assert "待确认的说明（单位填写）" in page and "本年集中清理，废止较多" in page
    with Season.open(folder) as s:
        ids = {e["agency"]: e["id"] for e in s.explanations(state="pending")}
    html = post(c, f"/agency/{A}/decide", {"id": ids[A], "decision": "accept"}, f"/agency/{A}")
    assert WEB.text("decided_accepted", agency=A) in html
    html = post(
        c,
        f"/agency/{B}/decide",
        {"id": ids[B], "decision": "reject", "notify": "1", "reply": "与台账不符，请核对"},
        f"/agency/{B}",
    )
    assert WEB.text("decided_rejected", agency=B) in html
    with Season.open(folder) as s:
        states = {st.agency: st.status for st in s.board()}
        assert states[A] == "explained" and states[B] == "warnings"
        actions = [(a["actor"], a["action"]) for a in s.actions(B)]
    assert (B, "explain") in actions and (USER, "reject") in actions
    # the rejection reaches the agency: by mail, and on its own page
    assert len(box.received) == 1 and box.to() == ["unit1@example.gov.cn"]
    text = box.received[0].get_body(("plain",)).get_content()
    assert "与台账不符，请核对" in text and "数字无误" in text
    own = Browserless(server.base).get(f"/a/{token(folder, B)}/")[2].decode()
    assert "汇总单位未接受" in own and "与台账不符，请核对" in own


def test_printable_form_and_published_report_read_back(site, tmp_path):
    server, folder, c, _ = site
    wb = make_workbook(tmp_path / "a.xlsx", meta_agency=A)
    agency_upload(server, folder, A, wb)
    page = c.get(f"/agency/{A}/print")[2].decode()
    assert "审核人：" in page and "单位（盖章）" in page and 'class="form"' in page
    post(c, f"/agency/{A}/approve", {}, f"/agency/{A}")
    page = c.get(f"/agency/{A}/print")[2].decode()
    assert f"由 {USER} 审核通过" in page
    html = post(c, f"/agency/{A}/publish", {}, f"/agency/{A}")
    assert WEB.text("published", agency=A) in html
    status, headers, data = c.get(f"/published/{A}.docx")
    assert status == 200
    docx = tmp_path / "报告.docx"
    docx.write_bytes(data)
    got = import_published(docx, tmp_path / "读回.xlsx").report.values
    with Season.open(folder) as s:
        values = s.current(A).values
    keys = [k for k in values if k.startswith(("t2_", "t3_", "t4_"))]
    assert keys and {k: got.get(k) for k in keys} == {k: values[k] for k in keys}
    assert c.get("/published/../season.db")[0] == 404
    assert c.get("/published/season.toml")[0] == 404


def test_the_office_named_on_the_settings_page_shows_at_once(site, tmp_path):
    """The header, a dead link's page and the summary's published report follow the office's
    name as set on the settings page, without a restart."""
    server, folder, c, _ = site
    agency_upload(server, folder, A, make_workbook(tmp_path / "a.xlsx", meta_agency=A))
    post(c, "/settings", {"office": "聊城市政务公开办", "public_url": PUBLIC}, "/settings")
    assert "年度政府信息公开工作年度报告 · 聊城市政务公开办" in c.get("/")[2].decode()
    dead = Browserless(server.base).get("/a/forged-link/")[2].decode()
    assert "请向聊城市政务公开办索取本单位最新的报送链接" in dead
    post(c, "/consolidate", {}, "/consolidate")
    html = post(c, "/consolidate/publish", {}, "/consolidate")
    assert WEB.published_summary in html
    assert (
        "/published/%E8%81%8A%E5%9F%8E%E5%B8%82%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80%E5%8A%9E.docx"
        in html
    )


@pytest.mark.skipif(
    imap_server.unavailable_reason() is not None, reason=imap_server.unavailable_reason() or ""
)
def test_fetch_from_the_page_files_the_mailbox_as_versions(site, tmp_path):
    server, folder, c, _ = site
    imap = imap_server.start()
    try:
        for agency, sender in ((A, "unit0@example.gov.cn"), (B, "unit1@example.gov.cn")):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = sender, imap.user, f"{agency}年报"
            msg["Message-ID"] = f"<{sender}.{len(agency)}@example.gov.cn>"
            msg.set_content("附件是本单位的年报。")
            data = make_workbook(tmp_path / f"{agency}.xlsx", meta_agency=agency).read_bytes()
            msg.add_attachment(
                data, maintype="application", subtype="octet-stream", filename=f"{agency}.xlsx"
            )
            imap.deliver(msg.as_bytes())
        post(
            c,
            "/settings",
            {
                "imap_host": "127.0.0.1",
                "imap_port": str(imap.port),
                "imap_user": imap.user,
                "imap_security": "none",
                "public_url": PUBLIC,
            },
            "/settings",
        )
        toml = (folder / "season.toml").read_text(encoding="utf-8")
        assert "[imap]" in toml and imap.password not in toml
        status, _, body = c.post_form(
            "/fetch", {"csrf_token": c.csrf("/fetch"), "password": imap.password}
        )
        page = body.decode()
        assert status == 200 and "收取结果" in page and f"{A} 第 1 版" in page
        with Season.open(folder) as s:
            for agency, sender in ((A, "unit0@example.gov.cn"), (B, "unit1@example.gov.cn")):
                v = s.current(agency)
                assert (v.seq, v.origin.kind, v.origin.sender) == (1, "mail", sender)
            assert "fetch" in [a["action"] for a in s.actions()]
        assert imap.password not in (folder / "season.toml").read_text(encoding="utf-8")
        # a wrong password: a Chinese message, nothing filed
        status, headers, _ = c.post_form(
            "/fetch", {"csrf_token": c.csrf("/fetch"), "password": "wrong"}
        )
        assert status == 302 and "密码" in c.follow(headers["Location"])[2].decode()
    finally:
        imap.stop()
        shutil.rmtree(imap.root, ignore_errors=True)
