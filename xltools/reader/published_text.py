"""text-vs-table: figures the report's text restates, compared with its tables.

Conservative on purpose: only statements of a few fixed shapes are read (「共收到政府信息公开申请
N件」, 「予以公开N件」, 「行政复议N件」, 「未发生…行政复议」, 「均获维持」 …), only in a clause
that speaks of one thing, and only against table cells that hold plain numbers. Anything else
is left alone: a missed statement costs nothing, a wrong warning costs a person's time.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from xltools.findings import Finding
from xltools.reader.base import RawCell
from xltools.reader.published_doc import Line
from xltools.spec import Form
from xltools.values import make_finding

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９．", "0123456789.")
_CN = "零〇一二两三四五六七八九十百千"
N = rf"(\d+|[{_CN}]+)"
AMOUNT = r"(\d+(?:\.\d+)?)"
_CLAUSE = r"[^，。；,;：:（）()]"     # stays inside one clause

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}


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
    metric: str          # what the text states, a key of METRICS
    value: float | int
    phrase: str          # the words that state it
    sentence: str
    where: str


# metric -> (what the table calls it, keys whose sum it is) per form
def _metrics(form: Form) -> dict[str, tuple[str, list[str]]]:
    keys = set(form.keys)

    def t3(row: str) -> list[str]:
        return [k for k in form.keys if k.startswith("t3_" + row) and k.endswith("_total")]

    m = {
        "new": ("表三“一、本年新收政府信息公开申请数量”总计", ["t3_new_total"]),
        "received": ("表三“一、本年新收”与“二、上年结转”总计之和", ["t3_new_total", "t3_carried_in_total"]),
        "carried_in": ("表三“二、上年结转政府信息公开申请数量”总计", ["t3_carried_in_total"]),
        "carried_out": ("表三“四、结转下年度继续办理”总计", ["t3_carried_out_total"]),
        "public": ("表三“（一）予以公开”总计", ["t3_public_total"]),
        "partial": ("表三“（二）部分公开”总计", ["t3_partial_total"]),
        "withheld": ("表三“（三）不予公开”各项总计之和", t3("withheld_")),
        "unavailable": ("表三“（四）无法提供”各项总计之和", t3("unavailable_")),
        "unprocessed": ("表三“（五）不予处理”各项总计之和", t3("unprocessed_")),
        "review": ("表四“行政复议”总计", ["t4_review_total"]),
        "litigation": ("表四“行政诉讼”两组总计之和", ["t4_direct_total", "t4_after_review_total"]),
    }
    for res, cap in (("upheld", "结果维持"), ("corrected", "结果纠正"), ("pending", "尚未审结")):
        m[f"review_{res}"] = (f"表四“行政复议 / {cap}”", [f"t4_review_{res}"])
        m[f"litigation_{res}"] = (f"表四“行政诉讼 / {cap}”两组之和", [f"t4_direct_{res}", f"t4_after_review_{res}"])
    if "t2_normative_issued" in keys:
        m["normative"] = ("表二“行政规范性文件 / 本年制发件数”", ["t2_normative_issued"])
        m["normative_published"] = m["normative"]
        m["fees"] = ("表二“行政事业性收费 / 本年收费金额（单位：万元）”", ["t2_fees_amount"])
    else:
        m["normative"] = ("表二“规范性文件 / 本年新制作数量”", ["t2_normative_made"])
        m["normative_published"] = ("表二“规范性文件 / 本年新公开数量”", ["t2_normative_published"])
    return m


# (pattern, metric or function of the match, words that must not be in the clause)
_APPLY = r"(?:政府信息公开申请|信息公开申请|依申请公开|公开申请)"
_NOT_APPLY = ("复议", "诉讼", "投诉", "举报", "信访", "建议", "提案", "结转")
PATTERNS: list[tuple[re.Pattern, str | Callable[[re.Match], str], tuple[str, ...]]] = [
    (re.compile(rf"(?:收到|受理|接收|接到|新收){_CLAUSE}{{0,20}}?{_APPLY}{_CLAUSE}{{0,6}}?{N}件(?P<inc>[（(]含)?"),
     lambda m: "received" if m.group("inc") else "new", _NOT_APPLY),
    (re.compile(rf"(?:收到|受理|接收|接到|新收){N}件{_CLAUSE}{{0,10}}?{_APPLY}"), "new", _NOT_APPLY),
    (re.compile(rf"(?:未|没有)(?:收到|受理|接到){_CLAUSE}{{0,12}}?{_APPLY}(?P<zero>)"), "new", _NOT_APPLY),
    (re.compile(rf"上一?年度?结转{_CLAUSE}{{0,12}}?{N}件"), "carried_in", ("复议", "诉讼")),
    (re.compile(rf"结转(?:至|到)?下一?年度?{_CLAUSE}{{0,10}}?{N}件"), "carried_out", ("复议", "诉讼")),
    (re.compile(rf"(予以公开|部分公开|不予公开|无法提供|不予处理)(?:的|申请|信息)?{N}件"),
     lambda m: {"予以公开": "public", "部分公开": "partial", "不予公开": "withheld",
                "无法提供": "unavailable", "不予处理": "unprocessed"}[m.group(1)], ("主动",)),
    (re.compile(rf"行政复议(?:申请|案件)?{N}件"), "review", ("未经复议", "复议后")),
    (re.compile(rf"行政诉讼(?:案件)?{N}件"), "litigation", ()),
    (re.compile(rf"(?:未|没有)(?:发生|收到|出现|产生|发生过){_CLAUSE}{{0,14}}?行政复议(?P<zero>)"), "review", ()),
    (re.compile(rf"(?:未|没有)(?:发生|收到|出现|产生|发生过){_CLAUSE}{{0,20}}?行政诉讼(?P<zero>)"), "litigation", ()),
    (re.compile(rf"(制发|印发|出台|制定|主动公开)了?(?:行政)?规范性文件{N}件"),
     lambda m: "normative_published" if m.group(1) == "主动公开" else "normative", ()),
    (re.compile(rf"行政事业性收费(?:金额)?(?:为|共|合计|共计)?{AMOUNT}万元"), "fees", ()),
]
# case results, read only in a sentence that speaks of one kind of case
_RESULTS = [
    (re.compile(rf"(?:结果)?维持(?:原)?(?:行政行为|决定)?{N}件"), "upheld"),
    (re.compile(rf"(?:结果)?(?:被)?纠正{N}件"), "corrected"),
    (re.compile(rf"(?:尚未审结|未审结|正在审理){N}件|{N}件(?:尚未审结|未审结|正在审理)"), "pending"),
]
_ALL_UPHELD = re.compile(r"(?:均|全部|都)(?:已)?(?:获|被|予以|得到)?维持")


def _sentences(lines: list[Line]) -> list[tuple[str, str]]:
    """(sentence, where) over the running text. A line that ends a sentence, or a short one
    (a title, a heading), ends a unit; other lines are wrapped text (PDF) and join the next."""
    units: list[tuple[str, str]] = []
    buf, where = "", ""
    for ln in lines:
        s = "".join(ln.tokens).translate(_FULLWIDTH_DIGITS)
        if not buf:
            where = ln.where
        buf += s
        if len(s) < 20 or re.search(r"[。；;!?！？:：]$", s):
            units.append((buf, where))
            buf = ""
    if buf:
        units.append((buf, where))
    out = []
    for text, where in units:
        for m in re.finditer(r"[^。；;!?！？]+[。；;!?！？]?", text):
            out.append((m.group(0), where))
    return out


def _clause(sentence: str, m: re.Match) -> str:
    lo = max(sentence.rfind(c, 0, m.start()) for c in "，,；;。") + 1
    his = [i for i in (sentence.find(c, m.end()) for c in "，,；;。") if i >= 0]
    return sentence[lo:min(his) if his else len(sentence)]


def claims(lines: list[Line]) -> list[Claim]:
    out: list[Claim] = []
    for sentence, where in _sentences(lines):
        for rx, metric, banned in PATTERNS:
            for m in rx.finditer(sentence):
                clause = _clause(sentence, m)
                if any(b in m.group(0) or b in clause for b in banned):
                    continue
                if "zero" in m.groupdict() and m.group("zero") is not None:
                    if re.search(r"\d", clause):
                        continue
                    value = 0
                else:
                    raw = next(g for g in m.groups() if g and (g[0].isdigit() or g[0] in _CN))
                    value = float(raw) if "." in raw else cn_number(raw)
                if value is None:
                    continue
                name = metric(m) if callable(metric) else metric
                out.append(Claim(name, value, m.group(0), sentence, where))
        kinds = [k for k in ("行政复议", "行政诉讼") if k in sentence]
        if len(kinds) == 1:
            group = "review" if kinds[0] == "行政复议" else "litigation"
            for rx, res in _RESULTS:
                for m in rx.finditer(sentence):
                    raw = next(g for g in m.groups() if g)
                    v = cn_number(raw)
                    if v is not None:
                        out.append(Claim(f"{group}_{res}", v, m.group(0), sentence, where))
            all_up = _ALL_UPHELD.search(sentence)
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


def text_vs_table(form: Form, cells: dict[str, RawCell], lines: list[Line]) -> list[Finding]:
    metrics = _metrics(form)
    found: list[Finding] = []
    seen: set[tuple[str, float]] = set()
    for c in claims(lines):
        if c.metric.endswith("_all_upheld"):
            group = c.metric.removesuffix("_all_upheld")
            label, keys = metrics[group]
            total = _table(cells, keys)
            upheld = _table(cells, metrics[f"{group}_upheld"][1])
            if total is None or upheld is None or total == upheld or (c.metric, 0) in seen:
                continue
            seen.add((c.metric, 0))
            f = form.field(metrics[f"{group}_upheld"][1][0])
            detail = (f"正文称“{c.phrase}”（{c.where}：“{_cut(c.sentence)}”），但{label}为 {_fmt(total)}，"
                      f"其中结果维持只有 {_fmt(upheld)}，其余为纠正、其他结果或尚未审结。请核对正文或表四。")
            found.append(make_finding(form, "text-vs-table", f, expected=total, actual=upheld, detail=detail))
            continue
        if c.metric not in metrics or (c.metric, c.value) in seen:
            continue
        label, keys = metrics[c.metric]
        table = _table(cells, keys)
        if table is None or abs(table - c.value) < 1e-9:
            continue
        seen.add((c.metric, c.value))
        f = form.field(keys[0]) if len(keys) == 1 else None
        sheet = form.field(keys[0]).sheet
        detail = (f"正文称“{c.phrase}”，即 {_fmt(c.value)}（{c.where}：“{_cut(c.sentence)}”），"
                  f"但{label}为 {_fmt(table)}，相差 {_fmt(round(table - c.value, 6))}。请核对正文或表格。")
        found.append(make_finding(form, "text-vs-table", f, sheet=sheet, expected=c.value, actual=table,
                                  detail=detail))
    return found
