"""Issue 18: say which cell is wrong (minimal-change error localisation)."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from factory import ROOT, make_workbook, zero_values
from locate_cases import complete, consistent_values, random_reports, raw_form
from openpyxl import load_workbook

from xltools.annotate import LOCATE_FILL, annotate
from xltools.evaluate import evaluate
from xltools.locate import (
    LOCATED,
    TIED,
    Cell,
    Outcome,
    classify,
    hard_relations,
    localise,
    locate_findings,
    relations,
    search,
    settings,
    texts,
)
from xltools.locate import problem as problem_room
from xltools.locate import solve as solve_room
from xltools.locate.problem import Problem, problems
from xltools.locate.whole import lighter_outside
from xltools.pipeline import check_file
from xltools.spec import load_form
from xltools.values import fmt

FORMS = ("2021", "2019")


def located(report) -> list:
    return [f for f in report.findings if f.rule == "locate"]


def t34_keys(form_id: str) -> list[str]:
    return [f.key for f in load_form(form_id).fields if f.sheet in ("表三", "表四")]


def planted(value: int, i: int) -> int:
    """A wrong value for a cell: down by one where it can go down (every other cell), else up."""
    return value - 1 if value >= 1 and i % 2 == 0 else value + 3


# --- one wrong cell anywhere in tables 3 and 4 ----------------------------------------------


@pytest.mark.parametrize("form_id", FORMS)
def test_one_wrong_cell_anywhere_in_table_3_is_located_with_its_original_value(form_id):
    rng = random.Random(18)
    good = consistent_values(form_id, rng)
    keys = [k for k in t34_keys(form_id) if k.startswith("t3_")]
    assert len(keys) == (175 if form_id == "2021" else 161)
    for i, key in enumerate(keys):
        values = dict(good)
        values[key] = planted(good[key], i)
        report = evaluate(raw_form(form_id, values))
        loc = located(report)
        assert [(f.key, f.expected, f.actual) for f in loc] == [(key, good[key], values[key])], key
        f = loc[0]
        field = load_form(form_id).field(key)
        assert f.message.startswith(
            f"最可能有误的是 {field.where}（{field.row_caption} / {field.col_caption}）："
            f"现为 {values[key]}，改为 {good[key]} 后全部勾稽关系成立。"
        ), f.message
        assert f.severity == "error" and (f.sheet, f.cell) == (field.sheet, field.cell)
        # every error it explains points back at it
        others = [g for g in report.findings if g.rule != "locate"]
        assert others and all(
            f"最可能有误的是 {field.where}，改为 {good[key]} 即可" in g.message for g in others
        )
        assert f"修改此格即可同时解决以下 {len(others)} 处错误" in f.message


def _t4_groups(form_id: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for k in t34_keys(form_id):
        if k.startswith("t4_"):
            groups.setdefault(k.rsplit("_", 1)[0], []).append(k)
    return groups


@pytest.mark.parametrize("form_id", FORMS)
def test_one_wrong_part_anywhere_in_table_4_is_located_exactly_with_its_original_value(form_id):
    """A table-4 group is one relation, total = four parts. With the typed total kept right, a
    part too large by more than any other part of its group could only be fixed by itself or by
    the total: the part is the more likely (typed totals weigh more), so it is located exactly
    with its original value, and the total is named as the less likely way."""
    form = load_form(form_id)
    good = consistent_values(form_id, random.Random(4), high=9)
    parts = [k for ks in _t4_groups(form_id).values() for k in ks if not k.endswith("_total")]
    assert len(parts) == 12
    for key in parts:
        group = key.rsplit("_", 1)[0]
        step = 1 + max(
            good[k] for k in _t4_groups(form_id)[group] if not k.endswith("_total") and k != key
        )
        values = dict(good)
        values[key] = good[key] + step
        report = evaluate(raw_form(form_id, values))
        loc = located(report)
        assert [(f.key, f.expected, f.actual) for f in loc] == [(key, good[key], values[key])], key
        field, total = form.field(key), form.field(f"{group}_total")
        assert loc[0].message == (
            f"最可能有误的是 {field.where}（{field.row_caption} / {field.col_caption}）："
            f"现为 {values[key]}，改为 {good[key]} 后全部勾稽关系成立。"
            f"也可能是：{total.where}（{total.row_caption} / {total.col_caption}）"
            f"改为 {good[f'{group}_total'] + step}"
            "（同样只改 1 格，但分项与总计不符时通常是分项有误）。"
            f"修改此格即可同时解决以下 1 处错误：{total.where}。"
        ), key


@pytest.mark.parametrize("form_id", FORMS)
def test_a_part_that_other_parts_could_absorb_is_a_genuine_tie(form_id):
    """A part too small by d could as well be any other part too small by d: nothing tells
    them apart, so every such part is listed as an equally small way, and the total as less
    likely; the planted cell is among the ways with its original value."""
    good = consistent_values(form_id, random.Random(4), high=9)
    tied = 0
    for group, keys in _t4_groups(form_id).items():
        parts = [k for k in keys if not k.endswith("_total")]
        key = next((k for k in parts if good[k] >= 1), None)
        if key is None:
            continue
        values = dict(good)
        values[key] = good[key] - 1
        [outcome] = localise(load_form(form_id), classify(load_form(form_id), values))
        assert outcome.status == TIED and not outcome.more_ties
        ways = sorted((c.key, c.old, c.new) for s in outcome.solutions for c in s.changes)
        assert ways == sorted(
            [(key, values[key], good[key])] + [(k, good[k], good[k] + 1) for k in parts if k != key]
        )
        tied += 1
        assert [[(c.key, c.new) for c in s.changes] for s in outcome.alternatives] == [
            [(f"{group}_total", good[f"{group}_total"] - 1)]
        ]
    assert tied >= 2


@pytest.mark.parametrize("form_id", FORMS)
def test_a_wrong_table_4_total_is_still_reported_and_named(form_id):
    """A wrong typed total: when no part can absorb it, it is the one way and is located; when
    parts can, they are the equally likely ways and the total is named among them as less likely."""
    form = load_form(form_id)
    good = consistent_values(form_id, random.Random(4), high=9)
    for group in _t4_groups(form_id):
        total = f"{group}_total"
        parts = [k for k in _t4_groups(form_id)[group] if k != total]
        # too small by more than any part: only the total fixes it
        step = 1 + max(good[k] for k in parts)
        if good[total] >= step:
            values = dict(good, **{total: good[total] - step})
            loc = located(evaluate(raw_form(form_id, values)))
            assert [(f.key, f.expected, f.actual) for f in loc] == [
                (total, good[total], values[total])
            ]
        # too large: any part could be larger; the total is named as the less likely way
        values = dict(good, **{total: good[total] + 2})
        [f] = located(evaluate(raw_form(form_id, values)))
        field = form.field(total)
        assert f.message.startswith("表四：有 4 种改动同样少的改法都能使全部勾稽关系成立"), (
            f.message
        )
        assert (
            f"也可能是：{field.where}（{field.row_caption} / {field.col_caption}）"
            f"改为 {good[total]}"
            "（同样只改 1 格，但分项与总计不符时通常是分项有误）。"
        ) in f.message


def test_table_4_tie_is_reported_as_a_tie_naming_every_way():
    good = zero_values("2021")
    good.update(t4_review_upheld=2, t4_review_corrected=1, t4_review_total=3)
    values = dict(good, t4_review_total=5)
    report = evaluate(
        raw_form("2021", {k: v for k, v in values.items() if not k.startswith("meta")})
    )
    # total too large: raise any one of the four parts, or (less likely) lower the total; one
    # finding for the table, so a tie does not add errors, and no cell is marked as the wrong one
    [f] = located(report)
    assert (f.sheet, f.cell, f.severity) == ("表四", None, "error")
    assert f.message.startswith(
        "表四：有 4 种改动同样少的改法都能使全部勾稽关系成立，无法确定是哪一种：①"
    )
    for way in (
        "表四!A5（行政复议 / 结果维持）改为 4",
        "表四!B5（行政复议 / 结果纠正）改为 3",
        "表四!C5（行政复议 / 其他结果）改为 2",
        "表四!D5（行政复议 / 尚未审结）改为 2",
    ):
        assert way in f.message
    assert f.message.endswith(
        "。也可能是：表四!E5（行政复议 / 总计）改为 3"
        "（同样只改 1 格，但分项与总计不符时通常是分项有误）。"
        "请对照台账核对这些单元格。涉及以下 1 处错误：表四!E5。"
    )
    [err] = [g for g in report.findings if g.rule == "t4-total"]
    assert err.message.endswith("（有 4 种改动同样少的改法，见“最可能有误的单元格”一条。）")


# --- two wrong cells; genuine ties; too many ---------------------------------------------------


def _part_cells(form_id: str) -> list[tuple[str, str]]:
    m = load_form(form_id).sheet("表三").matrix
    return [(r, c) for r in m["rows"] for c in m["cols"] if c != "total" and r not in ("results",)]


@pytest.mark.parametrize("form_id", FORMS)
def test_two_wrong_cells_in_different_rows_and_columns_are_both_located(form_id):
    rng = random.Random(2)
    cells = _part_cells(form_id)
    for _ in range(25):
        good = consistent_values(form_id, rng)
        (r1, c1), (r2, c2) = rng.sample(cells, 2)
        if r1 == r2 or c1 == c2:
            continue
        k1, k2 = f"t3_{r1}_{c1}", f"t3_{r2}_{c2}"
        values = dict(good)
        values[k1] += 2
        values[k2] += 5
        loc = located(evaluate(raw_form(form_id, values)))
        assert sorted((f.key, f.expected, f.actual) for f in loc) == sorted(
            [(k1, good[k1], good[k1] + 2), (k2, good[k2], good[k2] + 5)]
        ), (k1, k2)
        assert all("修改这 2 格即可同时解决以下" in f.message for f in loc)


def test_two_equal_errors_on_a_rectangle_are_a_genuine_tie_and_both_ways_are_listed():
    parts = {k: 0 for k in zero_values("2021") if k.startswith("t3_")}
    parts.update(
        t3_public_person=4, t3_public_business=4, t3_partial_person=4, t3_partial_business=4
    )
    good = complete("2021", parts)
    values = dict(good, t3_public_person=6, t3_partial_business=6)
    [f] = located(evaluate(raw_form("2021", values)))
    # either the two cells planted back to 4, or the other corners of the rectangle lowered to 2
    assert f.message.startswith(
        "表三：有 2 种改动同样少的改法都能使全部勾稽关系成立，无法确定是哪一种：①"
    )
    ways = re.findall(r"[①②]([^；。]*)", f.message)
    assert sorted(sorted(w.split("、")) for w in ways) == sorted(
        [
            [
                "表三!D7（（一）予以公开 / 自然人）改为 4",
                "表三!E8（（二）部分公开（区分处理的，只计这一情形，不计其他情形）"
                " / 商业企业）改为 4",
            ],
            [
                "表三!D8（（二）部分公开（区分处理的，只计这一情形，不计其他情形）"
                " / 自然人）改为 2",
                "表三!E7（（一）予以公开 / 商业企业）改为 2",
            ],
        ]
    )


def test_more_than_four_cells_to_change_says_check_the_ledger_and_guesses_nothing():
    rng = random.Random(5)
    good = consistent_values("2021", rng)
    values = dict(good)
    for k, d in (
        ("t3_public_person", 2),
        ("t3_partial_business", 3),
        ("t3_withheld_law_research", 5),
        ("t3_unavailable_not_held_nonprofit", 7),
        ("t3_unprocessed_repeat_legal", 11),
        ("t3_other_misc_other_org", 13),
    ):
        values[k] += d
    report = evaluate(raw_form("2021", values))
    [f] = located(report)
    assert f.cell is None and f.sheet == "表三" and f.expected is None
    assert f.message.startswith(
        "表三：要改动 4 个以上单元格才能使全部勾稽关系成立，错误较多，不作推测。"
        "请对照台账逐项核对本表"
    )
    assert all(
        g.message.endswith("（无法推断是哪一格有误，见“最可能有误的单元格”一条。）")
        for g in report.findings
        if g is not f
    )


def test_solver_time_limit_gives_the_fallback_message():
    good = consistent_values("2021", random.Random(6))
    values = dict(good, t3_public_person=good["t3_public_person"] + 1)
    report = evaluate(raw_form("2021", values))
    base = [f for f in report.findings if f.rule != "locate"]
    plain = [
        f.__class__(
            f.rule,
            f.severity,
            f.message.split("（最可能有误")[0],
            f.sheet,
            f.cell,
            f.key,
            f.expected,
            f.actual,
        )
        for f in base
    ]
    form = load_form("2021")
    out = locate_findings(form, report.values, plain, time_limit=0.0)
    [f] = [g for g in out if g.rule == "locate"]
    assert f.message.startswith(
        "表三：未能在 0 秒内推断出最可能有误的单元格。请按各条错误提示逐项核对"
    )


# --- never an impossible value ---------------------------------------------------------------


def test_no_message_proposes_a_negative_or_fractional_count():
    rng = random.Random(11)
    seen = 0
    for form_id in FORMS:
        keys = t34_keys(form_id)
        for _ in range(60):
            values = consistent_values(form_id, rng, high=6)
            for k in rng.sample(keys, rng.choice([1, 1, 2, 3])):
                values[k] = max(0, values[k] + rng.choice([-9, -4, -1, 1, 3, 20]))
            report = evaluate(raw_form(form_id, values))
            for f in located(report):
                seen += 1
                assert f.expected is None or (isinstance(f.expected, int) and f.expected >= 0)
                for n in re.findall(r"改为 (\S+?)[，、；（）。 ]", f.message):
                    assert re.fullmatch(r"\d+", n), f.message
            for f in report.findings:  # the pointers added to the errors explained, too
                for n in re.findall(r"改为 (\S+?)[，、；（）。 ]", f.message):
                    assert re.fullmatch(r"\d+", n), f.message
    assert seen > 100


def test_blank_and_coerced_cells():
    """A blank cell is unknown, not 0: it is filled in by the relations, never blamed. A number
    accepted after cleaning is more likely wrong than a clean one."""
    good = consistent_values("2021", random.Random(8))
    values = dict(good, t3_new_research=None, t3_public_person=good["t3_public_person"] + 1)
    loc = located(evaluate(raw_form("2021", values)))
    assert [(f.key, f.expected) for f in loc] == [("t3_public_person", good["t3_public_person"])]
    # the same difference explained by a coerced cell or by a clean one
    w = settings("2021")
    assert w.flagged < w.part < 2 * min(w.flagged, w.overwritten_total, w.typed_total)
    good.update(
        t4_review_upheld=2,
        t4_review_corrected=3,
        t4_review_other=0,
        t4_review_pending=0,
        t4_review_total=5,
    )
    values = dict(good, t4_review_upheld=3)
    # clean: two equally small ways (维持 back to 2, 纠正 down to 2); 总计 up to 6 less likely
    [tie] = located(evaluate(raw_form("2021", values)))
    assert tie.message.startswith("表四：有 2 种改动同样少的改法")
    raw = raw_form("2021", values)
    raw.cells["t4_review_corrected"] = raw.cells["t4_review_corrected"].__class__(
        "3件", "表四", "B5"
    )
    report = evaluate(raw)
    assert [(f.rule, f.cell) for f in report.findings] == [
        ("value-coerced", "B5"),
        ("t4-total", "E5"),
        ("locate", "B5"),
    ]
    [loc] = located(report)
    assert (loc.key, loc.expected, loc.actual) == ("t4_review_corrected", 2, 3)
    assert (
        "也可能是：表四!A5（行政复议 / 结果维持）改为 2；或 表四!E5（行政复议 / 总计）改为 6"
        "（同样只改 1 格，但经过清理才能识别的数字（如“3件”）更可能有误）。"
    ) in loc.message


# --- workbooks: formula totals are not candidates; an overwritten total is the first suspect ---


def test_workbook_with_formula_totals_cannot_pin_a_cell_and_says_so(tmp_path):
    data = zero_values("2021")
    data.update(
        t3_new_person=4,
        t3_public_person=2,
        t3_partial_person=1,
        t3_withheld_law_person=1,
        t3_withheld_secret_person=1,
    )
    report = check_file(make_workbook(tmp_path / "f.xlsx", "2021", base=data))
    # totals are the template's formulas: only 自然人's balance fails, and six cells could each
    # explain it (新收 or 上年结转 up by one, or one of the four non-zero results down by one)
    assert [(f.rule, f.cell) for f in report.findings if f.rule != "locate"] == [
        ("t3-balance", "D29")
    ]
    [f] = located(report)
    assert f.cell is None and f.message.startswith(
        "表三：有多种改动同样少的改法都能使全部勾稽关系成立"
    )
    # five cells could: listed as a tie
    data.update(t3_withheld_secret_person=0)
    data.update(t3_new_person=3)
    [f] = located(check_file(make_workbook(tmp_path / "g.xlsx", "2021", base=data)))
    assert f.message.startswith("表三：有 5 种改动同样少的改法")
    assert sorted(re.findall(r"(表三!D\d+)（[^；]*?改为 (\d+)", f.message)) == [
        ("表三!D10", "0"),
        ("表三!D5", "4"),
        ("表三!D6", "1"),
        ("表三!D7", "1"),
        ("表三!D8", "0"),
    ]


def test_workbook_total_typed_over_its_formula_is_the_first_suspect(tmp_path):
    data = zero_values("2021")
    data.update(t4_review_upheld=2, t4_review_corrected=1, t4_review_total=4)
    report = check_file(make_workbook(tmp_path / "t.xlsx", "2021", base=data))
    [f] = located(report)
    assert (f.cell, f.expected, f.actual) == ("E5", 3, 4)
    # raising any part would fix it too: named, less likely than the overwritten total
    assert f.message == (
        "最可能有误的是 表四!E5（行政复议 / 总计）：现为 4，改为 3 后全部勾稽关系成立。"
        "也可能是：表四!A5（行政复议 / 结果维持）改为 3；或 表四!B5（行政复议 / 结果纠正）改为 2；"
        "或 表四!C5（行政复议 / 其他结果）改为 1；或 表四!D5（行政复议 / 尚未审结）改为 1"
        "（同样只改 1 格，但模板中总计的公式被改写成与分项不符的数字时，通常是该总计有误）。"
        "修改此格即可同时解决以下 1 处错误：表四!E5。"
    )


# --- integration: JSON, annotated copy, nothing on stdout but JSON ----------------------------


def test_check_json_carries_the_located_cell_and_stdout_is_only_json(tmp_path):
    data = zero_values("2021")
    data.update(t4_review_upheld=2, t4_review_corrected=1, t4_review_total=4)
    path = make_workbook(tmp_path / "j.xlsx", "2021", base=data)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from xltools.cli import main; main()",
            "check",
            str(path),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    rules = [
        (f["rule"], f["cell"], f["expected"], f["actual"]) for f in doc["files"][0]["findings"]
    ]
    assert rules == [("t4-total", "E5", 3, 4), ("locate", "E5", 3, 4)]


def test_annotated_copy_marks_located_cells_distinctly(tmp_path):
    good = consistent_values("2021", random.Random(12))
    data = dict(good, meta_agency="测试局", meta_year=2022)
    data["t3_public_research"] = good["t3_public_research"] + 2
    src = make_workbook(tmp_path / "a.xlsx", "2021", base=data)
    report = check_file(src)
    [f] = located(report)
    assert f.cell == "F7"
    out = annotate(report, tmp_path / "a-校验批注.xlsx", src)
    wb = load_workbook(out)
    ws = wb["表三"]
    assert ws["F7"].fill.fgColor.rgb.endswith(LOCATE_FILL)
    assert ws["J7"].fill.fgColor.rgb.endswith(
        "FFC7CE"
    )  # the error it explains keeps the error colour
    assert "最可能有误的是 表三!F7" in ws["F7"].comment.text


def test_relations_come_from_the_form_definition():
    for form_id in FORMS:
        form = load_form(form_id)
        rels = relations(form)
        assert {r.rule for r in rels} == {
            u.id for u in form.rules if u.kind in ("sum", "balance", "at_least")
        }
        # a warning's relation may fail for a good reason: nothing is changed to meet it
        assert {r.rule for r in hard_relations(form)} == {
            "t3-balance",
            "t3-row-total",
            "t3-results-total",
            "t4-total",
        }
        t3 = [r for r in rels if r.rule == "t3-row-total"]
        assert len(t3) == len(form.sheet("表三").matrix["rows"])
    assert set(texts()) >= {"located", "tied", "many_ties", "too_many", "timeout", "note_one"}


def test_cells_of_a_formula_total_are_not_candidates():
    form = load_form("2021")
    good = consistent_values("2021", random.Random(1))
    workbook = raw_form("2021", good, kind="workbook")
    cells = classify(form, good, raw=workbook)
    assert cells["t4_review_total"].weight is None and cells["t4_review_upheld"].weight == 1.0
    # the same total typed in a published report is a candidate, a little less likely than a part
    assert classify(form, good)["t4_review_total"].weight == settings("2021").typed_total == 1.1
    assert classify(form, good)["t4_review_total"].reason == "typed_total"
    assert isinstance(cells["t3_new_person"], Cell)
    assert fmt(3.0) == "3"


# --- counts: the located cell is listed, never counted as one more error -----------------------


def test_one_wrong_cell_counts_one_error_everywhere_counts_are_shown(tmp_path):
    """A total typed over its formula: one error (t4-total) and the locate finding that says
    which cell to change. Every count a user sees says 1 error; the locate finding is listed."""
    import email
    from email import policy

    from click.testing import CliRunner
    from factory import SAMPLES

    from xltools.cli import main
    from xltools.season import Season
    from xltools.web.formview import build_view

    folder = tmp_path / "收到"
    folder.mkdir()
    wb = make_workbook(folder / "商务局.xlsx", t4_review_total=1)
    # check: the summary line, the listing, the annotated copy's header
    result = CliRunner().invoke(main, ["check", str(wb), "--annotate", str(tmp_path / "ann")])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split("：")[1].split(" ")[0] for line in lines[:-1]] == [
        "错误[t4-total]",
        "错误[locate]",
    ]
    assert (
        lines[-1]
        == "共检查 1 个文件：通过 0，有警告 0，有错误 1，无法读取 0；错误 1 处，警告 0 处。"
    )
    ann = load_workbook(tmp_path / "ann" / "商务局-校验批注.xlsx")
    assert ann["校验结果"]["A3"].value.startswith("错误 1 处，警告 0 处。")
    assert [r[2] for r in ann["校验结果"].iter_rows(min_row=6, values_only=True)] == [
        "t4-total",
        "locate",
    ]
    # consolidate: results.json and the summary workbook's 报送情况
    out = tmp_path / "out"
    run = CliRunner().invoke(
        main,
        [
            "consolidate",
            str(folder),
            "--roster",
            str(SAMPLES / "roster.csv"),
            "-o",
            str(out),
            "--jobs",
            "0",
        ],
    )
    assert run.exit_code == 1, run.output
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    [entry] = [e for e in doc["entries"] if e["file"]]
    assert (entry["status"], entry["errors"], entry["warnings"]) == ("errors", 1, 0)
    assert [f["rule"] for f in entry["findings"]] == ["t4-total", "locate"]
    rows = list(
        load_workbook(out / "汇总表.xlsx", read_only=True)["报送情况"].iter_rows(values_only=True)
    )
    heads = rows[0]
    [row] = [r for r in rows[1:] if r[heads.index("单位名称")] == "聊城市商务和投资促进局"]
    assert (row[heads.index("状态")], row[heads.index("错误数")], row[heads.index("警告数")]) == (
        "有错误",
        1,
        0,
    )
    # mail: the 需修改 message counts 1 error and lists both findings
    sent = CliRunner().invoke(main, ["mail", str(out), "--only", "errors"])
    assert sent.exit_code == 0, sent.output
    [eml] = (out / "outbox").glob("*.eml")
    body = (
        email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        .get_body(("plain",))
        .get_content()
    )
    assert "发现 1 处错误、0 处需核实的警告" in body and "最可能有误的是 表四!E5" in body
    # a season: the kept version and the board
    season = Season.create(tmp_path / "季", 2022, roster=SAMPLES / "roster.csv")
    try:
        v = season.add_file(wb, jobs=0)
        assert (v.status, v.errors, v.warnings) == ("errors", 1, 0)
        state = next(b for b in season.board() if b.agency == "聊城市商务和投资促进局")
        assert (state.errors, state.warnings) == (1, 0)
    finally:
        season.close()
    # the web page's per-sheet counts
    report = check_file(wb)
    view = build_view(load_form("2021"), report.values, report.findings)
    assert [(s.name, s.errors, s.warnings) for s in view.sheets if s.errors or s.warnings] == [
        ("表四", 1, 0)
    ]
    assert [m.rule for m in view.messages] == ["t4-total", "locate"]


def _answers(cases: list) -> list:
    def ways(solutions, more):
        if more:  # which of the many are listed is the solver's choice
            return "more"
        return sorted(
            sorted((c.key, c.new if c.determined else None) for c in s.changes) for s in solutions
        )

    return [
        [
            (
                oc.status,
                ways(oc.solutions, oc.more_ties),
                ways(oc.alternatives, oc.more_alternatives),
                oc.unproven,
            )
            for oc in localise(form, classify(form, values, raw=raw))
        ]
        for form, values, raw in cases
    ]


def test_the_quick_search_and_the_whole_program_give_the_same_answers(monkeypatch):
    """Most answers come from the sets of cover cells (xltools.locate.search); the whole
    program, in one piece (xltools.locate.whole), gives the same answers, ties and less likely
    ways on random reports. To stay fast the whole program bounds how far a cell may move by what
    the failing relations are off by (Problem.change_bound): the loose bound from the cells' own
    values gives them too."""
    cases = random_reports(31, 24)
    settled: list[str] = []
    by_covers = solve_room.by_covers

    def counted(*args, **kwargs):
        out = by_covers(*args, **kwargs)
        settled.append(out.status if isinstance(out, Outcome) else out)
        return out

    monkeypatch.setattr(solve_room, "by_covers", counted)
    quick = _answers(cases)
    groups = sum(len(a) for a in quick)
    assert groups >= 50
    # the quick search answered nearly all, with every kind of outcome among them
    assert sum(s in (LOCATED, TIED) for s in settled) >= 0.9 * groups
    assert {status for a in quick for status, *_ in a} >= {LOCATED, TIED}
    assert any(more == "more" for a in quick for _, more, *_ in a)
    assert any(alts not in ([], "more") for a in quick for _, _, alts, _ in a)

    # the whole program alone: no search, and no bound from the cover cells
    monkeypatch.setattr(solve_room, "by_covers", lambda *a, **k: search.UNSETTLED)
    monkeypatch.setattr(solve_room, "cover_bound", lambda *a, **k: None)
    assert _answers(cases) == quick
    monkeypatch.setattr(
        Problem,
        "change_bound",
        lambda p: (
            2
            * (
                float(np.abs(p.observed[p.candidate]).max(initial=0))
                + float(np.abs(p.residual[p.violated]).sum())
            )
            + 10
        ),
    )
    assert _answers(cases) == quick


def test_the_proof_that_no_way_outside_the_covers_is_lighter():
    """When the lightest set of cover cells that holds weighs more than the bound, one run of the
    whole program must show that no way changing a cell outside them weighs as little
    (xltools.locate.whole.lighter_outside): true when one does, false when none does."""
    form = load_form("2021")
    good = zero_values("2021")
    good.update(t4_review_upheld=2, t4_review_corrected=1, t4_review_total=3)
    values = dict(good, t4_review_total=5)
    [p] = [
        p
        for p in problems(form, classify(form, values), settings("2021"), time.monotonic() + 5)
        if "t4_review_total" in p.keys
    ]
    total = np.array([p.keys.index("t4_review_total")])

    # raising one part by 2 (weight 1.0) is a way outside {total}; lowering the total weighs 1.1
    assert lighter_outside(p, total, 1.1) is True
    assert lighter_outside(p, total, 1.0) is True
    assert lighter_outside(p, total, 0.9) is False
    assert lighter_outside(p, np.arange(len(p.keys)), 5.0) is False


def test_the_parts_of_a_workbook_table_are_kept_per_pattern_of_formula_cells():
    """Workbooks of one template have their totals computed by the same formulas: the parts the
    relations fall into once those are substituted out are worked out once and kept, and give
    the answers that working them out afresh gives."""
    form = load_form("2021")
    rng = random.Random(12)
    reports = []
    for _ in range(6):
        values = consistent_values("2021", rng)
        for k in rng.sample([k for k in t34_keys("2021") if k.startswith("t3_")], 2):
            values[k] += rng.choice([1, 2, 5])
        raw = raw_form("2021", values, kind="workbook")
        for f in form.fields:
            if f.is_total and f.sheet == "表三":
                cell = raw.cells[f.key]
                raw.cells[f.key] = cell.__class__(None, cell.sheet, cell.cell, True)
        reports.append(classify(form, values, raw=raw))
    kept_parts = problem_room._ELIMINATED
    kept_parts.clear()
    kept = [_answers_of(form, cells) for cells in reports]
    assert len(kept_parts) == 1  # one pattern of formula cells among the six
    [(group, parts)] = kept_parts.values()
    assert len(parts) == 6  # one balance per applicant column (the total column's is implied)
    fresh = []
    for cells in reports:
        kept_parts.clear()
        fresh.append(_answers_of(form, cells))
    assert kept == fresh


def _answers_of(form, cells) -> list:
    return [
        (
            oc.status,
            sorted(sorted((c.key, c.new) for c in s.changes) for s in oc.solutions),
            oc.more_ties,
        )
        for oc in localise(form, cells)
    ]
