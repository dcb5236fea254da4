"""The season store (xltools.season): versions, diffs, explanations, sign-off, mail records."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest
from factory import SAMPLES, make_workbook

from xltools import XltoolsError
from xltools.season import Origin, Season
from xltools.season.db import SCHEMA_VERSION

AGENCY = "聊城市商务和投资促进局"


@pytest.fixture
def season(tmp_path):
    s = Season.create(tmp_path / "季", 2022, roster=SAMPLES / "roster.csv")
    yield s
    s.close()


def test_create_writes_settings_wal_schema_and_roster(season, tmp_path):
    folder = tmp_path / "季"
    assert (folder / "season.toml").read_text(encoding="utf-8").count("year = 2022") == 1
    assert (folder / "名单.csv").is_file()
    c = sqlite3.connect(folder / "season.db")
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    board = season.board()
    assert len(board) == 10 and {b.status for b in board} == {"missing"}
    assert board[0].agency == AGENCY and board[0].label == "未报送"
    with pytest.raises(XltoolsError, match="已经是年报工作文件夹"):
        Season.create(folder, 2022)


def test_versions_kept_diffed_and_not_duplicated(season, tmp_path):
    v1 = season.add_file(make_workbook(tmp_path / "v1.xlsx", t3_new_person=41), jobs=0)
    assert (v1.seq, v1.status, v1.errors) == (
        1,
        "errors",
        1,
    )  # the balance; xltools.locate's note explains it, is not counted
    assert v1.findings[0].rule == "t3-balance" and v1.findings[0].cell == "D29"
    assert v1.stored.read_bytes() == (tmp_path / "v1.xlsx").read_bytes()
    assert not v1.stored.stat().st_mode & stat.S_IWUSR
    v2 = season.add_file(
        make_workbook(tmp_path / "v2.xlsx"),
        Origin.from_mail("gk@lc.cn", "<m2@lc.cn>", "INBOX", 7),
        jobs=0,
    )
    assert (v2.seq, v2.status) == (2, "ok")
    assert [(c["cell"], c["old"], c["new"]) for c in v2.diff.changed] == [
        ("D5", 41, 2),
        ("J5", 41, 2),
    ]
    assert [f["rule"] for f in v2.diff.fixed] == ["t3-balance"] and v2.diff.remaining == []
    assert (
        v2.diff.text == "与第 1 版相比改了 2 格；上次 1 处问题已改 1 处"
    )  # xltools.locate's note is no problem of its own
    assert season.has_message("<m2@lc.cn>")
    again = season.add_file(tmp_path / "v2.xlsx", jobs=0)
    assert again.created is False and again.seq == 2
    hist = season.history(AGENCY)
    assert [v.seq for v in hist] == [1, 2]
    assert hist[1].origin.sender == "gk@lc.cn" and hist[1].origin.imap_uid == 7
    journal = (tmp_path / "季" / "received.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["original_name"] for line in journal] == ["v1.xlsx", "v2.xlsx"]


def test_accept_warning_approve_and_change_after_approval(season, tmp_path):
    # in_force below issued − repealed: the t2-in-force warning
    v1 = season.add_file(
        make_workbook(tmp_path / "w.xlsx", t2_normative_in_force=0, t2_normative_issued=3), jobs=0
    )
    warn = [f for f in v1.findings if f.rule == "t2-in-force"]
    assert v1.status == "warnings" and warn
    with pytest.raises(XltoolsError, match="--note"):
        season.accept(AGENCY, "t2-in-force", note=" ")
    season.accept(AGENCY, "t2-in-force", note="本年文件均已废止", cell=warn[0].cell)
    state = season.board()[0]
    assert (state.status, state.label, state.warnings, state.explained) == (
        "explained",
        "已说明",
        0,
        1,
    )
    season.approve(AGENCY)
    assert season.board()[0].label == "已审核"
    records = json.loads((tmp_path / "季" / "说明与审核.json").read_text(encoding="utf-8"))
    assert (
        records["accepts"][0]["note"] == "本年文件均已废止"
        and records["approvals"][0]["version"] == 1
    )
    # a later, different version: flagged until approved again; the explanation still holds
    v2 = season.add_file(
        make_workbook(
            tmp_path / "w2.xlsx",
            t2_normative_in_force=0,
            t2_normative_issued=3,
            t2_penalty_decisions=155,
        ),
        jobs=0,
    )
    assert v2.seq == 2 and v2.is_accepted(warn[0]) == "本年文件均已废止"
    assert season.board()[0].label == "审核后又变更"
    # the cell's value changes: the explanation no longer holds
    v3 = season.add_file(
        make_workbook(tmp_path / "w3.xlsx", t2_normative_in_force=1, t2_normative_issued=3), jobs=0
    )
    assert v3.is_accepted([f for f in v3.findings if f.rule == "t2-in-force"][0]) is None


def test_errors_cannot_be_accepted_or_approved(season, tmp_path):
    season.add_file(make_workbook(tmp_path / "e.xlsx", t3_new_person=41), jobs=0)
    with pytest.raises(XltoolsError, match="是错误，不能说明后放行"):
        season.accept(AGENCY, "t3-balance", note="x")
    with pytest.raises(XltoolsError, match="不能审核通过"):
        season.approve(AGENCY)
    with pytest.raises(XltoolsError, match="没有单位“不存在局”"):
        season.approve("不存在局")


def test_mail_recorded_once(season, tmp_path):
    v = season.add_file(make_workbook(tmp_path / "e.xlsx", t3_new_person=41), jobs=0)
    assert season.record_mail(
        "revise", ["a@lc.cn"], agency=AGENCY, version_id=v.id, subject="需修改"
    )
    assert not season.record_mail(
        "revise", ["a@lc.cn"], agency=AGENCY, version_id=v.id, subject="需修改"
    )
    assert season.mail_sent("revise", version_id=v.id)
    other = "聊城市教育和体育局"
    assert season.record_mail("remind", ["b@lc.cn"], agency=other, deadline="2月10日前")
    assert not season.record_mail("remind", ["b@lc.cn"], agency=other, deadline="2月10日前")
    assert season.record_mail("remind", ["b@lc.cn"], agency=other, deadline="2月20日前")
    assert [m["kind"] for m in season.mails()] == ["revise", "remind", "remind"]


def test_newer_database_refused_and_damaged_database_named(tmp_path):
    s = Season.create(tmp_path / "季", 2022)
    s.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    s.close()
    with pytest.raises(XltoolsError, match="较新版本的 xltools"):
        Season.open(tmp_path / "季")
    (tmp_path / "季" / "season.db").write_bytes(b"not a database" * 100)
    for p in (tmp_path / "季").glob("season.db-*"):
        p.unlink()
    with pytest.raises(XltoolsError, match="--rebuild"):
        Season.open(tmp_path / "季")


def test_existing_send_log_is_taken_into_the_season_once(season, tmp_path):
    from xltools.season.mail import plan
    from xltools.season.workflow import Actor, consolidate

    inbox = tmp_path / "收件"
    inbox.mkdir()
    make_workbook(inbox / "a.xlsx", t3_new_person=41)
    result = consolidate(
        season, actor=Actor("测试", "cli"), paths=[inbox], outdir=tmp_path / "汇总", jobs=0
    )
    assert [v.seq for v in result.added] == [1]
    later = "2999-01-01T00:00:00+08:00"
    (tmp_path / "汇总" / "sendlog.jsonl").write_text(
        json.dumps(
            {
                "time": later,
                "kind": "revise",
                "agency": AGENCY,
                "to": ["a@lc.cn"],
                "cc": [],
                "subject": "需修改",
                "digest": "d",
                "message_id": "<old@lc.cn>",
            },
            ensure_ascii=False,
        )
        + "\n{broken line\n",
        encoding="utf-8",
    )
    for _ in range(2):
        planned = {p.message.agency: p for p in plan(season, tmp_path / "汇总")}
        assert planned[AGENCY].already is True and planned[AGENCY].message.kind == "revise"
        assert (
            planned["聊城市教育和体育局"].message.kind == "remind"
            and planned["聊城市教育和体育局"].already is False
        )
        assert [(m["kind"], m["message_id"]) for m in season.mails()] == [("revise", "<old@lc.cn>")]


def test_bad_only_is_refused_as_mail_without_a_season_refuses_it(season, tmp_path):
    from xltools.mail.compose import plan_messages
    from xltools.season.mail import plan

    with pytest.raises(XltoolsError) as in_season:
        plan(season, tmp_path / "out", only="bogus")
    with pytest.raises(XltoolsError) as plain:
        plan_messages(tmp_path / "out", only="bogus")
    assert (
        str(in_season.value)
        == str(plain.value)
        == "--only 的值「bogus」无效：应为 errors、missing、all 之一。"
    )
