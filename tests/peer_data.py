"""Generated agencies for the indicator, peer and trend tests: balanced reports of form 2021
whose figures follow one random process per group (counts log-normal around the group's
median, outcomes binomial around rates that differ from agency to agency), with outliers
planted on request.

Every figure sits in the 自然人 column of table 3 (the other columns 0), so each column
balances: 新收 + 上年结转 = 办理结果 + 结转下年度.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from factory import zero_values

from xltools.consolidate import Consolidation, Entry, sum_reports
from xltools.findings import Report
from xltools.roster import RosterEntry
from xltools.spec import load_form
from xltools.vocabulary import OK

# group -> (median of 本年新收, typical 实质公开率, typical 不予公开率)
GROUPS = {"市直部门": (40, 0.55, 0.10), "县（市、区）": (12, 0.45, 0.08)}


@dataclass
class Figures:
    new: int
    public: int
    partial: int
    withheld: int
    not_held: int
    carried_out: int
    review: tuple[int, int, int, int]  # upheld, corrected, other, pending
    direct: tuple[int, int, int, int]
    after_review: tuple[int, int, int, int]
    carried_in: int = 0

    def values(self, name: str, year: int = 2022, form_id: str = "2021", **meta) -> dict:
        v = zero_values(form_id, meta_agency=name, meta_year=year, **meta)
        v.update(
            t3_new_person=self.new,
            t3_carried_in_person=self.carried_in,
            t3_public_person=self.public,
            t3_partial_person=self.partial,
            t3_withheld_third_party_person=self.withheld,
            t3_unavailable_not_held_person=self.not_held,
            t3_carried_out_person=self.carried_out,
        )
        for prefix, parts in (
            ("review", self.review),
            ("direct", self.direct),
            ("after_review", self.after_review),
        ):
            for suffix, n in zip(("upheld", "corrected", "other", "pending"), parts):
                v[f"t4_{prefix}_{suffix}"] = n
        # the totals as the template's formulas would give them
        form = load_form(form_id)
        for f in form.fields:
            if f.is_total and f.sheet == "表四":
                v[f.key] = sum(v[k] for k in f.sum_of)
        for f in form.fields:
            if f.is_total and f.sheet == "表三" and f.key.endswith("_total"):
                v[f.key] = sum(v.get(k, 0) or 0 for k in f.sum_of)
        results = self.public + self.partial + self.withheld + self.not_held
        v["t3_results_person"] = v["t3_results_total"] = results
        return v


def _binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p)


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: small means only
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def _outcomes(rng: random.Random, n: int, p_corrected: float) -> tuple[int, int, int, int]:
    corrected = _binomial(rng, n, p_corrected)
    pending = _binomial(rng, n - corrected, 0.1)
    other = _binomial(rng, n - corrected - pending, 0.1)
    return n - corrected - pending - other, corrected, other, pending


def clean(rng: random.Random, group: str, new: int | None = None, carry: bool = True) -> Figures:
    """One agency of `group` as the random process makes it (`carry=False`: nothing carried
    to next year, so a chain of years agrees on 上年结转)."""
    median, disclosure, withheld = GROUPS[group]
    if new is None:
        new = max(0, round(median * math.exp(rng.gauss(0, 0.5))))
    carried_out = _binomial(rng, new, 0.05) if carry else 0
    results = new - carried_out
    # the agency's own rates vary around the group's (more than chance alone would)
    p_disc = min(0.95, max(0.05, rng.gauss(disclosure, 0.08)))
    p_with = min(0.9, max(0.0, rng.gauss(withheld, 0.03)))
    disclosed = _binomial(rng, results, p_disc)
    partial = _binomial(rng, disclosed, 0.2)
    rest = results - disclosed
    withheld_n = min(rest, _binomial(rng, results, p_with))
    reviews = _poisson(rng, new * 0.05)
    direct = _poisson(rng, new * 0.02)
    after = _poisson(rng, reviews * 0.2)
    return Figures(
        new,
        disclosed - partial,
        partial,
        withheld_n,
        rest - withheld_n,
        carried_out,
        _outcomes(rng, reviews, 0.1),
        _outcomes(rng, direct, 0.1),
        _outcomes(rng, after, 0.1),
    )


def withheld_outlier(rng: random.Random, group: str, new: int, rate: float) -> Figures:
    """An agency whose 不予公开率 is `rate` over `new` applications (the rest as usual)."""
    f = clean(rng, group, new)
    results = f.public + f.partial + f.withheld + f.not_held
    f.withheld = round(results * rate)
    rest = results - f.withheld
    f.partial = round(rest * 0.1)
    f.public = round(rest * 0.4)
    f.not_held = rest - f.partial - f.public
    return f


def nothing() -> Figures:
    z = (0, 0, 0, 0)
    return Figures(0, 0, 0, 0, 0, 0, z, z, z)


def season(rng: random.Random, per_group: int = 30) -> list[tuple[str, str, Figures]]:
    """(agency, group, figures) for `per_group` clean agencies in each group."""
    out = []
    for g in GROUPS:
        for i in range(per_group):
            out.append((f"{g}第{i + 1:02d}单位", g, clean(rng, g)))
    return out


def consolidation(agencies: list[tuple[str, str, Figures]], year: int = 2022) -> Consolidation:
    """The agencies as an in-memory consolidation (every one included), ready for analyse()."""
    form = load_form("2021")
    entries = []
    for name, group, figures in agencies:
        report = Report(file=f"{name}.xlsx", form="2021", agency=name, year=year)
        report.values = figures.values(name, year)
        entries.append(
            Entry(OK, name, RosterEntry(name, group=group), report.file, report, included=True)
        )
    totals = sum_reports([e.report for e in entries], form)
    return Consolidation(None, year, form, entries, totals)
