"""The season: one reporting season kept in a folder with an embedded SQLite database.

A season folder remembers every file received (each version of each agency), what changed
between versions, which problems were fixed, explanations of warnings, sign-offs, the mail
sent, and last year's figures for the cross-year rules. No server: a folder and `sqlite3`.

Library API (for mail intake, the web page and the CLI)
-------------------------------------------------------

    from xltools.season import Season, Origin

    season = Season.create("2025年报", year=2025, roster="名单.xlsx", previous="2024汇总/汇总表.xlsx")
    season = Season.open("2025年报")            # settings from season.toml; migrates the DB
    Season.find(cwd)                            # the season folder containing cwd, or None
    with Season.open(folder) as season: ...     # closes the connection

    # receive a file: checked (isolated worker; jobs=0 in-process), kept once read-only under
    # files/ab/<sha256>.<ext>, recorded as the agency's next version with its findings
    # (cross-year ones included) and its diff against the previous version
    v = season.add_file(path, Origin.from_path(path))
    v = season.add_file(saved_attachment, Origin.from_mail(sender="a@b.cn", message_id="<id@x>",
                        folder="INBOX", uid=42), received="2026-01-20T09:30:00+08:00",
                        original_name="某某局2025年报.xlsx")
    v.created        # False if this content was already kept (same file again): nothing added
    season.has_message("<id@x>")                # a Message-ID already taken in?

    # Version: id, agency, seq (1, 2, …), sha256, stored (Path of the kept copy), original_name,
    # original_mtime, received, origin (Origin), status (ok|warnings|errors|unreadable|wrong_year),
    # errors, warnings, findings (list[Finding]), values ({key: value}), diff (Diff | None),
    # approved, is_accepted(finding) → note | None, open_warnings, report() → Report, to_dict()
    # Diff: previous_seq, changed [{key, sheet, cell, old, new}], fixed / remaining / new
    # [finding dicts], text (「与第 1 版相比改了 3 格；上次 5 处问题已改 4 处」), to_dict()

    season.board()              # list[AgencyState], roster order: agency, status (see
                                # BOARD_LABELS: approved 已审核, changed_after_approval 审核后又变更,
                                # explained 已说明, ok, warnings, errors, unreadable, missing,
                                # wrong_year), label, versions, current (Version), last_change,
                                # errors, warnings (open), explained, approved, to_dict()
    season.history("某某局")     # list[Version], oldest first (name or 统一社会信用代码)
    season.current("某某局")     # Version | None
    season.accept("某某局", "x-in-force", note="…", cell="D6")   # warnings only; → findings accepted
    season.approve("某某局")     # signs off the current version; refused while it has errors
    season.mail_sent("revise", version_id=v.id) / season.mail_sent("remind", agency="某某局", deadline="2月10日前")
    season.record_mail("revise", ["a@b.cn"], agency="某某局", version_id=v.id, subject=…, message_id=…)
    season.mails(agency=None)   # list of dicts
    with season.exclusive(on_wait=print): ...   # long writes (a consolidation) one at a time

    season.last_year            # LastYear | None (settings.previous): .find(name, uscc) → LastRecord
    season.export_records()     # rewrite 说明与审核.json (done by accept/approve/record_mail)

    from xltools.season.run import consolidate_season    # `xltools consolidate --season`
    result = consolidate_season(season, [inbox], outdir)   # takes in new files, writes 汇总/
    from xltools.season.rebuild import rebuild            # `xltools init DIR --rebuild`
    from xltools.season.lastyear import load_last_year, cross_year_findings   # x-carry-over, x-in-force, x-plausibility
    from xltools.season.mail import plan, record          # mail with the season's records

Every method raises `XltoolsError` with a Chinese message on failure (unknown agency, busy
database, accepting an error …). Connections use WAL, foreign keys and a 30 s busy timeout;
several processes may open one season at once. Explanations, sign-offs and mail are also
written to 说明与审核.json on every change; `rebuild(folder)` recreates the database from the
kept files and that file.
"""

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


def __getattr__(name: str):
    # imported on first use: the CLI registers the season commands without paying for the store
    if name in __all__:
        from xltools.season import store

        return getattr(store, name)
    raise AttributeError(f"module 'xltools.season' has no attribute {name!r}")
