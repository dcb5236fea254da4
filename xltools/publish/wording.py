"""The wording of the report (xltools/publish/wording.toml, or an office's own copy) and the
figure sentences said with it.

Templates know only `{name}` (a figure, a change or a fact) and 【…】 (a place to write); no
attribute access, no expressions: an office's wording file is data, not code.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from xltools import XltoolsError
from xltools.publish.model import Piece
from xltools.spec import Form
from xltools.values import fmt

_TOKEN = re.compile(r"(\{[A-Za-z_][A-Za-z0-9_]*\}|【[^】]*】)")


def builtin_text() -> str:
    """The built-in wording file as written, comments included: what an office copies."""
    return resources.files("xltools.publish").joinpath("wording.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _builtin() -> dict:
    return tomllib.loads(builtin_text())


def _kind(v: Any) -> str:
    return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__


def _merge(base: dict, over: dict, where: str, problems: list[str]) -> dict:
    """`over` replaces entries of `base`; an entry must keep the built-in's kind (text, list,
    table, number) so that a typo in an office's file is named, not a crash later."""
    out = dict(base)
    for k, v in over.items():
        name = f"{where}.{k}" if where else k
        if k in base and _kind(base[k]) != _kind(v):
            problems.append(name)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            out[k] = _merge(base[k], v, name, problems)
        elif isinstance(v, list) and any(_kind(x) not in ("str", "dict") for x in v):
            problems.append(name)
        else:
            out[k] = v
    return out


def load_wording(path: str | Path | None = None) -> dict:
    """The built-in wording, with an office's file (if given) replacing the entries it has."""
    data = _builtin()
    if path is None:
        return data
    try:
        over = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise XltoolsError(data["messages"]["wording"].format(file=path, reason=reason)) from None
    problems: list[str] = []
    merged = _merge(data, over, "", problems)
    if problems:
        raise XltoolsError(
            data["messages"]["wording_kind"].format(file=path, names="、".join(problems[:5]))
        )
    return merged


def message(wording: Mapping, entry: str, **values: Any) -> str:
    return wording["messages"][entry].format(**values)


# --- figures ------------------------------------------------------------------------------------


def figure_keys(form: Form, spec: str | list[str]) -> list[str]:
    """The form keys a figure adds up; empty when the form has none of them."""
    out: list[str] = []
    for pattern in [spec] if isinstance(spec, str) else spec:
        out += [k for k in form.keys if fnmatch.fnmatchcase(k, pattern) and k not in out]
    return out


def figures(form: Form, values: Mapping[str, Any], wording: Mapping) -> dict[str, int | float]:
    """Every figure of the wording that this form has, from the checked values."""
    out: dict[str, int | float] = {}
    for name, spec in wording["figures"].items():
        keys = figure_keys(form, spec)
        if not keys or any(not isinstance(values.get(k), (int, float)) for k in keys):
            continue
        total = sum(values[k] for k in keys)
        out[name] = round(total, 6) if isinstance(total, float) else total
    return out


def change_text(now: int | float, before: int | float, wording: Mapping) -> str:
    words = wording["change"]
    if before == 0:
        return "" if now == 0 else words["from_zero"]
    if now == before:
        return words["same"]
    pct = f"{abs(now - before) / before * 100:.1f}".removesuffix(".0")
    return words["up" if now > before else "down"].format(pct=pct)


# --- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unknown(Exception):
    name: str
    text: str


def names_in(text: str) -> list[str]:
    return [t[1:-1] for t in _TOKEN.findall(text) if t.startswith("{")]


def render(
    text: str, facts: Mapping[str, Any], missing: Mapping[str, str] | None = None
) -> tuple[Piece, ...]:
    """The template as pieces: its own text plain, 【…】 marked, each {name} replaced by the
    fact (plain: it is data) or, where the fact is missing, by its 【…】 stand-in (marked)."""
    pieces: list[Piece] = []

    def add(s: str, mark: bool) -> None:
        if not s:
            return
        if pieces and pieces[-1].mark == mark:
            pieces[-1] = Piece(pieces[-1].text + s, mark)
        else:
            pieces.append(Piece(s, mark))

    for part in _TOKEN.split(text):
        if part.startswith("{") and part.endswith("}") and _TOKEN.fullmatch(part):
            name = part[1:-1]
            value = facts.get(name)
            if value is None or value == "":
                if missing and name in missing:
                    add(missing[name], True)
                    continue
                if name in facts:  # known, but empty (a change with no last year)
                    continue
                raise Unknown(name, text)
            add(fmt(value) if isinstance(value, (int, float)) else str(value), False)
        elif part.startswith("【"):
            add(part, True)
        else:
            add(part, False)
    return tuple(pieces)


def sentence(
    name: str, form: Form, figs: Mapping[str, Any], changes: Mapping[str, str], wording: Mapping
) -> str | None:
    """One figure sentence, or None when the form lacks a figure it needs or `when` says
    there is nothing to say."""
    entry = wording["sentences"][name]
    text = entry["text"]
    needed = [n for n in names_in(text) if not n.endswith("_change")]
    if any(n not in figs for n in needed):
        return None
    when = entry.get("when", [])
    if when and any(n not in figs for n in when):
        return None
    if when and all(figs[n] == 0 for n in when):
        return entry.get("zero")
    facts = {**figs, **{f"{n}_change": changes.get(n, "") for n in figs}}
    return "".join(p.text for p in render(text, facts))


# --- a coordinator's report: the peer groups and the trend (results.json) ------------------------


def _shown(value: Any, unit: str, words: Mapping) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return words["undefined"]
    if unit == "%":
        return f"{fmt(round(value * 100, 1))}%"
    return f"{fmt(round(value, 2) if isinstance(value, float) else value)}{unit}"


def analysis_figures(doc: Mapping, wording: Mapping) -> dict[str, str]:
    """The facts of the `peers` and `trend` sentences from a consolidation's results.json
    (its indicator_defs, peer_groups, trend_totals); {} for what the document does not hold."""
    words = wording.get("analysis") or {}
    if not words:
        return {}
    defs = {d.get("id"): d for d in doc.get("indicator_defs") or [] if isinstance(d, dict)}
    out: dict[str, str] = {}
    groups = doc.get("peer_groups") or {}
    said = []
    for group, by_id in groups.items():
        items = []
        n = 0
        for iid in words.get("peer_indicators", []):
            st, d = (by_id or {}).get(iid), defs.get(iid)
            if not st or not d or not st.get("n"):
                continue
            n = max(n, st["n"])
            unit = d.get("unit") or ""
            items.append(
                words["peer_item"].format(
                    name=d.get("name"),
                    p25=_shown(st.get("p25"), unit, words),
                    p50=_shown(st.get("p50"), unit, words),
                    p75=_shown(st.get("p75"), unit, words),
                )
            )
        if items:
            said.append(
                words["peer_group"].format(group=group, n=n, items=words["item_join"].join(items))
            )
    if said:
        out["peer_figures"] = words["group_join"].join(said)
    totals = doc.get("trend_totals") or {}
    years = sorted({int(y) for ys in totals.values() for y in ys if str(y).isdigit()})
    if len(years) >= 2:
        items = []
        for iid in words.get("trend_indicators", []):
            d, ys = defs.get(iid), totals.get(iid) or {}
            if not d:
                continue
            values = words["value_join"].join(
                _shown(ys.get(str(y)), d.get("unit") or "", words) for y in years
            )
            items.append(words["trend_item"].format(name=d.get("name"), values=values))
        if items:
            out.update(
                trend_first=str(years[0]),
                trend_last=str(years[-1]),
                trend_figures=words["item_join"].join(items),
            )
    return out
