"""The benchmark runs (a small version): it proves the command works and prints its table;
the figures themselves are measured on the development machine, never asserted here."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_quick_prints_the_table(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "benchmark.py"),
            "--n",
            "50",
            "--quick",
            "--jobs",
            "2",
            "--workdir",
            str(tmp_path / "work"),
            # the earlier version measured beside (here the same tree, to prove the option)
            "--before",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for row in (
        "朴素做法：openpyxl",
        "xltools check",
        "xltools consolidate（无问题的工作簿）",
        "下限：python-calamine 裸读取全部工作表",
        "xltools 读取 + 全部规则",
        "写一个批注副本",
        "系统负载",
        # both kinds of workbook: written by a script (no cached values), saved by LibreOffice
        "| 脚本（openpyxl）写的，无缓存值 |",
        "| LibreOffice 另存的，有缓存值 |",
        "读取 + 全部规则 ≤ 2 倍裸读取（脚本（openpyxl）写的，无缓存值）",
        "读取 + 全部规则 ≤ 2 倍裸读取（LibreOffice 另存的，有缓存值）",
        "比朴素做法快 ≥ 20 倍",
        "之前的版本：xltools consolidate（无问题的工作簿）",
        f"| 之前的版本（{ROOT}）：脚本（openpyxl）写的，无缓存值 |",
        "| 目标 | 实测 | 达到 | 之前的版本 |",
    ):
        assert row in out, out
    assert "| 工作簿/秒 |" in out
    # every generated clean workbook passed, and the broken ones were caught
    assert "已通过 50/50、计入 50" in out, out
    assert "'errors'" in out.split("核对：check 结果", 1)[1].split("；", 1)[0], out
