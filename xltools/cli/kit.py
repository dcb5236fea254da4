"""Building blocks of the command line, shared by every command module: the usage-error
exception (exit 2, Chinese message), shared options (--jobs, --timeout, --json, --form),
JSON output, the progress bar. No commands here (xltools.cli and the packages that add
commands import this; it imports none of them)."""

from __future__ import annotations

import json
import sys

import click

from xltools import XltoolsError
from xltools.messages import CLI


class FormChoice(click.ParamType):
    """A form id among the forms found (the package's and XLTOOLS_FORMS_PATH's), checked when
    the command runs, so a form added on the path needs no change here."""

    name = CLI.form_metavar

    def convert(self, value, param, ctx):
        from xltools.spec import form_ids

        try:
            ids = form_ids()
        except XltoolsError as e:
            self.fail(str(e), param, ctx)
        if str(value) not in ids:
            self.fail(CLI.bad_form.format(form=value, choices=CLI.list_join.join(ids)), param, ctx)
        return str(value)


FORM_CHOICE = FormChoice()


class Failure(click.ClickException):
    """A usage, I/O or configuration failure: exit 2, a Chinese message on stderr."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(CLI.error.format(message=self.format_message()), err=True)


def _fail(message: str) -> None:
    raise Failure(message)


def _echo_json(doc) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


# --- options shared by several commands: defined once -----------------------------------------


def jobs_option(f):
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(0, 256),
        default=None,
        help="并行进程数（默认为 CPU 核数；0 表示不隔离、在本进程读取）",
    )(f)


def timeout_option(f):
    return click.option(
        "--timeout",
        type=click.FloatRange(1, 3600),
        default=60,
        show_default=True,
        help="单个文件的读取时限（秒）",
    )(f)


def json_option(help: str | None = None):  # noqa: A002 (click's own word)
    return click.option(
        "--json", "as_json", is_flag=True, help=help or "以 JSON 输出（一个文档，写到标准输出）"
    )


def _io_message(e: Exception) -> str:
    if isinstance(e, OSError) and not isinstance(e, XltoolsError):
        return CLI.io_error.format(error=e.strerror or e, filename=getattr(e, "filename", "") or "")
    return str(e)


def _progress(total: int):
    """A progress bar on stderr for long runs; a no-op for short ones."""
    if total < 50:
        return None, lambda n: None
    bar = click.progressbar(length=total, label=CLI.progress, file=sys.stderr)
    bar.__enter__()
    return bar, bar.update
