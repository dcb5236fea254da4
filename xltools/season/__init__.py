"""The season: one reporting season kept in a folder with an embedded SQLite database.

A season folder remembers every file received (each version of each agency), what changed
between versions, which problems were fixed, explanations of warnings, sign-offs, the mail
sent, the agencies' links, who did what, and last year's figures for the cross-year rules.
No server: a folder and `sqlite3`.

Every door (the command line, the web page, mail intake) works a season through one module,
`xltools.season.workflow`: one function per use case, typed arguments and results.

    from xltools.season import Season
    from xltools.season.workflow import Actor, Incoming, take_in, consolidate, plan_mail, \
        send_mail, approve, accept, decide, replace_link, board, history, fetch, publish

    season = Season.create(
        "2025年报", year=2025, roster="名单.xlsx", previous="2024汇总/汇总表.xlsx"
    )
    season = Season.open("2025年报")        # settings from season.toml; migrates the DB
    me = Actor("张三", "web")                # who acts, through which door

    taken = take_in(season, [Incoming(path, "某某局.xlsx", link_agency="某某局")], actor=me)
    taken.outcomes   # per file: added (a new version) | duplicate (same content kept) | refused
    result = consolidate(season, actor=me)                  # takes in 收件/, writes 汇总/
    planned = plan_mail(season, actor=me, only="errors")    # consolidates first when out of date
    send_mail(season, planned, actor=me)                    # records each message sent, once
    approve(season, "某某局", actor=me)
    accept(season, "某某局", "t2-in-force", "文件均已废止", actor=me, cell="D6")
    b = board(season)          # b.states (AgencyState per agency), b.counts, b.refusals
    h = history(season, "某某局")   # versions, mails, explanations, who did what

The store (`xltools.season.store.Season`, the only module that speaks SQL) keeps each file
once, read-only under files/ab/<sha256>.<ext>; a Version has its findings (cross-year ones
included), values and its Diff against the previous version. Every method raises
`XltoolsError` with a Chinese message on failure. Connections use WAL, foreign keys and a
30 s busy timeout; several processes may open one season at once. Explanations, sign-offs,
mail and links are also written to 说明与审核.json on every change, and who did what to
操作记录.jsonl; `xltools.season.rebuild.rebuild(folder)` recreates the database from the kept
files and those files.
"""

from xltools.season.store import (
    APPROVED,
    BOARD_LABELS,
    CHANGED_AFTER_APPROVAL,
    EXPLAINED,
    AgencyState,
    Diff,
    Origin,
    Season,
    Version,
    file_sha256,
    finding_id,
)

__all__ = [
    "Season",
    "Origin",
    "Version",
    "Diff",
    "AgencyState",
    "BOARD_LABELS",
    "APPROVED",
    "CHANGED_AFTER_APPROVAL",
    "EXPLAINED",
    "file_sha256",
    "finding_id",
]
