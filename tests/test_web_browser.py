"""The season walked in a real browser: Debian's Chromium driven by Playwright for Python.

Screenshots of every page (1366×768, the common office screen, and 390 px, a phone) are written
to the folder named by XLTOOLS_SCREENSHOTS, or to pytest's temporary folder; the test prints
where. The walk from a new season folder checks every page it visits: axe-core (npm, in
tests/node, installed by scripts/test.sh) finds no serious or critical violation, the page does
not scroll sideways at 390 px, and its visible text holds no machine word.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import make_workbook
from loopback_smtp import loopback_smtp
from openpyxl import load_workbook
from webharness import PASSWORD, USER, Server, make_season, token

from xltools.cli import main
from xltools.importer import import_published
from xltools.messages import ACCOUNTS, SEASON, WEB
from xltools.season import Season

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        sync_playwright is None,
        reason="Playwright for Python is not installed (pip install playwright)",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(), reason="Chromium is not installed (apt-get install chromium)"
    ),
]

A = "聊城市生态环境局"
B = "聊城市教育和体育局"
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("XLTOOLS_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n截图保存在：{folder}")
    return folder


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"]
        )
        yield b
        b.close()


def new_page(browser, dialogs: list, bypass_csp: bool = False):
    ctx = browser.new_context(
        viewport={"width": 1366, "height": 768},
        accept_downloads=True,
        locale="zh-CN",
        bypass_csp=bypass_csp,  # axe-core is injected; the page keeps sending its CSP
    )
    page = ctx.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    return page


def test_the_season_in_a_browser(tmp_path, browser, shots):
    folder = make_season(tmp_path / "2022年报", [A, B, XSS])
    server = Server(folder)
    dialogs: list[str] = []
    try:
        base = server.base
        # --- the agency: its link, the template, a wrong workbook, the marked cell, a fix
        page = new_page(browser, dialogs)
        page.goto(f"{base}/a/{token(folder, A)}/")
        expect(page.locator("h1")).to_contain_text(A)
        page.screenshot(path=shots / "01-单位页面.png")
        with page.expect_download() as dl:
            page.click("text=下载本单位模板")
        template = tmp_path / "模板.xlsx"
        dl.value.save_as(template)
        assert dl.value.suggested_filename == f"{A}_2022年度报告模板.xlsx"
        from xltools.pipeline import check_file

        blank = check_file(template)
        assert (blank.agency, blank.year) == (A, 2022)

        wrong = make_workbook(tmp_path / "生态环境局-初稿.xlsx", meta_agency=A, t3_new_person=999)
        page.set_input_files("#file", str(wrong))
        expect(page.locator("#drop-name")).to_have_text("生态环境局-初稿.xlsx")
        page.click("button:has-text('上传并报送')")
        page.wait_for_url(re.compile(r".*/v/1\?new=1$"))
        cell = page.locator("td.mark-error").first
        expect(cell).to_be_visible()
        assert cell.get_attribute("id") == "s2-D29"  # 表三!D29, 四、结转下年度 of 自然人
        bg = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        assert bg == "rgb(255, 199, 206)"  # the annotated copy's FFC7CE
        message = page.locator(
            "li.msg", has_text="勾稽关系不成立"
        ).first  # and xltools.locate's note
        expect(message).to_contain_text("表三!D29")
        expect(message).to_contain_text("勾稽关系不成立")
        page.screenshot(path=shots / "02-上传结果-错误.png")
        page.screenshot(path=shots / "02-上传结果-整页.png", full_page=True)
        with page.expect_download() as dl:
            page.click("text=下载批注副本")
        annotated = tmp_path / "批注.xlsx"
        dl.value.save_as(annotated)
        from openpyxl import load_workbook

        wb = load_workbook(annotated)
        assert wb.sheetnames[0] == "校验结果" and wb["表三"]["D29"].fill.fgColor.rgb.endswith(
            "FFC7CE"
        )

        # the fix goes in by drag and drop: a warning is left for the coordinator to explain
        fixed = make_workbook(
            tmp_path / "生态环境局-改正.xlsx",
            meta_agency=A,
            t2_regulation_issued=5,
            t2_regulation_repealed=0,
            t2_regulation_in_force=1,
        )
        page.goto(f"{base}/a/{token(folder, A)}/")
        page.evaluate(
            """([name, bytes]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name));
            const drop = document.getElementById('drop');
            drop.dispatchEvent(new DragEvent('drop',
                {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
            [fixed.name, list(fixed.read_bytes())],
        )
        expect(page.locator("#drop-name")).to_have_text(fixed.name)
        page.click("button:has-text('上传并报送')")
        page.wait_for_url(re.compile(r".*/v/2\?new=1$"))
        expect(page.locator(".verdict")).to_contain_text("没有错误")
        expect(page.locator("td.mark-warning").first).to_be_visible()
        expect(page.locator("td.changed").first).to_be_visible()
        page.screenshot(path=shots / "03-重新上传-警告.png")
        page.goto(f"{base}/a/{token(folder, A)}/")
        expect(page.locator("table.versions tbody tr")).to_have_count(2)
        page.screenshot(path=shots / "04-单位-历次版本.png")

        # --- the coordinator: login, board, both versions and the diff, explain, approve,
        # consolidate
        coord = new_page(browser, dialogs)
        coord.goto(base + "/")
        expect(coord).to_have_url(re.compile(r".*/login"))
        coord.screenshot(path=shots / "05-登录.png")
        coord.fill("input[name=name]", USER)
        coord.fill("input[name=password]", PASSWORD)
        coord.click("button:has-text('登录')")
        coord.wait_for_url(base + "/")
        expect(coord.locator(".counts")).to_contain_text("1 / 3")
        row = coord.locator("table.board tr", has_text=A)
        expect(row).to_contain_text("有警告")
        expect(row).to_contain_text("与第 1 版相比改了")
        expect(coord.locator("table.board")).to_contain_text(XSS)  # as text
        coord.screenshot(path=shots / "06-报送情况.png")
        row.locator("a", has_text=A).click()
        expect(coord.locator("table.versions tbody tr")).to_have_count(2)
        expect(coord.locator("table.changes")).to_contain_text(
            "一、本年新收政府信息公开申请数量 / 自然人"
        )
        expect(coord.locator("table.changes")).not_to_contain_text("t3_new_person")
        expect(coord.locator("table.changes")).to_contain_text("999")
        coord.screenshot(path=shots / "07-单位详情-两版与改动.png")
        coord.select_option("select[name=rule_cell]", index=0)
        coord.fill("textarea[name=note]", "本年清理规章，现行有效件数以法制机构口径为准")
        coord.click("button:has-text('记为已说明')")
        expect(coord.locator(".flash-ok")).to_contain_text("已说明 1 处警告")
        expect(coord.locator(".msg-accepted")).to_contain_text("本年清理规章")
        coord.click("button:has-text('审核通过第 2 版')")  # confirms through a dialog
        expect(coord.locator(".flash-ok")).to_contain_text("已审核通过")
        coord.screenshot(path=shots / "08-已说明并审核.png")
        coord.click("nav >> text=汇总")
        coord.click("button:has-text('开始汇总')")
        expect(coord.locator(".flash-ok")).to_contain_text("汇总完成")
        coord.screenshot(path=shots / "09-汇总.png")
        with coord.expect_download() as dl:
            coord.click("text=下载汇总表")
        summary = tmp_path / "汇总表.xlsx"
        dl.value.save_as(summary)
        r = CliRunner().invoke(main, ["check", str(summary)])
        assert r.exit_code == 0, r.output
        coord.click("nav >> text=单位链接")
        expect(coord.locator("table.links")).to_contain_text(token(folder, B))
        coord.screenshot(path=shots / "10-单位链接.png")
        coord.goto(f"{base}/mail")
        remind = coord.locator("article.mail", has_text="【催报】").first
        expect(remind).to_contain_text("/a/")
        # the approved agency's 已通过: its explained warning is no longer a warning
        passed = coord.locator("article.mail", has_text="【已通过】").first
        expect(passed).not_to_contain_text("警告")
        coord.screenshot(path=shots / "11-邮件预览.png")

        with Season.open(folder) as s:
            st = next(a for a in s.board() if a.agency == A)
        assert (st.versions, st.approved, st.explained) == (2, True, 1)
        # the only dialog was the approval's confirmation: no payload ever ran
        assert dialogs == [f"确定审核通过“{A}”第 2 版吗？"]
    finally:
        server.stop()


def test_xss_payloads_stay_text_in_the_browser(tmp_path, browser, shots):
    folder = make_season(tmp_path / "s", [XSS, '=HYPERLINK("http://evil.example","点我")'])
    server = Server(folder)
    dialogs: list[str] = []
    try:
        page = new_page(browser, dialogs)
        wb = make_workbook(
            tmp_path / "x.xlsx",
            meta_agency=XSS,
            meta_contact="<img src=x onerror=alert(3)>",
            t3_new_person="<svg onload=alert(4)>",
        )
        page.goto(f"{server.base}/a/{token(folder, XSS)}/")
        page.set_input_files(
            "#file",
            files=[
                {
                    "name": "<img src=x onerror=alert(2)>.xlsx",
                    "mimeType": "application/octet-stream",
                    "buffer": wb.read_bytes(),
                }
            ],
        )
        page.click("button:has-text('上传并报送')")
        page.wait_for_url(re.compile(r".*/v/1\?new=1$"))
        expect(page.locator("h1")).to_contain_text(XSS)
        expect(page.locator("td#s2-D5.mark-error")).to_be_visible()
        expect(page.locator("#m1")).to_contain_text("填写的“<svg onload=alert(4)>”不是数字")
        assert page.locator("main svg, main img").count() == 0
        page.goto(f"{server.base}/a/{token(folder, XSS)}/")
        expect(page.locator("td.fname")).to_have_text("<img src=x onerror=alert(2)>.xlsx")
        page.screenshot(path=shots / "12-XSS-单位.png")
        page.goto(f"{server.base}/login")
        page.fill("input[name=name]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('登录')")
        page.wait_for_url(server.base + "/")
        expect(page.locator("table.board")).to_contain_text(
            '=HYPERLINK("http://evil.example","点我")'
        )
        assert page.locator("table.board img, table.board script, table.board svg").count() == 0
        page.screenshot(path=shots / "13-XSS-报送情况.png")
        assert dialogs == []
    finally:
        server.stop()


# ------------------------------------------------------------------ the whole season, walked

NODE = Path(__file__).parent / "node"
AXE = NODE / "node_modules" / "axe-core" / "axe.min.js"
WIDE, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
# words of the program, never of the people who read the pages: rule ids (t3-balance,
# x-in-force, agency-mismatch), keys (t3_new_person), file hashes, the season's own files,
# English error titles, Python's None (a command's option, --add-user, is said to whoever runs it)
MACHINE = re.compile(
    r"(?<!--)\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b"
    r"|\b[a-z][a-z0-9]*_[a-z0-9_]+\b"
    r"|\b[0-9a-f]{64}\b"
    r"|\b[\w.-]+\.(?:json|jsonl|db|toml)\b"
    r"|Not Found|Forbidden|Internal Server Error|Bad Request|Method Not Allowed|Unauthorized"
    r"|Too Many Requests|Service Unavailable|Request Entity Too Large|\bNone\b|Traceback"
)
URL = re.compile(r"https?://\S+")
WARNING = dict(t2_regulation_issued=5, t2_regulation_repealed=0, t2_regulation_in_force=1)


@pytest.fixture(scope="module")
def axe():
    """axe-core's script; installed into tests/node by scripts/test.sh (or here, once, when
    npm is on the machine)."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("axe-core is not installed and npm is absent (apt-get install npm)")
        done = subprocess.run(
            [npm, "ci", "--prefix", str(NODE), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if not AXE.is_file():
            pytest.skip(f"npm could not install axe-core into tests/node: {done.stderr[-500:]}")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def smtp(monkeypatch):
    with loopback_smtp() as (box, env):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        yield box


class Walk:
    """Every page visited: screenshots at 1366 and 390 px, axe-core, the phone width, the
    words shown."""

    def __init__(self, shots: Path, axe: str):
        self.shots, self.axe, self.n, self.seen = shots, axe, 0, []

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        self.n += 1
        stem = self.shots / f"{30 + self.n:02d}-{name}"
        self.seen.append(name)
        page.screenshot(path=f"{stem}-1366.png")
        text = page.title() + "\n" + page.evaluate("document.body.innerText")
        words = sorted(set(MACHINE.findall(URL.sub(" ", text))))
        assert not words, f"{name}: machine words shown: {words}"
        page.add_script_tag(content=self.axe)
        found = page.evaluate(
            """async () => (await axe.run(document)).violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): '
                      + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"""
        )
        assert not found, f"{name}: axe-core: {found}"
        page.set_viewport_size(PHONE)
        try:
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: {width} px wide at 390 px"
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=f"{stem}-390.png")
        finally:
            page.set_viewport_size(WIDE)


def test_a_whole_season_from_a_new_folder_in_a_browser(tmp_path, browser, shots, axe, smtp):
    """The Done-when walk of issue 24: first run, a second account that approves, an agency
    explaining its warning, the deadline and 催报, exports, the published report read back,
    every page checked by axe-core, at phone width and for machine words."""
    A, B, C, D = "聊城市甲局", "聊城市乙局", "聊城市丙局", "聊城市丁局"
    public = "https://nianbao.example.gov.cn"
    folder = make_season(tmp_path / "2022年报", [A, B, C, D], account=False)
    server = Server(folder)
    dialogs: list[str] = []
    walk = Walk(shots, axe)
    try:
        base = server.base
        office = new_page(browser, dialogs, bypass_csp=True)

        # --- first run: no account yet; the one-time address the console printed
        office.goto(base + "/")
        expect(office.locator("h1")).to_have_text(ACCOUNTS.no_accounts_title)
        walk.check(office, "尚未建立账号")
        setup = f"{base}/setup/{server.app.extensions['xltools'].setup_token}"
        office.goto(setup)
        walk.check(office, "首次建立账号")
        office.fill("input[name=name]", USER)
        office.fill("input[name=password]", PASSWORD)
        office.fill("input[name=again]", PASSWORD)
        office.click("button:has-text('建立并登录')")
        office.wait_for_url(base + "/")
        expect(office.locator(".flash-ok")).to_contain_text(f"已建立管理员账号“{USER}”并登录")
        assert office.goto(setup).status == 404  # the address worked once
        walk.check(office, "一次性地址已用过")

        # --- a second account, made on the page
        office.goto(base + "/accounts")
        office.fill("input[name=name]", "李审核")
        office.locator("form[action='/accounts/add'] input[name=password]").fill(
            "审核人的密码 2026"
        )
        office.locator("form[action='/accounts/add'] input[name=again]").fill("审核人的密码 2026")
        office.click("button:has-text('建立账号')")
        expect(office.locator(".flash-ok")).to_contain_text("已建立账号“李审核”（审核人）")
        walk.check(office, "账号")

        # --- agencies report through their links: 甲局 with a warning, 乙局 with an error
        agency = new_page(browser, dialogs, bypass_csp=True)
        link_a = f"{base}/a/{token(folder, A)}/"
        agency.goto(link_a)
        walk.check(agency, "单位页面-上传前")
        agency.set_input_files(
            "#file", str(make_workbook(tmp_path / "甲局.xlsx", meta_agency=A, **WARNING))
        )
        agency.click("button:has-text('上传并报送')")
        agency.wait_for_url(re.compile(r".*/v/1\?new=1$"))
        expect(agency.locator(".verdict")).to_contain_text("没有错误")
        walk.check(agency, "单位-上传结果-警告")
        agency.select_option("#explain-warning", index=0)
        agency.fill("#explain-note", "本年集中清理规章，现行有效件数以法制机构口径为准")
        agency.click("button:has-text('提交说明')")
        expect(agency.locator(".flash-ok")).to_contain_text(WEB.explained_by_agency)
        agency.goto(link_a)
        expect(agency.locator("ul.explanations")).to_contain_text("等待汇总单位确认")
        walk.check(agency, "单位页面-上传后")

        other = new_page(browser, dialogs, bypass_csp=True)
        other.goto(f"{base}/a/{token(folder, B)}/")
        other.set_input_files(
            "#file", str(make_workbook(tmp_path / "乙局.xlsx", meta_agency=B, t3_new_person=999))
        )
        other.click("button:has-text('上传并报送')")
        other.wait_for_url(re.compile(r".*/v/1\?new=1$"))
        verdict = other.locator(".verdict")
        expect(verdict).to_contain_text("发现")
        assert "右侧" not in other.evaluate("document.body.innerText")
        # the findings first, each with its cell; beside the table on a wide screen, above it
        # on a phone
        findings, table = other.locator("ol.messages"), other.locator("table.form").first
        assert findings.bounding_box()["x"] > table.bounding_box()["x"]
        other.set_viewport_size(PHONE)
        assert findings.bounding_box()["y"] < table.bounding_box()["y"]
        located = other.locator("li.msg", has=other.locator("a.where")).first
        expect(located.locator(".cell-line")).to_contain_text("四、结转下年度继续办理 / 自然人")
        other.evaluate("window.scrollTo(0, 0)")
        other.screenshot(path=shots / "30-手机-上传结果.png")
        other.screenshot(path=shots / "30-手机-上传结果-整页.png", full_page=True)
        other.set_viewport_size(WIDE)
        walk.check(other, "单位-上传结果-错误")

        # --- settings: the public address, the deadline (passed), the office
        past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
        office.goto(base + "/settings")
        walk.check(office, "设置-本机地址")
        office.fill("#public_url", public)
        office.fill("#deadline", past)
        office.fill("#office", "聊城市人民政府办公室")
        office.click("button:has-text('保存设置')")
        expect(office.locator(".flash-ok")).to_contain_text(WEB.settings_saved)
        walk.check(office, "设置")

        # --- the board: who is overdue; 催报 for one of them: one mail, to it
        office.goto(base + "/")
        expect(office.locator(".deadline")).to_contain_text("已过期 3 天")
        expect(office.locator(".deadline")).to_contain_text("2 家逾期未报送")
        for name, late in ((A, False), (B, False), (C, True), (D, True)):
            tag = office.locator("table.board tr", has_text=name).locator(".tag-overdue")
            expect(tag).to_have_count(1 if late else 0)
        expect(office.locator("table.board")).to_contain_text("待确认 1")
        walk.check(office, "报送情况")
        office.locator("table.board a", has_text=C).click()
        walk.check(office, "单位详情-未报送")
        office.click("button:has-text('催报')")  # confirms through a dialog
        expect(office.locator(".flash-ok")).to_contain_text(WEB.text("mail_sent", n=1))
        assert len(smtp.received) == 1
        mail = smtp.received[0]
        assert mail["To"].addresses[0].addr_spec == "unit2@example.gov.cn"
        assert str(mail["Subject"]).startswith(f"【催报】请报送{C}")
        body = mail.get_body(("plain",)).get_content()
        assert f"{public}/a/{token(folder, C)}/" in body
        assert not MACHINE.findall(URL.sub(" ", str(mail["Subject"]) + body))

        # --- exports, read back
        office.goto(base + "/links")
        walk.check(office, "单位链接")
        with office.expect_download() as dl:
            office.click("text=导出为 Excel（单位、联系人、电子邮箱、链接）")
        assert dl.value.suggested_filename.endswith(".xlsx")
        dl.value.save_as(tmp_path / "链接.xlsx")
        rows = list(load_workbook(tmp_path / "链接.xlsx").active.iter_rows(values_only=True))
        assert list(rows[0]) == SEASON.export_links_heads
        assert [r[:4] for r in rows[1:]] == [
            (n, "联系人", f"unit{i}@example.gov.cn", f"{public}/a/{token(folder, n)}/")
            for i, n in enumerate((A, B, C, D))
        ]
        office.goto(base + "/")
        with office.expect_download() as dl:
            office.click("text=导出为 Excel")
        dl.value.save_as(tmp_path / "报送情况.xlsx")
        rows = list(load_workbook(tmp_path / "报送情况.xlsx").active.iter_rows(values_only=True))
        assert list(rows[0]) == SEASON.export_board_heads
        by = {r[0]: r for r in rows[1:]}
        assert [by[n][1] for n in (A, B, C, D)] == ["有警告", "有错误", "未报送", "未报送"]
        assert (by[A][3], by[A][7], by[B][6]) == (1, 1, 1)
        office.goto(base + "/mail")
        walk.check(office, "邮件")
        office.goto(base + "/consolidate")
        walk.check(office, "汇总")
        office.goto(base + "/analysis")
        walk.check(office, "分析")
        office.goto(base + "/fetch")
        walk.check(office, "收取邮箱")
        office.goto(base + "/password")
        walk.check(office, "修改密码")
        office.click("button:has-text('退出登录')")

        # --- the second account reviews: accepts the explanation, approves, publishes
        office.goto(base + "/login")
        walk.check(office, "登录")
        office.fill("input[name=name]", "李审核")
        office.fill("input[name=password]", "审核人的密码 2026")
        office.click("button:has-text('登录')")
        office.wait_for_url(base + "/")
        expect(office.locator("nav")).not_to_contain_text("账号")
        assert office.goto(base + "/accounts").status == 403
        walk.check(office, "只有管理员可以办理")
        office.goto(base + "/")
        office.locator("table.board a", has_text=A).click()
        expect(office.locator(".pending")).to_contain_text("本年集中清理规章")
        walk.check(office, "单位详情-待确认")
        office.click("button:has-text('接受说明')")
        expect(office.locator(".flash-ok")).to_contain_text(WEB.text("decided_accepted", agency=A))
        office.click("button:has-text('审核通过第 1 版')")  # confirms through a dialog
        expect(office.locator(".flash-ok")).to_contain_text("已审核通过")
        history = office.locator("table.actions")
        expect(history.locator("tr", has_text="审核通过")).to_contain_text("李审核")
        expect(history.locator("tr", has_text="接受说明")).to_contain_text("李审核")
        expect(history.locator("tr", has_text="单位填写说明")).to_contain_text(A)
        office.click("button:has-text('生成年度报告')")
        expect(office.locator(".flash-ok")).to_contain_text(WEB.text("published", agency=A))
        walk.check(office, "单位详情-已审核")
        with office.expect_download() as dl:
            office.click(f"a.button:has-text('下载 {A}.docx')")
        docx = tmp_path / "甲局-年度报告.docx"
        dl.value.save_as(docx)
        got = import_published(docx, tmp_path / "读回.xlsx").report.values
        with Season.open(folder) as s:
            values = s.current(A).values
        keys = [k for k in values if k.startswith(("t2_", "t3_", "t4_"))]
        assert len(keys) > 100 and {k: got.get(k) for k in keys} == {k: values[k] for k in keys}
        office.goto(f"{base}/agency/{A}/print")
        expect(office.locator(".approval-line")).to_contain_text("由 李审核 审核通过")
        walk.check(office, "打印")
        office.goto(base + "/actions")
        expect(office.locator("table.actions tr", has_text="审核通过").first).to_contain_text(
            "李审核"
        )
        walk.check(office, "操作记录")

        # --- the agency sees the decision; a replaced or forged link says whom to ask
        agency.goto(link_a)
        expect(agency.locator("ul.explanations")).to_contain_text("汇总单位已接受")
        walk.check(agency, "单位页面-已审核")
        agency.goto(f"{base}/a/forged-link/")
        expect(agency.locator("h1")).to_have_text("这个报送链接已失效或不完整")
        walk.check(agency, "链接已失效")
        agency.goto(f"{base}/no-such-page")
        walk.check(agency, "找不到页面")

        with Season.open(folder) as s:
            st = {x.agency: x for x in s.board()}
        assert (st[A].approved, st[A].explained, st[A].status) == (True, 1, "approved")
        assert dialogs == [
            f"向“{C}”发送催报邮件吗？同一期限只发一次。",
            f"确定审核通过“{A}”第 1 版吗？",
        ]
        print(f"\n走查 {len(walk.seen)} 个页面：{'、'.join(walk.seen)}")
    finally:
        server.stop()
