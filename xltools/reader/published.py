"""A published report (.txt/.docx/.html/.htm/.pdf) -> RawForm (kind "document").

Tables 2–4 are found by their section headings and read by the structure of the official
tables, which the form spec holds: the official row labels in their order, the number of cells
per row (table 3: 7 columns; table 4: 15 cells in one row). A group of numbers is placed on a
row because it stands on the row's label line, inside a label broken over lines, or in the only
place between two labels where it can belong; never by counting alone. What cannot be placed
that way is left blank (raw None) with a `form-mismatch` finding that says which row and why.

Raw values are the text as published ("0", "/", "", "2件"); cleaning and the rules are the job
of `xltools.reader.evaluate`. Findings of the reader itself: `form-mismatch` (form against
report year, layout altered, table unreadable) and `text-vs-table` (published_text).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from xltools.findings import Finding
from xltools.reader.base import RawCell, RawForm
from xltools.reader.published_doc import Line, load_lines
from xltools.spec import FORM_IDS, Field, Form, form_for_year, load_form
from xltools.values import PLACEHOLDERS, make_finding

__all__ = ["read_published", "import_published", "SUFFIXES"]

from xltools.reader.published_doc import SUFFIXES  # noqa: E402  (re-exported for routing)

T3_COLS = 7
T4_CELLS = 15

_NUM = re.compile(r"^[+-]?(\d+(\.\d+)?|\.\d+)(件|个|条|项|次|万元|元)?$")
# in running text a lone character may be a piece of a vertical label: only these stand for
# a blank cell there
_TEXT_PLACEHOLDERS = frozenset({"/", "-", "—", "——", "–", "－", "--", "―", "\\"})
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|\([一二三四五六七八九十]+\)|\d+[.、．])")
_PAREN = re.compile(r"\([^()]*\)")
_NOT_WORD = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")


def norm(s: str) -> str:
    """Text reduced to what label matching compares: CJK, letters, digits."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", s))


def label_core(caption: str) -> str:
    """An official caption without its numbering and explanatory parenthesis:
    "（二）部分公开（区分处理的，…）" -> "部分公开"."""
    s = unicodedata.normalize("NFKC", caption).strip()
    s = _NUMBERING.sub("", s)
    s = _PAREN.sub("", s)
    return norm(s)


_PLAIN = re.compile(r"^(0|[1-9]\d*)(\.\d+)?$")


def as_published(raw):
    """A number written plainly ("12", "0.5") is the number: a document has no cell types, so
    this is how it writes one. Anything else stays the text as published ("/", "", "2件", "２")
    for the cleaning step to judge."""
    if isinstance(raw, str) and _PLAIN.match(raw):
        return float(raw) if "." in raw else int(raw)
    return raw


def is_value(token: str, grid: bool) -> bool:
    t = unicodedata.normalize("NFKC", token).strip()
    if grid:
        return t == "" or bool(_NUM.match(t.replace(",", ""))) or t.lower() in PLACEHOLDERS
    return bool(_NUM.match(t)) or t in _TEXT_PLACEHOLDERS


# --- the document as one stream of label text and value runs --------------------------------

@dataclass(frozen=True, slots=True)
class Run:
    values: tuple[str, ...]
    line: int          # index into the document's lines
    pos: int           # offset in the stream's label text where the run stands


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    lines: frozenset[int]


@dataclass
class Stream:
    lines: list[Line]
    text: str = ""
    line_of: list[int] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    text_lines: set[int] = field(default_factory=set)

    @classmethod
    def build(cls, lines: list[Line], start: int, end: int) -> "Stream":
        st = cls(lines)
        parts: list[str] = []
        for li in range(start, end):
            ln = lines[li]
            if ln.grid:
                st._grid_row(li, ln, parts)
            else:
                st._text_line(li, ln, parts)
        st.text = "".join(parts)
        return st

    def _add_text(self, li: int, s: str, parts: list[str]) -> None:
        if s:
            parts.append(s)
            self.line_of.extend([li] * len(s))
            self.text_lines.add(li)

    def _grid_row(self, li: int, ln: Line, parts: list[str]) -> None:
        # the values are the cells after the last label cell; blank cells there are values
        last = max((i for i, t in enumerate(ln.tokens) if t and not is_value(t, True)), default=-1)
        for t in ln.tokens[:last + 1]:
            if t and not is_value(t, True):
                self._add_text(li, norm(t), parts)
        values = ln.tokens[last + 1:]
        if values and (last >= 0 or any(values)):
            self.runs.append(Run(tuple(values), li, len(self.line_of)))

    def _text_line(self, li: int, ln: Line, parts: list[str]) -> None:
        run: list[str] = []
        pos = 0
        for tok in _unglue(ln.tokens):
            if is_value(tok, False):
                if not run:
                    pos = len(self.line_of)
                run.append(tok)
                continue
            n = norm(tok)
            if len(n) <= 1:
                continue     # a character of a vertical label, or punctuation: no text
            if run:
                self.runs.append(Run(tuple(run), li, pos))
                run = []
            self._add_text(li, n, parts)
        if run:
            self.runs.append(Run(tuple(run), li, pos))

    def find(self, core: str, start: int) -> Span | None:
        """The first place at or after `start` where a label stands; a long label may be cut
        (a wrapped line lost) so its first half is enough."""
        i = self.text.find(core, start)
        n = len(core)
        if i < 0 and len(core) >= 8:
            n = max(4, len(core) // 2)
            i = self.text.find(core[:n], start)
        if i < 0:
            return None
        return Span(i, i + n, frozenset(self.line_of[i:i + n]))


_GLUED = re.compile(r"^(.*[\u3400-\u9fff）)”])(\d+)$")


def _unglue(tokens: tuple[str, ...]) -> list[str]:
    """PDF text can glue a label's last word to the first number of its row ("…其他情形）0"
    followed by six more numbers): split it off when numbers follow."""
    out: list[str] = []
    for i, tok in enumerate(tokens):
        m = _GLUED.match(tok)
        if m and i + 1 < len(tokens) and is_value(tokens[i + 1], False):
            out += [m.group(1), m.group(2)]
        else:
            out.append(tok)
    return out


# --- placing runs on rows ---------------------------------------------------------------------

def assign(st: Stream, spans: list[Span | None], lens: list[int]) -> dict[int, Run]:
    """Give each found label the run of numbers that belongs to it."""
    got: dict[int, Run] = {}
    used: set[int] = set()

    def fits(r: Run, i: int) -> bool:
        return len(r.values) == lens[i] and id(r) not in used

    def take(i: int, r: Run) -> None:
        got[i] = r
        used.add(id(r))

    def bounds(i: int) -> tuple[int, int]:
        prv = max((s.end for s in spans[:i] if s), default=-1)
        nxt = min((s.start for s in spans[i + 1:] if s), default=len(st.text) + 1)
        return prv, nxt

    # a run inside a label broken over lines
    for i, sp in enumerate(spans):
        if sp:
            r = next((r for r in st.runs if fits(r, i) and sp.start < r.pos < sp.end), None)
            if r:
                take(i, r)
    # a run on a line of its label: after the label (up to the next one), else before it
    for i, sp in enumerate(spans):
        if sp is None or i in got:
            continue
        prv, nxt = bounds(i)
        same = [r for r in st.runs if fits(r, i) and r.line in sp.lines]
        after = [r for r in same if sp.end <= r.pos <= nxt]
        before = [r for r in same if prv <= r.pos <= sp.start]
        if after or before:
            take(i, after[0] if after else before[-1])
    # a run on a line of its own (PDF text): in every table the numbers stand either after or
    # before their labels; try both readings and keep the one that places more rows unambiguously
    rest = [i for i, sp in enumerate(spans) if sp and i not in got]
    if rest:
        alone = [r for r in st.runs if r.line not in st.text_lines and id(r) not in used]
        best: dict[int, Run] = {}
        for mode in ("after", "before"):
            trial: dict[int, Run] = {}
            for i in rest:
                sp = spans[i]
                prv, nxt = bounds(i)
                lo, hi = (sp.start, nxt) if mode == "after" else (prv, sp.end)
                c = [r for r in alone if len(r.values) == lens[i] and lo <= r.pos <= hi]
                if len(c) == 1 and all(c[0] is not x for x in trial.values()):
                    trial[i] = c[0]
            if len(trial) > len(best):
                best = trial
        for i, r in best.items():
            take(i, r)
    return got


# --- the tables ---------------------------------------------------------------------------------

@dataclass
class Reading:
    form: Form
    lines: list[Line]
    source: str
    cells: dict[str, RawCell] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    skipped_sheets: set[str] = field(default_factory=set)

    def mismatch(self, detail: str, sheet: str | None = None, f: Field | None = None) -> None:
        self.findings.append(make_finding(self.form, "form-mismatch", f, sheet=sheet, detail=detail))

    def put(self, f: Field, raw) -> None:
        self.cells[f.key] = RawCell(as_published(raw), f.sheet, f.cell)

    def unread(self, fields: list[Field]) -> None:
        # no RawCell: evaluate says the cell could not be read, not that it is blank
        for f in fields:
            self.cells.pop(f.key, None)

    def skip_table(self, part: int) -> None:
        fields = [f for f in self.form.fields if f.key.startswith(f"t{part}_")]
        self.unread(fields)
        self.skipped_sheets.add(fields[0].sheet)


def _rows(form: Form, prefix: str) -> list[tuple[str, list[Field]]]:
    """Fields of a table grouped by row caption, in the template's order."""
    rows: dict[str, list[Field]] = {}
    for f in form.fields:
        if f.key.startswith(prefix):
            rows.setdefault(f.row_caption, []).append(f)
    return list(rows.items())


def _quote(ln: Line, limit: int = 30) -> str:
    s = ln.text
    return s if len(s) <= limit else s[:limit] + "…"


def read_table_rows(rd: Reading, st: Stream, rows: list[tuple[str, list[Field]]], name: str,
                    header_end: int, drop_col: int | None = None) -> None:
    """Read a table whose rows carry official labels (tables 2 and 3) into rd."""
    spans: list[Span | None] = []
    pos = header_end
    for caption, _ in rows:
        sp = st.find(label_core(caption), pos)
        spans.append(sp)
        if sp:
            pos = sp.end
    lens = [len(fs) + (1 if drop_col is not None else 0) for _, fs in rows]
    got = assign(st, spans, lens)
    taken = {id(r) for r in got.values()}
    sheet = rows[0][1][0].sheet
    for i, (caption, fs) in enumerate(rows):
        run = got.get(i)
        if run is None:
            why = "找不到这一行" if spans[i] is None else f"在这一行附近找不到 {lens[i]} 个数"
            near = [r for r in st.runs if spans[i] and r.line in spans[i].lines and id(r) not in taken]
            if near:
                why += f"（这一行只有 {len(near[0].values)} 个：{'、'.join(v or '空白' for v in near[0].values)}）"
            rd.mismatch(f"{name}“{caption}”：{why}，这一行没有读入，请对照原文填写。", sheet, fs[0])
            rd.unread(fs)
            continue
        values = list(run.values)
        if drop_col is not None:
            del values[drop_col]
        for f, v in zip(fs, values):
            rd.put(f, v)
    # numbers that belong to no official row: an inserted row
    first = min((s.start for s in spans if s), default=None)
    if first is None:
        return
    label_lines = set().union(*(s.lines for s in spans if s))
    for r in st.runs:
        if id(r) in taken or r.pos < first or r.line in label_lines or not any(v.strip() for v in r.values):
            continue
        ln = rd.lines[r.line]
        rd.mismatch(f"{name}中{ln.where}“{_quote(ln)}”不是官方表格中的行，其中的数字（{'、'.join(r.values)}）"
                    f"没有读入任何一格。", sheet)


def read_table2(rd: Reading, st: Stream) -> None:
    rows = _rows(rd.form, "t2_")
    read_table_rows(rd, st, rows, "表二", 0)


def read_table3(rd: Reading, st: Stream) -> None:
    rows = _rows(rd.form, "t3_")
    sheet = rows[0][1][0].sheet
    first = st.find(label_core(rows[0][0]), 0)
    header_end = first.start if first else 0
    # the number of cells per row: 7, or 8 with an unofficial 法人 subtotal column
    counts: dict[int, int] = {}
    for r in st.runs:
        if r.pos >= header_end and (len(r.values) > 1):
            counts[len(r.values)] = counts.get(len(r.values), 0) + 1
    width = max(counts, key=lambda n: (counts[n], n == T3_COLS), default=T3_COLS)
    drop = None
    if width == T3_COLS + 1:
        drop = _subtotal_column(st, header_end, rd.form)
        if drop is None:
            rd.mismatch(f"表三每行有 {width} 个数，比官方表格多一列，但无法确定多出的是哪一列（表头中没有“小计”“合计”，"
                        f"各行数字也无法判断），表三没有读入。", sheet)
            rd.skip_table(3)
            return
        rd.mismatch(f"表三比官方表格多出一列（第 {drop + 1} 个数字列，法人或其他组织的小计），已略去该列，"
                    f"其余各列按官方表格读入。", sheet)
    elif width != T3_COLS and counts:
        rd.mismatch(f"表三多数行有 {width} 个数，官方表格为 {T3_COLS} 列；只读入恰有 {T3_COLS} 个数的行。", sheet)
    read_table_rows(rd, st, rows, "表三", header_end, drop)


_ORG_LEAVES = ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")


def _subtotal_column(st: Stream, header_end: int, form: Form) -> int | None:
    """Index (0-based, among 8 values) of an added subtotal column, from the header's order,
    confirmed by the numbers (the subtotal equals the five organisation columns)."""
    head = st.text[:header_end].replace("法人或其他组织", "#" * 7)
    m = re.search(r"小计|合计", head)
    by_header = None
    if m:
        leaves = [head.find(x) for x in _ORG_LEAVES]
        if all(p >= 0 for p in leaves):
            by_header = 1 + sum(1 for p in leaves if p < m.start())
    rows = [r for r in st.runs if r.pos >= header_end and len(r.values) == T3_COLS + 1]
    nums = [[_int(v) for v in r.values] for r in rows]
    nums = [n for n in nums if None not in n]

    def consistent(k: int) -> bool:
        return all(n[k] == sum(x for j, x in enumerate(n[1:7], 1) if j != k) for n in nums)

    if by_header is not None:
        return by_header
    ok = [k for k in range(1, T3_COLS) if consistent(k)]
    mappings = {tuple(tuple(x for j, x in enumerate(n) if j != k) for n in nums) for k in ok}
    if ok and len(mappings) == 1 and nums:
        return ok[-1]
    return None


def _int(v: str) -> int | None:
    t = unicodedata.normalize("NFKC", v).strip()
    return int(t) if t.isdigit() else None


_T4_GROUPS = (("t4_review_", "行政复议"), ("t4_direct_", "未经复议直接起诉"), ("t4_after_review_", "复议后起诉"))


def read_table4(rd: Reading, st: Stream) -> None:
    fields = [f for f in rd.form.fields if f.key.startswith("t4_")]
    sheet = fields[0].sheet
    runs = [r for r in st.runs if len(r.values) == T4_CELLS]
    if len(runs) != 1:
        lengths = sorted({len(r.values) for r in st.runs if len(r.values) > 1})
        why = (f"找到 {len(runs)} 行各有 {T4_CELLS} 个数" if runs else
               f"没有找到恰有 {T4_CELLS} 个数的一行" + (f"（找到的行分别有 {'、'.join(map(str, lengths))} 个数）" if lengths else ""))
        rd.mismatch(f"表四：{why}，无法确定各格数字，表四没有读入，请对照原文填写。", sheet)
        rd.skip_table(4)
        return
    values = list(runs[0].values)
    head = st.text[:runs[0].pos]
    direct, after = head.find("直接起诉"), head.find("复议后起诉")
    if direct >= 0 and after >= 0 and after < direct:
        rd.mismatch("表四中“复议后起诉”排在“未经复议直接起诉”之前，与官方表格不同；已按原文表头读入。", sheet)
        values = values[:5] + values[10:15] + values[5:10]
    for f, v in zip(fields, values):
        rd.put(f, v)


# --- sections, form, metadata ---------------------------------------------------------------------

def _heading(ln: Line, *phrases: str, slack: int = 10) -> bool:
    tokens = [t for t in ln.tokens if t]
    if ln.grid and len(tokens) != 1:
        return False
    n = norm(ln.text)
    return all(p in n for p in phrases) and len(n) <= sum(map(len, phrases)) + slack


def find_sections(lines: list[Line]) -> dict[int, int]:
    """Line index of each part's heading (2: 主动公开, 3: 依申请, 4: 复议诉讼, 5: 问题, 6: 其他)."""
    specs = {2: (("主动公开政府信息情况",), ("第二十条",)),
             3: (("收到和处理政府信息公开申请情况",), ("申请人情况",)),
             4: (("行政复议", "行政诉讼", "情况"), ("未经复议直接起诉",)),
             5: (("存在的主要问题",), ()),
             6: (("其他需要报告的事项",), ())}
    found: dict[int, int] = {}
    start = 0
    for part, (phrases, fallback) in specs.items():
        idx = next((i for i in range(start, len(lines)) if _heading(lines[i], *phrases)), None)
        if idx is None and fallback:
            idx = next((i for i in range(start, len(lines)) if all(p in norm(lines[i].text) for p in fallback)), None)
        if idx is not None:
            found[part] = idx
            start = idx + 1
    return found


_TITLE = re.compile(r"^(?P<a>.*?)(?P<y>20\d\d)\s*年度?(?P<b>.*?)政府信息公开工作年度报告")


def read_meta(lines: list[Line], stop: int) -> tuple[str | None, str | None]:
    """Agency and report year from the title (the first lines before the tables)."""
    for i in range(min(stop, 20)):
        s = unicodedata.normalize("NFKC", "".join(lines[i].tokens))
        m = _TITLE.match(s)
        if not m or len(s) > 80:
            continue
        agency = (m.group("a") or m.group("b")).strip(" ,，:：")
        if not agency and i > 0:
            prev = "".join(lines[i - 1].tokens)
            if len(prev) <= 40 and not re.search(r"[，。；：,;]", prev):
                agency = prev
        return agency or None, m.group("y")
    text = "".join("".join(ln.tokens) for ln in lines[:stop])
    m = re.search(r"统计期限自\s*(20\d\d)\s*年", text)
    return None, m.group(1) if m else None


def _form_of_table3(st: Stream) -> str | None:
    t = st.text
    if "逾期不补正" in t or "缴纳费用" in t:
        return "2021"
    if "其他处理" in t:
        return "2019"
    return None


def _form_of_table2(st: Stream) -> str | None:
    t = st.text
    if "制发" in t or "现行有效" in t:
        return "2021"
    if "新制作" in t or "对外公开总数" in t or "集中采购" in t:
        return "2019"
    return None


def read_published(path: str | Path) -> RawForm:
    """Read a published report into a RawForm (kind "document"). Raises UnreadableError when
    the file cannot be read at all."""
    from xltools.reader.published_text import text_vs_table

    lines = load_lines(path)
    sec = find_sections(lines)
    end = len(lines)

    def region(part: int) -> tuple[int, int] | None:
        if part not in sec:
            return None
        nxt = min((v for k, v in sec.items() if k > part), default=end)
        return sec[part], nxt

    streams = {p: Stream.build(lines, *region(p)) for p in (2, 3, 4) if region(p)}
    agency, year = read_meta(lines, sec.get(2, sec.get(3, end)))
    f3 = _form_of_table3(streams[3]) if 3 in streams else None
    f2 = _form_of_table2(streams[2]) if 2 in streams else None
    by_year = form_for_year(int(year)) if year else None
    form_id = f3 or f2 or by_year or FORM_IDS[0]
    rd = Reading(load_form(form_id), lines, str(path))
    form = rd.form

    for f in form.fields:
        rd.cells[f.key] = RawCell(None, f.sheet, f.cell)
    rd.put(form.field("meta_agency"), agency)
    rd.put(form.field("meta_year"), year)

    # a form that does not match the report year (a 2021+ report that kept the 2019 （六） row)
    # is reported by evaluate, for documents and workbooks alike
    names = {2: "表二（主动公开政府信息情况）", 3: "表三（收到和处理政府信息公开申请情况）",
             4: "表四（政府信息公开行政复议、行政诉讼情况）"}
    for part, reader in ((2, read_table2), (3, read_table3), (4, read_table4)):
        if part not in streams:
            rd.mismatch(f"文中找不到{names[part]}的标题，没有读入这张表。", _sheet_of(form, part))
            rd.skip_table(part)
            continue
        if part == 2 and f2 and f2 != form_id:
            rd.mismatch(f"表二是 {f2} 表式，表三是 {form_id} 表式，两表不一致；表二没有读入。", _sheet_of(form, 2))
            rd.skip_table(2)
            continue
        reader(rd, streams[part])

    text_end = region(4)[1] if region(4) else end
    prose = [ln for i, ln in enumerate(lines) if not ln.grid and (i < sec.get(2, end) or i >= text_end)]
    rd.findings += text_vs_table(form, rd.cells, prose)
    return RawForm(form_id, str(path), rd.cells, rd.findings, kind="document", skipped_sheets=rd.skipped_sheets)


def _sheet_of(form: Form, part: int) -> str:
    return next(f.sheet for f in form.fields if f.key.startswith(f"t{part}_"))


def import_published(path: str | Path, output: str | Path):
    """Read a published report, check it, and write the filled template to `output` (written
    to a temporary name and renamed). Returns the Report; its `values` are what was written:
    the cleaned value, or the text as published where it is not a usable number ("/", "无"),
    so that checking the output workbook reports the same cells again."""
    from xltools.evaluate import evaluate
    from xltools.template import fill_workbook

    raw = read_published(path)
    report = evaluate(raw)
    form = load_form(raw.form)
    values = {}
    for f in form.fields:
        v = report.values.get(f.key)
        rc = raw.cells.get(f.key)
        if v is None and rc is not None and rc.raw not in (None, ""):
            v = rc.raw
        if v is None and f.is_meta:
            continue
        values[f.key] = v
    fill_workbook(values, output, raw.form)
    report.values = values
    return report
