"""End to end on the shipped samples: consolidate -> results.json -> mail. Recipients are the
roster's addresses as consolidate matched and recorded them (issue 12)."""

from __future__ import annotations

import email
import json
from email import policy

from click.testing import CliRunner
from factory import SAMPLES

from xltools.cli import main
from xltools.results import load_results


def _roster(tmp_path):
    """The sample roster with addresses no workbook carries, so a recipient can only have come
    from the roster; 人社局 is listed by its 统一社会信用代码 under another name."""
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        name, addr, contact, code, group = line.split(",")
        addr = addr.split("@")[0] + "@roster.example.cn"
        if name == "聊城市人力资源和社会保障局":
            name, code = "聊城市人社局", "11371500MB2856413X"
        out.append(",".join((name, addr, contact, code, group)))
    path = tmp_path / "名单.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _recipients(outdir):
    got = {}
    for p in sorted((outdir / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=policy.default)
        got[p.name.split("_", 2)[2].removesuffix(".eml")] = (
            p.name.split("_")[1],
            msg["To"].addresses[0].addr_spec,
        )
    return got


def test_consolidate_then_mail_uses_the_recorded_roster_addresses(tmp_path):
    roster, out = _roster(tmp_path), tmp_path / "out"
    run = CliRunner().invoke(
        main,
        [
            "consolidate",
            str(SAMPLES / "submissions"),
            "--roster",
            str(roster),
            "-o",
            str(out),
            "--jobs",
            "0",
        ],
    )
    assert run.exit_code == 1, run.output
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    hr = next(e for e in doc["entries"] if e["workbook_agency"] == "聊城市人力资源和社会保障局")
    # matched by the credit code although the roster names it differently
    assert (hr["roster_name"], hr["roster_email"], hr["email"]) == (
        "聊城市人社局",
        "rsj_gk@roster.example.cn",
        "rsj_gk(at)lc.shandong.cn",
    )
    # mail without --roster: the addresses consolidate recorded
    sent = CliRunner().invoke(main, ["mail", str(out)])
    assert sent.exit_code == 0, sent.output
    assert _recipients(out) == {
        "聊城市交通运输局": ("需修改", "jtj@roster.example.cn"),
        "聊城市人社局": ("需修改", "rsj_gk@roster.example.cn"),
        "聊城市卫生健康委员会": ("催报", "wjw_gk@roster.example.cn"),
    }
    # the reader of results.json sees what the writer wrote
    back = load_results(out)
    assert [e.to_dict() for e in back.entries] == doc["entries"]
    assert back.to_dict() == doc


def test_mail_roster_option_overrides_the_recorded_address(tmp_path):
    roster, out = _roster(tmp_path), tmp_path / "out"
    CliRunner().invoke(
        main,
        [
            "consolidate",
            str(SAMPLES / "submissions"),
            "--roster",
            str(roster),
            "-o",
            str(out),
            "--jobs",
            "0",
        ],
    )
    newer = tmp_path / "新名单.csv"
    newer.write_text(
        "单位名称,电子邮箱,统一社会信用代码\n聊城市人社局,new@example.gov.cn,11371500MB2856413X\n",
        encoding="utf-8",
    )
    sent = CliRunner().invoke(main, ["mail", str(out), "--roster", str(newer), "--only", "errors"])
    assert sent.exit_code == 0, sent.output
    assert _recipients(out) == {
        "聊城市交通运输局": (
            "需修改",
            "jtj@roster.example.cn",
        ),  # not in the newer list: as recorded
        "聊城市人社局": ("需修改", "new@example.gov.cn"),
    }
