"""One season, every door: the same scripted season run wholly through the command line, wholly
through the web page (HTTP against a served season) and alternating the two step by step ends
in the same state — database, summary workbook, results.json and the mails sent over a real
SMTP server on loopback."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import make_workbook
from loopback_smtp import Mailbox, loopback_smtp
from openpyxl import load_workbook
from webharness import Browserless, Server, make_season, token, wait_done

from xltools.cli import main
from xltools.season import Season
from xltools.season.workflow import Actor, Incoming, configure, take_in
from xltools.web.app import Options

AGENCIES = [f"聊城市第{i}局" for i in range(1, 12)]  # eleven agencies
BAD, WARN, LATE, OK1, OK2 = AGENCIES[0], AGENCIES[1], AGENCIES[2], AGENCIES[3], AGENCIES[4]
PUBLIC = "https://nianbao.example.gov.cn"
WARNING = dict(t2_regulation_issued=5, t2_regulation_repealed=0, t2_regulation_in_force=1)
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?([.,]\d+)?([+-]\d\d:?\d\d)?")


@pytest.fixture
def smtp(monkeypatch):
    with loopback_smtp() as (box, env):
        for k, v in env.items():  # the web page's server reads its SMTP settings from its process
            monkeypatch.setenv(k, v)
        yield box, env


def workbooks(root: Path) -> dict[str, Path]:
    """The files of the scripted season, made once and copied nowhere: each door sends them."""
    root.mkdir()
    files = {}
    for i, agency in enumerate(AGENCIES):
        values = dict(
            meta_agency=agency,
            meta_email=f"unit{i}@example.gov.cn",
            meta_uscc=None,
            meta_date="2023-01-05",
        )
        if agency == BAD:
            files[f"{agency}-1"] = make_workbook(
                root / f"{agency}-初报.xlsx", **values, t3_new_person=999
            )
            values["meta_date"] = "2023-01-09"
            files[f"{agency}-2"] = make_workbook(root / f"{agency}-改正.xlsx", **values)
        elif agency == WARN:
            files[agency] = make_workbook(root / f"{agency}.xlsx", **values, **WARNING)
        else:
            files[agency] = make_workbook(root / f"{agency}.xlsx", **values)
    return files


# --- the doors -----------------------------------------------------------------------------------


class Cli:
    def __init__(self, folder: Path, env: dict):
        self.folder, self.env = folder, env

    def run(self, *args) -> None:
        r = CliRunner().invoke(main, [str(a) for a in args], env=self.env, catch_exceptions=False)
        assert r.exit_code in (0, 1), (args, r.output, r.stderr)

    def upload(self, agency: str, path: Path) -> None:
        self.run("add", path, "--season", self.folder, "-j", "1")

    def explain(self, agency: str, rule: str, cell: str, note: str) -> None:
        self.run("accept", agency, rule, "--cell", cell, "--note", note, "--season", self.folder)

    def approve(self, agency: str) -> None:
        self.run("approve", agency, "--season", self.folder)

    def consolidate(self) -> None:
        self.run("consolidate", "--season", self.folder, "-j", "1")

    def mail(self) -> None:
        self.run("mail", "--season", self.folder, "--send")


class Web:
    def __init__(self, server: Server, folder: Path):
        self.server, self.folder = server, folder
        self.coordinator = Browserless(server.base)
        self.coordinator.login()

    def upload(self, agency: str, path: Path) -> None:
        c = Browserless(self.server.base)
        tok = token(self.folder, agency)
        csrf = c.csrf(f"/a/{tok}/")
        status, _, _ = c.post_file(
            f"/a/{tok}/upload", {"csrf_token": csrf}, path.name, path.read_bytes()
        )
        assert status == 303
        wait_done(self.server)

    def _post(self, path: str, fields: dict, page: str = "/") -> str:
        c = self.coordinator
        status, headers, _ = c.post_form(path, {"csrf_token": c.csrf(page), **fields})
        assert status == 302, (path, status)
        return c.follow(headers["Location"])[2].decode()

    def explain(self, agency: str, rule: str, cell: str, note: str) -> None:
        html = self._post(f"/agency/{agency}/accept", {"rule_cell": f"{rule}|{cell}", "note": note})
        assert "已说明" in html

    def approve(self, agency: str) -> None:
        assert "已审核通过" in self._post(f"/agency/{agency}/approve", {})

    def consolidate(self) -> None:
        assert "汇总完成" in self._post("/consolidate", {})

    def mail(self) -> None:
        html = self._post("/mail/send", {"only": ""}, "/mail")
        assert "已发送" in html or "没有需要发送的邮件" in html, html[-2000:]


def script(doors: list, files: dict[str, Path]) -> None:
    """Three rounds; step i goes through doors[i % len(doors)]."""
    step = iter(range(1000))

    def door():
        return doors[next(step) % len(doors)]

    # round 1: nine agencies report (one wrong, one with a warning); two do not
    for agency in AGENCIES[:9]:
        door().upload(agency, files.get(agency) or files[f"{agency}-1"])
    door().consolidate()
    door().mail()
    # round 2: the fix, the same file twice, an explanation, an approval
    door().upload(BAD, files[f"{BAD}-2"])
    door().upload(OK1, files[OK1])  # the same file again: no new version
    with Season.open(doors[0].folder) as s:
        warn = next(f for f in s.current(WARN).findings if f.severity == "warning")
    door().explain(WARN, warn.rule, warn.cell, "本年集中清理，废止较多")
    door().approve(OK1)
    door().consolidate()
    door().mail()
    # round 3: a late agency, a second approval
    door().upload(AGENCIES[9], files[AGENCIES[9]])
    door().approve(BAD)
    door().consolidate()
    door().mail()


# --- the end state, without times and the folder's own path -------------------------------------


def _no_times(value):
    if isinstance(value, str):
        return TIME.sub("<time>", value)
    if isinstance(value, dict):
        return {
            k: _no_times(v)
            for k, v in value.items()
            if k
            not in (
                "created",
                "received",
                "modified",
                "original_mtime",
                "time",
                "sent",
                "origin",
                "folder",
                "season_folder",
                "stored",
                "annotated",
            )
        }
    if isinstance(value, list):
        return [_no_times(v) for v in value]
    return value


def database(folder: Path) -> dict:
    with Season.open(folder) as s:
        out = {}
        for state in s.board():
            h = s.history(state.agency)
            out[state.agency] = {
                "status": state.status,
                "versions": [
                    (
                        v.seq,
                        v.sha256,
                        v.status,
                        v.original_name,
                        v.submitted,
                        v.approved,
                        [(f.rule, f.severity, f.sheet, f.cell, f.message) for f in v.findings],
                        v.diff.to_dict() if v.diff else None,
                    )
                    for v in h
                ],
                "explanations": [
                    (e["seq"], e["rule"], e["cell"], e["note"], e["state"])
                    for e in s.explanations(state.agency)
                ],
                "mails": [
                    (
                        m["kind"],
                        m["version_id"] and s.version(m["version_id"]).seq,
                        m["deadline"],
                        m["recipients"],
                        m["subject"],
                    )
                    for m in s.mails(state.agency)
                ],
                "actions": [
                    (a["action"], a["seq"], _no_times(a["detail"])) for a in s.actions(state.agency)
                ],
            }
        out["(summary mails)"] = [
            (m["kind"], m["recipients"], m["subject"]) for m in s.mails() if m["agency"] is None
        ]
        out["(refusals)"] = [(r["agency"], r["cover"]) for r in s.refusals()]
        out["(revision)"] = s.revision
    return out


def summary(folder: Path) -> dict:
    wb = load_workbook(folder / "汇总" / "汇总表.xlsx")
    return {
        ws.title: [[_no_times(c.value) for c in row] for row in ws.iter_rows()]
        for ws in wb.worksheets
    }


def results(folder: Path) -> dict:
    return _no_times(json.loads((folder / "汇总" / "results.json").read_text(encoding="utf-8")))


def _attachment(part) -> tuple:
    data = part.get_payload(decode=True)
    if part.get_filename().endswith(".xlsx"):
        wb = load_workbook(io.BytesIO(data))
        cells = [
            (ws.title, c.coordinate, c.value, c.comment.text if c.comment else None)
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or c.comment
        ]
        return part.get_filename(), _no_times(cells)
    return part.get_filename(), data


def mails(box: Mailbox) -> list:
    out = []
    for m in box.received:
        out.append(
            (
                sorted(a.addr_spec for a in m["To"].addresses),
                str(m["Subject"]),
                _no_times(m.get_body(preferencelist=("plain",)).get_content()),
                _no_times(m.get_body(preferencelist=("html",)).get_content()),
                [_attachment(p) for p in m.iter_attachments()],
            )
        )
    return out


# --- the test ------------------------------------------------------------------------------------


def test_the_command_line_and_the_web_page_end_in_the_same_state(tmp_path, smtp):
    box, env = smtp
    start = make_season(tmp_path / "start", AGENCIES)
    with Season.open(start) as s:
        configure(s, actor=Actor("测试", "cli"), public_url=PUBLIC, office="聊城市人民政府办公室")
        s.link_tokens()
    files = workbooks(tmp_path / "files")
    ends = {}
    for name in ("cli", "web", "both"):
        folder = tmp_path / name
        shutil.copytree(start, folder)
        box.received.clear()
        server = None
        try:
            doors = []
            if name in ("web", "both"):
                server = Server(folder, Options(public_url=PUBLIC, jobs=1))
                doors.append(Web(server, folder))
            if name in ("cli", "both"):
                doors.insert(0, Cli(folder, env))
            script(doors, files)
        finally:
            if server is not None:
                server.stop()
        ends[name] = (database(folder), summary(folder), results(folder), mails(box))

    db, book, doc, sent = ends["cli"]
    # the script did what it says: one wrong agency fixed, one explained, two approved
    assert db[BAD]["status"] == "approved" and [v[2] for v in db[BAD]["versions"]] == [
        "errors",
        "ok",
    ]
    assert db[WARN]["status"] == "explained" and db[OK1]["status"] == "approved"
    assert len(db[OK1]["versions"]) == 1  # the same file twice is one version
    assert db[AGENCIES[10]]["status"] == "missing"
    subjects = [m[1] for m in sent]
    assert sum("【需修改】" in s for s in subjects) == 1
    assert sum("【催报】" in s for s in subjects) == 2  # round 1: two agencies had not reported
    assert sum("【已通过】" in s for s in subjects) == 2
    revise = next(m for m in sent if "【需修改】" in m[1])
    assert f"{PUBLIC}/a/" in revise[2] and "聊城市人民政府办公室" in revise[2]
    assert f"{BAD}-初报.xlsx" in revise[2] and [a[0] for a in revise[4]] == [
        f"{BAD}_2022年度报告_批注.xlsx"
    ]
    raw = json.loads((tmp_path / "cli" / "汇总" / "results.json").read_text(encoding="utf-8"))
    assert (raw["season"]["received"], raw["season"]["expected"]) == (10, 11)
    for other in ("web", "both"):
        o_db, o_book, o_doc, o_sent = ends[other]
        assert o_db == db, other
        assert o_book == book, other
        assert o_doc == doc, other
        for a, b in zip(o_sent, sent):
            for x, y in zip(a, b):
                assert x == y, (other, a[1])
        assert len(o_sent) == len(sent), other


def test_the_same_file_through_any_door_is_one_version(tmp_path):
    folder = make_season(tmp_path / "s", ["甲局", "乙局"])
    path = make_workbook(tmp_path / "甲局.xlsx", meta_agency="甲局", meta_uscc=None)
    r = CliRunner().invoke(main, ["add", str(path), "--season", str(folder), "-j", "0"])
    assert r.exit_code == 0 and "新收：甲局 第 1 版（甲局.xlsx）" in r.stderr
    r = CliRunner().invoke(main, ["add", str(path), "--season", str(folder), "-j", "0"])
    assert "“甲局.xlsx”与已收到的 甲局 第 1 版内容完全相同，未作为新版本记入。" in r.stderr
    server = Server(folder)
    try:
        web = Web(server, folder)
        web.upload("甲局", path)
        c = web.coordinator
        status, headers, _ = c.post_file(
            "/upload", {"csrf_token": c.csrf("/")}, path.name, path.read_bytes(), field="files"
        )
        assert status == 302
        assert "内容完全相同" in c.follow(headers["Location"])[2].decode()
    finally:
        server.stop()
    with Season.open(folder) as s:
        taken = take_in(s, [Incoming(path, "又一次.xlsx")], actor=Actor("测试"), jobs=0)
        assert taken.added == [] and taken.outcomes[0].kind == "duplicate"
        assert [v.seq for v in s.history("甲局")] == [1]
        assert [a["action"] for a in s.actions("甲局")] == ["take_in"]


def test_after_one_door_sends_the_other_has_nothing_to_send(tmp_path, smtp):
    box, env = smtp
    folder = make_season(tmp_path / "s", ["甲局", "乙局"])
    bad = make_workbook(
        tmp_path / "甲局.xlsx", meta_agency="甲局", meta_uscc=None, t3_new_person=999
    )
    cli = Cli(folder, env)
    cli.upload("甲局", bad)
    server = Server(folder, Options(jobs=1))
    try:
        web = Web(server, folder)
        web.mail()  # 需修改 for 甲局, 催报 for 乙局
        assert len(box.received) == 2
        r = CliRunner().invoke(main, ["mail", "--season", str(folder), "--send"], env=env)
        assert r.exit_code == 0 and len(box.received) == 2
        assert "本届数据库记录已发过 2 封" in r.stderr
        # the other way round: a new version's mail sent by the command line …
        cli.upload(
            "甲局",
            make_workbook(
                tmp_path / "甲局2.xlsx", meta_agency="甲局", meta_uscc=None, t3_new_person=998
            ),
        )
        cli.mail()
        assert len(box.received) == 3
        # … is not offered again by the web page
        html = web.coordinator.get("/mail")[2].decode()
        assert "没有需要发送的邮件" in html and "已发送过的邮件" in html
        web.mail()
        assert len(box.received) == 3
    finally:
        server.stop()


def test_files_taken_in_together_follow_their_filing_dates_through_every_door(tmp_path):
    """The 初报 (填报日期 01-10) uploaded first in a batch with the final one (01-18): the final
    one is the current version, on the web page as on the command line."""
    first = make_workbook(
        tmp_path / "a-初报.xlsx",
        meta_agency="甲局",
        meta_uscc=None,
        meta_date="2023-01-10",
        t3_new_person=999,
    )
    final = make_workbook(
        tmp_path / "a-终稿.xlsx", meta_agency="甲局", meta_uscc=None, meta_date="2023-01-18"
    )
    cli_folder = make_season(tmp_path / "cli", ["甲局", "乙局"])
    # named so that the file order is the wrong one: the dates decide
    r = CliRunner().invoke(main, ["add", str(final), str(first), "--season", str(cli_folder)])
    assert r.exit_code == 1, r.stderr  # the 初报 taken in has errors
    web_folder = make_season(tmp_path / "web", ["甲局", "乙局"])
    server = Server(web_folder)
    try:
        c = Browserless(server.base)
        c.login()
        body, boundary = _multipart(
            {"csrf_token": c.csrf("/")}, [("files", p.name, p.read_bytes()) for p in (first, final)]
        )
        status, headers, _ = c.request(
            "POST", "/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert status == 302
        page = c.follow(headers["Location"])[2].decode()
        assert (
            "新收：甲局 第 1 版（a-初报.xlsx）" in page
            and "新收：甲局 第 2 版（a-终稿.xlsx）" in page
        )
    finally:
        server.stop()
    for folder in (cli_folder, web_folder):
        with Season.open(folder) as s:
            cur = s.current("甲局")
            assert [(v.seq, v.original_name) for v in s.history("甲局")] == [
                (1, "a-初报.xlsx"),
                (2, "a-终稿.xlsx"),
            ]
            assert (cur.original_name, cur.status, cur.submitted) == (
                "a-终稿.xlsx",
                "ok",
                "2023-01-18",
            )


def _multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "----xltools-batch"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for field, name, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), boundary


def test_the_counts_agree_and_files_outside_the_roster_are_counted_apart(tmp_path):
    """Board, `xltools status` and the summary count the same: a file of an agency not in the
    roster and a file that cannot be read (naming no roster agency) are shown apart."""
    folder = make_season(tmp_path / "s", ["甲局", "乙局", "丙局"])
    inbox = folder / "收件"
    make_workbook(inbox / "甲局.xlsx", meta_agency="甲局", meta_uscc=None)
    make_workbook(inbox / "外单位.xlsx", meta_agency="某外单位", meta_uscc=None)
    (inbox / "坏文件.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    r = CliRunner().invoke(main, ["consolidate", "--season", str(folder), "-j", "1"])
    assert r.exit_code == 1, r.stderr  # an unreadable file
    assert "本届：已收到 1/3 个单位（另有不在名单的 2 个）" in r.stderr
    status = json.loads(
        CliRunner().invoke(main, ["status", "--season", str(folder), "--json"]).stdout
    )
    doc = json.loads((folder / "汇总" / "results.json").read_text(encoding="utf-8"))
    with Season.open(folder) as s:
        from xltools.season.workflow import board

        counts = board(s).counts
    for d in (status["counts"], doc["season"], counts):
        assert (d["expected"], d["received"], d["not_in_roster"], d["missing"]) == (3, 1, 2, 2)
    server = Server(folder)
    try:
        c = Browserless(server.base)
        c.login()
        html = c.get("/")[2].decode()
        assert "<b>1</b> / 3" in html and "另有不在名单的 2 个" in html
    finally:
        server.stop()
