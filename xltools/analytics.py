"""Indicators, peer groups, peer warnings and trends of a consolidation.

    analyse(result)   -> Analysis: run once per consolidation (plain or a season's), before the
                         summary workbook is written (xltools.summary calls `analysis_of`)

* Indicators (xltools/forms/indicators.toml, loaded by xltools.spec): each entry's values on
  its own form, and the consolidated totals. Undefined (a blank cell, a ratio over 0) is None.
* Peer groups: the included agencies grouped by the roster's 上级/分组, else by the cover's
  机关类型; per group and indicator n, P25, P50, P75 (Excel's PERCENTILE.INC) and the pooled
  figure (a rate's summed numerator over its summed denominator), each agency's rank (1 = the
  largest, ties share the smaller rank as Excel's RANK.EQ).
* Peer warnings, the `peers` stage of rules peer-zero, peer-count, peer-rate: findings added to
  the agency's report (warnings only; thresholds in indicators.toml [peers]).
* Trends: when the consolidation carries `last_year` (a season with --previous: an object with
  `year`, `records`, `find(name, uscc)` and `earlier()`, see xltools.season.lastyear), each
  included agency's indicators and the totals per year, over up to [trends] years.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from xltools import XltoolsError
from xltools.findings import Finding, fmt, make_finding
from xltools.formula import Fn, bind, expand, first_key, ratio_parts
from xltools.messages import ANALYTICS
from xltools.spec import Form, Indicator, Indicators, form_for_year, load_form, load_indicators
from xltools.vocabulary import OK, WARNINGS

if TYPE_CHECKING:
    from xltools.consolidation import Consolidation, Entry

Value = int | float | None

PEER_ZERO, PEER_COUNT, PEER_RATE = "peer-zero", "peer-count", "peer-rate"
PEER_RULES = (PEER_ZERO, PEER_COUNT, PEER_RATE)


# --- evaluating the indicators ------------------------------------------------------------------


def _bound(indicators: Indicators, form: Form) -> tuple[tuple[str, Fn], ...]:
    key = ("values", form.id)
    hit = indicators.bound.get(key)
    if hit is None:
        trees = indicators.trees
        hit = tuple((i.id, bind(i.tree, form.keys, trees)) for i in indicators)
        indicators.bound[key] = hit
    return hit


def _ratio_parts(indicators: Indicators, form: Form) -> dict[str, tuple[Fn, Fn]]:
    """Numerator and denominator functions of each rate (for the peer test on counts)."""
    key = ("parts", form.id)
    hit = indicators.bound.get(key)
    if hit is None:
        trees = indicators.trees
        hit = {}
        for i in indicators:
            parts = ratio_parts(expand(i.tree, trees)) if i.is_rate else None
            if parts:
                hit[i.id] = (bind(parts[0], form.keys, trees), bind(parts[1], form.keys, trees))
        indicators.bound[key] = hit
    return hit


def indicator_values(
    values: Mapping[str, Any], form: Form, indicators: Indicators | None = None
) -> dict[str, Value]:
    """{indicator id: value or None} of one agency's (or the totals') values on `form`."""
    indicators = indicators or load_indicators()
    return {iid: fn(values) for iid, fn in _bound(indicators, form)}


# --- statistics ---------------------------------------------------------------------------------


def percentile_inc(ordered: list[float] | list[int], p: float) -> float | None:
    """Excel's PERCENTILE.INC of ascending `ordered`: linear interpolation between the closest
    ranks, rank h = (n − 1) p counted from 0."""
    n = len(ordered)
    if n == 0:
        return None
    h = (n - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def rank_desc(ordered: list[float], x: float) -> int:
    """Excel's RANK.EQ(x, …, 0) within ascending `ordered`: 1 + how many are larger."""
    return len(ordered) - bisect.bisect_right(ordered, x) + 1


def _log_pmf_binom(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def _tail(terms: Iterable[float]) -> float:
    """A sum of decreasing positive terms, stopped when they no longer matter."""
    total = 0.0
    for t in terms:
        total += t
        if t < total * 1e-15:
            break
    return total


def binomial_tail(k: int, n: int, p: float, upper: bool) -> float:
    """P(X >= k) (upper) or P(X <= k) for X ~ Binomial(n, p)."""
    if upper and k <= 0 or not upper and k >= n:
        return 1.0
    if p <= 0:
        return 0.0 if upper else 1.0
    if p >= 1:
        return 1.0 if upper else 0.0
    steps = range(k, n + 1) if upper else range(k, -1, -1)
    return min(1.0, _tail(math.exp(_log_pmf_binom(j, n, p)) for j in steps))


def poisson_tail(k: int, lam: float, upper: bool) -> float:
    """P(X >= k) (upper) or P(X <= k) for X ~ Poisson(lam)."""
    if upper and k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0 if upper else 1.0

    def pmf(j: int) -> float:
        return math.exp(j * math.log(lam) - lam - math.lgamma(j + 1))

    if upper:
        return min(1.0, _tail(pmf(j) for j in range(k, k + 100000)))
    return min(1.0, _tail(pmf(j) for j in range(k, -1, -1)))


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One indicator in one peer group: how many agencies have a value, its quartiles, and the
    group's pooled figure (a count's sum; a rate's summed numerator over summed denominator)."""

    n: int
    p25: float | None
    p50: float | None
    p75: float | None
    pooled: float | None

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "p25": _json(self.p25),
            "p50": _json(self.p50),
            "p75": _json(self.p75),
            "pooled": _json(self.pooled),
        }


def _json(v: Value) -> Value:
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    return v


# --- the analysis -------------------------------------------------------------------------------


@dataclass(slots=True)
class Analysis:
    indicators: Indicators
    groups: dict[str, dict[str, GroupStats]]  # group -> indicator id -> stats
    totals: dict[str, Value]  # the consolidated totals' indicators
    members: dict[str, list["Entry"]] = field(default_factory=dict)  # group -> included entries
    findings: list[Finding] = field(default_factory=list)  # every peer warning
    years: list[int] = field(default_factory=list)  # the trend's years, oldest first
    trends: dict[str, dict[str, dict[int, Value]]] = field(default_factory=dict)
    trend_totals: dict[str, dict[int, Value]] = field(default_factory=dict)
    trend_sources: dict[int, str] = field(default_factory=dict)  # year -> where its figures are

    def defs(self) -> list[dict]:
        """results.json's `indicator_defs`."""
        return [
            {
                "id": i.id,
                "name": i.name,
                "formula": i.formula,
                "unit": i.unit,
                "meaning": i.meaning,
                "peers": i.peers,
                "trend": i.trend,
            }
            for i in self.indicators
        ]

    def peer_groups(self) -> dict:
        """results.json's `peer_groups`: {group: {id: {n, p25, p50, p75, pooled}}}."""
        return {g: {i: s.to_dict() for i, s in by.items()} for g, by in self.groups.items()}

    def trends_doc(self) -> dict:
        """results.json's `trends`: {agency: {id: {year: value}}} (years as text: JSON keys)."""
        return {
            a: {i: {str(y): _json(v) for y, v in sorted(ys.items())} for i, ys in by.items()}
            for a, by in self.trends.items()
        }

    def trend_totals_doc(self) -> dict:
        return {
            i: {str(y): _json(v) for y, v in sorted(ys.items())}
            for i, ys in self.trend_totals.items()
        }


def group_of(entry: "Entry") -> str:
    """The peer group: the roster's 上级/分组, else the cover's 机关类型, else 未分组."""
    if entry.roster is not None and entry.roster.group:
        return str(entry.roster.group).strip()
    values = entry.report.values if entry.report else {}
    kind = values.get("meta_kind")
    if isinstance(kind, str) and kind.strip():
        return kind.strip()
    return ANALYTICS.ungrouped


def analysis_of(result: "Consolidation") -> Analysis:
    """The consolidation's analysis, computed on first use (every consolidation passes here
    when its summary workbook is written, a season's included)."""
    if result.analysis is None:
        result.analysis = analyse(result)
    return result.analysis


def analyse(result: "Consolidation", indicators: Indicators | None = None) -> Analysis:
    """Indicators of every entry with values; peer groups, ranks and peer warnings over the
    included ones (warnings added to their reports); trends when `result.last_year` is set."""
    indicators = indicators or load_indicators()
    forms: dict[str, Form] = {}
    for e in result.entries:
        if e.report is None or not e.report.values or not e.report.form:
            continue
        form = forms.get(e.report.form) or forms.setdefault(e.report.form, load_form(e.report.form))
        e.indicators = indicator_values(e.report.values, form, indicators)
    analysis = Analysis(indicators, {}, indicator_values(result.totals, result.form, indicators))
    members: dict[str, list[Entry]] = {}
    for e in result.entries:
        if e.included and e.indicators is not None:
            e.peer_group = group_of(e)
            members.setdefault(e.peer_group, []).append(e)
    # the largest group first, then by name: the order of every table and chart
    for g in sorted(members, key=lambda g: (-len(members[g]), g)):
        analysis.members[g] = members[g]
    settings = indicators.peers
    for group, members in analysis.members.items():
        by_id: dict[str, GroupStats] = {}
        for ind in indicators:
            by_id[ind.id] = _group(ind, group, members, forms, indicators, settings, analysis)
        analysis.groups[group] = by_id
    _trends(result, analysis, indicators)
    return analysis


def _group(
    ind: Indicator,
    group: str,
    members: list["Entry"],
    forms: dict[str, Form],
    indicators: Indicators,
    settings: Mapping[str, float],
    analysis: Analysis,
) -> GroupStats:
    have = [e for e in members if e.indicators.get(ind.id) is not None]
    ordered = sorted(e.indicators[ind.id] for e in have)
    parts: dict[int, tuple[Value, Value]] = {}
    if ind.is_rate:
        for e in have:
            fns = _ratio_parts(indicators, forms[e.report.form]).get(ind.id)
            if fns:
                parts[id(e)] = (fns[0](e.report.values), fns[1](e.report.values))
        nums = [p[0] for p in parts.values() if p[0] is not None]
        dens = [p[1] for p in parts.values() if p[1] is not None]
        pooled = sum(nums) / sum(dens) if dens and sum(dens) else None
    else:
        pooled = sum(ordered) if ordered else None
    stats = GroupStats(
        len(ordered),
        percentile_inc(ordered, 0.25),
        percentile_inc(ordered, 0.5),
        percentile_inc(ordered, 0.75),
        pooled,
    )
    for e in have:
        e.ranks[ind.id] = rank_desc(ordered, e.indicators[ind.id])
    if not ind.peers or stats.n < settings["min_group"]:
        return stats
    if ind.is_rate:
        found = _rate_warnings(ind, have, parts, stats, settings)
    else:
        found = _count_warnings(ind, have, stats, settings)
    for e, rule, extra in found:
        finding = _finding(ind, rule, e, group, stats, forms, indicators, **extra)
        e.report.findings.append(finding)
        if e.status == OK:
            e.status = WARNINGS
        analysis.findings.append(finding)
        e.peer_flags[ind.id] = rule
    return stats


def _count_warnings(
    ind: Indicator, have: list["Entry"], stats: GroupStats, s: Mapping[str, float]
) -> list[tuple["Entry", str, dict]]:
    """A zero where the group's median is at least `zero_median`; else a count at least
    `count_min_diff` from the median and either far from it on the log scale (robust spread:
    the median absolute deviation, with a floor) or `count_ratio` times above or below it."""
    ordered = sorted(e.indicators[ind.id] for e in have)
    logs = [math.log1p(max(x, 0)) for x in ordered]
    centre = percentile_inc(logs, 0.5)
    mad = percentile_inc(sorted(abs(x - centre) for x in logs), 0.5)
    spread = max(1.4826 * mad, s["count_spread_floor"])
    out = []
    for e in have:
        x = e.indicators[ind.id]
        if x == 0 and stats.p50 >= s["zero_median"]:
            out.append((e, PEER_ZERO, {}))
            continue
        if abs(x - stats.p50) < s["count_min_diff"]:
            continue
        z = (math.log1p(max(x, 0)) - centre) / spread
        ratio = s["count_ratio"]
        ordered.remove(x)  # the median of the others: an outlier does not move its own yardstick
        others = percentile_inc(ordered, 0.5)
        bisect.insort(ordered, x)
        far = x >= ratio * others or x * ratio <= others
        if abs(z) > s["count_z"] or far:
            out.append((e, PEER_COUNT, {"high": x > stats.p50}))
    return out


def _rate_warnings(
    ind: Indicator,
    have: list["Entry"],
    parts: dict[int, tuple[Value, Value]],
    stats: GroupStats,
    s: Mapping[str, float],
) -> list[tuple["Entry", str, dict]]:
    """A rate beyond the group's fences (P25 − k·IQR, P75 + k·IQR, IQR with a floor) whose
    counts are unlikely under the pooled rate of the group's other agencies: a binomial test
    when every numerator is a part of its denominator, else a Poisson test. The message quotes
    the others' pooled rate as counted (without the half case the test adds)."""
    iqr = max(stats.p75 - stats.p25, s["rate_iqr_floor"])
    k = s["rate_fence"]
    low, high = stats.p25 - k * iqr, stats.p75 + k * iqr
    counted = [p for p in parts.values() if p[0] is not None and p[1] is not None]
    total_num = sum(p[0] for p in counted)
    total_den = sum(p[1] for p in counted)
    proportion = all(0 <= p[0] <= p[1] for p in counted)
    out = []
    for e in have:
        x = e.indicators[ind.id]
        if low <= x <= high or id(e) not in parts:
            continue
        num, den = parts[id(e)]
        if num is None or den is None or den < s["rate_min_denominator"]:
            continue
        rest_den = total_den - den
        if rest_den <= 0:
            continue
        # the others' pooled rate, half a case added: a handful of cases never makes it 0 or 1
        rate = (total_num - num + 0.5) / (rest_den + 1)
        upper = x > high
        kk = round(num)
        if proportion:
            p = binomial_tail(kk, round(den), rate, upper)
        else:
            p = poisson_tail(kk, den * rate, upper)
        if p < s["rate_alpha"]:
            rest = (total_num - num) / rest_den
            out.append((e, PEER_RATE, {"high": upper, "num": num, "den": den, "rest": rest}))
    return out


def show(ind: Indicator, v: Value) -> str:
    """A value as people read it: a count as is, a rate as a percentage, undefined as “—”."""
    if v is None:
        return ANALYTICS.undefined
    if ind.is_rate:
        return ANALYTICS.text("percent", value=fmt(round(v * 100, 1)))
    return fmt(round(v, 2) if isinstance(v, float) else v)


def with_unit(ind: Indicator, v: Value) -> str:
    """show() followed by the unit, when it is not a percentage: “17 件”."""
    text = show(ind, v)
    if v is None or ind.is_rate or not ind.unit:
        return text
    return ANALYTICS.text("with_unit", value=text, unit=ind.unit)


def _finding(
    ind: Indicator,
    rule: str,
    e: "Entry",
    group: str,
    stats: GroupStats,
    forms: dict[str, Form],
    indicators: Indicators,
    high: bool = True,
    num: Value = None,
    den: Value = None,
    rest: Value = None,
) -> Finding:
    form = forms[e.report.form]
    key = ind.cell if ind.cell in form.by_key else first_key(ind.tree, form.keys, indicators.trees)
    value = e.indicators[ind.id]
    fill = {
        "label": ind.name,
        "value": with_unit(ind, value),
        "group": group,
        "n": stats.n,
        "median": with_unit(ind, stats.p50),
        "p25": show(ind, stats.p25),
        "p75": with_unit(ind, stats.p75),
        "direction": ANALYTICS.higher if high else ANALYTICS.lower,
    }
    if rule == PEER_RATE:
        fill.update(
            numerator=fmt(num),
            denominator=fmt(den),
            rest=show(ind, rest),
            median=show(ind, stats.p50),
            p75=show(ind, stats.p75),
        )
    f = make_finding(
        form,
        rule,
        form.by_key.get(key) if key else None,
        expected=_json(stats.p50),
        actual=_json(value),
        **fill,
    )
    return f


# --- trends -------------------------------------------------------------------------------------


def _history(result: "Consolidation", years: int) -> list[Any]:
    """Last year's figures and those before, following each year's own previous."""
    last = getattr(result, "last_year", None)
    out: list[Any] = []
    while last is not None and len(out) < years - 1:
        out.append(last)
        earlier = getattr(last, "earlier", None)
        try:
            last = earlier() if earlier else None
        except XltoolsError:  # an earlier year moved or damaged: the trend stops there
            last = None
    return out


def _trends(result: "Consolidation", analysis: Analysis, indicators: Indicators) -> None:
    history = _history(result, int(indicators.trends.get("years", 5)))
    if not history or result.year is None:
        return
    years = sorted({result.year, *(h.year for h in history)})
    analysis.years = years
    for ind in indicators:
        analysis.trend_totals[ind.id] = {result.year: analysis.totals.get(ind.id)}
    analysis.trend_sources[result.year] = ANALYTICS.this_consolidation
    for h in history:
        form = load_form(form_for_year(h.year))
        analysis.trend_sources[h.year] = Path(str(getattr(h, "source", ""))).name
        totals = _sum_values(r.values for r in h.records if getattr(r, "included", True))
        for iid, v in indicator_values(totals, form, indicators).items():
            analysis.trend_totals[iid][h.year] = v
    forms: dict[str, Form] = {}
    for members in analysis.members.values():
        for e in members:
            values = e.report.values
            uscc = values.get("meta_uscc") if isinstance(values.get("meta_uscc"), str) else None
            by_id: dict[str, dict[int, Value]] = {
                iid: {result.year: v} for iid, v in e.indicators.items()
            }
            for h in history:
                rec = h.find(e.name, uscc) or (
                    h.find(e.agency, uscc) if e.agency and e.agency != e.name else None
                )
                if rec is None:
                    continue
                fid = rec.form or form_for_year(h.year)
                form = forms.get(fid) or forms.setdefault(fid, load_form(fid))
                for iid, v in indicator_values(rec.values, form, indicators).items():
                    by_id[iid][h.year] = v
            analysis.trends[e.name] = by_id


def _sum_values(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for values in rows:
        for k, v in values.items():
            t = type(v)
            if t is int or t is float:
                out[k] = out.get(k, 0) + v
    return out
