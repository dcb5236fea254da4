"""Command line: parse options, call one library function, render, pick the exit code.

Exit codes: 0 no errors, 1 error findings (or some messages failed), 2 usage / I-O failure.
"""
from __future__ import annotations

import click

from xltools import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="xltools")
def main() -> None:
    """xltools：政府信息公开工作年度报告的模板、校验、汇总与反馈工具。

    退出码：0 无错误；1 发现错误（或部分邮件发送失败）；2 用法、文件读写或配置错误。
    """


# --- commands are registered below, one section per command ---
