"""Load test of `xltools serve`: a rush of agency uploads, and the board of a large season.

    python scripts/load_web.py [--uploads 200] [--board 2000] [--workdir DIR]

1. A season of N agencies is served by `xltools serve` in its own process on loopback. N
   clients, one per agency, start together: each opens its link (for the session cookie and
   the CSRF token), then uploads one workbook — a mix of valid ones, ones with errors and
   hostile files (random bytes, a truncated workbook, a web page named .xls, a ZIP bomb, a
   sharedStrings count that makes the native reader abort). The script prints the upload
   response times (p50, p95, max), how long until every upload was checked and recorded, and
   checks that every upload became exactly one version of its own agency, none lost.
2. A season of M agencies (each with a version) is served the same way; the coordinator's
   board is fetched several times and the time to render it is printed.

Figures are printed, not asserted: run it on the machine you care about.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xltools.pipeline import check_file  # noqa: E402
from xltools.season import Origin, Season  # noqa: E402
from xltools.season.accounts import ADMIN, add_account  # noqa: E402
from xltools.season.workflow import Actor  # noqa: E402
from xltools.template import fill_workbook  # noqa: E402

USER = "负载测试"
PASSWORD = "load test password 1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_season(folder: Path, names: list[str], year: int = 2022) -> None:
    roster = folder.parent / f"{folder.name}.csv"
    with open(roster, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "电子邮箱"])
        for i, n in enumerate(names):
            w.writerow([n, f"u{i}@example.gov.cn"])
    with Season.create(folder, year=year, roster=roster) as s:
        add_account(s, USER, ADMIN, PASSWORD, actor=Actor(USER, "cli"))


def filled(work: Path, agency: str, wrong: bool) -> bytes:
    """The reference agency's figures under `agency`'s name; `wrong` breaks a balance."""
    values = json.loads(
        (ROOT / "samples" / "data" / "聊城市商务和投资促进局.json").read_text(encoding="utf-8")
    )
    values["meta_agency"] = agency
    if wrong:
        values["t3_new_person"] = 999
    return fill_workbook(values, work / "one.xlsx").read_bytes()


def unique(kind: str, data: bytes, name: str) -> bytes:
    """A hostile file of its own for each agency: the same content twice is one version (the
    season keeps a file once, by SHA-256), so identical files would not all be recorded."""
    if kind in ("bomb", "abort"):  # one more tiny member: the archive stays what it was
        out = io.BytesIO(data)
        with zipfile.ZipFile(out, "a") as z:
            z.writestr("customXml/load-test.xml", f"<x>{name}</x>")
        return out.getvalue()
    if kind == "html":
        return data.replace(b"</body>", f"<p>{name}</p></body>".encode())
    return data + name.encode()  # random bytes, a truncated workbook


def workbooks(work: Path) -> dict[str, bytes]:
    """One valid workbook, one with a balance error, and hostile files, as bytes."""
    good = filled(work, "聊城市商务和投资促进局", False)
    wrong = filled(work, "聊城市商务和投资促进局", True)
    rnd = random.Random(7)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/sharedStrings.xml", "<sst>" + "A" * (300 * 1024 * 1024) + "</sst>")
    abort = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(good)) as src,
        zipfile.ZipFile(abort, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/sharedStrings.xml":
                data = re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4000000000"', data)
            dst.writestr(info, data)
    return {
        "good": good,
        "wrong": wrong,
        "random": bytes(rnd.randrange(256) for _ in range(20000)),
        "truncated": good[: len(good) // 2],
        "html": "<html><body><table><tr><td>机关名称</td></tr></table></body></html>".encode(),
        "bomb": bomb.getvalue(),
        "abort": abort.getvalue(),
    }


class Client:
    def __init__(self, base: str):
        self.base = base

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect
        )

    def open(self, path: str, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(
            self.base + quote(path, safe="/?=&%"), data=data, headers=headers or {}
        )
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def upload(self, token: str, name: str, data: bytes) -> tuple[int, float]:
        status, body = self.open(f"/a/{token}/")
        csrf = CSRF.search(body.decode()).group(1)
        boundary = "----load" + os.urandom(8).hex()
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n'
                f"\r\n{csrf}\r\n"
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        t = time.perf_counter()
        status, _ = self.open(
            f"/a/{token}/upload",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        return status, time.perf_counter() - t

    def login(self) -> None:
        _, body = self.open("/login")
        csrf = CSRF.search(body.decode()).group(1)
        self.open(
            "/login",
            urlencode({"csrf_token": csrf, "name": USER, "password": PASSWORD}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from xltools.cli import main; main()",
            "serve",
            str(folder),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("服务器没有启动：" + (proc.stderr.read() if proc.stderr else ""))


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and its reaped children (the reading workers), Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rush(work: Path, n: int) -> None:
    names = [f"负载测试单位{i:04d}" for i in range(n)]
    folder = work / "rush"
    make_season(folder, names)
    files = workbooks(work)
    kinds = ["good"] * 5 + ["wrong"] * 3 + ["random", "truncated", "html", "bomb", "abort"]
    plan = [(name, kinds[i % len(kinds)]) for i, name in enumerate(names)]
    with Season.open(folder) as season:
        tokens = {name: season.link_token(name) for name in names}
    own = {
        name: filled(work, name, kind == "wrong")
        for name, kind in plan
        if kind in ("good", "wrong")
    }
    proc, base = start_server(folder)
    try:
        barrier = threading.Barrier(n)

        def one(item):
            name, kind = item
            c = Client(base)
            suffix = ".xls" if kind == "html" else ".xlsx"
            status, body = c.open(f"/a/{tokens[name]}/")
            barrier.wait()  # every client uploads at the same moment
            data = own.get(name) or unique(kind, files[kind], name)
            return c.upload(tokens[name], f"{name}-{kind}{suffix}", data)

        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(one, plan))
        sent = time.perf_counter() - t0
        times = [t for _, t in results]
        codes = [s for s, _ in results]
        # until every upload is checked and recorded
        deadline = time.monotonic() + 600
        with Season.open(folder) as s:
            while time.monotonic() < deadline:
                got = s.conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
                if got >= n:
                    break
                time.sleep(0.2)
            recorded = time.perf_counter() - t0
            rows = s.conn.execute(
                "SELECT a.name, v.status, v.original_name FROM versions v JOIN agencies a "
                "ON a.id = v.agency_id"
            ).fetchall()
        alive = urllib.request.urlopen(base + "/healthz", timeout=5).status == 200
        time.sleep(1.5)  # the last workers are reaped
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(10)
    by_agency = {}
    for name, status, original in rows:
        by_agency.setdefault(name, []).append((status, original))
    lost = [name for name, _ in plan if name not in by_agency]
    misplaced = [
        name for name, v in by_agency.items() if len(v) != 1 or not v[0][1].startswith(name)
    ]
    expected = {"good": "ok", "wrong": "errors"}
    wrong_status = [
        (name, kind, by_agency[name][0][0])
        for name, kind in plan
        if name in by_agency and by_agency[name][0][0] != expected.get(kind, "unreadable")
    ]
    print(
        f"== {n} 个单位同时上传（{os.cpu_count()} 核，开始时系统负载 {load:.1f}；"
        "服务器为独立进程，回环地址）=="
    )
    print(f"  文件构成：{dict(Counter(k for _, k in plan))}")
    print(f"  HTTP 状态：{dict(Counter(codes))}")
    print(
        f"  上传响应时间：p50 {statistics.median(times):.2f} s，"
        f"p95 {pct(times, 95):.2f} s，最长 {max(times):.2f} s"
    )
    print(f"  全部上传发出并得到响应：{sent:.1f} s；全部校验并记为版本：{recorded:.1f} s")
    print(
        f"  服务器进程（含读取子进程）CPU 时间：共 {cpu:.1f} s，"
        f"每个上传 {cpu / n * 1000:.0f} ms（接收、校验、记为版本）"
    )
    print(
        f"  记为版本：{len(rows)} / {n}；丢失 {len(lost)}；"
        f"记错单位或重复 {len(misplaced)}；状态不符 {len(wrong_status)}"
    )
    print(
        f"  版本状态：{dict(Counter(s for s, _ in (v[0] for v in by_agency.values())))}；"
        f"服务器仍在运行：{alive}"
    )
    if lost or misplaced or wrong_status:
        print(f"  问题：丢失 {lost[:5]} 记错 {misplaced[:5]} 状态 {wrong_status[:5]}")


def board(work: Path, m: int) -> None:
    names = [f"某某市第{i:04d}局" for i in range(m)]
    folder = work / "board"
    make_season(folder, names)
    files = workbooks(work)
    checked = {}
    for kind in ("good", "wrong"):
        p = work / f"{kind}.xlsx"
        p.write_bytes(files[kind])
        checked[kind] = (p, check_file(p))
    t = time.perf_counter()
    with Season.open(folder) as season:
        for i, name in enumerate(names):
            path, rep = checked["wrong" if i % 4 == 0 else "good"]
            # as if each agency had filled its own (the same figures: one file read, kept once;
            # recorded straight into the store, which the workflow's dedupe would refuse)
            rep = dataclasses.replace(rep, agency=name, findings=list(rep.findings))
            season.add_checked(path, rep, Origin("link"), original_name=f"{name}.xlsx", agency=name)
    print(f"== 报送情况页：{m} 个单位（准备数据 {time.perf_counter() - t:.0f} s）==")
    proc, base = start_server(folder)
    try:
        c = Client(base)
        c.login()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        times = []
        for _ in range(5):
            t = time.perf_counter()
            status, body = c.open("/")
            times.append(time.perf_counter() - t)
            assert status == 200 and body.count(b'<tr class="st-') == m, (
                status,
                body.count(b'<tr class="st-'),
            )
        print(
            f"  报送情况页（{len(body) / 1024:.0f} KB）：中位 {statistics.median(times):.2f} s，"
            f"最长 {max(times):.2f} s（5 次；开始时系统负载 {load:.1f}）"
        )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--uploads", type=int, default=200)
    ap.add_argument("--board", type=int, default=2000)
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="xltools-load-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.uploads:
            rush(work, args.uploads)
        if args.board:
            board(work, args.board)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
