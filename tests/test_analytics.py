"""Issue 25: indicators, peer groups, peer warnings and trends."""

from __future__ import annotations

import csv
import json
import math
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from factory import SAMPLES, lo_convert, soffice
from openpyxl import Workbook, load_workbook
from peer_data import clean, consolidation, nothing, season, withheld_outlier

from xltools import XltoolsError
from xltools.analytics import (
    PEER_RULES,
    analyse,
    binomial_tail,
    indicator_values,
    percentile_inc,
    poisson_tail,
    rank_desc,
)
from xltools.cli import main
from xltools.consolidate import consolidate
from xltools.findings import fmt
from xltools.formula import FormulaError, bind, parse
from xltools.messages import ANALYTICS, RULES
from xltools.results import load_results
from xltools.schema import describe_indicators
from xltools.spec import load_form, load_indicators
from xltools.template import fill_workbook

IDS = [
    "new",
    "applications",
    "disclosure_rate",
    "withheld_rate",
    "review_correction_rate",
    "litigation_correction_rate",
    "dispute_rate",
    "carry_over_rate",
]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples") / "out"
    result = consolidate(
        [SAMPLES / "submissions"], out, roster=SAMPLES / "roster.csv", jobs=0, agency="汇总"
    )
    return result


def _by_name(result, name):
    return next(e for e in result.entries if e.name == name and e.included)


# --- indicator values by hand ---------------------------------------------------------------


def test_the_eight_indicators_of_the_issue_are_defined_with_its_formulas():
    ind = load_indicators().by_id
    assert [i for i in ind if i in IDS] == IDS
    assert (
        ind["disclosure_rate"].formula == "(t3_public_total + t3_partial_total) / t3_results_total"
    )
    assert ind["withheld_rate"].formula == "sum(t3_withheld_*_total) / t3_results_total"
    assert ind["dispute_rate"].is_rate and not ind["new"].is_rate


def test_indicator_values_by_hand_on_the_samples(samples):
    # 东昌府区人民政府: 表三 本年新收 60+15+0+2+2+2 = 81, 上年结转 2+1 = 3; 予以公开 27+7+1 = 35,
    # 部分公开 6, 办理结果 60+14+0+2+0+0 = 76; 不予公开 1+2+2+1 = 6; 结转下年度 2+2+2+2 = 8;
    # 表四 复议 2 维持 + 1 未审结 = 3; 直接起诉 1 维持 + 1 未审结 = 2, 复议后起诉 0
    v = _by_name(samples, "东昌府区人民政府").indicators
    assert v["new"] == 81 and v["applications"] == 84
    assert v["disclosure_rate"] == pytest.approx(41 / 76)
    assert v["withheld_rate"] == pytest.approx(6 / 76)
    assert v["review_correction_rate"] == 0  # 0 / (3 − 1)
    assert v["litigation_correction_rate"] == 0  # 0 / (2 + 0 − 1 − 0)
    assert v["dispute_rate"] == pytest.approx(5 / 81)
    assert v["carry_over_rate"] == pytest.approx(8 / 84)
    # 聊城市住房和城乡建设局: 新收 77+29+0+4+5+3 = 118; 公开 27+11+1+1 = 40, 部分 4+3+1+2 = 10;
    # 办理结果 76+28+0+2+4+1 = 111; 不予公开 2+2+1+(5+1)+1 = 12; 结转 1+1+2+1+2 = 7;
    # 表四: 复议 0 件 (分母 0), 直接起诉 1 件尚未审结 (分母 1 − 1 = 0)
    v = _by_name(samples, "聊城市住房和城乡建设局").indicators
    assert v["new"] == v["applications"] == 118
    assert v["disclosure_rate"] == pytest.approx(50 / 111)
    assert v["withheld_rate"] == pytest.approx(12 / 111)
    assert v["review_correction_rate"] is None and v["litigation_correction_rate"] is None
    assert v["dispute_rate"] == pytest.approx(1 / 118)
    assert v["carry_over_rate"] == pytest.approx(7 / 118)
    # 聊城市商务和投资促进局 (its real 2022 figures): 2 applications, both 不予公开 (第三方)
    v = _by_name(samples, "聊城市商务和投资促进局").indicators
    assert (v["new"], v["applications"], v["disclosure_rate"], v["withheld_rate"]) == (2, 2, 0, 1)
    assert v["review_correction_rate"] is None and v["litigation_correction_rate"] is None
    assert v["dispute_rate"] == 0 and v["carry_over_rate"] == 0


def test_undefined_is_null_in_results_json_and_a_dash_in_the_workbook(samples):
    run = load_results(samples.outdir)
    rec = next(e for e in run.entries if e.agency == "聊城市住房和城乡建设局")
    assert rec.indicators["review_correction_rate"] is None
    assert rec.indicators["withheld_rate"] == round(12 / 111, 6)
    ws = load_workbook(samples.outdir / "汇总表.xlsx")["指标分析"]
    head = next(r for r in ws.iter_rows() if r[0].value == "单位名称")
    col = next(c.column for c in head if c.value == "复议纠错率（%）")
    row = next(
        r for r in ws.iter_rows(min_row=head[0].row) if r[0].value == "聊城市住房和城乡建设局"
    )
    assert row[col - 1].value == ANALYTICS.undefined == "—"


def test_totals_indicators_are_computed_on_the_consolidated_figures(samples):
    t = samples.analysis.totals
    assert t["new"] == samples.totals["t3_new_total"] == 546
    assert t["disclosure_rate"] == pytest.approx(
        (samples.totals["t3_public_total"] + samples.totals["t3_partial_total"])
        / samples.totals["t3_results_total"]
    )


# --- the formula language ------------------------------------------------------------------


def test_formulas_parse_and_evaluate_without_eval():
    keys = ("a", "b", "c_x_total", "c_y_total")
    f = bind(parse("(a + b) / sum(c_*_total) * 100 - -1"), keys, {})
    assert f({"a": 1, "b": 2, "c_x_total": 3, "c_y_total": 3}) == 51
    assert f({"a": 1, "b": 2, "c_x_total": 0, "c_y_total": 0}) is None  # 3 / 0: undefined
    assert f({"a": None, "b": 2, "c_x_total": 1, "c_y_total": 1}) is None  # a blank cell
    assert f({"a": True, "b": 2, "c_x_total": 1, "c_y_total": 1}) is None  # not a number
    # other indicators by name; a key the form lacks makes the formula undefined
    g = bind(parse("x / 2"), keys, {"x": parse("a + b")})
    assert g({"a": 3, "b": 5}) == 4
    assert bind(parse("zzz + 1"), keys, {})({"a": 1}) is None
    for text, reason in [
        ("__import__('os')", "formula_char"),
        ("a +", "formula_end"),
        ("(a + b", "formula_end"),
        ("a b", "formula_extra"),
        ("max(a)", "formula_function"),
        ("a + * b", "formula_operand"),
        ("", "formula_empty"),
        ("a ＋ b", "formula_char"),
        ("sum(a-b)", "formula_pattern"),
    ]:
        with pytest.raises(FormulaError) as e:
            parse(text)
        assert e.value.reason == reason, text


def _forms_path(tmp_path, monkeypatch, text: str) -> Path:
    folder = tmp_path / "forms"
    folder.mkdir(exist_ok=True)
    (folder / "indicators.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("XLTOOLS_FORMS_PATH", str(folder))
    return folder


def test_a_coordinator_adds_an_indicator_without_python(tmp_path, monkeypatch, samples):
    _forms_path(
        tmp_path,
        monkeypatch,
        '[[indicators]]\nid = "partial_share"\nname = "部分公开占比"\n'
        'formula = "t3_partial_total / (t3_public_total + t3_partial_total)"\nunit = "%"\n'
        'meaning = "公开的申请中部分公开的比例"\n\n[peers]\nmin_group = 3\n',
    )
    indicators = load_indicators()
    assert [i.id for i in indicators][-1] == "partial_share"
    assert indicators.peers["min_group"] == 3 and indicators.peers["zero_median"] == 20
    values = _by_name(samples, "东昌府区人民政府").report.values
    assert indicator_values(values, load_form("2021"), indicators)[
        "partial_share"
    ] == pytest.approx(6 / 41)
    r = CliRunner().invoke(main, ["schema", "--indicators"])
    assert r.exit_code == 0
    assert r.output.splitlines()[-1] == (
        "partial_share\t部分公开占比\t%\tt3_partial_total / (t3_public_total + t3_partial_total)"
        "\t公开的申请中部分公开的比例"
    )
    r = CliRunner().invoke(main, ["schema", "--indicators", "--json"])
    assert json.loads(r.stdout) == describe_indicators()


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            'id = "x"\nname = "甲"\nformula = "t3_new_total +"\nunit = "件"\nmeaning = "甲"',
            "indicator_formula",
        ),
        (
            'id = "x"\nname = "甲"\nformula = "t3_nothing"\nunit = "件"\nmeaning = "甲"',
            "indicator_unknown_name",
        ),
        (
            'id = "x"\nname = "甲"\nformula = "t3_new_total"\nunit = "%"\nmeaning = "甲"',
            "indicator_not_ratio",
        ),
        (
            'id = "new"\nname = "甲"\nformula = "t3_new_total"\nunit = "件"\nmeaning = "甲"',
            "indicator_duplicate",
        ),
        ('id = "x"\nname = "甲"\nunit = "件"\nmeaning = "甲"', "indicator_missing"),
        (
            'id = "t3_new_total"\nname = "甲"\nformula = "1"\nunit = "件"\nmeaning = "甲"',
            "indicator_id_is_key",
        ),
    ],
)
def test_a_bad_indicator_is_refused_in_chinese(tmp_path, monkeypatch, entry, message):
    folder = _forms_path(tmp_path, monkeypatch, "[[indicators]]\n" + entry + "\n")
    with pytest.raises(XltoolsError) as e:
        load_indicators()
    text = str(e.value)
    assert text.startswith(f"指标定义文件 {folder / 'indicators.toml'} 有误：")
    fixed = ANALYTICS[message].split("{")[0]
    assert fixed in text
    r = CliRunner().invoke(main, ["schema", "--indicators"])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_the_formula_error_names_the_position(tmp_path, monkeypatch):
    _forms_path(
        tmp_path,
        monkeypatch,
        '[[indicators]]\nid = "x"\nname = "甲"\nformula = "t3_new_total + + 1"\n'
        'unit = "件"\nmeaning = "甲"\n',
    )
    with pytest.raises(XltoolsError) as e:
        load_indicators()
    assert "指标“x”的公式“t3_new_total + + 1”第 16 个字符处应为键名、数字或左括号，现为“+”" in str(
        e.value
    )


# --- statistics ----------------------------------------------------------------------------


def test_percentiles_against_numpy():
    rng = random.Random(5)
    for n in (1, 2, 3, 4, 7, 10, 41):
        xs = sorted(rng.randint(0, 300) for _ in range(n))
        for p in (0.25, 0.5, 0.75):
            assert percentile_inc(xs, p) == pytest.approx(float(np.percentile(xs, p * 100)))
    assert percentile_inc([], 0.5) is None


@pytest.mark.skipif(soffice() is None, reason="LibreOffice is not installed")
def test_percentiles_and_ranks_against_a_spreadsheet_application(tmp_path):
    """Excel's PERCENTILE.INC and RANK.EQ (stored as _xlfn. functions, as Excel saves them)
    as LibreOffice computes them in a saved workbook."""
    rng = random.Random(11)
    columns = [sorted(rng.randint(0, 60) for _ in range(n)) for n in (3, 8, 13, 40)]
    wb = Workbook()
    ws = wb.active
    for c, xs in enumerate(columns, start=1):
        letter = chr(64 + c)
        for r, x in enumerate(rng.sample(xs, len(xs)), start=1):
            ws.cell(r, c, x)
        rng_ref = f"{letter}1:{letter}{len(xs)}"
        for k, p in enumerate((0.25, 0.5, 0.75)):
            ws.cell(60 + k, c, f"=_xlfn.PERCENTILE.INC({rng_ref},{p})")
        ws.cell(64, c, f"=_xlfn.RANK.EQ({letter}1,{rng_ref},0)")
    src = tmp_path / "pct.xlsx"
    wb.save(src)
    out = lo_convert(src, tmp_path / "lo")
    got = load_workbook(out, data_only=True).active
    for c, xs in enumerate(columns, start=1):
        for k, p in enumerate((0.25, 0.5, 0.75)):
            assert percentile_inc(xs, p) == pytest.approx(got.cell(60 + k, c).value)
        assert rank_desc(xs, got.cell(1, c).value) == got.cell(64, c).value


def test_tests_of_counts():
    # exact tails against sums written out
    assert binomial_tail(3, 4, 0.5, upper=True) == pytest.approx(5 / 16)
    assert binomial_tail(1, 4, 0.5, upper=False) == pytest.approx(5 / 16)
    p = Fraction(1, 10)
    exact = sum(Fraction(math.comb(20, j)) * p**j * (1 - p) ** (20 - j) for j in range(6, 21))
    assert binomial_tail(6, 20, 0.1, upper=True) == pytest.approx(float(exact), rel=1e-9)
    assert poisson_tail(0, 2.0, upper=True) == 1.0
    assert poisson_tail(2, 2.0, upper=False) == pytest.approx(5 * np.exp(-2.0))
    assert binomial_tail(1, 10, 0.0, upper=True) == 0.0


# --- peer groups and warnings ---------------------------------------------------------------


def _planted(rng: random.Random):
    """60 agencies in two groups of 30 and three planted outliers: a zero where peers are
    high, a 不予公开率 far above peers over 80 applications, a count ten times its peers'."""
    agencies = season(rng)
    zero, rate, big = agencies[0][0], agencies[1][0], agencies[30][0]
    agencies[0] = (zero, "市直部门", nothing())
    agencies[1] = (rate, "市直部门", withheld_outlier(rng, "市直部门", 80, 0.6))
    county = sorted(f.new for _, g, f in agencies[31:60])
    agencies[30] = (
        big,
        "县（市、区）",
        clean(rng, "县（市、区）", round(10 * percentile_inc(county, 0.5))),
    )
    planted = {
        zero: {"new": "peer-zero"},
        rate: {"withheld_rate": "peer-rate"},
        big: {"new": "peer-count"},
    }
    return agencies, planted


def test_planted_outliers_are_flagged_over_many_random_seasons():
    found = {"peer-zero": 0, "peer-rate": 0, "peer-count": 0}
    others = []
    for seed in range(100):
        agencies, planted = _planted(random.Random(seed))
        a = analyse(consolidation(agencies))
        flags = {e.name: e.peer_flags for e in a.members["市直部门"] + a.members["县（市、区）"]}
        for name, want in planted.items():
            ((iid, rule),) = want.items()
            found[rule] += flags[name].get(iid) == rule
        others.append(sum(1 for n, f in flags.items() if f and n not in planted))
    assert found == {"peer-zero": 100, "peer-rate": 100, "peer-count": 100}
    assert max(others) <= 3  # at most 5 % of the 57 others in any season


def test_clean_random_data_flags_at_most_five_percent():
    flagged = []
    for seed in range(1000, 1200):
        a = analyse(consolidation(season(random.Random(seed))))
        flagged.append(sum(1 for g in a.members.values() for e in g if e.peer_flags))
    assert max(flagged) <= 3  # ≤ 5 % of 60 in every one of 200 seasons
    assert sum(flagged) / (200 * 60) < 0.01  # and well under 1 % overall


def _write_season(folder: Path, agencies, year: int = 2022) -> Path:
    inbox = folder / "收件"
    inbox.mkdir(parents=True)
    roster = folder / "名单.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["单位名称", "电子邮箱", "上级/分组"])
        for name, group, figures in agencies:
            w.writerow([name, "", group])
            fill_workbook(figures.values(name, year, meta_kind="政府部门"), inbox / f"{name}.xlsx")
    return roster


def test_a_generated_season_of_60_agencies_flags_exactly_the_planted_ones(tmp_path):
    agencies, planted = _planted(random.Random(0))
    roster = _write_season(tmp_path, agencies)
    result = consolidate([tmp_path / "收件"], tmp_path / "out", roster=roster, jobs=0)
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    flagged = {
        e["agency"]: {f["rule"] for f in e["findings"] if f["rule"] in PEER_RULES}
        for e in doc["entries"]
        if any(f["rule"] in PEER_RULES for f in e["findings"])
    }
    assert flagged == {name: set(want.values()) for name, want in planted.items()}
    assert {e["agency"]: e["peer_flags"] for e in doc["entries"] if e["peer_flags"]} == planted
    # a warning, explainable like any: rule, sheet, cell, key; the message from the catalogue
    zero_name = agencies[0][0]
    st = doc["peer_groups"]["市直部门"]["new"]
    [f] = [f for f in _entry(doc, zero_name)["findings"] if f["rule"] == "peer-zero"]
    assert (f["severity"], f["sheet"], f["cell"], f["key"]) == (
        "warning",
        "表三",
        "J5",
        "t3_new_total",
    )
    assert f["message"] == RULES["peer-zero"]["message"].format(
        where="表三!J5",
        label="本年新收",
        value="0 件",
        group="市直部门",
        n=30,
        median=f"{fmt(st['p50'])} 件",
        p25=fmt(st["p25"]),
        p75=f"{fmt(st['p75'])} 件",
    )
    assert f["message"].startswith(
        "表三!J5（本年新收）：本年新收 0 件；同组（市直部门，30 家）中位数 "
    )
    [f] = [f for f in _entry(doc, agencies[1][0])["findings"] if f["rule"] == "peer-rate"]
    assert (f["sheet"], f["cell"], f["key"]) == ("表三", "J9", "t3_withheld_secret_total")
    odd = agencies[1][2]
    results = odd.public + odd.partial + odd.withheld + odd.not_held
    share = fmt(round(odd.withheld / results * 100, 1))
    # 29 家: the agency with nothing has no rate (0 / 0), so it is not among those compared
    assert (
        f"不予公开率 {share}%（{odd.withheld}/{results} 件），远高于同组（市直部门，29 家）"
        in (f["message"])
    )
    [f] = [f for f in _entry(doc, agencies[30][0])["findings"] if f["rule"] == "peer-count"]
    assert "远高于同组（县（市、区），30 家）" in f["message"]
    # a warning only: the agency is 有警告, still in the totals, and the run's exit code is 0
    assert _entry(doc, zero_name)["status"] == "warnings" and _entry(doc, zero_name)["included"]
    assert result.exit_code == 0
    # quartiles and ranks in results.json equal an independent computation
    news = sorted(fig.new for _, g, fig in agencies if g == "市直部门")
    assert [st[k] for k in ("n", "p25", "p50", "p75")] == [
        30,
        *(pytest.approx(float(np.percentile(news, q))) for q in (25, 50, 75)),
    ]
    assert st["pooled"] == sum(news)
    top = max(agencies[:30], key=lambda a: a[2].new)
    assert _entry(doc, top[0])["ranks"]["new"] == 1
    assert _entry(doc, zero_name)["ranks"]["new"] == 30 - news.count(0) + 1
    # the summary workbook: 指标分析 with the warnings marked, box-like charts
    wb = load_workbook(tmp_path / "out" / "汇总表.xlsx")
    ws = wb["指标分析"]
    assert len(ws._charts) == 2
    head = next(r for r in ws.iter_rows() if r[0].value == "单位名称")
    rows = {r[0].value: r for r in ws.iter_rows(min_row=head[0].row + 1) if r[0].value}
    assert len(rows) == 60 and rows[zero_name][2].value == 1
    assert sum(r[2].value for r in rows.values()) == 3
    marked = [c.column for c in rows[agencies[1][0]] if c.fill.fgColor.rgb == "FFF4B084"]
    assert [head[c - 1].value for c in marked] == ["不予公开率（%）"]
    assert ws.conditional_formatting  # data bars and the warnings column
    # 校验问题 lists them with the others
    issues = [
        r for r in wb["校验问题"].iter_rows(min_row=2, values_only=True) if r[3] in PEER_RULES
    ]
    assert len(issues) == 3


def _entry(doc, name):
    return next(e for e in doc["entries"] if e["agency"] == name)


def test_small_groups_get_quartiles_but_no_warnings(samples):
    groups = samples.analysis.groups
    assert list(groups) == ["市直部门", "县（市、区）"]  # the larger first
    assert groups["市直部门"]["new"].n == 6 < load_indicators().peers["min_group"]
    assert not samples.analysis.findings
    # the DataFrame interface
    df = samples.indicator_table()
    row = df[df["agency"] == "东昌府区人民政府"].iloc[0]
    assert row["group"] == "县（市、区）" and row["new"] == 81 and row["new_rank"] == 1
    assert np.isnan(df[df["agency"] == "聊城市住房和城乡建设局"].iloc[0]["review_correction_rate"])
    peers = samples.peer_table()
    st = peers[(peers["group"] == "市直部门") & (peers["indicator"] == "new")].iloc[0]
    news = sorted(
        e.indicators["new"] for e in samples.entries if e.included and e.peer_group == "市直部门"
    )
    assert st["n"] == 6 and st["p50"] == pytest.approx(float(np.median(news)))


def test_group_falls_back_to_the_cover_kind(tmp_path):
    agencies = [(f"局{i}", "", clean(random.Random(i), "市直部门")) for i in range(3)]
    for name, _, figures in agencies:
        kind = "人民政府" if name == "局0" else "政府部门"
        fill_workbook(figures.values(name, meta_kind=kind), tmp_path / "in" / f"{name}.xlsx")
    result = consolidate([tmp_path / "in"], tmp_path / "out", jobs=0)
    assert {e.name: e.peer_group for e in result.entries} == {
        "局0": "人民政府",
        "局1": "政府部门",
        "局2": "政府部门",
    }


# --- trends over the years ------------------------------------------------------------------


def _chained_seasons(root: Path, years, first_previous=None):
    from xltools.season import Season
    from xltools.season.workflow import Actor, consolidate

    previous = first_previous
    news = {}
    for i, year in enumerate(years):
        folder = root / f"{year}年报"
        with Season.create(folder, year, previous=previous) as s:
            inbox = folder / "收件"
            inbox.mkdir()
            for j, name in enumerate(["甲局", "乙局", "丙局"]):
                # nothing carried over: every year's 上年结转 agrees with the year before
                f = clean(random.Random(year * 10 + j), "市直部门", 10 * (j + 1) + 5 * i, False)
                news[(name, year)] = f.new
                fill_workbook(f.values(name, year, meta_kind="政府部门"), inbox / f"{name}.xlsx")
            consolidate(s, actor=Actor("测试"), paths=[inbox], jobs=0)
        previous = folder
    return news


def test_three_chained_seasons_give_three_year_trends(tmp_path):
    news = _chained_seasons(tmp_path, (2022, 2023, 2024))
    out = tmp_path / "2024年报" / "汇总"
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["trends"]["甲局"]["new"] == {"2022": 10, "2023": 15, "2024": 20}
    assert doc["trends"]["丙局"]["new"] == {"2022": 30, "2023": 35, "2024": 40}
    assert doc["trend_totals"]["new"] == {
        str(y): sum(news[(n, y)] for n in ("甲局", "乙局", "丙局")) for y in (2022, 2023, 2024)
    }
    assert set(doc["trend_totals"]["disclosure_rate"]) == {"2022", "2023", "2024"}
    wb = load_workbook(out / "汇总表.xlsx")
    ws = wb["近年趋势"]
    rows = list(ws.iter_rows(values_only=True))
    head = next(r for r in rows if r and r[0] == "指标")
    assert head[:5] == ("指标", "单位", "2022 年", "2023 年", "2024 年")
    new_row = next(r for r in rows if r and r[0] == "本年新收")
    assert new_row[2:5] == (60, 75, 90)
    assert len(ws._charts) == 2  # key totals and rates, a line each
    agency = next(r for r in rows if r and r[0] == "乙局" and r[1] == "本年新收")
    assert agency[2:5] == (20, 25, 30)


def test_a_summary_workbook_counts_as_a_year_and_the_chain_stops_at_five(tmp_path):
    # 2020 as a plain consolidation's summary workbook, then five seasons 2021–2025
    books = tmp_path / "2020"
    for j, name in enumerate(["甲局", "乙局", "丙局"]):
        f = clean(random.Random(j), "市直部门", 7, carry=False)
        fill_workbook(f.values(name, 2020, "2019"), books / f"{name}.xlsx", "2019")
    consolidate([books], tmp_path / "2020汇总", jobs=0)
    _chained_seasons(
        tmp_path, (2021, 2022, 2023, 2024, 2025), tmp_path / "2020汇总" / "汇总表.xlsx"
    )
    doc = json.loads((tmp_path / "2025年报" / "汇总" / "results.json").read_text(encoding="utf-8"))
    assert list(doc["trends"]["甲局"]["new"]) == ["2021", "2022", "2023", "2024", "2025"]
    doc = json.loads((tmp_path / "2024年报" / "汇总" / "results.json").read_text(encoding="utf-8"))
    assert doc["trends"]["甲局"]["new"] == {
        "2020": 7,
        "2021": 10,
        "2022": 15,
        "2023": 20,
        "2024": 25,
    }


def test_no_earlier_year_no_trend_sheet(samples):
    wb = load_workbook(samples.outdir / "汇总表.xlsx", read_only=True)
    assert wb.sheetnames[-2:] == ["图表", "指标分析"]
    doc = json.loads((samples.outdir / "results.json").read_text(encoding="utf-8"))
    assert doc["trends"] == {} and doc["trend_totals"] == {}
    assert [d["id"] for d in doc["indicator_defs"]] == [i.id for i in load_indicators()]
    assert set(doc["peer_groups"]) == {"市直部门", "县（市、区）"}


# --- publish: the coordinator's report quotes the groups and the trend ------------------------


def test_publish_quotes_the_group_figures_and_the_trend(tmp_path):
    _chained_seasons(tmp_path, (2022, 2023, 2024))
    from xltools.publish import publish

    out = tmp_path / "2024年报" / "汇总"
    result = publish(out / "汇总表.xlsx", html=tmp_path / "r.html", agency="某市人民政府")
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    st = doc["peer_groups"]["政府部门"]["new"]  # no roster: grouped by the cover's 机关类型
    assert result.document.sentences["peers"].startswith(
        f"从各单位情况看，政府部门3家单位本年新收中位数为{fmt(st['p50'])}件"
    )
    totals = doc["trend_totals"]["new"]
    assert result.document.sentences["trend"].startswith(
        "2022年至2024年，本级本年新收依次为"
        + "、".join(f"{totals[y]}件" for y in ("2022", "2023", "2024"))
    )
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert result.document.sentences["trend"] in html
    # an agency's own report has neither sentence
    agency = publish(tmp_path / "2024年报" / "收件" / "甲局.xlsx", html=tmp_path / "a.html")
    assert "peers" not in agency.document.sentences and "trend" not in agency.document.sentences


def test_results_json_round_trip_keeps_the_analysis(samples):
    run = load_results(samples.outdir)
    doc = json.loads((samples.outdir / "results.json").read_text(encoding="utf-8"))
    assert run.to_dict()["peer_groups"] == doc["peer_groups"]
    assert run.to_dict()["indicator_defs"] == doc["indicator_defs"]
    rec = next(e for e in run.entries if e.agency == "东昌府区人民政府")
    assert rec.to_dict()["indicators"] == _entry(doc, "东昌府区人民政府")["indicators"]
    assert rec.peer_group == "县（市、区）" and rec.ranks["new"] == 1


def test_many_groups_all_in_the_table_the_largest_in_the_charts(tmp_path):
    from xltools.summary import write_summary

    rng = random.Random(3)
    agencies = [
        (f"单位{i:03d}", f"第{i % 20 + 1:02d}组", clean(rng, "市直部门")) for i in range(20 * 9)
    ] + [(f"大组单位{i}", "第00组", clean(rng, "市直部门")) for i in range(12)]
    c = consolidation(agencies)
    c.outdir = tmp_path
    write_summary(c, tmp_path / "汇总表.xlsx")
    ws = load_workbook(tmp_path / "汇总表.xlsx")["指标分析"]
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "指标" and r[1] == "分组")
    assert rows[head - 1][11] == "箱形图的数据（最大的 12 个分组）"
    end = next(i for i, r in enumerate(rows) if str(r[0]).startswith("各单位指标（"))
    table = [r for r in rows[head + 1 : end] if r[1]]
    assert len(table) == 21 * len(load_indicators())
    assert len({r[1] for r in table}) == 21 and table[0][1] == "第00组"  # the largest first
    charted = [r for r in rows[head + 1 : end] if r[12]]
    assert len({r[12] for r in charted}) == 12 and len(charted) == 12 * len(load_indicators())
    assert all(ws._charts) and len(ws._charts) == 2


def test_a_seasons_peer_warnings_are_on_the_board_and_explainable(tmp_path):
    """In a season, the peer comparison's warnings are kept with each version: the board,
    `xltools status` and results.json agree, and a warning explained stays explained."""
    from click.testing import CliRunner

    from xltools.cli import main
    from xltools.season import Season

    rng = random.Random(3)
    agencies = [(f"市直{i:02d}局", "市直部门", clean(rng, "市直部门", 30 + i)) for i in range(11)]
    agencies[0] = (agencies[0][0], "市直部门", nothing())
    folder = tmp_path / "2022年报"
    folder.mkdir()
    roster = _write_season(folder, agencies)
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["init", str(folder), "--year", "2022", "--roster", str(roster)]
        ).exit_code
        == 0
    )
    r = runner.invoke(main, ["consolidate", "--season", str(folder), "-j", "0"])
    assert r.exit_code == 0, r.stderr
    zero = agencies[0][0]
    status = json.loads(runner.invoke(main, ["status", "--season", str(folder), "--json"]).stdout)
    state = next(a for a in status["agencies"] if a["agency"] == zero)
    assert (state["status"], state["warnings"]) == ("warnings", 1)
    doc = json.loads((folder / "汇总" / "results.json").read_text(encoding="utf-8"))
    entry = _entry(doc, zero)
    assert entry["board_status"] == "warnings" and entry["status"] == "warnings"
    [f] = [f for f in entry["findings"] if f["rule"] == "peer-zero"]
    r = runner.invoke(
        main,
        [
            "accept",
            zero,
            "peer-zero",
            "--cell",
            f["cell"],
            "--note",
            "本单位本年确无申请",
            "--season",
            str(folder),
        ],
    )
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(main, ["consolidate", "--season", str(folder), "-j", "0"])
    with Season.open(folder) as s:
        v = s.current(zero)
        assert [p.rule for p in v.peer_findings] == ["peer-zero"] and v.open_warnings == []
        assert next(b for b in s.board() if b.agency == zero).status == "explained"
        assert next(b for b in s.board(full=False) if b.agency == zero).status == "explained"
        assert v.report().findings == [x for x in v.findings if x.rule != "peer-zero"]
    doc = json.loads((folder / "汇总" / "results.json").read_text(encoding="utf-8"))
    entry = _entry(doc, zero)
    assert entry["board_status"] == "explained"
    assert [e["note"] for e in entry["explained"]] == ["本单位本年确无申请"]
