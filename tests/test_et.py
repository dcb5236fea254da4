"""WPS .et workbooks: read when they hold an ordinary .xlsx or .xls inside, else a clear request
for .xlsx."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from factory import lo_convert, make_workbook

from xltools.cli import main
from xltools.reader.sniff import CFB_MAGIC, ET_NATIVE


def check(path):
    return CliRunner().invoke(main, ["check", str(path), "--json", "-j", "0"])


def test_et_holding_xlsx_is_read(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx", t3_new_person=7)
    et = tmp_path / "某某局年报.et"
    shutil.copyfile(src, et)
    r = check(et)
    assert r.exit_code == 1, r.output
    [report] = json.loads(r.stdout)["files"]
    # read like the .xlsx it holds: the changed number gives the balance error at its cell
    assert report["status"] == "errors" and report["agency"] == "聊城市商务和投资促进局"
    assert [
        (f["rule"], f["cell"], f["expected"], f["actual"])
        for f in report["findings"]
        if f["rule"] != "locate"
    ] == [("t3-balance", "D29", 5, 0)]
    extracted = CliRunner().invoke(main, ["extract", str(et), "--json"])
    assert json.loads(extracted.stdout)["t3_new_person"] == 7


@pytest.mark.libreoffice
def test_et_holding_biff_is_read(tmp_path):
    src = make_workbook(tmp_path / "src.xlsx", t3_new_person=5)
    xls = lo_convert(src, tmp_path / "lo", "xls")
    et = tmp_path / "某某局年报.et"
    shutil.copyfile(xls, et)
    extracted = CliRunner().invoke(main, ["extract", str(et), "--json"])
    assert extracted.exit_code == 0, extracted.output
    assert json.loads(extracted.stdout)["t3_new_person"] == 5


@pytest.mark.parametrize(
    "content",
    [CFB_MAGIC + bytes(4096), b"\x00WPS private format\x01\x02" * 50],
    ids=["cfb-without-workbook", "unknown-bytes"],
)
def test_native_et_asks_for_xlsx(tmp_path, content):
    et = tmp_path / "某某局年报.et"
    et.write_bytes(content)
    r = check(et)
    assert r.exit_code == 1
    assert ET_NATIVE in r.stdout
    # consolidate lists it as unreadable with the same request
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["consolidate", str(tmp_path), "-o", str(out), "-j", "0"])
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    entry = next(e for e in doc["entries"] if e["file"] and e["file"].endswith(".et"))
    assert entry["status"] == "unreadable" and ET_NATIVE in json.dumps(entry, ensure_ascii=False)
