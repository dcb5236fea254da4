"""A season folder and a real `xltools serve` server (waitress on loopback) for the web tests."""

from __future__ import annotations

import csv
import re
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from xltools.season import Season
from xltools.season.accounts import ADMIN, add_account
from xltools.season.workflow import Actor, configure
from xltools.web.app import Options, create_app

USER = "王主任"  # the season's first account, a 管理员
PASSWORD = "年报 2022 password"
YEAR = 2022
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_season(folder: Path, agencies: list[str], year: int = YEAR, account: bool = True) -> Path:
    """A season of these agencies (a roster with e-mail addresses) and, unless `account` is
    False, its first account USER (管理员) with PASSWORD."""
    folder.mkdir(parents=True, exist_ok=True)
    roster = folder.parent / f"{folder.name}-名单.csv"
    with open(roster, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "电子邮箱", "联系人"])
        for i, a in enumerate(agencies):
            w.writerow([a, f"unit{i}@example.gov.cn", "联系人"])
    with Season.create(folder, year=year, roster=roster) as s:
        if account:
            add_account(s, USER, ADMIN, PASSWORD, actor=Actor("测试", "cli"))
    return folder


def token(folder: Path, agency: str) -> str:
    with Season.open(folder) as s:
        return s.link_token(agency)


class Server:
    """create_app + waitress in a thread; `stop()` closes it."""

    def __init__(self, folder: Path, options: Options | None = None, threads: int = 8):
        from waitress import create_server

        from xltools.web.server import preload

        preload()
        self.app = create_app(folder, options or Options())
        self.server = create_server(
            self.app,
            host="127.0.0.1",
            port=0,
            threads=threads,
            ident="",
            max_request_body_size=500 * 1024 * 1024,
        )
        self.base = f"http://127.0.0.1:{self.server.effective_port}"
        if not (options and options.public_url):  # as `xltools serve` does: links name this server
            with Season.open(folder) as s:
                configure(s, actor=Actor("测试", "cli"), public_url=self.base)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:  # close() from the test's thread ends the select loop this way
            pass

    @property
    def intake(self):
        return self.app.extensions["xltools"].intake

    def stop(self) -> None:
        self.server.close()
        # waitress's worker threads outlive close(): each left behind grows the test process,
        # and a reading worker forked from it inherits that address space under its limit
        self.server.task_dispatcher.shutdown()
        self.intake.stop()
        self.thread.join(5)


class Browserless:
    """A cookie-keeping HTTP client over urllib (no redirects followed unless asked)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(
        self, method: str, path: str, data: bytes | None = None, headers: dict | None = None
    ):
        from urllib.parse import quote

        req = urllib.request.Request(
            self.base + quote(path, safe="/?=&%:"), data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path: str):
        return self.request("GET", path)

    def follow(self, path: str, hops: int = 5):
        """GET, following redirects on this site (a flashed message shows on the last page)."""
        for _ in range(hops):
            status, headers, body = self.get(path)
            if status not in (301, 302, 303) or not headers.get("Location"):
                break
            path = headers["Location"].removeprefix(self.base)
        return status, headers, body

    def csrf(self, path: str) -> str:
        status, _, body = self.get(path)
        m = CSRF.search(body.decode("utf-8"))
        assert m, f"no CSRF token on {path} ({status})"
        return m.group(1)

    def post_form(self, path: str, fields: dict[str, str]):
        from urllib.parse import urlencode

        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def post_file(
        self,
        path: str,
        fields: dict[str, str],
        filename: str,
        data: bytes,
        field: str = "file",
        headers: dict | None = None,
    ):
        boundary = "----xltools" + str(time.monotonic_ns())
        parts = []
        for k, v in fields.items():
            parts.append(
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            )
        quoted = filename.replace('"', "%22")
        parts.append(
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{quoted}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            b"".join(parts),
            {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})},
        )

    def login(self, password: str = PASSWORD, name: str = USER):
        tok = self.csrf("/login")
        return self.post_form("/login", {"csrf_token": tok, "name": name, "password": password})


def wait_done(server: Server, timeout: float = 60) -> None:
    """Until every spooled upload has been checked and recorded."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(server.intake.folder.glob("*.json")):
            return
        time.sleep(0.1)
    raise AssertionError("uploads still pending")
