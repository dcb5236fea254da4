"""A scripted season on real files, through the CLI: versions, diffs, mail over a real SMTP
server on loopback, explanations, sign-off, history; and the season's hostile cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from factory import make_workbook
from loopback_smtp import loopback_smtp
from openpyxl import load_workbook

from xltools.cli import main
from xltools.season import Season

A, B, C = "聊城市商务和投资促进局", "聊城市甲局", "聊城市乙局"
MAIL = {A: "a@lc.example.cn", B: "b@lc.example.cn", C: "c@lc.example.cn"}


@pytest.fixture
def smtp():
    with loopback_smtp() as pair:
        yield pair


def run(*args, env=None, code=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env or {}, catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, (
            result.output,
            result.stderr if hasattr(result, "stderr") else "",
        )
    return result


def body(m) -> str:
    return m.get_body(preferencelist=("plain",)).get_content()


def workbook(path: Path, agency: str, **values) -> Path:
    return make_workbook(
        path, meta_agency=agency, meta_email=MAIL[agency], meta_uscc=None, **values
    )


def test_scripted_season(tmp_path, smtp):
    box, env = smtp
    roster = tmp_path / "名单.csv"
    roster.write_text(
        "单位名称,电子邮箱\n" + "".join(f"{a},{MAIL[a]}\n" for a in (A, B, C)), encoding="utf-8"
    )
    season = tmp_path / "2022年报"
    run("init", season, "--year", 2022, "--roster", roster, code=0)
    inbox = season / "收件"

    # v1: A has two errors (table 3 columns 自然人 and 法律服务机构 do not balance); B right;
    # C missing
    workbook(inbox / "A-1.xlsx", A, t3_new_person=3, t3_new_legal=1, meta_date="2023-01-05")
    workbook(inbox / "B-1.xlsx", B, meta_date="2023-01-05")
    r = run("consolidate", "--season", season, code=1)
    assert "新收：聊城市商务和投资促进局 第 1 版（A-1.xlsx）" in r.stderr
    mail = ["mail", "--season", season, "--deadline", "2月10日前", "--send"]
    run(*mail, env=env, code=0)
    assert sorted(box.summary()) == [
        (MAIL[A], f"【需修改】{A} 2022年度政府信息公开工作年度报告"),
        (MAIL[C], f"【催报】请报送{C} 2022年度政府信息公开工作年度报告"),
    ]
    assert len(box.received) == 2
    run(*mail, env=env, code=0)  # nothing new: nothing sent again
    assert len(box.received) == 2

    # v2: A fixes 自然人 but not 法律服务机构
    workbook(inbox / "A-2.xlsx", A, t3_new_legal=1, meta_date="2023-01-08")
    r = run("consolidate", "--season", season, code=1)
    assert (
        "新收：聊城市商务和投资促进局 第 2 版（A-2.xlsx）："
        "与第 1 版相比改了 3 格；上次 2 处问题已改 1 处" in r.stderr
    )
    results = json.loads((season / "汇总" / "results.json").read_text(encoding="utf-8"))
    a = next(e for e in results["entries"] if e["agency"] == A)
    assert (a["version"], a["previous"], a["versions"]) == (2, 1, 2)
    assert [(c["cell"], c["old"], c["new"]) for c in a["changed"]] == [
        ("B12", "2023-01-05", "2023-01-08"),
        ("D5", 3, 2),
        ("J5", 4, 3),
    ]
    assert [f["cell"] for f in a["fixed"]] == ["D29"] and [f["cell"] for f in a["remaining"]] == [
        "H29"
    ]  # xltools.locate's note is no problem of its own
    assert a["new"] == [] and a["compared"] == "与第 1 版相比改了 3 格；上次 2 处问题已改 1 处"
    wb = load_workbook(season / "汇总" / "汇总表.xlsx", read_only=True)
    status_rows = list(wb["报送情况"].iter_rows(values_only=True))
    assert status_rows[0][-1] == "与上次相比"
    assert (
        next(row for row in status_rows if row[1] == A)[-1]
        == "与第 1 版相比改了 3 格；上次 2 处问题已改 1 处"
    )
    changes = [row for row in wb["修改明细"].iter_rows(values_only=True)][1:]
    assert changes == [
        (A, 2, 1, "封面", "B12", "填报日期", None, "2023-01-05", "2023-01-08"),
        (A, 2, 1, "表三", "D5", "一、本年新收政府信息公开申请数量", "自然人", 3, 2),
        (A, 2, 1, "表三", "J5", "一、本年新收政府信息公开申请数量", "总计", 4, 3),
    ]
    wb.close()
    run(*mail, env=env, code=0)
    assert len(box.received) == 3  # the new version's 需修改 only; 催报 not again
    revise2 = box.received[2]
    assert box.summary()[2] == (MAIL[A], f"【需修改】{A} 2022年度政府信息公开工作年度报告")
    assert "与第 1 版相比，上次指出的 2 处问题已改正 1 处，仍有 1 处：表三!H29（错误）。" in body(
        revise2
    )

    # a new deadline: one more 催报 for C
    run("mail", "--season", season, "--deadline", "2月20日前", "--send", env=env, code=0)
    assert [s for _, s in box.summary()].count(
        f"【催报】请报送{C} 2022年度政府信息公开工作年度报告"
    ) == 2
    assert len(box.received) == 4

    # v3 right → approved → one 已通过
    workbook(inbox / "A-3.xlsx", A, meta_date="2023-01-10")
    run("consolidate", "--season", season, code=0)
    run("approve", A, "--season", season, code=0)
    run(*mail, env=env, code=0)
    assert len(box.received) == 5 and str(box.received[4]["Subject"]).startswith("【已通过】")
    run(*mail, env=env, code=0)
    assert len(box.received) == 5

    # v4 after approval: flagged until approved again
    workbook(inbox / "A-4.xlsx", A, t2_penalty_decisions=3, meta_date="2023-01-12")
    run("consolidate", "--season", season)
    board = json.loads(run("status", "--season", season, "--json").stdout)
    state = next(s for s in board["agencies"] if s["agency"] == A)
    assert (state["status"], state["status_label"], state["versions"], state["approved"]) == (
        "changed_after_approval",
        "审核后又变更",
        4,
        False,
    )
    assert [s["status_label"] for s in board["agencies"]] == ["审核后又变更", "已通过", "未报送"]
    results = json.loads((season / "汇总" / "results.json").read_text(encoding="utf-8"))
    assert results["season"]["changed_after_approval"] == 1 and results["season"]["versions"] == 5

    # history shows every step, and every mail once
    hist = json.loads(run("history", A, "--season", season, "--json", code=0).stdout)
    assert [
        (v["seq"], v["status"], v["original_name"], v["approved"]) for v in hist["versions"]
    ] == [
        (1, "errors", "A-1.xlsx", False),
        (2, "errors", "A-2.xlsx", False),
        (3, "ok", "A-3.xlsx", True),
        (4, "ok", "A-4.xlsx", False),
    ]
    assert hist["versions"][3]["diff_text"] == "与第 3 版相比改了 2 格"
    assert [m["kind"] for m in hist["mails"]] == ["revise", "revise", "accepted"]
    text = run("history", A, "--season", season, code=0).stdout
    assert "第 4 版" in text and "表二!B11：0 → 3" in text
    sent = box.summary()
    assert len(sent) == len(set((to, s, body(m)) for (to, s), m in zip(sent, box.received)))
    with Season.open(season) as s:
        assert len(s.mails()) == 5
    records = json.loads((season / "说明与审核.json").read_text(encoding="utf-8"))
    assert [r["version"] for r in records["approvals"]] == [3] and len(records["mails"]) == 5


def test_help_of_every_season_command_ends_with_an_example():
    for cmd in ("init", "status", "history", "accept", "approve", "consolidate", "mail", "check"):
        help_text = run(cmd, "--help").output
        assert "示例：" in help_text, cmd
        doc = main.commands[cmd].help
        assert doc.rstrip().splitlines()[-1].strip().startswith("xltools "), cmd


def test_season_hostile_cases(tmp_path):
    r = run("status", "--season", tmp_path)
    assert r.exit_code == 2 and "不是年报工作文件夹" in r.stderr
    run("init", tmp_path / "s", code=2)
    season = tmp_path / "s"
    run("init", season, "--year", 2022, code=0)
    r = run("init", season, "--year", 2022)
    assert r.exit_code == 2 and "已经是年报工作文件夹" in r.stderr
    r = run("approve", "不存在的局", "--season", season)
    assert r.exit_code == 2 and "本届年报中没有单位“不存在的局”" in r.stderr
    (season / "season.toml").write_text("year = 'abc'\n", encoding="utf-8")
    r = run("status", "--season", season)
    assert r.exit_code == 2 and "year 应为 2019 至 2100 之间的整数" in r.stderr


def test_hostile_files_in_a_season(tmp_path):
    season = tmp_path / "季"
    run("init", season, "--year", 2022, code=0)
    inbox = season / "收件"
    (inbox / "乱码.xlsx").write_bytes(b"PK\x03\x04 not really a workbook" * 10)
    make_workbook(inbox / "公式.xlsx", meta_agency='=HYPERLINK("http://x","点我")', meta_uscc=None)
    (inbox / "~$临时.xlsx").write_bytes(b"lock")
    r = run("consolidate", "--season", season, code=1)
    assert "Office 临时锁定文件，已跳过" in r.stderr
    board = {
        s["agency"]: s
        for s in json.loads(run("status", "--season", season, "--json").stdout)["agencies"]
    }
    assert board["乱码"]["status"] == "unreadable" and board["乱码"]["versions"] == 1
    formula = '=HYPERLINK("http://x","点我")'
    assert board[formula]["status"] == "ok"
    hist = json.loads(run("history", "乱码", "--season", season, "--json", code=0).stdout)
    assert hist["versions"][0]["findings"][0]["rule"] == "unreadable"
    wb = load_workbook(season / "汇总" / "汇总表.xlsx")  # not read-only: formulas would show
    names = [row[0].value for row in wb["本届情况"].iter_rows(min_row=3)]
    assert formula in names  # kept as text …
    assert all(
        c.data_type != "f"
        for name in ("本届情况", "报送情况")
        for row in wb[name].iter_rows()
        for c in row
    )
    # the kept copies are never written to, and the inbox files are left as they were
    kept = list((season / "files").rglob("*.xlsx"))
    assert len(kept) == 2 and all(not (p.stat().st_mode & 0o222) for p in kept)
    assert (inbox / "~$临时.xlsx").read_bytes() == b"lock"
