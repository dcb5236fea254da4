"""`xltools import`: published report -> filled template (+ JSON)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from published_docs import write_docx  # noqa: E402
from test_published import as_text, reference_values, table_keys  # noqa: E402

from xltools.cli import main  # noqa: E402
from xltools.importer import import_published  # noqa: E402
from xltools.pipeline import check_file  # noqa: E402


def test_import_writes_the_filled_template(tmp_path):
    src = write_docx(tmp_path / "报告.docx", as_text(reference_values()))
    out = tmp_path / "out" / "报告.xlsx"
    result = CliRunner().invoke(main, ["import", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "通过 1" in result.output
    report = check_file(out)  # the output is an ordinary workbook of the template
    assert report.findings == [] and report.form == "2021"
    assert {k: report.values[k] for k in table_keys()} == reference_values()
    assert (report.agency, report.year) == ("聊城市商务和投资促进局", 2022)
    assert [p.name for p in out.parent.iterdir()] == ["报告.xlsx"]  # no temporary left


def test_import_json_equals_library_result_and_errors_exit_1(tmp_path):
    values = as_text(reference_values()) | {"t2_licensing_decisions": "/"}
    src = write_docx(tmp_path / "r.docx", values)
    result = CliRunner().invoke(
        main, ["import", str(src), "-o", str(tmp_path / "a.xlsx"), "--json"]
    )
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    lib = import_published(src, tmp_path / "b.xlsx")
    assert doc == json.loads(json.dumps({"schema_version": 1, **lib.to_dict()})) | {
        "output": str(tmp_path / "a.xlsx")
    }
    assert (
        doc["values"]["t2_licensing_decisions"] == "/"
        and doc["unread"] == []
        and doc["notes"] == []
    )
    assert [f["rule"] for f in doc["findings"]] == ["value-blank"]
    # checking the written workbook reports the same cell again
    again = check_file(tmp_path / "a.xlsx")
    assert [(f.rule, f.key) for f in again.findings] == [("value-blank", "t2_licensing_decisions")]


def test_import_unreadable_input_exits_2(tmp_path):
    bad = tmp_path / "r.docx"
    bad.write_text("not a docx")
    result = CliRunner().invoke(main, ["import", str(bad), "-o", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 2 and "错误：" in result.output
    assert not (tmp_path / "o.xlsx").exists()
