"""The season's commands (init, add, status, history, accept, approve, link) and the season
branches of consolidate, mail, fetch and publish. Each one parses its options, calls one
operation of xltools.season.workflow, renders the result and picks the exit code.

The library is imported inside each command, when it runs: the season's store, mail and
consolidation code pull in openpyxl, pandas and the readers, and `xltools --help` (or any
other command) should not pay for them.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from xltools import XltoolsError
from xltools.cli.kit import Failure, _echo_json, _io_message, _progress, jobs_option, timeout_option
from xltools.messages import CLI, NAMES, SEASON
from xltools.textsafe import display_width
from xltools.vocabulary import BOARD_LABELS, ERROR, EXPLAINED, severity_label


def _fail(message: str):
    raise Failure(message)


def open_season(season_dir: Path | None, required: bool = True):
    """--season DIR, else the season folder containing the current directory."""
    from xltools.season import Season

    folder = season_dir or Season.find()
    if folder is None:
        if required:
            _fail(SEASON.not_in_season)
        return None
    try:
        return Season.open(folder)
    except XltoolsError as e:
        _fail(str(e))


def me():
    """The person at the console, as the season's records name them."""
    from xltools.season.workflow import Actor

    return Actor.at_console()


SEASON_OPTION = click.option(
    "--season",
    "season_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="年报工作文件夹（xltools init 创建）；在该文件夹内运行时可省略",
)


def _wait(msg: str) -> None:
    click.echo(msg, err=True)


# --- init -------------------------------------------------------------------------------------


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--year", type=click.IntRange(2019, 2100), help="本届的报告年度（新建时必填）")
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="报送名单（.xlsx 或 .csv），复制到文件夹中",
)
@click.option(
    "--previous",
    type=click.Path(exists=True, path_type=Path),
    help="上年数据：上年的汇总表.xlsx（或其输出文件夹）、上年的年报工作文件夹或各单位报表所在文件夹",
)
@click.option("--office", help="汇总单位名称，写在汇总表封面，如“聊城市人民政府办公室”")
@click.option(
    "--rebuild", is_flag=True, help="数据库丢失或损坏时，从保存的报表和“说明与审核.json”重建数据库"
)
def init_command(folder: Path, year, roster, previous, office, rebuild) -> None:
    """创建本届年报工作文件夹：设置文件 season.toml、数据库 season.db、收件/ 文件夹。

    以后在该文件夹内（或加 --season 文件夹）运行 consolidate、mail、status、history、accept、
    approve，都使用本届的设置和记录：每个收到的文件都保存为一个版本，重新报送时列出改了什么、
    上次的问题改了几处；有上年数据时检查上年结转等跨年度规则。

    退出码：0 成功；2 用法或读写错误。

    \b
    示例：
      xltools init 2025年报 --year 2025 --roster 名单.xlsx --previous 2024年报/汇总/汇总表.xlsx
      xltools init 2025年报 --rebuild
    """
    from xltools.season import Season
    from xltools.season.rebuild import rebuild as do_rebuild

    try:
        if rebuild:
            report = do_rebuild(folder, progress=_wait)
            click.echo(SEASON.text("rebuilt_done", folder=folder, report=report), err=True)
            return
        if year is None:
            _fail(SEASON.init_needs_year)
        season = Season.create(folder, year, roster, previous, office)
    except XltoolsError as e:
        _fail(str(e))
    (folder / NAMES.season_inbox).mkdir(exist_ok=True)
    n = len(season.roster or [])
    season.close()
    click.echo(
        SEASON.text(
            "created",
            year=year,
            folder=folder,
            inbox=NAMES.season_inbox,
            roster=SEASON.text("created_roster", n=n) if n else "",
            previous=SEASON.text("created_previous", previous=previous) if previous else "",
        ),
        err=True,
    )


# --- add --------------------------------------------------------------------------------------


@click.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@SEASON_OPTION
@jobs_option
@timeout_option
def add_command(paths, season_dir, jobs, timeout) -> None:
    """把收到的报表记入本届（不汇总）：每个内容不同的文件成为其单位的新版本，
    同一文件再次收到不会重复记入。PATHS 可以是文件或文件夹。

    退出码：0 记入的报表都没有错误；1 有报表有错误或无法读取；2 用法或读写错误。

    \b
    示例：
      xltools add 某某局.xlsx --season 2025年报
      xltools add 邮件附件/ --season 2025年报
    """
    from xltools.batch import Limits
    from xltools.season.workflow import take_in_paths

    season = open_season(season_dir)
    bar, tick = _progress(0)
    try:
        with season:
            taken = take_in_paths(
                season,
                list(paths),
                actor=me(),
                jobs=jobs,
                limits=Limits(timeout=timeout),
                progress=tick,
            )
    except XltoolsError as e:
        _fail(str(e))
    except OSError as e:
        _fail(_io_message(e))
    for p, why in taken.skipped:
        click.echo(SEASON.text("skipped", path=p, why=why), err=True)
    for o in taken.outcomes:
        click.echo(o.message, err=True)
    click.echo(
        SEASON.text("add_counts", added=len(taken.added), duplicate=len(taken.of("duplicate"))),
        err=True,
    )
    sys.exit(1 if any(v.status in ("errors", "unreadable") for v in taken.added) else 0)


# --- status -----------------------------------------------------------------------------------


@click.command("status")
@SEASON_OPTION
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（一个文档）")
def status_command(season_dir, as_json) -> None:
    """本届各单位的状态一览：状态、版本数、最近变化、错误/警告数、是否已审核。

    退出码：0 没有单位有错误；1 有单位的当前版本有错误；2 用法或读写错误。

    \b
    示例：
      xltools status --season 2025年报
      xltools status --json > 状态.json
    """
    from xltools.season.workflow import board as read_board

    season = open_season(season_dir)
    with season:
        board = read_board(season)
        states = board.states
        if as_json:
            _echo_json(
                {
                    "schema_version": 1,
                    "year": season.year,
                    "folder": str(season.folder),
                    "counts": board.counts,
                    "deadline": board.deadline,
                    "days_left": board.days_left,
                    "overdue": [s.agency for s in board.overdue],
                    "agencies": [b.to_dict() for b in states],
                }
            )
        else:
            rows = [tuple(SEASON.status_heads)]
            for b in states:
                label = b.label + (
                    SEASON.status_not_in_roster if season.roster and not b.in_roster else ""
                )
                rows.append(
                    (
                        b.agency,
                        label,
                        str(b.versions),
                        (b.last_change or "—")[:16].replace("T", " "),
                        str(b.errors),
                        str(b.warnings),
                        str(b.explained),
                        SEASON.yes if b.approved else "",
                    )
                )
            click.echo(_table(rows))
            c = Counter(b.label for b in board.roster_rows)
            d = board.counts
            click.echo(
                SEASON.text(
                    "status_received",
                    received=d["received"],
                    expected=d["expected"],
                    others=SEASON.text("board_not_in_roster", n=d["not_in_roster"])
                    if d["not_in_roster"]
                    else "",
                )
                + SEASON.join.join(SEASON.text("status_count", label=k, n=v) for k, v in c.items()),
                err=True,
            )
            if board.deadline:
                left = board.days_left
                click.echo(
                    SEASON.text("status_deadline", deadline=board.deadline, left=left)
                    if left >= 0
                    else SEASON.text(
                        "status_overdue",
                        deadline=board.deadline,
                        days=-left,
                        n=len(board.overdue),
                        names=SEASON.list_join.join(s.agency for s in board.overdue),
                    ),
                    err=True,
                )
    sys.exit(1 if any(b.errors for b in states) else 0)


def _table(rows) -> str:
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths)).rstrip()
        for r in rows
    )


# --- history ----------------------------------------------------------------------------------


@click.command("history")
@click.argument("agency")
@SEASON_OPTION
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（一个文档）")
def history_command(agency, season_dir, as_json) -> None:
    """某单位本届的全部版本：收到时间、来源、状态、与上一版相比的变化，以及说明、审核、
    邮件和谁在何时做了什么。

    AGENCY 为单位名称（名单或报表中的写法）或统一社会信用代码。

    \b
    示例：
      xltools history 聊城市生态环境局
      xltools history 聊城市生态环境局 --json > 历史.json
    """
    from xltools.season.workflow import history

    season = open_season(season_dir)
    with season:
        try:
            h = history(season, agency)
        except XltoolsError as e:
            _fail(str(e))
        if as_json:
            _echo_json(
                {
                    "schema_version": 1,
                    "agency": h.agency,
                    "versions": [v.to_dict() for v in h.versions],
                    "mails": h.mails,
                    "explanations": h.explanations,
                    "actions": h.actions,
                }
            )
            return
        if not h.versions:
            click.echo(SEASON.text("history_none", agency=agency))
        for v in h.versions:
            _echo_version(v)
        for m in h.mails:
            click.echo(
                SEASON.text(
                    "history_mail",
                    sent=m["sent"].replace("T", " ")[:19],
                    kind=SEASON.mail_kinds.get(m["kind"], m["kind"]),
                    subject=m["subject"] or "",
                    recipients=SEASON.list_join.join(m["recipients"]),
                )
            )
        for a in reversed(h.actions):
            click.echo(action_line(a))


def _echo_version(v) -> None:
    label = BOARD_LABELS.get(v.status, v.status) + (SEASON.history_approved if v.approved else "")
    click.echo(
        SEASON.text(
            "history_version",
            seq=v.seq,
            received=v.received.replace("T", " ")[:19],
            label=label,
            errors=v.errors,
            warnings=v.warnings,
        )
    )
    click.echo(SEASON.text("history_file", name=v.original_name, origin=v.origin.text))
    if v.diff:
        click.echo(SEASON.text("history_diff", text=v.diff.text))
        for c in v.diff.changed[:20]:
            click.echo(
                SEASON.text(
                    "history_change", sheet=c["sheet"], cell=c["cell"], old=c["old"], new=c["new"]
                )
            )
        if len(v.diff.changed) > 20:
            click.echo(SEASON.text("history_more", n=len(v.diff.changed) - 20))
    for f in v.findings:
        note = v.is_accepted(f)
        if f.severity == ERROR:
            label = severity_label(ERROR)
        else:
            label = BOARD_LABELS[EXPLAINED] if note else severity_label(f.severity)
        click.echo(
            SEASON.text("history_finding", label=label, rule=f.rule, where=f.where)
            + (SEASON.text("history_note", note=note) if note else "")
        )


def action_line(a: dict) -> str:
    """「2026-01-20 09:30  张三（网页）  审核通过 第 2 版」: one line of who did what."""
    what = SEASON.actions.get(a["action"], a["action"])
    seq = SEASON.text("action_version", seq=a["seq"]) if a.get("seq") else ""
    return SEASON.text(
        "history_action",
        time=a["time"].replace("T", " ")[:16],
        actor=a["actor"],
        door=SEASON.doors.get(a["door"], a["door"]),
        action=what,
        version=seq,
    )


# --- accept / approve / link ------------------------------------------------------------------


@click.command("accept")
@click.argument("agency")
@click.argument("rule")
@click.option("--cell", help="只说明这个单元格的警告，如 D6 或 表二!D6")
@click.option("--note", required=True, help="说明的理由（必填）")
@SEASON_OPTION
def accept_command(agency, rule, cell, note, season_dir) -> None:
    """说明一条警告并放行（错误不能说明放行）：显示为“已说明”，不再触发邮件；
    以后的版本中该单元格数值不变时仍然有效。

    \b
    示例：
      xltools accept 聊城市住房和城乡建设局 x-in-force --cell D5 --note "2 件文件到期失效"
    """
    from xltools.season.workflow import accept

    season = open_season(season_dir)
    with season:
        try:
            hits = accept(season, agency, rule, note, actor=me(), cell=cell)
        except XltoolsError as e:
            _fail(str(e))
        click.echo(
            SEASON.text(
                "accepted", n=len(hits), items=SEASON.join.join(f"{f.rule} {f.where}" for f in hits)
            ),
            err=True,
        )


@click.command("approve")
@click.argument("agency")
@click.option("--note", help="审核意见（可选）")
@SEASON_OPTION
def approve_command(agency, note, season_dir) -> None:
    """审核通过某单位的当前版本（已审核）。以后收到不同的新版本时显示“审核后又变更”，需重新审核。

    \b
    示例：
      xltools approve 聊城市商务和投资促进局
    """
    from xltools.season.workflow import approve

    season = open_season(season_dir)
    with season:
        try:
            v = approve(season, agency, actor=me(), note=note)
        except XltoolsError as e:
            _fail(str(e))
        click.echo(
            SEASON.text("approved", agency=v.agency, seq=v.seq, name=v.original_name), err=True
        )


@click.command("link")
@click.argument("agency", required=False)
@click.option("--replace", is_flag=True, help="换一个新链接，旧链接立即失效")
@SEASON_OPTION
def link_command(agency, replace, season_dir) -> None:
    """各单位的专用链接（网页上报用）：不加 AGENCY 时列出全部单位的链接。链接的地址取自
    本届设置 public_url（xltools serve --public-url 或网页的设置页）。

    \b
    示例：
      xltools link --season 2025年报
      xltools link 聊城市生态环境局 --replace
    """
    from xltools.season.workflow import link_url, replace_link

    season = open_season(season_dir)
    with season:
        try:
            if replace:
                if not agency:
                    _fail(SEASON.link_replace_needs_agency)
                replace_link(season, agency, actor=me())
            names = (
                [season.resolve(agency) or agency]
                if agency
                else [r["name"] for r in season.links()]
            )
            for name in names:
                url = link_url(season, name)
                click.echo(f"{name}\t{url or SEASON.link_no_public_url}")
        except XltoolsError as e:
            _fail(str(e))


COMMANDS = [
    init_command,
    add_command,
    status_command,
    history_command,
    accept_command,
    approve_command,
    link_command,
]


# --- consolidate / mail / fetch / publish in a season -----------------------------------------


def consolidate_in_season(season, paths, outdir, include_invalid, agency, jobs, timeout) -> None:
    from xltools.batch import Limits
    from xltools.consolidate import summary_text
    from xltools.season.workflow import consolidate

    bar, tick = _progress(0)
    try:
        with season:
            result = consolidate(
                season,
                actor=me(),
                paths=list(paths) or None,
                outdir=outdir,
                include_invalid=include_invalid,
                agency=agency,
                jobs=jobs,
                limits=Limits(timeout=timeout),
                progress=tick,
                on_wait=_wait,
            )
    except XltoolsError as e:
        _fail(str(e))
    except OSError as e:
        _fail(_io_message(e))
    for p, why in result.skipped:
        click.echo(SEASON.text("skipped", path=p, why=why), err=True)
    for o in result.taken.outcomes:
        if o.kind != "duplicate":
            click.echo(o.message, err=True)
    d = result.season_counts()
    click.echo(summary_text(result), err=True)
    click.echo(
        SEASON.text(
            "season_counts",
            received=d["received"],
            expected=d["expected"] or d["received"],
            others=SEASON.text("board_not_in_roster", n=d["not_in_roster"])
            if d["not_in_roster"]
            else "",
            versions=d["versions"],
            added=len(d["added"]),
            approved=d["approved"],
            changed=d["changed_after_approval"],
        ),
        err=True,
    )
    click.echo(
        CLI.text(
            "consolidated",
            summary=result.outdir / NAMES.summary_workbook,
            results=result.outdir / "results.json",
        ),
        err=True,
    )
    sys.exit(1 if any(e.status in ("errors", "unreadable") for e in result.entries) else 0)


def mail_in_season(season, outdir, roster, send, only, summary_to, resend, config) -> None:
    from xltools.mail.render import plan_table, send_table
    from xltools.mail.send import OUTCOME_LABELS
    from xltools.season.workflow import plan_mail, send_mail, write_mail

    def progress(d):
        click.echo(
            CLI.text(
                "mail_progress",
                outcome=OUTCOME_LABELS[d.outcome],
                label=d.message.label,
                agency=d.message.agency or CLI.summary_recipient,
            ),
            err=True,
        )

    with season:
        try:
            planned = plan_mail(
                season,
                actor=me(),
                only=only,
                config=config,
                roster=roster,
                summary_to=summary_to,
                outdir=outdir,
                on_wait=_wait,
            )
            done = [p for p in planned if p.already and not resend]
            todo = [p for p in planned if resend or not p.already]
            write_mail(season, todo, config, outdir)
            if done:
                click.echo(SEASON.text("mail_already", n=len(done)), err=True)
            if not send:
                click.echo(plan_table([p.message for p in todo]))
                click.echo(
                    CLI.text(
                        "outbox_written", outdir=outdir or season.folder / NAMES.season_output
                    ),
                    err=True,
                )
                sys.exit(0 if all(p.message.sendable for p in todo) else 1)
            result = send_mail(
                season,
                planned,
                actor=me(),
                config=config,
                resend=resend,
                outdir=outdir,
                progress=progress,
            )
        except XltoolsError as e:
            _fail(str(e))
    click.echo(send_table(result))
    sys.exit(0 if result.ok else 1)


def add_previous(reports, previous: Path) -> list:
    """`check --previous`: the cross-year findings added to each report (in place); returns
    the reports that gained some."""
    from xltools.season.lastyear import add_last_year
    from xltools.season.store import Season

    try:
        gained, notes = add_last_year(reports, previous, Season.open)
    except XltoolsError as e:
        _fail(str(e))
    for file, note in notes:
        click.echo(SEASON.text("file_note", file=file, note=note), err=True)
    return gained
