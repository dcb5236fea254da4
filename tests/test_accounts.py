"""Named accounts of the web page (管理员, 审核人): first run in the browser through a
one-time address, the console way for scripts, login per account with its own throttle,
passwords changed and reset, accounts disabled, and who did what shown on 操作记录.

Expected texts are built from the catalogue. Pages are read over HTTP from a real server
(waitress on loopback) or, where the client's address matters (the throttle), through
Flask's test client with a chosen REMOTE_ADDR."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import make_workbook
from markupsafe import escape
from webharness import CSRF, PASSWORD, USER, Browserless, Server, make_season, wait_done

from xltools.cli import main
from xltools.messages import ACCOUNTS, CLI, MAIL, SEASON, WEB
from xltools.season import Season
from xltools.season import accounts as acc_mod
from xltools.season.accounts import (
    ADMIN,
    REVIEWER,
    add_account,
    authenticate,
    hash_password,
    reset_password,
    set_disabled,
    verify_password,
)
from xltools.season.audit import action_log, describe
from xltools.season.rebuild import rebuild
from xltools.season.workflow import Actor
from xltools.web.app import CSP, Options, create_app

A = "聊城市生态环境局"
B = "聊城市教育和体育局"
REVIEWER_NAME = "李审核"
REVIEWER_PW = "审核人的密码 2026"
CONSOLE = Actor("测试", "cli")
ROOT = Path(__file__).resolve().parents[1]


def text_of(body: bytes) -> str:
    """The page's visible text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body.decode("utf-8")))


def season_with_reviewer(folder: Path) -> Path:
    make_season(folder, [A, B])
    with Season.open(folder) as s:
        add_account(s, REVIEWER_NAME, REVIEWER, REVIEWER_PW, actor=CONSOLE)
    return folder


def actions_of(folder: Path) -> list[dict]:
    with Season.open(folder) as s:
        return s.actions()


class Client:
    """Flask's test client with a chosen address; the CSRF token read from a page."""

    def __init__(self, app, addr: str = "10.0.0.1"):
        self.c = app.test_client()
        self.addr = addr

    def get(self, path: str):
        return self.c.get(path, environ_overrides={"REMOTE_ADDR": self.addr})

    def post(self, path: str, data: dict, csrf_from: str | None = "/login"):
        if csrf_from:
            m = CSRF.search(self.get(csrf_from).get_data(as_text=True))
            data = {"csrf_token": m.group(1), **data}
        return self.c.post(path, data=data, environ_overrides={"REMOTE_ADDR": self.addr})

    def login(self, name: str, password: str):
        return self.post("/login", {"name": name, "password": password})


@pytest.fixture
def app(tmp_path):
    folder = season_with_reviewer(tmp_path / "2022年报")
    application = create_app(folder, Options())
    yield application, folder
    application.extensions["xltools"].intake.stop()


# --- the store and the use cases ------------------------------------------------------------------


def test_names_and_passwords_follow_the_rules_with_chinese_messages(tmp_path):
    folder = make_season(tmp_path / "s", [A])
    with Season.open(folder) as s:
        cases = [
            (("", "足够长的密码 1"), ACCOUNTS.name_empty),
            (("长" * 31, "足够长的密码 1"), ACCOUNTS.text("name_long", n=30)),
            (("张\x00三", "足够长的密码 1"), ACCOUNTS.name_control),
            (("张三", "short"), ACCOUNTS.text("password_short", n=8)),
            (("张三", "x" * 201), ACCOUNTS.text("password_long", n=200)),
            (("张三", " 前面有空格的密码"), ACCOUNTS.password_spaces),
            (("张三", "abababab"), ACCOUNTS.password_simple),
            (("Zhang San", "zhang  san"), ACCOUNTS.password_is_name),
            ((USER.upper(), "足够长的密码 1"), ACCOUNTS.text("name_taken", name=USER.upper())),
        ]
        for (name, password), message in cases:
            with pytest.raises(Exception) as e:
                add_account(s, name, REVIEWER, password, actor=CONSOLE)
            assert str(e.value) == message, name
        with pytest.raises(Exception) as e:
            add_account(
                s, "张三", REVIEWER, "足够长的密码 1", again="足够长的密码 2", actor=CONSOLE
            )
        assert str(e.value) == ACCOUNTS.mismatch
        with pytest.raises(Exception) as e:
            add_account(s, "张三", "root", "足够长的密码 1", actor=CONSOLE)
        assert str(e.value) == ACCOUNTS.text("bad_role", role="root", roles="admin、reviewer")
        assert [a.name for a in s.accounts()] == [USER]
        # a name differing only in letter case is the same account
        add_account(s, "Zhang San", REVIEWER, "足够长的密码 1", actor=CONSOLE)
        with pytest.raises(Exception) as e:
            add_account(s, "ZHANG   SAN", REVIEWER, "足够长的密码 1", actor=CONSOLE)
        assert str(e.value) == ACCOUNTS.text("name_taken", name="ZHANG SAN")
        assert authenticate(s, "zhang san", "足够长的密码 1").account.name == "Zhang San"


def test_the_first_account_is_an_admin(tmp_path):
    folder = make_season(tmp_path / "s", [A], account=False)
    with Season.open(folder) as s:
        with pytest.raises(Exception) as e:
            add_account(s, "张三", REVIEWER, "足够长的密码 1", actor=CONSOLE)
        assert str(e.value) == ACCOUNTS.first_is_admin
        first = add_account(s, "张三", None, "足够长的密码 1", actor=CONSOLE)
        second = add_account(s, "李四", None, "足够长的密码 2", actor=CONSOLE)
        assert (first.role, second.role) == (ADMIN, REVIEWER)
        assert (first.created_by, first.disabled, first.epoch) == ("测试", None, 0)
        assert "hash" not in repr(first) and "password" not in first.to_dict()


def test_the_last_admin_in_use_cannot_be_disabled(tmp_path):
    folder = season_with_reviewer(tmp_path / "s")
    with Season.open(folder) as s:
        admin = s.account(USER)
        with pytest.raises(Exception) as e:
            set_disabled(s, admin.id, True, actor=CONSOLE)
        assert str(e.value) == ACCOUNTS.text("last_admin", name=USER)
        assert s.account(USER).active
        second = add_account(s, "第二管理员", ADMIN, "另一个管理员密码", actor=CONSOLE)
        done = set_disabled(s, admin.id, True, actor=CONSOLE)
        assert not done.active and done.epoch == admin.epoch + 1
        with pytest.raises(Exception) as e:
            set_disabled(s, second.id, True, actor=CONSOLE)
        assert str(e.value) == ACCOUNTS.text("last_admin", name="第二管理员")
        set_disabled(s, admin.id, False, actor=CONSOLE)
        assert s.account(USER).active
        # a reviewer is never "the last admin"
        r = s.account(REVIEWER_NAME)
        assert not set_disabled(s, r.id, True, actor=CONSOLE).active
        words = [(a["actor"], a["action"], a["detail"]["account"]) for a in s.actions()[:4]]
    assert words == [
        ("测试", "account_disabled", REVIEWER_NAME),
        ("测试", "account_enabled", USER),
        ("测试", "account_disabled", USER),
        ("测试", "account_added", "第二管理员"),
    ]


def test_a_rebuild_keeps_the_accounts(tmp_path):
    folder = season_with_reviewer(tmp_path / "s")
    rebuild(folder, jobs=0)
    with Season.open(folder) as s:
        assert [(a.name, a.role) for a in s.accounts()] == [
            (USER, ADMIN),
            (REVIEWER_NAME, REVIEWER),
        ]
        assert authenticate(s, REVIEWER_NAME, REVIEWER_PW).account is not None


# --- the console way (scripts) --------------------------------------------------------------------


def serve(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["serve", *args], input=input)


def test_add_user_and_set_password_read_the_password_twice_from_stdin(tmp_path):
    folder = make_season(tmp_path / "s", [A], account=False)
    r = serve(str(folder), "--add-user", "张三", input="张三的密码 2026\n张三的密码 2026\n")
    assert r.exit_code == 0, r.output
    assert r.output == ACCOUNTS.text("account_created", name="张三", role="管理员") + "\n"
    r = serve(str(folder), "--add-user", "李四", input="李四的密码 2026\n李四的密码 2026\n")
    assert r.output == ACCOUNTS.text("account_created", name="李四", role="审核人") + "\n"
    r = serve(str(folder), "--set-password", input="新的密码 2027\n新的密码 2027\n")
    assert r.exit_code == 2
    assert (
        r.output
        == CLI.text("error", message=ACCOUNTS.text("which_account", names="张三、李四")) + "\n"
    )
    r = serve(
        str(folder), "--set-password", "--user", "李四", input="新的密码 2027\n新的密码 2027\n"
    )
    assert r.exit_code == 0 and r.output == ACCOUNTS.text("password_set", name="李四") + "\n"
    with Season.open(folder) as s:
        assert verify_password("新的密码 2027", s.account("李四").password)
        assert s.account("李四").epoch == 1
        assert [(a["actor"], a["door"], a["action"]) for a in s.actions()][:2] == [
            (Actor.at_console().name, "cli", "password_reset"),
            (Actor.at_console().name, "cli", "account_added"),
        ]


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--add-user", "王五"], "一个密码 2026\n另一个密码 2026\n", ACCOUNTS.mismatch),
        (["--add-user", "王五"], "short\nshort\n", ACCOUNTS.text("password_short", n=8)),
        (["--add-user", "王五"], "只有一行的密码\n", ACCOUNTS.no_password_read),
        (["--add-user", "王五"], "", ACCOUNTS.no_password_read),
        (
            ["--add-user", USER],
            "一个密码 2026\n一个密码 2026\n",
            ACCOUNTS.text("name_taken", name=USER),
        ),
        (
            ["--set-password", "--user", "无名"],
            "一个密码 2026\n一个密码 2026\n",
            ACCOUNTS.text("unknown_account", name="无名"),
        ),
        (["--set-password", "--add-user", "王五"], "", CLI.serve_both),
        (["--user", USER], "", CLI.serve_user_needs_set_password),
        (["--role", "admin"], "", CLI.serve_role_needs_add_user),
    ],
)
def test_console_account_errors_are_chinese_and_exit_2(tmp_path, args, stdin, message):
    folder = make_season(tmp_path / "s", [A])
    r = serve(str(folder), *args, input=stdin)
    assert r.exit_code == 2
    assert r.output == CLI.text("error", message=message) + "\n"
    assert "Error" not in r.output and "Aborted" not in r.output
    with Season.open(folder) as s:
        assert [a.name for a in s.accounts()] == [USER]


def test_add_user_from_a_pipe_in_a_real_process(tmp_path):
    """`printf 'pw\\npw\\n' | xltools serve S --add-user 张三`: no terminal needed."""
    folder = make_season(tmp_path / "s", [A])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "xltools", "serve", str(folder), "--add-user", "张三"]
    r = subprocess.run(
        cmd, input="张三的密码 2026\n张三的密码 2026\n", capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ACCOUNTS.text("account_created", name="张三", role="审核人") + "\n"
    r = subprocess.run(
        cmd[:-1] + ["李四"], input="一个\n两个\n", capture_output=True, text=True, env=env
    )
    assert r.returncode == 2 and r.stderr == CLI.text("error", message=ACCOUNTS.mismatch) + "\n"


# --- a season served before named accounts ------------------------------------------------------


def test_the_shared_password_becomes_the_admin_account_and_leaves_the_file(tmp_path):
    folder = make_season(tmp_path / "s", [A], account=False)
    old = "以前的共用密码 1"
    access = folder / "web" / "access.json"
    access.parent.mkdir()
    access.write_text(
        json.dumps({"secret_key": "k" * 64, "password": hash_password(old), "epoch": 3}),
        encoding="utf-8",
    )
    r = serve(str(folder), "--add-user", "张三", input="张三的密码 2026\n张三的密码 2026\n")
    assert r.exit_code == 0, r.output
    default = ACCOUNTS.default_admin
    assert r.output == (
        ACCOUNTS.text("shared_moved", name=default)
        + "\n"
        + ACCOUNTS.text("account_created", name="张三", role="审核人")
        + "\n"
    )
    assert json.loads(access.read_text(encoding="utf-8")) == {"secret_key": "k" * 64}
    server = Server(folder)
    try:
        assert server.app.extensions["xltools"].setup_token is None
        c = Browserless(server.base)
        status, headers, _ = c.login(old, name=default)
        assert status == 302 and headers["Location"] == "/"
        assert default in text_of(c.get("/")[2])
    finally:
        server.stop()


def test_serving_an_older_season_moves_its_password_on_first_open(tmp_path):
    folder = make_season(tmp_path / "s", [A], account=False)
    access = folder / "web" / "access.json"
    access.parent.mkdir()
    access.write_text(json.dumps({"password": hash_password("以前的共用密码 1")}), encoding="utf-8")
    create_app(folder, Options()).extensions["xltools"].intake.stop()
    data = json.loads(access.read_text(encoding="utf-8"))
    assert set(data) == {"secret_key"}
    with Season.open(folder) as s:
        (acc,) = s.accounts()
        assert (acc.name, acc.role) == (ACCOUNTS.default_admin, ADMIN)
        assert verify_password("以前的共用密码 1", acc.password)


# --- first run in the browser -------------------------------------------------------------------


def test_first_run_setup_through_the_one_time_address(tmp_path):
    folder = make_season(tmp_path / "s", [A], account=False)
    server = Server(folder)
    try:
        tok = server.app.extensions["xltools"].setup_token
        assert tok and len(tok) >= 40
        c = Browserless(server.base)
        status, _, body = c.get("/login")
        assert status == 503 and ACCOUNTS.no_accounts in text_of(body)
        assert c.get("/")[0] == 302
        # a forged token: a Chinese 404
        status, _, body = c.get("/setup/" + "x" * len(tok))
        assert status == 404 and WEB.http_errors["404"] in text_of(body)
        assert c.get("/setup/" + tok[:-1])[0] == 404
        path = f"/setup/{tok}"
        csrf = c.csrf(path)
        # without the CSRF token: refused, nothing made
        status, _, _ = c.post_form(path, {"name": "张三", "password": "pw", "again": "pw"})
        assert status == 400
        for fields, message in [
            (
                {"name": "张三", "password": "足够长的密码 1", "again": "不一样的密码 1"},
                ACCOUNTS.mismatch,
            ),
            (
                {"name": "张三", "password": "short", "again": "short"},
                ACCOUNTS.text("password_short", n=8),
            ),
            (
                {"name": " ", "password": "足够长的密码 1", "again": "足够长的密码 1"},
                ACCOUNTS.name_empty,
            ),
        ]:
            status, _, body = c.post_form(path, {"csrf_token": csrf, **fields})
            assert status == 400 and message in text_of(body), message
        with Season.open(folder) as s:
            assert not s.has_accounts()
        status, headers, _ = c.post_form(
            path,
            {
                "csrf_token": csrf,
                "name": "张三",
                "password": "足够长的密码 1",
                "again": "足够长的密码 1",
            },
        )
        assert status == 302 and headers["Location"] == "/"
        status, _, body = c.get("/")  # logged in, as the new admin
        page = text_of(body)
        assert status == 200 and ACCOUNTS.text("setup_done", name="张三") in page
        assert "张三（管理员）" in page
        # the address worked once: replayed (with a valid CSRF token), it is a 404
        assert c.get(path)[0] == 404
        other = Browserless(server.base)
        fields = {"name": "入侵者", "password": "入侵者的密码1", "again": "入侵者的密码1"}
        for client in (c, other):
            status, _, _ = client.post_form(path, {"csrf_token": client.csrf("/login"), **fields})
            assert status == 404
        with Season.open(folder) as s:
            (acc,) = s.accounts()
            assert (acc.name, acc.role, acc.created_by) == ("张三", ADMIN, "张三")
            assert [
                (a["actor"], a["door"], a["action"])
                for a in s.actions()
                if a["action"] != "settings"  # the test server's address
            ] == [("张三", "web", "account_added")]
    finally:
        server.stop()


def test_setup_is_a_404_when_an_account_exists(tmp_path):
    folder = make_season(tmp_path / "s", [A])
    server = Server(folder)
    try:
        assert server.app.extensions["xltools"].setup_token is None
        c = Browserless(server.base)
        assert c.get("/setup/anything")[0] == 404
        assert c.get("/setup/")[0] == 404
    finally:
        server.stop()
    # made on the console while the setup address is still shown: the address is dead
    folder = make_season(tmp_path / "t", [A], account=False)
    server = Server(folder)
    try:
        tok = server.app.extensions["xltools"].setup_token
        c = Browserless(server.base)
        csrf = c.csrf(f"/setup/{tok}")
        with Season.open(folder) as s:
            add_account(s, "控制台建的", ADMIN, "控制台的密码 1", actor=CONSOLE)
        assert c.get(f"/setup/{tok}")[0] == 404
        status, _, _ = c.post_form(
            f"/setup/{tok}",
            {
                "csrf_token": csrf,
                "name": "张三",
                "password": "足够长的密码 1",
                "again": "足够长的密码 1",
            },
        )
        assert status == 404
        with Season.open(folder) as s:
            assert [a.name for a in s.accounts()] == ["控制台建的"]
    finally:
        server.stop()


def test_serve_prints_the_setup_address_and_it_works_once(tmp_path):
    """The real command: the console shows the full address; the page makes the account."""
    folder = make_season(tmp_path / "s", [A], account=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xltools", "serve", str(folder), "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        lines, url = [], None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(rf"http://127\.0\.0\.1:{port}/setup/[A-Za-z0-9_-]+", line)
            url = m.group(0) if m else None
        assert url, "".join(lines)
        tok = url.rsplit("/", 1)[1]
        expected = ACCOUNTS.text("setup_address", url=url)
        assert expected.splitlines()[0] + "\n" in lines
        c = Browserless(f"http://127.0.0.1:{port}")
        csrf = c.csrf(f"/setup/{tok}")
        status, headers, _ = c.post_form(
            f"/setup/{tok}",
            {
                "csrf_token": csrf,
                "name": "张三",
                "password": "足够长的密码 1",
                "again": "足够长的密码 1",
            },
        )
        assert status == 302
        assert c.get("/")[0] == 200
        assert c.get(f"/setup/{tok}")[0] == 404
    finally:
        proc.terminate()
        proc.wait(10)


# --- login, throttle, sessions ------------------------------------------------------------------


def test_login_by_name_and_password(app):
    application, folder = app
    c = Client(application)
    r = c.login(REVIEWER_NAME, REVIEWER_PW)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    body = c.get("/").get_data(as_text=True)
    assert f"{REVIEWER_NAME}（审核人）" in text_of(body.encode()) and 'href="/accounts"' not in body
    for name, password in [(REVIEWER_NAME, "错误的密码 1"), ("没有这个人", REVIEWER_PW)]:
        r = Client(application, "10.0.0.9").login(name, password)
        assert r.status_code == 401 and ACCOUNTS.login_failed in text_of(r.data)
    # letter case and surrounding spaces of the name do not matter
    with Season.open(folder) as s:
        add_account(s, "Li Si", REVIEWER, "Li Si 的密码 1", actor=CONSOLE)
    assert Client(application, "10.0.0.8").login("  li   SI ", "Li Si 的密码 1").status_code == 302


def test_throttle_is_per_account_and_per_address_for_unknown_names(app):
    application, folder = app
    throttle = application.extensions["xltools"].throttle
    # five failures against one account, from five addresses: the account must wait
    codes = [
        Client(application, f"10.1.0.{i}").login(USER, "错误的密码 1").status_code for i in range(5)
    ]
    assert codes == [401, 401, 401, 401, 429]
    r = Client(application, "10.1.0.99").login(USER, PASSWORD)
    assert r.status_code == 429
    wait = int(throttle.wait_left("account:" + USER.casefold())) + 1
    assert ACCOUNTS.text("login_throttled", seconds=wait) in text_of(r.data)
    # another account from the same addresses is not slowed down
    assert Client(application, "10.1.0.4").login(REVIEWER_NAME, REVIEWER_PW).status_code == 302
    # unknown names count against the address: it must wait, for every name
    spray = Client(application, "10.2.0.1")
    codes = [spray.login(f"猜的名字{i}", "随便的密码 1").status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert spray.login(REVIEWER_NAME, REVIEWER_PW).status_code == 429
    assert Client(application, "10.2.0.2").login(REVIEWER_NAME, REVIEWER_PW).status_code == 302
    # once the wait has passed (cleared here), the right password gets in
    throttle.succeeded("account:" + USER.casefold())
    assert Client(application, "10.1.0.99").login(USER, PASSWORD).status_code == 302


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(app):
    application, folder = app
    reviewer = Client(application)
    reviewer.login(REVIEWER_NAME, REVIEWER_PW)
    assert reviewer.get("/").status_code == 200
    with Season.open(folder) as s:
        set_disabled(s, s.account(REVIEWER_NAME).id, True, actor=CONSOLE)
    assert reviewer.get("/").status_code == 302
    r = Client(application, "10.0.0.2").login(REVIEWER_NAME, REVIEWER_PW)
    assert r.status_code == 403
    assert ACCOUNTS.text("login_disabled", name=REVIEWER_NAME) in text_of(r.data)
    r = Client(application, "10.0.0.2").login(REVIEWER_NAME, "错误的密码 1")
    assert r.status_code == 401 and ACCOUNTS.login_failed in text_of(r.data)
    with Season.open(folder) as s:  # enabled again: the old session stays ended
        set_disabled(s, s.account(REVIEWER_NAME).id, False, actor=CONSOLE)
    assert reviewer.get("/").status_code == 302


def test_changing_ones_password_keeps_this_session_and_ends_the_others(app):
    application, folder = app
    here, there = Client(application, "10.0.0.1"), Client(application, "10.0.0.2")
    here.login(REVIEWER_NAME, REVIEWER_PW)
    there.login(REVIEWER_NAME, REVIEWER_PW)
    new = "审核人的新密码 2027"
    r = here.post(
        "/password", {"current": "不对的密码 1", "password": new, "again": new}, "/password"
    )
    assert r.status_code == 400 and ACCOUNTS.current_wrong in text_of(r.data)
    r = here.post(
        "/password", {"current": REVIEWER_PW, "password": new, "again": "别的"}, "/password"
    )
    assert r.status_code == 400 and ACCOUNTS.mismatch in text_of(r.data)
    r = here.post("/password", {"current": REVIEWER_PW, "password": new, "again": new}, "/password")
    assert r.status_code == 302
    assert ACCOUNTS.password_changed in text_of(here.get("/").data)
    assert there.get("/").status_code == 302
    assert Client(application, "10.0.0.3").login(REVIEWER_NAME, REVIEWER_PW).status_code == 401
    assert Client(application, "10.0.0.3").login(REVIEWER_NAME, new).status_code == 302
    assert [(a["actor"], a["door"], a["action"]) for a in actions_of(folder)][0] == (
        REVIEWER_NAME,
        "web",
        "password_changed",
    )


# --- the 账号 page ------------------------------------------------------------------------------


def test_a_reviewer_gets_a_chinese_403_on_every_admin_url(app):
    application, folder = app
    admin = Client(application, "10.0.0.1")
    admin.login(USER, PASSWORD)
    admin_csrf = CSRF.search(admin.get("/accounts").get_data(as_text=True)).group(1)
    reviewer = Client(application, "10.0.0.2")
    reviewer.login(REVIEWER_NAME, REVIEWER_PW)
    with Season.open(folder) as s:
        target = s.account(USER).id
    r = reviewer.get("/accounts")
    assert r.status_code == 403
    assert ACCOUNTS.admin_only in text_of(r.data) and ACCOUNTS.admin_only_title in text_of(r.data)
    forms = {
        "/accounts/add": {
            "name": "后门",
            "role": "admin",
            "password": "后门的密码 12",
            "again": "后门的密码 12",
        },
        f"/accounts/{target}/reset": {"password": "被重置的密码1", "again": "被重置的密码1"},
        f"/accounts/{target}/disable": {},
        f"/accounts/{target}/enable": {},
        f"/accounts/{target}/role": {"role": "reviewer"},
    }
    for path, fields in forms.items():
        r = reviewer.post(path, fields, "/")  # with the reviewer's own valid CSRF token
        assert r.status_code == 403 and ACCOUNTS.admin_only in text_of(r.data), path
        # the admin's token in the reviewer's session is no better
        r = reviewer.post(path, {"csrf_token": admin_csrf, **fields}, None)
        assert r.status_code in (400, 403), path
    # reviewers still do the review work
    assert reviewer.get("/actions").status_code == 200
    assert reviewer.get("/").status_code == 200
    with Season.open(folder) as s:
        assert [a.name for a in s.accounts()] == [USER, REVIEWER_NAME]
        assert verify_password(PASSWORD, s.account(USER).password)
        assert s.account(USER).active


def test_every_new_form_needs_its_csrf_token(app):
    application, folder = app
    admin = Client(application)
    admin.login(USER, PASSWORD)
    with Season.open(folder) as s:
        rid = s.account(REVIEWER_NAME).id
    for path, fields in {
        "/login": {"name": USER, "password": PASSWORD},
        "/password": {
            "current": PASSWORD,
            "password": "不会生效的密码1",
            "again": "不会生效的密码1",
        },
        "/accounts/add": {
            "name": "无令牌",
            "role": "reviewer",
            "password": "无令牌的密码1",
            "again": "无令牌的密码1",
        },
        f"/accounts/{rid}/reset": {"password": "不会生效的密码1", "again": "不会生效的密码1"},
        f"/accounts/{rid}/disable": {},
        f"/accounts/{rid}/enable": {},
        f"/accounts/{rid}/role": {"role": "admin"},
        "/setup/whatever": {"name": "x", "password": "y", "again": "y"},
    }.items():
        for token in (None, "forged"):
            data = dict(fields, **({"csrf_token": token} if token else {}))
            r = admin.post(path, data, None)
            assert r.status_code == 400, path
            assert WEB.csrf in text_of(r.data), path
    with Season.open(folder) as s:
        assert [a.name for a in s.accounts()] == [USER, REVIEWER_NAME]
        assert verify_password(PASSWORD, s.account(USER).password)
        assert verify_password(REVIEWER_PW, s.account(REVIEWER_NAME).password)
        assert s.account(REVIEWER_NAME).active


def test_the_admin_adds_resets_disables_and_enables_accounts(app):
    application, folder = app
    admin = Client(application)
    admin.login(USER, PASSWORD)
    evil = "<script>alert('账号')</script>"
    r = admin.post(
        "/accounts/add",
        {
            "name": evil,
            "role": "reviewer",
            "password": "脚本名字的密码1",
            "again": "脚本名字的密码1",
        },
        "/accounts",
    )
    assert r.status_code == 302
    body = admin.get("/accounts").get_data(as_text=True)
    assert evil not in body and str(escape(evil)) in body
    assert ACCOUNTS.text("account_added", name=evil, role="审核人") in text_of(body.encode())
    # a bad form says why, in Chinese
    r = admin.post(
        "/accounts/add",
        {
            "name": REVIEWER_NAME,
            "role": "reviewer",
            "password": "某个密码 123",
            "again": "某个密码 123",
        },
        "/accounts",
    )
    assert ACCOUNTS.text("name_taken", name=REVIEWER_NAME) in text_of(admin.get("/accounts").data)
    with Season.open(folder) as s:
        rid, eid, me = (s.account(n).id for n in (REVIEWER_NAME, evil, USER))
    reviewer = Client(application, "10.0.0.2")
    reviewer.login(REVIEWER_NAME, REVIEWER_PW)
    new = "重置后的密码 2026"
    admin.post(f"/accounts/{rid}/reset", {"password": new, "again": new}, "/accounts")
    assert ACCOUNTS.text("password_reset", name=REVIEWER_NAME) in text_of(
        admin.get("/accounts").data
    )
    assert reviewer.get("/").status_code == 302  # the reset ended the reviewer's session
    assert Client(application, "10.0.0.3").login(REVIEWER_NAME, new).status_code == 302
    admin.post(f"/accounts/{me}/reset", {"password": new, "again": new}, "/accounts")
    assert ACCOUNTS.reset_self in text_of(admin.get("/accounts").data)
    # the only admin cannot disable itself: someone must manage the accounts
    admin.post(f"/accounts/{me}/disable", {}, "/accounts")
    assert ACCOUNTS.text("last_admin", name=USER) in text_of(admin.get("/accounts").data)
    admin.post(f"/accounts/{eid}/disable", {}, "/accounts")
    assert ACCOUNTS.text("account_disabled", name=evil) in text_of(admin.get("/accounts").data)
    admin.post(f"/accounts/{eid}/enable", {}, "/accounts")
    assert ACCOUNTS.text("account_enabled", name=evil) in text_of(admin.get("/accounts").data)
    admin.post("/accounts/999/disable", {}, "/accounts")
    assert ACCOUNTS.no_such_account in text_of(admin.get("/accounts").data)
    with Season.open(folder) as s:
        assert s.account(USER).active and s.account(evil).active
        assert [(a["actor"], a["action"], a["detail"]["account"]) for a in s.actions()[:4]] == [
            (USER, "account_enabled", evil),
            (USER, "account_disabled", evil),
            (USER, "password_reset", REVIEWER_NAME),
            (USER, "account_added", evil),
        ]
    # the script-named account logs in; its name is text in the navigation
    c = Client(application, "10.0.0.4")
    assert c.login(evil, "脚本名字的密码1").status_code == 302
    body = c.get("/").get_data(as_text=True)
    assert evil not in body and str(escape(evil)) in body


# --- who did what -------------------------------------------------------------------------------


def test_a_reviewer_approves_and_the_agency_page_says_who(tmp_path):
    folder = season_with_reviewer(tmp_path / "s")
    server = Server(folder)
    try:
        agency = Browserless(server.base)
        with Season.open(folder) as s:
            tok = s.link_token(A)
        wb = make_workbook(tmp_path / "a.xlsx", meta_agency=A)
        csrf = agency.csrf(f"/a/{tok}/")
        agency.post_file(
            f"/a/{tok}/upload", {"csrf_token": csrf}, "生态环境局.xlsx", wb.read_bytes()
        )
        wait_done(server)
        c = Browserless(server.base)
        c.login(REVIEWER_PW, name=REVIEWER_NAME)
        csrf = c.csrf(f"/agency/{A}")
        assert c.post_form(f"/agency/{A}/approve", {"csrf_token": csrf})[0] == 302
        with Season.open(folder) as s:
            a = s.actions(A)
            assert [(x["actor"], x["door"], x["action"]) for x in a] == [
                (REVIEWER_NAME, "web", "approve"),
                (A, "agency", "take_in"),
            ]
            assert s.history(A)[-1].approved
        page = text_of(c.get(f"/agency/{A}")[2])
        section = page[page.index("操作记录") :]
        approve = SEASON.actions["approve"]
        assert re.search(rf"{REVIEWER_NAME}\s+网页\s+{approve}\s+第 1 版", section), section[:400]
        assert re.search(
            rf"{re.escape(A)}\s+单位链接\s+{SEASON.actions['take_in']}"
            r"\s+第 1 版\s+文件“生态环境局.xlsx”",
            section,
        )
        assert "take_in" not in page and "approve" not in page
    finally:
        server.stop()


def test_the_actions_page_filters_pages_and_shows_words_not_ids(tmp_path):
    folder = season_with_reviewer(tmp_path / "s")
    with Season.open(folder) as s:
        for i in range(120):
            s.record_action(
                REVIEWER_NAME if i % 2 else "张三",
                "web",
                "approve" if i % 3 else "consolidate",
                A if i % 2 else None,
                detail={"included": i, "added": 1} if i % 3 == 0 else None,
            )
        s.record_action(
            "张三",
            "web",
            "accept",
            B,
            detail={"rule": "x-in-force", "cell": "D6", "note": "已废止"},
        )
        s.record_action("张三", "web", "future_action_id", detail={"key": "t3_carried_out_person"})
    server = Server(folder)
    try:
        c = Browserless(server.base)
        c.login()
        status, _, body = c.get("/actions")
        page = text_of(body)
        assert (
            status == 200 and "共 125 条" in page
        )  # 2 accounts, 120, accept, unknown, the address
        assert len(re.findall(r"<tr>", body.decode())) == 50 + 1
        assert "第 1 / 3 页" in page
        records = {r["action"]: r for r in actions_of(folder)}
        first = describe(records["future_action_id"])
        assert first.action == SEASON.action_words["other_action"] and first.detail == ""
        accept = describe(records["accept"])
        assert (accept.action, accept.agency, accept.detail) == (
            "接受说明",
            B,
            "单元格 D6；说明：已废止",
        )
        for word in (
            "x-in-force",
            "t3_carried_out_person",
            "future_action_id",
            "account_added",
            "consolidate",
        ):
            assert word not in page, word
        status, _, body = c.get("/actions?page=3")
        assert len(re.findall(r"<tr>", body.decode())) == 25 + 1 and "第 3 / 3 页" in text_of(body)
        assert "第 3 / 3 页" in text_of(c.get("/actions?page=99")[2])
        # filters: account, action, agency, and all three
        log = text_of(c.get(f"/actions?actor={REVIEWER_NAME}")[2])
        assert "共 60 条" in log
        log = text_of(c.get("/actions?action=consolidate")[2])
        assert "共 40 条" in log and "计入汇总 0 家，新收 1 个版本" in log
        log = text_of(c.get(f"/actions?agency={B}")[2])
        assert "共 1 条" in log
        log = text_of(c.get(f"/actions?agency={A}&actor={REVIEWER_NAME}&action=approve")[2])
        assert "共 40 条" in log
        log = text_of(c.get("/actions?agency=不存在的单位")[2])
        assert "共 0 条" in log and "没有符合条件的记录" in log
        log = text_of(c.get("/actions?action=account_added")[2])
        assert "共 2 条" in log and f"账号“{REVIEWER_NAME}”（审核人）" in log
        assert "account_added" not in log
    finally:
        server.stop()
    with Season.open(folder) as s:
        log = action_log(s, actor="张三", page=2, per_page=10)
    assert (log.total, log.page, log.pages, len(log.lines)) == (62, 2, 7, 10)
    assert ("approve", SEASON.actions["approve"]) in log.actions


def test_account_actions_have_words_in_the_catalogue():
    for action in acc_mod.ACCOUNT_ACTIONS:
        assert action in SEASON.actions
    line = describe(
        {
            "time": "2026-01-20T09:30:00+08:00",
            "actor": "王",
            "door": "web",
            "action": "password_reset",
            "agency": None,
            "seq": None,
            "detail": {"account": "李", "role": "reviewer"},
        }
    )
    assert (line.time, line.door, line.action, line.detail) == (
        "2026-01-20 09:30",
        "网页",
        SEASON.actions["password_reset"],
        "账号“李”（审核人）",
    )


def test_reset_password_is_recorded_and_the_hash_never_leaves_the_database(tmp_path):
    folder = season_with_reviewer(tmp_path / "s")
    with Season.open(folder) as s:
        reset_password(s, s.account(REVIEWER_NAME).id, "新的审核人密码1", actor=CONSOLE)
        s.export_records()
        salt = s.account(REVIEWER_NAME).password["salt"]
    for name in os.listdir(folder):
        path = folder / name
        if path.is_file() and not name.startswith("season.db"):
            assert salt.encode() not in path.read_bytes(), name


def test_the_new_pages_have_the_csp_no_inline_script_and_no_machine_words(tmp_path):
    folder = make_season(tmp_path / "s", [A], account=False)
    server = Server(folder)

    def check(client, path):
        status, headers, body = client.get(path)
        page = body.decode("utf-8")
        assert status == 200, path
        assert headers["Content-Security-Policy"] == CSP, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"<[^>]+\son[a-z]+=", page), path
        words = text_of(body)
        for machine in ("account_added", "admin", "reviewer", "cli", "web", "settings"):
            assert not re.search(rf"\b{machine}\b", words), (path, machine)

    try:
        c = Browserless(server.base)
        check(c, f"/setup/{server.app.extensions['xltools'].setup_token}")
        with Season.open(folder) as s:
            add_account(s, USER, ADMIN, PASSWORD, actor=CONSOLE)
        check(c, "/login")
        c.login()
        for path in ["/password", "/accounts", "/actions", f"/agency/{A}"]:
            check(c, path)
    finally:
        server.stop()


def test_every_kind_of_mail_has_words_in_the_history():
    """A mail of any kind the mail module writes is named in words in the 操作记录, never by
    its kind ("revise", "unreadable", "accepted_warnings")."""
    for kind in MAIL.kind_labels:
        line = describe({"action": "mail", "detail": {"kind": kind, "subject": "【x】y"}})
        assert line.detail == f"{SEASON.mail_kinds[kind]}：【x】y", kind


def test_the_admin_changes_a_role_and_the_last_admin_stays_one(app):
    """A reviewer made an admin may manage the accounts at once; the last admin in use is
    never made a reviewer; nobody changes their own role; each change is in 操作记录."""
    application, folder = app
    admin = Client(application)
    admin.login(USER, PASSWORD)
    with Season.open(folder) as s:
        rid, me = s.account(REVIEWER_NAME).id, s.account(USER).id
    reviewer = Client(application, "10.0.0.2")
    reviewer.login(REVIEWER_NAME, REVIEWER_PW)
    assert reviewer.get("/accounts").status_code == 403
    admin.post(f"/accounts/{rid}/role", {"role": "admin"}, "/accounts")
    shown = text_of(admin.get("/accounts").data)
    assert ACCOUNTS.text("role_changed", name=REVIEWER_NAME, role="管理员") in shown
    assert reviewer.get("/accounts").status_code == 200  # the same session, now an admin
    # own role: refused; a role that does not exist: refused, in Chinese
    admin.post(f"/accounts/{me}/role", {"role": "reviewer"}, "/accounts")
    assert ACCOUNTS.role_self in text_of(admin.get("/accounts").data)
    admin.post(f"/accounts/{rid}/role", {"role": "superuser"}, "/accounts")
    assert "没有“superuser”这个角色" in text_of(admin.get("/accounts").data)
    # the former reviewer makes the first admin a reviewer; then it cannot undo itself
    reviewer.post(f"/accounts/{me}/role", {"role": "reviewer"}, "/accounts")
    assert admin.get("/accounts").status_code == 403
    reviewer.post(f"/accounts/{rid}/disable", {}, "/accounts")
    assert ACCOUNTS.text("last_admin", name=REVIEWER_NAME) in text_of(
        reviewer.get("/accounts").data
    )
    with Season.open(folder) as s:
        from xltools import XltoolsError
        from xltools.season.accounts import set_role
        from xltools.season.workflow import Actor

        with pytest.raises(XltoolsError) as e:
            set_role(s, rid, "reviewer", actor=Actor("测试", "cli"))
        assert str(e.value) == ACCOUNTS.text("last_admin_role", name=REVIEWER_NAME)
        assert (s.account(USER).role, s.account(REVIEWER_NAME).role) == ("reviewer", "admin")
        assert [(a["actor"], a["action"], a["detail"]) for a in s.actions()[:2]] == [
            (REVIEWER_NAME, "account_role", {"account": USER, "role": "reviewer"}),
            (USER, "account_role", {"account": REVIEWER_NAME, "role": "admin"}),
        ]
