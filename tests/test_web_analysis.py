"""Issue 25: the coordinator's 分析 page, rendered from a results.json document.

The route is the web application's (xltools/web/app.py); here the page's context function
and its template are exercised on their own: the context from a real consolidation's
results.json, the template rendered by Flask with the package's templates and static files,
and the page opened in Chromium at 1366 px and 390 px (screenshots in XLTOOLS_SCREENSHOTS or
pytest's temporary folder).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from peer_data import clean, consolidation, nothing, season, withheld_outlier
from webharness import PASSWORD, USER, Browserless, Server, make_season

import xltools.web
from xltools.analytics import PEER_RULES, analysis_of, percentile_inc
from xltools.consolidate import Consolidation
from xltools.messages import ANALYTICS
from xltools.season.lastyear import LastRecord, LastYear
from xltools.web.analysis import analysis_context

WEB = Path(xltools.web.__file__).parent
XSS = "<script>alert(1)</script>局"
# the page's policy, as the web application sends it (xltools/web/app.py)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(slots=True)
class WithHistory(Consolidation):
    """A consolidation that knows last year's figures, as a season's does."""

    last_year: object = None


def _doc() -> dict:
    rng = random.Random(0)
    agencies = season(rng)
    agencies[0] = (XSS, "市直部门", nothing())
    agencies[1] = (agencies[1][0], "市直部门", withheld_outlier(rng, "市直部门", 80, 0.6))
    county = sorted(f.new for _, g, f in agencies[31:60])
    agencies[30] = (
        agencies[30][0],
        "县（市、区）",
        clean(rng, "县（市、区）", round(10 * percentile_inc(county, 0.5))),
    )
    c = consolidation(agencies)
    last = LastYear(
        2021,
        Path("2021年报"),
        "season",
        [
            LastRecord(name, None, "2021", figures.values(name, 2021), f"{name}.xlsx")
            for name, _, figures in season(random.Random(1))
        ],
    )
    result = WithHistory(None, 2022, c.form, c.entries, c.totals, last_year=last)
    analysis_of(result)  # as writing the summary workbook does
    doc = result.to_dict()
    doc["created"] = "2023-02-01T10:00:00"
    return doc


@pytest.fixture(scope="module")
def doc():
    return _doc()


def test_no_analysis_in_an_old_document():
    assert analysis_context(None) == {"available": False, "message": ANALYTICS.web_no_analysis}
    assert analysis_context({"entries": []})["available"] is False


def test_the_context_tables(doc):
    ctx = analysis_context(doc)
    assert ctx["available"] and ctx["report_year"] == 2022
    assert [d.id for d in ctx["defs"]] == [d["id"] for d in doc["indicator_defs"]]
    assert len(ctx["rows"]) == 60 and ctx["group_names"] == ["县（市、区）", "市直部门"]
    flagged = {
        (r["agency"], d.id)
        for r in ctx["rows"]
        for d, c in zip(ctx["defs"], r["cells"])
        if c["flagged"]
    }
    assert flagged == {
        (e["agency"], iid) for e in doc["entries"] for iid in (e["peer_flags"] or {})
    }
    assert len(flagged) == 3
    assert len(ctx["warnings"]) == 3 and {w["rule"] for w in ctx["warnings"]} == set(PEER_RULES)
    # a rank under each value: k/n of its group
    row = next(r for r in ctx["rows"] if r["agency"] == XSS)
    new = next(i for i, d in enumerate(ctx["defs"]) if d.id == "new")
    assert row["cells"][new]["text"] == "0" and row["cells"][new]["rank"].endswith("/30")
    rate = next(i for i, d in enumerate(ctx["defs"]) if d.id == "withheld_rate")
    assert row["cells"][rate] == {"text": "—", "undefined": True, "rank": "", "flagged": False}
    # the totals of this year, and the trend over the two years known
    assert ctx["totals"][new]["value"] == f"{doc['indicator_totals']['new']} 件"
    assert ctx["years"] == [2021, 2022]
    assert [r["name"] for r in ctx["trend_rows"]] == [d.name for d in ctx["defs"]]
    assert ctx["trend_rows"][new]["figures"] == [
        f"{doc['trend_totals']['new']['2021']}",
        f"{doc['trend_totals']['new']['2022']}",
    ]


def test_sorting_and_filtering_on_the_server(doc):
    ctx = analysis_context(doc, sort="withheld_rate", order="desc")
    rate = next(i for i, d in enumerate(ctx["defs"]) if d.id == "withheld_rate")
    assert ctx["rows"][0]["cells"][rate]["flagged"]  # the planted 60 % first
    assert ctx["rows"][-1]["cells"][rate]["undefined"]  # undefined last, whichever way
    up = analysis_context(doc, sort="withheld_rate", order="asc")
    assert up["rows"][-1]["cells"][rate]["undefined"]
    values = [
        float(r["cells"][rate]["text"].rstrip("%"))
        for r in up["rows"]
        if not r["cells"][rate]["undefined"]
    ]
    assert values == sorted(values)
    col = next(c for c in ctx["columns"] if c["key"] == "withheld_rate")
    assert col["active"] and col["aria_sort"] == "descending"
    assert col["href"] == "?sort=withheld_rate&order=asc"  # the next click reverses
    by_name = analysis_context(doc, sort="agency", order="asc")
    assert [r["agency"] for r in by_name["rows"]] == sorted(r["agency"] for r in ctx["rows"])
    one = analysis_context(doc, group="市直部门", sort="new")
    assert len(one["rows"]) == 30 and {r["group"] for r in one["rows"]} == {"市直部门"}
    assert len(one["warnings"]) == 2
    assert "group=%E5%B8%82" in one["columns"][1]["href"]
    # unknown parameters fall back, never fail
    odd = analysis_context(doc, sort="__class__", order="sideways", group="nope")
    assert (odd["sort"], odd["order"], odd["group"]) == (None, "desc", None)


def test_the_svg_charts_escape_what_came_from_workbooks(doc):
    tampered = dict(doc)
    tampered["peer_groups"] = {'<b onmouseover="x">组</b>': next(iter(doc["peer_groups"].values()))}
    ctx = analysis_context(tampered)
    svg = str(ctx["box_counts"])
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<script" not in svg
    assert (
        "&lt;b onmouseover=&#x27;x&#x27;&gt;组&lt;/b&gt;" in svg
        or "&lt;b onmouseover=&quot;x&quot;&gt;" in svg
    )
    assert "<b onmouseover" not in svg
    # a box per (indicator, group) with agencies: P25 to P75, a median line inside
    ctx = analysis_context(doc)
    counts = [d for d in ctx["defs"] if not d.is_rate]
    assert str(ctx["box_counts"]).count('class="box"') == len(counts) * 2
    assert str(ctx["trend_counts"]).count("<polyline") == sum(
        1 for d in doc["indicator_defs"] if d["unit"] != "%" and d["trend"]
    )


@pytest.fixture(scope="module")
def site(doc, tmp_path_factory):
    """A served season whose last consolidation's results.json is `doc`."""
    folder = make_season(tmp_path_factory.mktemp("analysis") / "2022年报", ["某局"])
    (folder / "汇总").mkdir()
    (folder / "汇总" / "results.json").write_text(
        json.dumps(doc, ensure_ascii=False), encoding="utf-8"
    )
    server = Server(folder)
    yield server
    server.stop()


def test_the_page_renders_without_inline_script_or_style(site):
    client = Browserless(site.base)
    client.login()
    html = client.get("/analysis")[2].decode()
    assert html.count("<svg") == 4  # two box charts, two trend charts
    assert (
        "<script>alert(1)</script>" not in html
        and "&lt;script&gt;alert(1)&lt;/script&gt;局" in html
    )
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/xltools.js" defer>']
    assert " style=" not in html and "<style" not in html
    assert html.count('class="n flagged"') == 3
    assert 'href="/static/analysis.css"' in html
    sorted_html = client.get("/analysis?sort=new&order=desc")[2].decode()
    assert 'aria-sort="descending"' in sorted_html


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


@pytest.mark.browser
@pytest.mark.skipif(
    sync_playwright is None or not Path(CHROMIUM).is_file(),
    reason="Playwright for Python and Chromium are needed",
)
def test_the_page_in_chromium_at_1366_and_390(site, tmp_path_factory):
    shots = Path(os.environ.get("XLTOOLS_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\n截图保存在：{shots}")
    url = f"{site.base}/analysis"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"]
        )
        for width in (1366, 390):
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
            page.goto(f"{site.base}/login")
            page.fill("input[name=name]", USER)
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(url + "?sort=withheld_rate&order=desc")
            assert page.locator("svg.chart").count() == 4
            assert page.locator("td.flagged").count() == 3
            # nothing wider than the screen but the tables and charts in their own scroll box
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, (width, overflow)
            # a chart keeps readable text: on a phone it scrolls sideways inside its box
            box = page.locator("figure.chart-box").first.bounding_box()
            assert 0 < box["width"] <= width
            svg = page.locator("svg.chart").first.bounding_box()
            assert svg["width"] >= min(600, box["width"] - 10)
            page.screenshot(path=shots / f"analysis-{width}.png", full_page=False)
            page.locator("h2", has_text="各单位指标").scroll_into_view_if_needed()
            page.screenshot(path=shots / f"analysis-{width}-table.png")
            page.screenshot(path=shots / f"analysis-{width}-full.png", full_page=True)
            # no Content-Security-Policy refusal (this stand-in server has no favicon)
            assert not [m for m in problems if "Refused" in m or "Security" in m], problems
            page.close()
        browser.close()
