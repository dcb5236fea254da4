"""text-vs-table: figures the report's text restates, compared with its tables.

Conservative on purpose: only statements of a few fixed shapes are read (received N
applications, N of a given result — alone or several named together —, N review or
litigation cases, none of them, all upheld …), with the words the form's TOML gives for each
figure, only in a clause that speaks of one thing, and only against table cells that hold
plain numbers. Anything else
is left alone: a missed statement costs nothing, a wrong warning costs a person's time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from xltools.findings import Finding
from xltools.messages import Section
from xltools.published.docspec import doc_spec
from xltools.published.document import Line
from xltools.reader.base import RawCell
from xltools.spec import Form
from xltools.values import make_finding

MSG = Section("published")
# the words of report prose this reader recognises (input, never shown): messages.toml [grammar]
GRAMMAR = Section("grammar")

# fullwidth digits and point (U+FF10..FF19, U+FF0E) read as ASCII
_FULLWIDTH_DIGITS = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, chr(0xFF0E): "."}
)
_DIGITS: dict[str, int] = GRAMMAR.digits
_UNITS: dict[str, int] = GRAMMAR.units
_CN = "".join(_DIGITS) + "".join(_UNITS)
N = rf"(\d+|[{_CN}]+)"
AMOUNT = r"(\d+(?:\.\d+)?)"
_CLAUSE = r"[^，。；,;：:（）()]"  # stays inside one clause


def cn_number(s: str) -> int | None:
    """'12' / '两' / '十二' / '一百零五' -> int."""
    if s.isdigit():
        return int(s)
    total, digit = 0, None
    for ch in s:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


@dataclass(frozen=True, slots=True)
class Claim:
    metric: str  # what the text states, a key of the metrics
    value: float | int
    phrase: str  # the words that state it
    sentence: str
    where: str


@dataclass(frozen=True)
class Vocabulary:
    """The text-vs-table vocabulary of one form, built from its TOML ([published.text])."""

    metrics: dict[str, tuple[str, list[str]]]  # metric -> (what the table calls it, keys summed)
    patterns: list[tuple[re.Pattern, Callable[[re.Match], str], tuple[str, ...]]]
    results: list[tuple[re.Pattern, str]]  # case results in table 4, by column id
    all_upheld: re.Pattern | None
    review: str
    litigation: str


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _t3_keys(form: Form, rows: list[str], col: str) -> list[str]:
    """Table 3 keys of the column `col` for row ids (a trailing * takes every row so named)."""
    out = []
    prefix = "t3_"
    ids = [
        f.key[len(prefix) : -len(col) - 1]
        for f in form.fields
        if f.key.startswith(prefix) and f.key.endswith("_" + col)
    ]
    for r in rows:
        out += [
            f"t3_{i}_{col}" for i in ids if (i.startswith(r[:-1]) if r.endswith("*") else i == r)
        ]
    return out


@lru_cache(maxsize=None)
def vocabulary(form_id: str) -> Vocabulary:
    spec = doc_spec(form_id)
    form, t = spec.form, spec.text
    rows3 = spec.rows(spec.section(3).table)
    total_col = next(f.key.rsplit("_", 1)[1] for f in rows3[0][1] if f.is_total)
    row_of = {f.key: cap for cap, fs in rows3 for f in fs}
    t3sheet = rows3[0][1][0].sheet

    def t3label(keys: list[str], phrase: str | None = None) -> str:
        col = form.field(keys[0]).col_caption
        if len(keys) == 1:
            return MSG.cells_one.format(sheet=t3sheet, row=row_of[keys[0]], col=col)
        if phrase:
            return MSG.cells_group.format(sheet=t3sheet, phrase=phrase, col=col)
        return MSG.cells_rows.format(
            sheet=t3sheet, rows=MSG.cells_join.join(f"“{row_of[k]}”" for k in keys), col=col
        )

    new, carried_in = _t3_keys(form, ["new"], total_col), _t3_keys(form, ["carried_in"], total_col)
    m: dict[str, tuple[str, list[str]]] = {
        "new": (t3label(new), new),
        "received": (t3label(new + carried_in), new + carried_in),
        "carried_in": (t3label(carried_in), carried_in),
        "carried_out": (
            t3label(_t3_keys(form, ["carried_out"], total_col)),
            _t3_keys(form, ["carried_out"], total_col),
        ),
    }
    result_ids: dict[str, str] = {}
    for r in t.get("results", ()):
        keys = _t3_keys(form, r["rows"], total_col)
        if keys:
            m[r["id"]] = (t3label(keys, r["phrases"][0]), keys)
            for ph in r["phrases"]:
                result_ids[ph] = r["id"]
    handled = t.get("handled", {})
    if handled:
        keys = _t3_keys(form, handled["rows"], total_col)
        m["handled"] = (t3label(keys), keys)
    # table 4: the review group and the litigation groups, columns by the key's last part
    t4 = spec.table_fields(spec.section(4).table)
    review, litigation = t.get("review", ""), t.get("litigation", "")
    groups: dict[str, list] = {}
    for f in t4:
        groups.setdefault(f.row_caption, []).append(f)
    rev = groups.get(review, [])
    lit = [fs for cap, fs in groups.items() if cap != review and cap.startswith(litigation)]
    t4sheet = spec.section(4).table

    def col(fs, c):
        return next(
            (f for f in fs if f.key.endswith("_" + c) or (c == "total" and f.is_total)), None
        )

    if rev:
        m["review"] = (
            MSG.cells_one.format(sheet=t4sheet, row=review, col=col(rev, "total").col_caption),
            [col(rev, "total").key],
        )
    if lit:
        m["litigation"] = (
            MSG.cells_groups.format(
                sheet=t4sheet, row=litigation, col=col(lit[0], "total").col_caption
            ),
            [col(fs, "total").key for fs in lit],
        )
    results: list[tuple[re.Pattern, str]] = []
    for cr in t.get("case_results", ()):
        c = cr["col"]
        if rev and col(rev, c):
            m[f"review_{c}"] = (
                MSG.cells_cell.format(sheet=t4sheet, row=review, col=col(rev, c).col_caption),
                [col(rev, c).key],
            )
        if lit and all(col(fs, c) for fs in lit):
            m[f"litigation_{c}"] = (
                MSG.cells_groups_cell.format(
                    sheet=t4sheet, row=litigation, col=col(lit[0], c).col_caption
                ),
                [col(fs, c).key for fs in lit],
            )
        ph = _alt(cr["phrases"])
        results.append(
            (
                re.compile(
                    rf"(?:结果)?(?:被)?(?:{ph})(?:原)?(?:行政行为|决定)?{N}件|{N}件(?:{ph})"
                ),
                c,
            )
        )
    upheld = next(
        (cr["phrases"] for cr in t.get("case_results", ()) if cr["col"] == "upheld"), None
    )
    all_upheld = (
        re.compile(rf"(?:均|全部|都)(?:已)?(?:获|被|予以|得到)?(?:{_alt(upheld)})")
        if upheld
        else None
    )
    normative = t.get("normative", {})
    if normative:
        m["normative"] = (_t2label(form, normative["issued"]), [normative["issued"]])
        m["normative_published"] = (
            _t2label(form, normative["published"]),
            [normative["published"]],
        )
    fees = t.get("fees", {})
    if fees.get("key"):
        m["fees"] = (_t2label(form, fees["key"]), [fees["key"]])

    apply = _alt(t.get("apply", ())) or "(?!)"
    not_apply = tuple(GRAMMAR.not_apply)  # a sentence with these is about something else
    lit_groups = tuple(t.get("litigation_groups", ()))
    res_alt = _alt(result_ids)
    verbs = _alt(GRAMMAR.received_verbs)
    pats: list[tuple[re.Pattern, Callable[[re.Match], str], tuple[str, ...]]] = [
        (
            re.compile(
                rf"(?:{verbs}){_CLAUSE}{{0,20}}?(?:{apply}){_CLAUSE}{{0,6}}?{N}件(?P<inc>[（(]含)?"
            ),
            lambda x: "received" if x.group("inc") else "new",
            not_apply,
        ),
        (
            re.compile(rf"(?:{verbs}){N}件{_CLAUSE}{{0,10}}?(?:{apply})"),
            lambda x: "new",
            not_apply,
        ),
        # the applications named first, the verb after: 政府信息公开申请受理 12 件
        (
            re.compile(
                rf"(?:{apply})(?:事项)?(?:{verbs})(?:了|共|共计|合计)?{N}件(?P<inc>[（(]含)?"
            ),
            lambda x: "received" if x.group("inc") else "new",
            not_apply,
        ),
        (
            re.compile(rf"(?:未|没有)(?:收到|受理|接到){_CLAUSE}{{0,12}}?(?:{apply})(?P<zero>)"),
            lambda x: "new",
            not_apply,
        ),
        (
            re.compile(rf"上一?年度?结转{_CLAUSE}{{0,12}}?{N}件"),
            lambda x: "carried_in",
            tuple(GRAMMAR.not_carried),
        ),
        (
            re.compile(rf"结转(?:至|到)?下一?年度?{_CLAUSE}{{0,10}}?{N}件"),
            lambda x: "carried_out",
            tuple(GRAMMAR.not_carried),
        ),
    ]
    if res_alt:
        # one result, or several named together ("A及B 12件"): their sum
        pats.append(
            (
                re.compile(
                    rf"(?P<res>(?:{res_alt})(?:(?:及|和|与|、|以及)(?:{res_alt}))*)"
                    rf"(?:的|申请|信息)?(?:共|合计|共计)?{N}件"
                ),
                lambda x: "+".join(result_ids[p] for p in re.findall(res_alt, x.group("res"))),
                tuple(GRAMMAR.not_result),
            )
        )
    if handled:
        pats.append(
            (
                re.compile(
                    rf"(?:共|全年|累计|合计|共计|已|依法)?(?:{_alt(handled['phrases'])})(?:完毕|完成)?了?"
                    rf"(?:(?:{apply})|申请)?(?:共|共计|合计)?{N}件"
                ),
                lambda x: "handled",
                tuple(GRAMMAR.not_handled),
            )
        )
    if review:
        pats += [
            (
                re.compile(rf"{review}(?:申请|案件)?(?:共|共计)?{N}(?:件|起)"),
                lambda x: "review",
                lit_groups,
            ),
            (
                re.compile(
                    rf"(?:未|没有)(?:发生|收到|出现|产生|发生过){_CLAUSE}{{0,14}}?{review}(?P<zero>)"
                ),
                lambda x: "review",
                (),
            ),
        ]
    if litigation:
        pats += [
            (
                re.compile(rf"{litigation}(?:案件)?(?:共|共计)?{N}(?:件|起)"),
                lambda x: "litigation",
                (),
            ),
            (
                re.compile(
                    rf"(?:未|没有)(?:发生|收到|出现|产生|发生过){_CLAUSE}{{0,20}}?{litigation}(?P<zero>)"
                ),
                lambda x: "litigation",
                (),
            ),
        ]
    if normative:
        pats.append(
            (
                re.compile(
                    rf"(制发|印发|出台|制定|主动公开)了?(?:{_alt(normative['words'])}){N}件"
                ),
                lambda x: (
                    "normative_published" if x.group(1) == GRAMMAR.published_verb else "normative"
                ),
                (),
            )
        )
    if fees.get("words"):
        pats.append(
            (
                re.compile(rf"(?:{_alt(fees['words'])})(?:金额)?(?:为|共|合计|共计)?{AMOUNT}万元"),
                lambda x: "fees",
                (),
            )
        )
    # every other figure of table 2: verb and row words in either order
    tails = _alt(GRAMMAR.t2_tails)
    for entry in t.get("table2", ()):
        key = entry["key"]
        if key not in {f.key for f in form.fields}:
            continue
        m[f"t2:{key}"] = (_t2label(form, key), [key])
        row = _alt(entry["row"])
        said = [v for v in entry["verbs"] if v]
        alone = "" in entry["verbs"]
        verb = f"(?:{_alt(said)})" + ("?" if alone else "")
        banned = tuple(GRAMMAR.not_carried)
        pats.append(
            (
                re.compile(
                    rf"{verb}了?的?(?:{row})(?:{tails})?(?:共|共计|合计|为)?{N}(?:件|项|个)"
                ),
                lambda x, k=key: f"t2:{k}",
                banned,
            )
        )
        if said:
            pats.append(
                (
                    re.compile(
                        rf"(?:{row})(?:{tails})?(?:{_alt(said)})(?:共|共计|合计|为)?{N}(?:件|项|个)"
                    ),
                    lambda x, k=key: f"t2:{k}",
                    banned,
                )
            )
    return Vocabulary(m, pats, results, all_upheld, review, litigation)


def _t2label(form: Form, key: str) -> str:
    f = form.field(key)
    return MSG.cells_cell.format(sheet=f.sheet, row=f.row_caption, col=f.col_caption)


_ENDS = re.compile(r"[。；;!?！？:：]$")
# a line that goes on with the rest of a broken figure: "…申请12" + "7件，…", "…申请" + "12件"
_GOES_ON = re.compile(rf"^[\d{_CN}]*[件起项]")


def _sentences(lines: list[Line], whole_only: bool = False) -> list[tuple[str, str]]:
    """(sentence, where) over the running text. A line that ends a sentence, or a short one
    (a title, a heading), ends a unit; other lines are wrapped text (PDF: over lines and
    pages) and join the next, as does a short line whose figure the next line finishes.
    `whole_only`: only sentences that end with their punctuation (text among table rows)."""
    units: list[tuple[str, str]] = []
    buf, where = "", ""
    texts = ["".join(ln.tokens).translate(_FULLWIDTH_DIGITS) for ln in lines]
    for i, (ln, s) in enumerate(zip(lines, texts)):
        if not buf:
            where = ln.where
        buf += s
        nxt = texts[i + 1] if i + 1 < len(texts) else ""
        if _ENDS.search(s) or (len(s) < 20 and not _GOES_ON.match(nxt)):
            units.append((buf, where))
            buf = ""
    if buf:
        units.append((buf, where))
    out = []
    for text, where in units:
        for m in re.finditer(r"[^。；;!?！？]+[。；;!?！？]?", text):
            if not whole_only or re.search(r"[。；;!?！？]$", m.group(0)):
                out.append((m.group(0), where))
    return out


_CLAUSE_ENDS = "，,；;。"
_INCLUDES = re.compile(r"[（(]含[^）)]*[）)]?")


def _clause(sentence: str, m: re.Match) -> str:
    lo = max(sentence.rfind(c, 0, m.start()) for c in _CLAUSE_ENDS) + 1
    his = [i for i in (sentence.find(c, m.end()) for c in _CLAUSE_ENDS) if i >= 0]
    return sentence[lo : min(his) if his else len(sentence)]


def claims(lines: list[Line], voc: Vocabulary, inner: list[Line] = ()) -> list[Claim]:
    """What the text states: the running text outside the tables (`lines`) and the whole
    sentences standing among them (`inner`: text under a part's heading, between tables)."""
    out: list[Claim] = []
    for sentence, where in _sentences(lines) + _sentences(list(inner), whole_only=True):
        for rx, metric, banned in voc.patterns:
            for m in rx.finditer(sentence):
                # "（含上年结转…）" says what the figure includes, not what it is about
                clause = _INCLUDES.sub("", _clause(sentence, m))
                if any(b in m.group(0) or b in clause for b in banned):
                    continue
                if "zero" in m.groupdict() and m.group("zero") is not None:
                    if re.search(r"\d", clause):
                        continue
                    value = 0
                else:
                    raw = next(
                        g for g in reversed(m.groups()) if g and (g[0].isdigit() or g[0] in _CN)
                    )
                    value = float(raw) if "." in raw else cn_number(raw)
                if value is None:
                    continue
                out.append(Claim(metric(m), value, m.group(0), sentence, where))
        kinds = [k for k in (voc.review, voc.litigation) if k and k in sentence]
        if len(kinds) == 1:
            group = "review" if kinds[0] == voc.review else "litigation"
            for rx, res in voc.results:
                for m in rx.finditer(sentence):
                    raw = next(g for g in m.groups() if g)
                    v = cn_number(raw)
                    if v is not None:
                        out.append(Claim(f"{group}_{res}", v, m.group(0), sentence, where))
            all_up = voc.all_upheld.search(sentence) if voc.all_upheld else None
            if all_up:
                out.append(Claim(f"{group}_all_upheld", 1, all_up.group(0), sentence, where))
    return out


def _num(raw) -> float | int | None:
    if raw is None:
        return None
    t = unicodedata.normalize("NFKC", str(raw)).strip()
    if re.fullmatch(r"\d+", t):
        return int(t)
    if re.fullmatch(r"\d+\.\d+", t):
        return float(t)
    return None


def _table(cells: dict[str, RawCell], keys: list[str]) -> float | int | None:
    vals = [_num(cells[k].raw) if k in cells else None for k in keys]
    if not keys or any(v is None for v in vals):
        return None
    total = sum(vals)
    return round(total, 6) if isinstance(total, float) else total


def _fmt(v: float | int) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _cut(s: str, limit: int = 80) -> str:
    s = s.strip()
    return s if len(s) <= limit else s[:limit] + "…"


def text_vs_table(
    spec, cells: dict[str, RawCell], lines: list[Line], inner: list[Line] = ()
) -> list[Finding]:
    form = spec.form
    voc = vocabulary(form.id)
    metrics = dict(voc.metrics)
    found: list[Finding] = []
    seen: set[tuple] = set()
    for c in claims(lines, voc, inner):
        if c.metric.endswith("_all_upheld"):
            group = c.metric.removesuffix("_all_upheld")
            if group not in metrics or f"{group}_upheld" not in metrics:
                continue
            label, keys = metrics[group]
            total = _table(cells, keys)
            up_keys = metrics[f"{group}_upheld"][1]
            upheld = _table(cells, up_keys)
            if total is None or upheld is None or total == upheld or (c.metric, 0) in seen:
                continue
            seen.add((c.metric, 0))
            f = form.field(up_keys[0])
            others = "、".join(
                x.col_caption
                for x in form.fields
                if x.row_caption == f.row_caption and x.key != f.key and not x.is_total
            )
            detail = MSG.text_all_upheld.format(
                phrase=c.phrase,
                where=c.where,
                sentence=_cut(c.sentence),
                label=label,
                total=_fmt(total),
                col=f.col_caption,
                upheld=_fmt(upheld),
                others=others,
                sheet=f.sheet,
            )
            found.append(
                make_finding(form, "text-vs-table", f, expected=total, actual=upheld, detail=detail)
            )
            continue
        if "+" in c.metric and c.metric not in metrics:
            parts = [metrics[p] for p in c.metric.split("+") if p in metrics]
            if len(parts) == len(c.metric.split("+")):
                metrics[c.metric] = (
                    MSG.cells_sum.format(labels=MSG.cells_join.join(lbl for lbl, _ in parts)),
                    [k for _, ks in parts for k in ks],
                )
        if c.metric not in metrics:
            continue
        label, keys = metrics[c.metric]
        said = (tuple(sorted(keys)), c.value)  # one statement, however many shapes read it
        if said in seen:
            continue
        table = _table(cells, keys)
        if table is None or abs(table - c.value) < 1e-9:
            continue
        seen.add(said)
        f = form.field(keys[0]) if len(keys) == 1 else None
        sheet = form.field(keys[0]).sheet
        detail = MSG.text_differs.format(
            phrase=c.phrase,
            value=_fmt(c.value),
            where=c.where,
            sentence=_cut(c.sentence),
            label=label,
            table=_fmt(table),
            diff=_fmt(round(table - c.value, 6)),
        )
        found.append(
            make_finding(
                form, "text-vs-table", f, sheet=sheet, expected=c.value, actual=table, detail=detail
            )
        )
    return found
