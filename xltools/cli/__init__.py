"""Command line: parse options, call one library function, render, pick the exit code.

Exit codes: 0 no errors, 1 error findings (or some messages failed), 2 usage / I-O failure.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click

from xltools import UnreadableError, XltoolsError, __version__
from xltools.cli.kit import (
    FORM_CHOICE,
    Failure,
    _echo_json,
    _fail,
    _io_message,
    _progress,  # noqa: F401
    jobs_option,
    json_option,
    timeout_option,
)
from xltools.cli.season import COMMANDS as _SEASON_COMMANDS
from xltools.cli.season import (
    add_previous,
    consolidate_in_season,
    mail_in_season,
    me,
    open_season,
)
from xltools.findings import SCHEMA_VERSION
from xltools.messages import ACCOUNTS, ANALYTICS, CLI, FETCH, NAMES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="xltools")
def main() -> None:
    """xltools：政府信息公开工作年度报告的模板、校验、汇总与反馈工具。

    退出码：0 无错误；1 发现错误（或部分邮件发送失败）；2 用法、文件读写或配置错误。
    """


# --- commands are registered below, one section per command ---


# --- mail (issue 5): e-mail the results of a consolidation ---


@main.command("mail")
@click.argument("outdir", type=click.Path(file_okay=False), required=False)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False),
    help="名单文件（.xlsx 或 .csv）：收件地址优先取名单中的「电子邮箱」，否则取报表中填写的邮箱。",
)
@click.option(
    "--send", is_flag=True, help="通过 SMTP 真正发送。不加时只把邮件写入 OUTDIR/outbox/ 供检查。"
)
@click.option(
    "--only",
    type=click.Choice(["errors", "missing", "all"]),
    default=None,
    help="errors 只发需修改；missing 只发催报；all 另加已通过的确认。默认：需修改和催报。",
)
@click.option("--cc", multiple=True, metavar="ADDR", help="每封单位邮件都抄送此地址，可重复。")
@click.option(
    "--summary-to", multiple=True, metavar="ADDR", help="另发一封附汇总表的汇总邮件给此地址。"
)
@click.option("--resend", is_flag=True, help="忽略发送记录（OUTDIR/sendlog.jsonl），全部重新发送。")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="配置文件（TOML，[mail] 与 [smtp] 两节；不能写密码）。",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    help="自己的邮件模板文件夹：其中与内置模板同名的文件（如 revise.txt）替换内置模板。",
)
@click.option("--office", help="发件单位名称（默认「政务公开办」）。")
@click.option("--deadline", help="修改或报送的期限，如「2026年2月10日前」。")
@click.option("--signature", help="邮件落款（默认为发件单位名称）。")
@click.option(
    "--season",
    "season_dir",
    type=click.Path(file_okay=False),
    help="年报工作文件夹：发过的邮件记入本届数据库，同一版本的需修改、同一期限的催报只发一次（在该文件夹内运行时可省略）。",
)
def mail_command(
    outdir,
    roster,
    send,
    only,
    cc,
    summary_to,
    resend,
    config_file,
    templates,
    office,
    deadline,
    signature,
    season_dir,
):
    """把汇总结果用电子邮件发给各单位：需修改（附批注报表）、催报（附空白模板）、已通过。

    OUTDIR 是 xltools consolidate 的输出文件夹。默认只演练：邮件写入 OUTDIR/outbox/*.eml，
    并列出收件人、主题和附件；加 --send 才发送。发送记录在 OUTDIR/sendlog.jsonl，
    重复运行只发送未发过或内容有变化的邮件。

    SMTP 由环境变量设置：XLTOOLS_SMTP_HOST、XLTOOLS_SMTP_PORT、XLTOOLS_SMTP_USER、
    XLTOOLS_SMTP_PASSWORD、XLTOOLS_SMTP_SECURITY（ssl | starttls | none，默认 ssl/465）、
    XLTOOLS_SMTP_CA_FILE（信任的 CA 证书，用于自签名证书）、XLTOOLS_MAIL_FROM（发件地址）；
    除密码外也可写在 --config 配置文件中。

    退出码：0 全部成功；1 有邮件发送失败或无法发送（如无收件地址）；2 用法或配置错误。

    \b
    示例：
      xltools mail 汇总结果/ --roster 名单.xlsx --deadline 2026年2月10日前
      xltools mail 汇总结果/ --roster 名单.xlsx --send
      xltools mail --season 2025年报 --deadline 2026年2月10日前 --send
    """
    from xltools.mail import (
        SendLog,
        load_config,
        plan_messages,
        plan_table,
        send_messages,
        send_table,
        write_outbox,
    )
    from xltools.mail.send import OUTCOME_LABELS

    season = open_season(season_dir and Path(season_dir), required=bool(season_dir) or not outdir)
    if season is None and not outdir:
        raise click.UsageError(CLI.no_outdir)
    options = dict(
        office=office, deadline=deadline, signature=signature, templates=templates, cc=cc
    )
    try:
        if season is not None:
            from xltools.season.workflow import mail_config

            config = mail_config(season, config_file, **options)
            mail_in_season(season, outdir, roster, send, only, summary_to, resend, config)
        config = load_config(config_file, **options)
        messages = plan_messages(
            outdir, roster=roster, only=only, config=config, summary_to=summary_to
        )
        write_outbox(outdir, messages, config)
        if not send:
            click.echo(plan_table(messages, set() if resend else SendLog(outdir).sent()))
            click.echo(CLI.outbox_written.format(outdir=outdir), err=True)
            click.get_current_context().exit(0 if all(m.sendable for m in messages) else 1)

        def progress(d):
            click.echo(
                CLI.mail_progress.format(
                    outcome=OUTCOME_LABELS[d.outcome],
                    label=d.message.label,
                    agency=d.message.agency or CLI.summary_recipient,
                ),
                err=True,
            )

        result = send_messages(outdir, messages, config, resend=resend, progress=progress)
    except XltoolsError as exc:
        raise Failure(str(exc)) from exc  # exit 2; defined with the shared helpers below
    click.echo(send_table(result))
    click.get_current_context().exit(result.exit_code)


# --- template / schema / fill -----------------------------------------------------------------


@main.command()
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="输出的模板文件（.xlsx）",
)
@click.option(
    "--form",
    "form_id",
    type=FORM_CHOICE,
    help="表式：2021（2021 年及以后）或 2019（2019、2020 年）；默认按 --year 选择，否则 2021",
)
@click.option("--year", type=click.IntRange(2019, 2100), help="报告年度，预先填入封面")
@click.option("--agency", help="机关名称，预先填入封面")
def template(output: Path, form_id: str | None, year: int | None, agency: str | None) -> None:
    """生成空白的年度报告统计表模板（封面、表二、表三、表四、校验）。

    \b
    示例：
      xltools template -o 模板.xlsx --year 2025 --agency 某某市某某局
    """
    from xltools.template import build_template

    try:
        path = build_template(output, form_id, year, agency)
    except (XltoolsError, OSError) as e:
        _fail(_io_message(e))
    click.echo(CLI.template_written.format(path=path), err=True)


@main.command()
@click.option("--form", "form_id", type=FORM_CHOICE, default="2021", show_default=True, help="表式")
@json_option(help="输出 JSON（字段与规则总是以 JSON 输出）")
@click.option(
    "--list",
    "list_forms",
    is_flag=True,
    help="列出可用的全部表式及其适用年度（含 XLTOOLS_FORMS_PATH 中的表式）",
)
@click.option(
    "--indicators",
    "list_indicators",
    is_flag=True,
    help="列出全部指标（标识、名称、单位、公式、含义；"
    "含 XLTOOLS_FORMS_PATH 中 indicators.toml 增加的指标）",
)
def schema(form_id: str, as_json: bool, list_forms: bool, list_indicators: bool) -> None:
    """列出表式的全部字段（键、工作表、单元格、行列标题、类型）和全部规则。

    表式定义是 xltools/forms/ 中的 TOML 文件；环境变量 XLTOOLS_FORMS_PATH 可再指定若干文件夹
    （用系统的路径分隔符隔开），其中的 <表式>.toml 也可使用，其中的 indicators.toml 增加指标。

    \b
    示例：
      xltools schema --form 2021 --json > 2021字段.json
      xltools schema --list
      xltools schema --indicators
    """
    from xltools.schema import describe, describe_indicators
    from xltools.schema import list_forms as forms

    try:
        if list_indicators:
            doc = describe_indicators()
            if as_json:
                _echo_json(doc)
            else:
                for row in doc["indicators"]:
                    click.echo(ANALYTICS.schema_line.format(**row))
            return
        if list_forms:
            rows = forms()
            if as_json:
                _echo_json({"schema_version": 1, "forms": rows})
            else:
                for r in rows:
                    click.echo(CLI.form_line.format(**{**r, "years": _years(r["years"])}))
            return
        _echo_json(describe(form_id))
    except XltoolsError as e:
        _fail(str(e))


def _years(years: list) -> str:
    first, last = years
    return (
        CLI.years_open.format(first=first)
        if last is None
        else CLI.years_closed.format(first=first, last=last)
    )


@main.command()
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="{键: 值} 的 JSON 文件",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="输出的 .xlsx",
)
@click.option("--form", "form_id", type=FORM_CHOICE, help="表式；默认按 meta_year 选择")
def fill(data: Path, output: Path, form_id: str | None) -> None:
    """用 JSON 中的数值填写模板。给出总计单元格的值时按数值写入（覆盖公式），未给出时保留公式。

    \b
    示例：
      xltools fill --data 某某局.json -o 某某局.xlsx
    """
    from xltools.template import fill_workbook

    try:
        values = json.loads(data.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(CLI.bad_json.format(path=data, error=e))
    if not isinstance(values, dict):
        _fail(CLI.json_not_object.format(path=data))
    try:
        path = fill_workbook(values, output, form_id)
    except (XltoolsError, OSError) as e:
        _fail(_io_message(e))
    click.echo(CLI.filled.format(path=path), err=True)


# --- check / extract --------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option(help="以 JSON 输出全部结果（一个文档）")
@click.option(
    "--annotate",
    "annotate_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="为有问题的文件在此目录写批注副本",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="何种问题使退出码为 1",
)
@jobs_option
@timeout_option
@click.option(
    "--previous",
    type=click.Path(exists=True, path_type=Path),
    help="上年数据（汇总表.xlsx、上年年报工作文件夹或上年报表所在文件夹）：另查跨年度规则（上年结转、现行有效）和大幅变化",
)
def check(
    paths: tuple[Path, ...],
    as_json: bool,
    annotate_dir: Path | None,
    fail_on: str,
    jobs: int | None,
    timeout: float,
    previous: Path | None = None,
) -> None:
    """读取填好的报表并校验全部规则，指出具体单元格。

    PATHS 可以是文件或文件夹（递归查找表格文件，跳过 ~$ 临时文件）。已发布的报告
    （.txt、.docx、.html、.pdf）作为文件直接给出时也可校验。

    退出码：0 无错误；1 有错误（--fail-on warning 时有警告也为 1）；2 用法或读写错误。

    \b
    示例：
      xltools check 收件箱/ --annotate 批注/
      xltools check 某某局.xlsx --json > 结果.json
      xltools check 某某局.xlsx --previous 2024年汇总/汇总表.xlsx
    """
    from xltools.batch import Limits, check_run, collect_inputs

    try:
        inputs = collect_inputs(paths)
    except XltoolsError as e:
        _fail(str(e))
    for p, why in inputs.skipped:
        click.echo(f"{p}：{why}", err=True)
    bar, tick = _progress(len(inputs.files))
    try:
        run = check_run(
            inputs, jobs, Limits(timeout=timeout), tick, annotate_dir=annotate_dir, fail_on=fail_on
        )
    except OSError as e:
        _fail(_io_message(e))
    finally:
        if bar:
            bar.__exit__(None, None, None)
    reports = run.reports
    if previous is not None:
        gained = add_previous(reports, previous)
        if annotate_dir is not None:
            _annotate_again(gained, reports, annotate_dir)
    for r in reports if annotate_dir else ():
        if r.annotated:
            click.echo(CLI.annotated.format(path=r.annotated), err=True)
        elif r.annotate_error:
            click.echo(CLI.annotate_failed.format(file=r.file, error=r.annotate_error), err=True)
    if as_json:
        _echo_json(run.to_dict())
    else:
        from xltools.render import render_reports

        click.echo(render_reports(reports))
    sys.exit(run.exit_code)


def _annotate_again(gained: list, reports: list, annotate_dir: Path) -> None:
    """The annotated copies of reports that gained cross-year findings after the workers
    wrote them (or that had none): written again here, with every finding."""
    from xltools.annotate import annotate, annotated_name

    taken = {Path(r.annotated).name for r in reports if r.annotated}
    for r in gained:
        target = (
            Path(r.annotated) if r.annotated else annotated_name(Path(r.file), annotate_dir, taken)
        )
        try:
            annotate(r, target, Path(r.file))
            r.annotated, r.annotate_error = str(target), None
        except Exception as e:  # one copy that cannot be written must not lose the others
            r.annotate_error = type(e).__name__


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option(help="输出 JSON（目前只支持 JSON）")
def extract(file: Path, as_json: bool) -> None:
    """读出报表中的全部数值，输出 {键: 值}（fill 的逆操作）。无法识别的值为 null。

    \b
    示例：
      xltools extract 某某局.xlsx --json > 某某局.json
    """
    from xltools.batch import check_paths

    report = check_paths([file], 1)[0]
    if report.unreadable:
        _fail(CLI.unreadable.format(file=file, message=report.findings[0].message))
    from xltools.published.render import incomplete_totals

    for line in incomplete_totals(report):
        click.echo(line, err=True)
    _echo_json(
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in report.values.items()}
    )


# --- import -------------------------------------------------------------------------------------


@main.command("import")
@click.argument(
    "report_file", metavar="REPORT", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="输出的 .xlsx（填好的模板）",
)
@json_option(help="输出 JSON：{键: 值} 与全部校验结果")
def import_command(report_file: Path, output: Path, as_json: bool) -> None:
    """读取已发布的年度报告（.txt、.docx、.html/.htm、文字版 .pdf），把表二至表四和机关名称、
    报告年度填入模板，并校验全部规则（含正文数字与表格是否一致）。

    读不准的表格或行不会猜测：留空并说明原因。退出码：0 无错误；1 有错误；2 无法读取或写入。

    \b
    示例：
      xltools import 某某局2022年报告.pdf -o 某某局.xlsx
      xltools import 报告.docx -o 报告.xlsx --json > 结果.json
    """
    from xltools.importer import import_published
    from xltools.render import render_reports

    if output.resolve() == report_file.resolve() or output.suffix.lower() != ".xlsx":
        _fail(CLI.import_output.format(path=output))
    try:
        result = import_published(report_file, output)
    except UnreadableError as e:
        _fail(str(e))
    except (XltoolsError, OSError) as e:
        _fail(_io_message(e))
    click.echo(CLI.imported.format(path=output), err=True)
    if as_json:
        _echo_json({"schema_version": SCHEMA_VERSION, **result.to_dict()})
    else:
        from xltools.published.render import render_import

        click.echo(render_reports([result.report]))
        text = render_import(result)
        if text:
            click.echo(text)
    sys.exit(1 if result.report.errors else 0)


# --- consolidate -------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="输出文件夹（汇总表、批注副本、results.json）；年报工作文件夹中默认为 汇总/",
)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="报送名单（.xlsx 或 .csv，至少有“单位名称”列）",
)
@click.option(
    "--include-invalid", is_flag=True, help="有错误的报表也计入汇总（默认只计入没有错误的报表）"
)
@click.option(
    "--year", type=click.IntRange(2019, 2100), help="汇总的报告年度（默认取多数报表的年度）"
)
@click.option("--agency", help="汇总表封面上的机关名称，如“聊城市人民政府办公室（汇总）”")
@jobs_option
@timeout_option
@click.option("--force", is_flag=True, help="输出文件夹中已有结果时覆盖")
@click.option(
    "--season",
    "season_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="年报工作文件夹（xltools init 创建）：新文件保存为版本，汇总各单位的当前版本"
    "（在该文件夹内运行时可省略）",
)
def consolidate(
    paths, outdir, roster, include_invalid, year, agency, jobs, timeout, force, season_dir
) -> None:
    """汇总各单位报表：逐一校验、核对名单、生成汇总表和批注副本。

    每个文件、名单中的每个单位都有且只有一个状态：已通过、有警告、有错误、无法读取、
    未报送、重复报送、不在名单、年度不符。默认只有没有错误的报表计入汇总。

    退出码：0 全部报表没有错误；1 有报表存在错误或无法读取；2 用法或读写错误。

    \b
    在年报工作文件夹中（或加 --season）：PATHS 默认为 收件/，输出默认为 汇总/；每个新文件保存为
    一个版本，汇总各单位的当前版本，报送情况中列出与上次相比的变化，有上年数据时增加“与上年比较”。

    \b
    示例：
      xltools consolidate 收件箱/ --roster 名单.xlsx -o 汇总结果/
      xltools consolidate --season 2025年报
    """
    season = open_season(season_dir, required=bool(season_dir))
    if season is not None:
        if roster or year:
            season.close()
            _fail(CLI.season_no_roster_year)
        consolidate_in_season(season, paths, outdir, include_invalid, agency, jobs, timeout)
    if not paths or outdir is None:
        raise click.UsageError(CLI.consolidate_needs_paths)
    from xltools.batch import Limits, collect_inputs
    from xltools.consolidate import consolidate as run
    from xltools.consolidate import summary_text

    try:
        inputs = collect_inputs(paths)
    except XltoolsError as e:
        _fail(str(e))
    bar, tick = _progress(len(inputs.files))
    try:
        result = run(
            list(paths),
            outdir,
            roster,
            include_invalid,
            year,
            jobs,
            force,
            agency,
            Limits(timeout=timeout),
            tick,
            inputs=inputs,
        )
    except XltoolsError as e:
        _fail(str(e))
    except OSError as e:
        _fail(_io_message(e))
    finally:
        if bar:
            bar.__exit__(None, None, None)
    for p, why in result.skipped:
        click.echo(f"{p}：{why}", err=True)
    click.echo(summary_text(result), err=True)
    click.echo(
        CLI.consolidated.format(
            summary=outdir / NAMES.summary_workbook, results=outdir / "results.json"
        ),
        err=True,
    )
    sys.exit(result.exit_code)


# --- live (issue 9): check the workbook open in Microsoft Excel -------------------------------


@main.command()
@click.option(
    "--book",
    "book_name",
    metavar="NAME",
    help="要检查的工作簿名称（如 某某局.xlsx）；默认为 Excel 中当前活动的工作簿",
)
@click.option("--clear", is_flag=True, help="清除上次 xltools live 标出的颜色和批注，恢复原样")
def live(book_name: str | None, clear: bool) -> None:
    """检查 Microsoft Excel 中正在打开的报表，把有问题的单元格直接标色并加批注（不保存工作簿）。

    规则与 check
    相同，标记与批注副本一致：红色为错误，黄色为警告。再次运行会先清除上次的标记；--clear
    只清除本命令加上的颜色和批注，恢复原来的样子。

    仅支持 Windows 或 macOS 上的 Microsoft Excel，需要先安装：pip install "xltools[excel]"。不支持
    WPS 表格和 Linux：请改用 xltools check 文件.xlsx --annotate 批注/ 生成批注副本。

    退出码：0 无错误；1 有错误；2 无法连接 Excel 或操作失败。

    \b
    示例：
      xltools live
      xltools live --book 某某局.xlsx
      xltools live --clear
    """
    from xltools.live import LiveError, check_live, clear_live, clear_summary, summary
    from xltools.render import render_reports

    try:
        from xltools.live_xlwings import attach

        book = attach(book_name)
        if clear:
            click.echo(clear_summary(clear_live(book)), err=True)
            sys.exit(0)
        result = check_live(book)
    except LiveError as e:
        _fail(str(e))
    click.echo(render_reports([result.report]))
    click.echo(summary(result), err=True)
    sys.exit(result.exit_code)


# --- publish (issue 17): the published annual report from a checked workbook -------------------


@main.command("publish")
@click.argument(
    "workbook", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    "docx_out",
    type=click.Path(path_type=Path),
    help="输出的 Word 文档（.docx），默认与报表同名、同一文件夹；加 --season 时为输出文件夹",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="另输出网页（.html），供网站发布",
)
@click.option(
    "--pdf",
    "pdf_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="另输出 PDF（需要 LibreOffice）",
)
@click.option(
    "--previous",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="LASTYEAR",
    help="上一年度的报表：总体情况中写出较上年的增减",
)
@click.option(
    "--agency", help="标题中的机关名称（默认取封面的机关名称；汇总表请写本级政府或部门的名称）"
)
@click.option(
    "--force", is_flag=True, help="报表有错误也生成，页眉标明“草稿”（空白单元格仍不能发布）"
)
@click.option(
    "--wording",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="自己的措辞文件（TOML，可由 --show-wording 的输出改写），其中的条目替换内置措辞",
)
@click.option(
    "--season",
    "season_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="年报工作文件夹：为其中每个已审核的单位生成报告（.docx 与 .html），写入 -o 指定的文件夹",
)
@click.option(
    "--show-wording",
    is_flag=True,
    help="输出内置的措辞文件（标题、各部分标题、数字句式、【请填写…】），供改写后用 --wording 指定",
)
def publish_command(
    workbook,
    docx_out,
    html_out,
    pdf_out,
    previous,
    agency,
    force,
    wording,
    season_dir,
    show_wording,
) -> None:
    """由校验通过的报表（单位报表或 consolidate 生成的汇总表）生成政府信息公开工作年度报告：Word
    文档，另可生成网页和 PDF。

    标题、统计期限、一至六部分标题、表二至表四（与官方格式相同的合并单元格）都按报表生成；\
总体情况中写出由表三、表四数字生成的句子，其余需要单位填写的地方以黄色标出【请填写…】。\
报表有错误时不生成并列出错误（加 --force 生成草稿）；应填数字的单元格为空时不生成。

    退出码：0 已生成；1 报表有错误或空白，未生成（--season：有单位未能生成）；2
    用法、读写错误或无法生成 PDF。

    \b
    示例：
      xltools publish 某某局.xlsx -o 某某局2025年报告.docx --html 某某局2025年报告.html
      xltools publish 汇总结果/汇总表.xlsx --agency 某某市人民政府 --previous 2024汇总表.xlsx \
--pdf 报告.pdf
      xltools publish --season 2025年报 -o 年报文本/
      xltools publish --show-wording > 我的措辞.toml
    """
    from xltools.publish import PublishRefused, load_wording, publish
    from xltools.publish.wording import builtin_text, message

    if show_wording:
        click.echo(builtin_text(), nl=False)
        return
    try:
        words = load_wording(wording)
    except XltoolsError as e:
        _fail(str(e))
    if season_dir is not None:
        _publish_season(
            season_dir,
            workbook,
            docx_out,
            html_out,
            pdf_out,
            previous,
            agency,
            force,
            wording,
            words,
        )
        return
    if workbook is None:
        _fail(message(words, "no_workbook"))
    docx_out = docx_out or workbook.with_suffix(".docx")
    try:
        result = publish(
            workbook,
            docx_out,
            html_out,
            pdf_out,
            previous=previous,
            agency=agency,
            force=force,
            wording=wording,
        )
    except PublishRefused as e:
        click.echo(e.headline, err=True)
        for line in e.problems:
            click.echo(f"  - {line}", err=True)
        if e.hint:
            click.echo(e.hint, err=True)
        sys.exit(1)
    except (XltoolsError, OSError) as e:
        _fail(_io_message(e))
    for note in result.notes:
        click.echo(note, err=True)
    for path in result.written:
        click.echo(
            message(words, "draft_written" if result.draft else "written", path=path), err=True
        )


def _publish_season(
    season_dir, workbook, outdir, html_out, pdf_out, previous, agency, force, wording, words
) -> None:
    from xltools.publish.wording import message
    from xltools.season.workflow import publish

    if workbook or html_out or pdf_out or previous or agency or force or outdir is None:
        _fail(message(words, "season_usage"))
    season = open_season(season_dir)
    try:
        with season:
            items = publish(season, outdir, actor=me(), wording=wording)
    except (XltoolsError, OSError) as e:
        _fail(_io_message(e))
    for item in items:
        if item.published:
            for path in item.published.written:
                click.echo(message(words, "written", path=path), err=True)
        else:
            click.echo(
                message(words, "season_failed", agency=item.agency, reason=item.problem), err=True
            )
    click.echo(
        message(
            words, "season_done", written=sum(1 for i in items if i.published), total=len(items)
        ),
        err=True,
    )
    sys.exit(1 if any(i.problem for i in items) else 0)


# --- season (issue 13): init, status, history, accept, approve ---------------------------------

for _command in _SEASON_COMMANDS:
    main.add_command(_command)


# --- serve (issue 15): the season's web page ----------------------------------------------------


@main.command()
@click.argument("season", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="监听地址；0.0.0.0 表示所有网络接口（不加密，慎用）",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option(
    "--set-password",
    "set_password",
    is_flag=True,
    help="设置（或重置）一个账号的登录密码后退出：从标准输入读两遍密码；还没有账号时建立管理员账号",
)
@click.option("--user", "user", metavar="NAME", help="与 --set-password 同用：要设置密码的账号")
@click.option(
    "--add-user",
    "add_user",
    metavar="NAME",
    help="新建一个账号后退出：从标准输入读两遍初始密码",
)
@click.option(
    "--role",
    type=click.Choice(["admin", "reviewer"]),
    help="与 --add-user 同用：admin 管理员（管理账号和设置）或 reviewer 审核人；"
    "默认第一个账号为管理员，其后为审核人",
)
@click.option(
    "--max-upload",
    default=20,
    show_default=True,
    type=click.IntRange(1, 200),
    help="单个上传文件的上限（MB）",
)
@click.option(
    "--public-url",
    help="各单位访问本网页的地址（如经 HTTPS 反向代理时的 https://nianbao.example.gov.cn），用于单位链接和邮件",
)
def serve(
    season: Path | None,
    host: str,
    port: int,
    set_password: bool,
    user: str | None,
    add_user: str | None,
    role: str | None,
    max_upload: int,
    public_url: str | None,
) -> None:
    """在浏览器中办理本届年报：汇总单位看报送情况、审核、退回、汇总、发邮件；各单位通过专用链接
    下载模板、上传报表并立即看到校验结果。

    SEASON 是 xltools init 建立的年报工作文件夹（默认为当前文件夹或其上级中的那个）。
    还没有账号时，启动后控制台显示一次性设置地址，在浏览器中打开它建立第一个账号（管理员），
    再在“账号”页为同事建立账号。也可以在命令行建立账号或重置密码：密码从标准输入读两遍
    （在终端中不回显；脚本中可用管道，如 printf '密码\\n密码\\n' | xltools serve 2025年报/
    --add-user 张三）。默认只在本机（127.0.0.1）提供服务。

    退出码：0 正常停止（或账号已设置）；2 文件夹、账号、密码或端口等错误。

    \b
    示例：
      xltools serve 2025年报/
      xltools serve 2025年报/ --add-user 张三 --role reviewer
      xltools serve 2025年报/ --set-password --user 张三
    """
    from xltools.season import Season
    from xltools.web.access import Access

    folder = season or Season.find()
    if folder is None:
        _fail(CLI.serve_no_season)
    if set_password and add_user is not None:
        _fail(CLI.serve_both)
    if user is not None and not set_password:
        _fail(CLI.serve_user_needs_set_password)
    if role is not None and add_user is None:
        _fail(CLI.serve_role_needs_add_user)
    try:
        with Season.open(folder) as s:
            _serve_accounts(s, Access(folder), set_password, user, add_user, role)
        if set_password or add_user is not None:
            return
        from xltools.web.app import Options
        from xltools.web.server import serve as run

        run(
            folder,
            host,
            port,
            Options(max_upload=max_upload * 1024 * 1024, public_url=public_url),
            lambda m: click.echo(m, err=True),
        )
    except XltoolsError as e:
        _fail(str(e))
    except OSError as e:
        _fail(CLI.text("cannot_listen", host=host, port=port, error=e.strerror or e))


def _serve_accounts(season, access, set_password, user, add_user, role) -> None:
    """What `serve` does with accounts before serving: the shared password of an older season
    becomes the admin account; --set-password / --add-user read a password twice and act."""
    from xltools.season import accounts
    from xltools.season.workflow import Actor

    me = Actor.at_console()
    moved = access.move_password_into(season, me)
    if moved is not None:
        click.echo(ACCOUNTS.text("shared_moved", name=moved.name), err=True)
    if not set_password and add_user is None:
        return
    password, again = _read_password_twice()
    if set_password:
        acc, _ = accounts.set_password_at_console(season, user, password, again, actor=me)
        click.echo(ACCOUNTS.text("password_set", name=acc.name), err=True)
    else:
        acc = accounts.add_account(season, add_user, role, password, again=again, actor=me)
        click.echo(
            ACCOUNTS.text("account_created", name=acc.name, role=accounts.role_label(acc.role)),
            err=True,
        )


def _read_password_twice() -> tuple[str, str]:
    """A new password and its repetition: typed without echo at a terminal, else two lines
    of standard input (a script: printf 'pw\\npw\\n' | xltools serve …)."""
    from xltools.season.accounts import MIN_PASSWORD

    stdin = sys.stdin
    if stdin.isatty():
        try:
            first = getpass.getpass(
                ACCOUNTS.text("new_password", n=MIN_PASSWORD), stream=sys.stderr
            )
            again = getpass.getpass(ACCOUNTS.password_again, stream=sys.stderr)
        except EOFError:
            _fail(ACCOUNTS.no_password_read)
        return first, again
    first, again = stdin.readline(), stdin.readline()
    if not first or not again:  # end of input before two lines
        _fail(ACCOUNTS.no_password_read)
    return first.rstrip("\r\n"), again.rstrip("\r\n")


# --- fetch (issue 14): submissions from the office mailbox ------------------------------------


@main.command("fetch")
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="把附件保存到此文件夹（收件记录 收件记录.jsonl 也在其中，重复运行不会重复保存）。",
)
@click.option(
    "--season",
    "season_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="年报工作文件夹：收到的文件作为各单位的新版本记入"
    "（邮箱设置可写在 season.toml 的 [imap] 中；在该文件夹内运行时可省略）。",
)
@click.option("--since", help="只收取此日期及以后的邮件，如 2026-01-05。")
@click.option(
    "--folder", help="邮箱文件夹（默认 INBOX 即收件箱，或环境变量 XLTOOLS_IMAP_FOLDER）。"
)
@click.option(
    "--max-size",
    type=click.FloatRange(0.01, 2048),
    default=50,
    show_default=True,
    help="单个附件的大小上限（MB），超过的不下载保存并列出。",
)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="报送名单：按「电子邮箱」列识别发件单位。",
)
@click.option("--mark-seen", is_flag=True, help="把处理过的邮件标为已读（默认不改动邮箱）。")
@click.option(
    "--move-to",
    metavar="FOLDER",
    help="把处理过的邮件移到邮箱中的此文件夹（不存在时创建）。邮件从不删除。",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出收件报告（一个文档）。")
def fetch_command(outdir, season_dir, since, folder, max_size, roster, mark_seen, move_to, as_json):
    """从单位邮箱（IMAP）收取各单位报送的报表：保存附件中的表格（.xlsx .xls .et .ods）和报告
    （.docx .pdf .html .txt），包括 zip 压缩包中的；每封邮件都列出结果：已保存、来信无附件、
    附件未保存（及原因）。已收取过的邮件不会重复保存；不删除邮件。

    邮箱由环境变量设置：XLTOOLS_IMAP_HOST、XLTOOLS_IMAP_PORT、XLTOOLS_IMAP_USER、
    XLTOOLS_IMAP_PASSWORD（未设置时在终端中提示输入，从不写入文件）、XLTOOLS_IMAP_SECURITY
    （ssl | starttls | none，默认 ssl/993）、XLTOOLS_IMAP_CA_FILE（自签名或内部 CA 证书）、
    XLTOOLS_IMAP_FOLDER。使用 --season 时也可写在 season.toml 的 [imap] 中（密码除外）。

    退出码：0 收取完成；2 用法、设置、登录、网络或证书错误（连接中断时已处理的邮件均已记录，
    再次运行从中断处继续）。

    \b
    示例：
      xltools fetch -o 收件箱/ --since 2026-01-05
      xltools fetch --season 2025年度/ --move-to 已收取
    """
    from xltools.mail.fetch import message_line, run_fetch
    from xltools.mail.imap import ConnectionLost, ImapError
    from xltools.season import Season
    from xltools.season.workflow import fetch

    if not outdir and not season_dir:
        season_dir = Season.find()  # run inside a season folder: that season
    if bool(outdir) == bool(season_dir):
        _fail(FETCH.choose_target)

    def ask_password(user: str) -> str | None:
        if not sys.stdin.isatty():
            return None
        return click.prompt(FETCH.password_prompt.format(user=user), hide_input=True, err=True)

    def progress(i, total, rec):
        click.echo(f"[{i}/{total}] {message_line(rec)}", err=True)

    try:
        if season_dir:
            season = open_season(season_dir)
            with season:
                result = fetch(
                    season,
                    actor=me(),
                    since=since,
                    folder=folder,
                    max_mb=max_size,
                    mark_seen=mark_seen,
                    move_to=move_to,
                    ask_password=ask_password,
                    progress=progress,
                    roster=roster,
                )
        else:
            result = run_fetch(
                outdir=outdir,
                since=since,
                folder=folder,
                max_mb=max_size,
                roster=roster,
                mark_seen=mark_seen,
                move_to=move_to,
                ask_password=ask_password,
                progress=progress,
            )
    except ConnectionLost as exc:
        _show_fetch(exc.result, as_json)
        _fail(str(exc))
    except (ImapError, XltoolsError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_io_message(exc))
    _show_fetch(result, as_json)


def _show_fetch(result, as_json: bool) -> None:
    from xltools.mail.fetch import render, summary_text

    if as_json:
        _echo_json(result.to_dict())
        click.echo(summary_text(result), err=True)
    else:
        click.echo(render(result))
