"""The season walked in a real browser: Debian's Chromium driven by Playwright for Python.

Screenshots of every page (1366×768, the common office screen) are written to the folder named
by XLTOOLS_SCREENSHOTS, or to pytest's temporary folder; the test prints where.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import make_workbook
from webharness import PASSWORD, USER, Browserless, Server, make_season, token, wait_done

from xltools.cli import main
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


def new_page(browser, dialogs: list):
    ctx = browser.new_context(
        viewport={"width": 1366, "height": 768}, accept_downloads=True, locale="zh-CN"
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
            drop.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
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

        # --- the coordinator: login, board, both versions and the diff, explain, approve, consolidate
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


def test_first_run_a_second_account_and_who_approved_in_a_browser(tmp_path, browser, shots):
    """A new season: the first account made through the one-time address, a reviewer made on
    the 账号 page; the reviewer approves an agency and its name is in the agency's history."""
    folder = make_season(tmp_path / "2022年报", [A, B], account=False)
    server = Server(folder)
    dialogs: list[str] = []
    try:
        base = server.base
        agency = Browserless(base)  # the agency reports through its link
        wb = make_workbook(tmp_path / "a.xlsx", meta_agency=A)
        csrf = agency.csrf(f"/a/{token(folder, A)}/")
        agency.post_file(
            f"/a/{token(folder, A)}/upload",
            {"csrf_token": csrf},
            "生态环境局.xlsx",
            wb.read_bytes(),
        )
        wait_done(server)

        page = new_page(browser, dialogs)
        page.goto(base + "/")
        expect(page.locator("h1")).to_have_text("尚未建立账号")
        # the address the console showed (xltools serve prints it; the test reads it here)
        setup = f"{base}/setup/{server.app.extensions['xltools'].setup_token}"
        page.goto(setup)
        page.fill("input[name=name]", "王主任")
        page.fill("input[name=password]", "主任的密码 2026")
        page.fill("input[name=again]", "主任的密码 2026")
        page.screenshot(path=shots / "20-首次建立账号.png")
        page.click("button:has-text('建立并登录')")
        page.wait_for_url(base + "/")
        expect(page.locator(".flash-ok")).to_contain_text("已建立管理员账号“王主任”并登录")
        expect(page.locator("nav")).to_contain_text("王主任（管理员）")
        assert page.goto(setup).status == 404  # the address worked once

        page.goto(base + "/")
        page.click("nav >> text=账号")
        page.fill("input[name=name]", "李审核")
        page.select_option("select[name=role]", "reviewer")
        page.locator("form[action='/accounts/add'] input[name=password]").fill("审核人的密码 2026")
        page.locator("form[action='/accounts/add'] input[name=again]").fill("审核人的密码 2026")
        page.click("button:has-text('建立账号')")
        expect(page.locator(".flash-ok")).to_contain_text("已建立账号“李审核”（审核人）")
        expect(page.locator("table.accounts")).to_contain_text("李审核")
        page.screenshot(path=shots / "21-账号.png")
        page.click("button:has-text('退出登录')")

        page.fill("input[name=name]", "李审核")
        page.fill("input[name=password]", "审核人的密码 2026")
        page.click("button:has-text('登录')")
        page.wait_for_url(base + "/")
        expect(page.locator("nav")).not_to_contain_text("账号")
        assert page.goto(base + "/accounts").status == 403
        expect(page.locator("h1")).to_have_text("只有管理员可以办理")
        page.goto(base + "/")
        page.locator("table.board a", has_text=A).click()
        page.click("button:has-text('审核通过第 1 版')")  # confirms through a dialog
        expect(page.locator(".flash-ok")).to_contain_text("已审核通过")
        history = page.locator("table.actions")
        expect(history.locator("tr", has_text="审核通过")).to_contain_text("李审核")
        expect(history.locator("tr", has_text="报送")).to_contain_text("文件“生态环境局.xlsx”")
        page.screenshot(path=shots / "22-单位-操作记录.png", full_page=True)
        page.click("nav >> text=操作记录")
        expect(page.locator("table.actions tr", has_text="新建账号").first).to_contain_text(
            "账号“李审核”（审核人）"
        )
        page.screenshot(path=shots / "23-操作记录.png")
        assert dialogs == [f"确定审核通过“{A}”第 1 版吗？"]
    finally:
        server.stop()
