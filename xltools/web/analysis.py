"""The coordinator's 分析 page: a results.json document -> the page's context.

    analysis_context(doc, sort=None, order="desc", group=None) -> dict for analysis.html

Pure: no Flask, no request, no files. Tables are sorted on the server (the column headers are
links with ?sort=<id>&order=asc|desc&group=…); charts are SVG written here as text (no
JavaScript, no external resource: the page's Content-Security-Policy allows none). Every name
and figure from the document is escaped before it enters an SVG.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable
from urllib.parse import urlencode

from markupsafe import Markup

from xltools import XltoolsError
from xltools.analytics import PEER_RULES, show, with_unit
from xltools.formula import matching
from xltools.messages import ANALYTICS
from xltools.spec import RATE_UNIT, Form, load_form

ORDERS = ("desc", "asc")
NAME_SORT = "agency"
CHART_GROUPS = 12  # the box-like charts show the largest groups; the tables show every group
_COLORS = ("#2E75B6", "#C55A11", "#548235", "#7030A0", "#BF9000", "#1F4E79", "#A5A5A5")


@dataclass(frozen=True, slots=True)
class Def:
    """An indicator as results.json defines it (enough to show its values)."""

    id: str
    name: str
    unit: str
    formula: str = ""
    meaning: str = ""

    @property
    def is_rate(self) -> bool:
        return self.unit == RATE_UNIT


def _defs(doc: dict) -> list[Def]:
    out = []
    for d in doc.get("indicator_defs") or []:
        if isinstance(d, dict) and d.get("id"):
            out.append(
                Def(
                    str(d["id"]),
                    str(d.get("name") or d["id"]),
                    str(d.get("unit") or ""),
                    str(d.get("formula") or ""),
                    str(d.get("meaning") or ""),
                )
            )
    return out


def _num(v: Any) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def analysis_context(
    doc: dict | None, sort: str | None = None, order: str | None = None, group: str | None = None
) -> dict:
    """Everything analysis.html shows: definitions, this year's totals, the peer groups (a
    table and a box-like SVG chart each for counts and rates), one row per included agency
    (sortable by any indicator, filterable by group), the peer warnings and, when earlier
    years are known, the trend of the totals (SVG line charts) and of each agency."""
    defs = _defs(doc or {})
    if not doc or not defs:
        return {"available": False, "message": ANALYTICS.web_no_analysis}
    by_id = {d.id: d for d in defs}
    groups_doc = doc.get("peer_groups") or {}
    entries = [e for e in doc.get("entries") or [] if isinstance(e, dict)]
    members = [e for e in entries if e.get("included") and isinstance(e.get("indicators"), dict)]
    group_names = sorted(
        groups_doc, key=lambda g: (-sum(1 for e in members if e.get("peer_group") == g), g)
    )
    if group not in groups_doc:
        group = None
    if sort not in by_id and sort != NAME_SORT:
        sort = None
    order = order if order in ORDERS else "desc"
    totals = doc.get("indicator_totals") or {}
    try:
        form = load_form(str(doc.get("form") or ""))
    except XltoolsError:
        form = None
    return {
        "available": True,
        "definitions": [
            {
                "name": d.name,
                "unit": d.unit,
                "formula": formula_words(d.formula, form, by_id),
                "meaning": d.meaning,
            }
            for d in defs
        ],
        "report_year": doc.get("year"),
        "created": doc.get("created"),
        "defs": defs,
        "totals": [
            {"name": d.name, "value": with_unit(d, _num(totals.get(d.id))), "meaning": d.meaning}
            for d in defs
        ],
        "groups": _group_tables(defs, groups_doc, group_names),
        "box_counts": _box_svg(
            [d for d in defs if not d.is_rate], groups_doc, group_names, ANALYTICS.box_counts_title
        ),
        "box_rates": _box_svg(
            [d for d in defs if d.is_rate], groups_doc, group_names, ANALYTICS.box_rates_title
        ),
        "group_names": group_names,
        "group": group,
        "sort": sort,
        "order": order,
        "columns": _columns(defs, sort, order, group),
        "rows": _rows(defs, members, groups_doc, sort, order, group),
        "warnings": _warnings(members, group),
        **_trend(defs, doc),
    }


_SUM = re.compile(r"sum\(\s*([A-Za-z0-9_*]+)\s*\)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = str.maketrans({"*": "×", "/": "÷"})


def formula_words(formula: str, form: Form | None, defs: dict[str, Def]) -> str:
    """An indicator's formula as people read it: each key as its table and captions, each
    indicator by its name, sum(pattern) as the rows it adds (never a key)."""
    if form is None:
        return ""
    keys = [f.key for f in form.fields]

    def key_words(key: str) -> str:
        f = form.by_key.get(key)
        if f is None:
            return key
        return ANALYTICS.text("formula_key", sheet=f.sheet, row=f.row_caption, col=f.col_caption)

    def name(m: re.Match) -> str:
        word = m.group(0)
        if word in defs:
            return ANALYTICS.text("formula_indicator", name=defs[word].name)
        return key_words(word) if word in form.by_key else word

    def total(m: re.Match) -> str:
        found = [form.by_key[k] for k in matching(m.group(1), keys)]
        if not found:
            return m.group(0)
        if len(found) == 1:
            return key_words(found[0].key)
        first, last = found[0], found[-1]
        return (
            "\0"
            + ANALYTICS.text(
                "formula_sum",
                sheet=first.sheet,
                first=first.row_caption,
                last=last.row_caption,
                n=len(found),
                col=first.col_caption,
            )
            + "\0"
        )

    # sums first (their words are kept apart from the name pass by NUL marks)
    parts = _SUM.sub(total, formula).split("\0")
    out = []
    for i, part in enumerate(parts):
        out.append(part if i % 2 else _NAME.sub(name, part.translate(_OPERATORS)))
    return " ".join("".join(out).split())


def _link(sort: str, order: str, group: str | None) -> str:
    params = {"sort": sort, "order": order}
    if group:
        params["group"] = group
    return "?" + urlencode(params)


def _columns(defs: list[Def], sort: str | None, order: str, group: str | None) -> list[dict]:
    """The agencies' table's headers: each a link that sorts by it (again: the other way)."""

    def column(key: str, label: str) -> dict:
        active = sort == key
        nxt = ("asc" if order == "desc" else "desc") if active else "desc"
        if key == NAME_SORT and not active:
            nxt = "asc"
        return {
            "key": key,
            "label": label,
            "href": _link(key, nxt, group),
            "active": active,
            "aria_sort": ("descending" if order == "desc" else "ascending") if active else None,
        }

    return [column(NAME_SORT, ANALYTICS.agency_heads[0])] + [
        column(d.id, ANALYTICS.text("value_head", name=d.name, unit=d.unit)) for d in defs
    ]


def _rows(
    defs: list[Def],
    members: list[dict],
    groups_doc: dict,
    sort: str | None,
    order: str,
    group: str | None,
) -> list[dict]:
    rows = []
    for e in members:
        g = e.get("peer_group")
        if group and g != group:
            continue
        values = e.get("indicators") or {}
        ranks = e.get("ranks") or {}
        flagged = set(e.get("peer_flags") or {})
        cells = []
        for d in defs:
            v = _num(values.get(d.id))
            n = ((groups_doc.get(g) or {}).get(d.id) or {}).get("n")
            rank = ranks.get(d.id)
            cells.append(
                {
                    "text": show(d, v),
                    "undefined": v is None,
                    "rank": ANALYTICS.text("web_rank", rank=rank, n=n) if rank and n else "",
                    "flagged": d.id in flagged,
                }
            )
        rows.append(
            {
                "agency": str(e.get("agency") or ""),
                "group": g or "",
                "cells": cells,
                "flags": sum(1 for c in cells if c["flagged"]),
                "_values": values,
            }
        )
    if sort == NAME_SORT:
        rows.sort(key=lambda r: r["agency"], reverse=order == "desc")
    elif sort:
        present = [r for r in rows if _num(r["_values"].get(sort)) is not None]
        absent = [r for r in rows if _num(r["_values"].get(sort)) is None]
        present.sort(key=lambda r: r["_values"][sort], reverse=order == "desc")
        rows = present + absent  # undefined last, whichever way
    for r in rows:
        del r["_values"]
    return rows


def _warnings(members: list[dict], group: str | None) -> list[dict]:
    out = []
    for e in members:
        if group and e.get("peer_group") != group:
            continue
        for f in e.get("findings") or []:
            if isinstance(f, dict) and f.get("rule") in PEER_RULES:
                where = f"{f.get('sheet')}!{f.get('cell')}" if f.get("sheet") else ""
                out.append(
                    {
                        "agency": str(e.get("agency") or ""),
                        "group": str(e.get("peer_group") or ""),
                        "rule": str(f.get("rule")),
                        "where": where,
                        "message": str(f.get("message") or ""),
                    }
                )
    return out


def _group_tables(defs: list[Def], groups_doc: dict, names: list[str]) -> list[dict]:
    out = []
    for g in names:
        rows = []
        for d in defs:
            st = (groups_doc.get(g) or {}).get(d.id) or {}
            rows.append(
                {
                    "name": d.name,
                    "n": st.get("n") or 0,
                    "p25": show(d, _num(st.get("p25"))),
                    "p50": show(d, _num(st.get("p50"))),
                    "p75": show(d, _num(st.get("p75"))),
                    "pooled": show(d, _num(st.get("pooled"))),
                }
            )
        out.append({"name": g, "rows": rows})
    return out


# --- SVG ----------------------------------------------------------------------------------------


def _axis(v: float) -> tuple[float, list[float]]:
    """A round axis from 0 a little above v: its end and ticks (1, 2, 2.5 or 5 × 10^n apart)."""
    if v <= 0:
        v = 1.0
    raw = v * 1.05 / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [step * i for i in range(math.ceil(v * 1.05 / step) + 1)]
    return ticks[-1], ticks


def _tick_text(v: float, rate: bool) -> str:
    if rate:
        return ANALYTICS.text("percent", value=f"{round(v * 100, 1):g}")
    return f"{round(v, 6):g}"


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> Markup:
    t = escape(title)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{t}" class="chart">'
        f"<title>{t}</title>" + "".join(body) + "</svg>"
    )


def _box_svg(defs: list[Def], groups_doc: dict, names: list[str], title: str) -> Markup | None:
    """Box-like bars per (indicator, group): the box from P25 to P75, a line at the median."""
    rows = []
    for d in defs:
        for g in names[:CHART_GROUPS]:
            st = (groups_doc.get(g) or {}).get(d.id) or {}
            if st.get("n") and _num(st.get("p25")) is not None:
                rows.append((d, g, st))
    if not rows:
        return None
    if len(names) > CHART_GROUPS:
        title += ANALYTICS.text("chart_some_groups", n=CHART_GROUPS)
    rate = defs[0].is_rate
    top, ticks = _axis(max(_num(st.get("p75")) or 0 for _, _, st in rows))
    label_w, width, row_h, head = 230, 720, 26, 34
    plot_w = width - label_w - 20
    height = head + row_h * len(rows) + 26

    def x(v: float) -> float:
        return label_w + plot_w * (v / top if top else 0)

    body = [
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" class="chart-title">'
        f"{escape(title)}</text>"
    ]
    for v in ticks:
        body.append(
            f'<line x1="{x(v):.1f}" y1="{head - 6}" x2="{x(v):.1f}" '
            f'y2="{head + row_h * len(rows)}" class="grid"/>'
            f'<text x="{x(v):.1f}" y="{head + row_h * len(rows) + 16}" text-anchor="middle" '
            f'class="tick">{escape(_tick_text(v, rate))}</text>'
        )
    for i, (d, g, st) in enumerate(rows):
        y = head + i * row_h
        p25, p50, p75 = (_num(st.get(k)) or 0 for k in ("p25", "p50", "p75"))
        label = ANALYTICS.text("web_box_label", name=d.name, group=g, n=st.get("n"))
        tip = ANALYTICS.text(
            "web_box_tip",
            name=d.name,
            group=g,
            n=st.get("n"),
            p25=show(d, p25),
            p50=show(d, p50),
            p75=show(d, p75),
        )
        body.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.0f}" text-anchor="end" '
            f'class="label">{escape(label)}</text>'
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{x(p25):.1f}" y="{y + 5}" width="{max(x(p75) - x(p25), 1.5):.1f}" '
            f'height="{row_h - 10}" class="box"/>'
            f'<line x1="{x(p50):.1f}" y1="{y + 3}" x2="{x(p50):.1f}" y2="{y + row_h - 3}" '
            f'class="median"/></g>'
        )
    return _svg(width, height, title, body)


def _line_svg(years: list[int], series: list[tuple[Def, list[float | None]]], title: str):
    """One line per indicator over the years, a point at every year known (its figure in a
    tooltip and in the table beside the chart)."""
    known = [v for _, vs in series for v in vs if v is not None]
    if not known or len(years) < 2:
        return None
    rate = series[0][0].is_rate
    top, ticks = _axis(max(known))
    width, height, left, right, head, foot = 720, 300, 60, 20, 34, 64
    plot_w, plot_h = width - left - right, height - head - foot

    def x(i: int) -> float:
        return left + plot_w * (i / (len(years) - 1))

    def y(v: float) -> float:
        return head + plot_h * (1 - (v / top if top else 0))

    body = [
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" class="chart-title">'
        f"{escape(title)}</text>"
    ]
    for v in ticks:
        body.append(
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(_tick_text(v, rate))}</text>"
        )
    for i, year in enumerate(years):
        body.append(
            f'<text x="{x(i):.1f}" y="{head + plot_h + 18}" text-anchor="middle" class="tick">'
            f"{escape(ANALYTICS.text('trend_year', year=year))}</text>"
        )
    for k, (d, values) in enumerate(series):
        color = _COLORS[k % len(_COLORS)]
        points = [(x(i), y(v), v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>'
            )
        # the figures are in the table under the chart; on the chart a point names its own
        for (px, py, v), year in zip(points, [yr for yr, v in zip(years, values) if v is not None]):
            tip = ANALYTICS.text("web_point_tip", name=d.name, year=year, value=show(d, v))
            body.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{color}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        lx = left + (k % 4) * 165
        ly = height - 22 + (k // 4) * 16
        body.append(
            f'<rect x="{lx}" y="{ly - 9}" width="14" height="4" fill="{color}"/>'
            f'<text x="{lx + 20}" y="{ly}" class="legend">{escape(d.name)}</text>'
        )
    return _svg(width, height, title, body)


def _trend(defs: list[Def], doc: dict) -> dict:
    totals = doc.get("trend_totals") or {}
    years = sorted({int(y) for ys in totals.values() for y in ys if str(y).isdigit()})
    if len(years) < 2:
        return {
            "years": [],
            "trend_rows": [],
            "trend_agencies": [],
            "trend_counts": None,
            "trend_rates": None,
        }

    def values(d: Def, ys: dict) -> list[float | None]:
        return [_num(ys.get(str(y))) for y in years]

    rows = [
        {
            "name": d.name,
            "unit": d.unit,
            "figures": [show(d, v) for v in values(d, totals.get(d.id) or {})],
        }
        for d in defs
    ]
    trend_flags = {d.get("id"): d.get("trend") for d in doc.get("indicator_defs") or []}
    counts = [d for d in defs if not d.is_rate and trend_flags.get(d.id, True)]
    rates = [d for d in defs if d.is_rate]
    agencies = []
    for agency, by_id in (doc.get("trends") or {}).items():
        for d in defs:
            ys = by_id.get(d.id) or {}
            agencies.append(
                {
                    "agency": agency,
                    "name": d.name,
                    "figures": [show(d, v) if v is not None else "" for v in values(d, ys)],
                }
            )
    return {
        "years": years,
        "trend_rows": rows,
        "trend_agencies": agencies,
        "trend_counts": _line_svg(
            years,
            [(d, values(d, totals.get(d.id) or {})) for d in counts],
            ANALYTICS.trend_counts_chart,
        ),
        "trend_rates": _line_svg(
            years,
            [(d, values(d, totals.get(d.id) or {})) for d in rates],
            ANALYTICS.trend_rates_chart,
        ),
    }
