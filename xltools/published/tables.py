"""Tables 2–4 of a published report, read by the structure of the official tables.

The form spec holds the structure: the official row labels in their order and the number of
cells per row (table 3: one per column; table 4: every cell in one row). A document becomes a
`Stream`: the label text of a table region with runs of numbers standing at positions in it.
A run is placed on a row because it stands on the row's label line, inside a label broken over
lines, or in the only place between two labels where it can belong; never by counting alone.
What cannot be placed that way stays unread, with the reason kept for every one of its cells.

Raw values are the text as published ("0", "/", "", "2件"); cleaning and the rules come later.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from xltools.findings import Finding
from xltools.messages import Section
from xltools.published.docspec import DocSpec, all_specs, doc_spec, label_core, norm
from xltools.published.document import Line
from xltools.reader.base import RawCell
from xltools.spec import Field
from xltools.values import PLACEHOLDERS, make_finding

MSG = Section("published")

_NUM = re.compile(r"^[+-]?(\d+(\.\d+)?|\.\d+)(件|个|条|项|次|万元|元)?$")
# in running text a lone character may be a piece of a vertical label: only these stand for
# a blank cell there
_TEXT_PLACEHOLDERS = frozenset({"/", "-", "—", "——", "–", "－", "--", "―", "\\"})
_PLAIN = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")


def as_published(raw):
    """A number written plainly ("12", "0.5", or "-4" for a signed figure of the 2019 form) is
    the number: a document has no cell types, so this is how it writes one. Anything else stays
    the text as published ("/", "", "2件", "２") for the cleaning step to judge."""
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
    line: int  # index into the document's lines (the first line of the run)
    pos: int  # offset in the stream's label text where the run stands
    # blank cells of a table row that stand right after its label cell: where the row has
    # more cells than the table has columns, these are the spill of a merged label
    spill: int = 0
    start: int = -1  # index of the first value among its table row's cells (-1: running text)

    def fit(self, n: int) -> tuple[str, ...] | None:
        """The run's n figures: all of them, or those after the label's empty spill cells when
        exactly those are the extra ones (decided by the row's structure, never by value)."""
        extra = len(self.values) - n
        if extra == 0:
            return self.values
        if 0 < extra <= self.spill:
            return self.values[extra:]
        return None


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    lines: frozenset[int]
    how: str = "exact"  # exact | alias | near
    printed: str = ""  # the label as the document prints it (alias, near)


@dataclass
class Stream:
    lines: list[Line]
    text: str = ""
    line_of: list[int] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    text_lines: set[int] = field(default_factory=set)
    _lone: bool = False  # the last run came from a line holding one value and nothing else

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
            self._lone = False

    def _grid_row(self, li: int, ln: Line, parts: list[str]) -> None:
        # the values are the cells after the last label cell; blank cells there are values
        last = max((i for i, t in enumerate(ln.tokens) if t and not is_value(t, True)), default=-1)
        for t in ln.tokens[: last + 1]:
            if t and not is_value(t, True):
                self._add_text(li, norm(t), parts)
        values = ln.tokens[last + 1 :]
        if (
            values
            and not any(values)
            and self.runs
            and self.runs[-1].line == li - 1
            and len(self.runs[-1].values) == len(values)
            and self.lines[li - 1].grid
        ):
            values = ()  # a wrapped label's second line, split off as a row of its own (PDF)
        if values and (last >= 0 or any(values)):
            spill = 0
            if last >= 0:
                while spill < len(values) and not values[spill]:
                    spill += 1
            self.runs.append(Run(tuple(values), li, len(self.line_of), spill, last + 1))
        self._lone = False

    def _text_line(self, li: int, ln: Line, parts: list[str]) -> None:
        tokens = _unglue(ln.tokens)
        if len(tokens) == 1 and is_value(tokens[0], False):
            # a table laid out one cell per line: consecutive lone values are one row
            if self._lone and self.runs and self.runs[-1].pos == len(self.line_of):
                last = self.runs[-1]
                self.runs[-1] = Run(last.values + (tokens[0],), last.line, last.pos)
            else:
                self.runs.append(Run((tokens[0],), li, len(self.line_of)))
            self._lone = True
            return
        self._lone = False
        run: list[str] = []
        pos = 0
        for tok in tokens:
            if is_value(tok, False):
                if not run:
                    pos = len(self.line_of)
                run.append(tok)
                continue
            n = norm(tok)
            if len(n) <= 1:
                continue  # a character of a vertical label, or punctuation: no text
            if run:
                self.runs.append(Run(tuple(run), li, pos))
                run = []
            self._add_text(li, n, parts)
        if run:
            self.runs.append(Run(tuple(run), li, pos))

    def span(self, i: int, n: int, how: str = "exact", printed: str = "") -> Span:
        return Span(i, i + n, frozenset(self.line_of[i : i + n]), how, printed)

    def printed(self, start: int, end: int) -> str:
        """The label text of the document lines that hold stream[start:end], numbers left out."""
        out = []
        for li in sorted(set(self.line_of[start:end])):
            words = [t for t in self.lines[li].tokens if t and not is_value(t, self.lines[li].grid)]
            out.append(" ".join(words))
        return " ".join(out)


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


# --- finding the row labels ---------------------------------------------------------------------


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 once it is certainly above limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _near_limit(core: str) -> int:
    """Edits accepted in a near match: none for short labels, where one character changes the
    meaning; about one in four for long ones (a dropped word: 其他法律行政止公开)."""
    return 0 if len(core) < 4 else max(1, len(core) // 4)


def find_labels(
    st: Stream, captions: list[str], spec: DocSpec, start: int = 0, sheet: str | None = None
) -> list[Span | None]:
    """Where each official row label stands, in order: exactly (a vertical group label's
    characters may stand inside it), through an alias from the form's TOML, or as an
    unambiguous near match between the labels found exactly."""
    cores = [label_core(c) for c in captions]
    group = (
        frozenset(
            "".join(norm(c.text) for c in spec.form.sheet(sheet).captions if c.style == "group")
        )
        if sheet
        else frozenset()
    )
    spans: list[Span | None] = []
    pos = start
    for caption, core in zip(captions, cores):
        sp = _exact(st, core, pos) or _interleaved(st, core, pos, group)
        if sp is None:
            for alias in spec.aliases.get(caption, ()) + spec.aliases.get(label_core(caption), ()):
                i = st.text.find(norm(alias), pos)
                if i >= 0:
                    sp = st.span(i, len(norm(alias)), "alias", st.printed(i, i + len(norm(alias))))
                    break
        spans.append(sp)
        if sp:
            pos = sp.end
    # near matches, in the gaps the exact ones leave
    for i, core in enumerate(cores):
        if spans[i] is not None:
            continue
        lo = max((s.end for s in spans[:i] if s), default=start)
        hi = min((s.start for s in spans[i + 1 :] if s), default=len(st.text))
        spans[i] = _near(st, core, lo, hi, cores, i)
    return spans


def _exact(st: Stream, core: str, pos: int) -> Span | None:
    i = st.text.find(core, pos)
    if i >= 0:
        return st.span(i, len(core))
    if len(core) >= 8:
        # a long label whose wrapped part was lost or displaced: its first half, with the rest
        # close by (a group label or a number between), is the label; reported if not
        n = max(4, len(core) // 2)
        i = st.text.find(core[:n], pos)
        if i >= 0:
            rest = core[n:]
            if st.text.find(rest, i + n, i + n + len(rest) + 12) >= 0:
                return st.span(i, len(core) + (st.text.find(rest, i + n) - (i + n)))
    return None


def _interleaved(
    st: Stream, core: str, pos: int, group: frozenset[str], most: int = 10
) -> Span | None:
    """A label with characters of a vertical group label standing inside it (PDF text puts a
    group label, one character a line, between the halves of a wrapped row label): the label's
    characters in order, with at most `most` of the group's characters between them."""
    if len(core) < 6 or not group:
        return None
    text = st.text
    i = text.find(core[0], pos)
    while i >= 0:
        ti, ci, skipped = i + 1, 1, 0
        while ci < len(core) and ti < len(text) and skipped <= most:
            if text[ti] == core[ci]:
                ci += 1
            elif text[ti] in group:
                skipped += 1
            else:
                break
            ti += 1
        if ci == len(core) and skipped <= most:
            return st.span(i, ti - i)
        i = text.find(core[0], i + 1)
    return None


def _near(st: Stream, core: str, lo: int, hi: int, cores: list[str], me: int) -> Span | None:
    limit = _near_limit(core)
    if limit == 0 or hi <= lo:
        return None
    seg = st.text[lo:hi]
    best: list[tuple[int, int, int]] = []  # (distance, start, length)
    for n in range(max(2, len(core) - limit), len(core) + limit + 1):
        for s in range(0, len(seg) - n + 1):
            d = _distance(core, seg[s : s + n], limit)
            if d <= limit:
                best.append((d, s, n))
    if not best:
        return None
    dmin = min(b[0] for b in best)
    top = [b for b in best if b[0] == dmin]
    # one place only (windows of the same place overlap), and no other row fits it as well
    first = min(top, key=lambda b: b[1])
    if any(b[1] >= first[1] + first[2] or b[1] + b[2] <= first[1] for b in top):
        return None
    window = seg[first[1] : first[1] + first[2]]
    if any(j != me and _distance(c, window, dmin) <= dmin for j, c in enumerate(cores)):
        return None
    i = lo + first[1]
    return st.span(i, first[2], "near", st.printed(i, i + first[2]))


# --- placing runs on rows ---------------------------------------------------------------------


def assign(st: Stream, spans: list[Span | None], lens: list[int]) -> dict[int, Run]:
    """Give each found label the run of numbers that belongs to it."""
    got: dict[int, Run] = {}
    used: set[int] = set()

    def fits(r: Run, i: int) -> bool:
        return r.fit(lens[i]) is not None and id(r) not in used

    def take(i: int, r: Run) -> None:
        got[i] = r
        used.add(id(r))

    def bounds(i: int) -> tuple[int, int]:
        prv = max((s.end for s in spans[:i] if s), default=-1)
        nxt = min((s.start for s in spans[i + 1 :] if s), default=len(st.text) + 1)
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
    # before their labels; try both readings and keep the one that places more rows. A run
    # standing exactly between two labels is after the first and before the second: each
    # reading counts it for one row only.
    rest = [i for i, sp in enumerate(spans) if sp and i not in got]
    if rest:
        alone = [r for r in st.runs if r.line not in st.text_lines and id(r) not in used]
        best: dict[int, Run] = {}
        for mode in ("after", "before"):
            cands: dict[int, list[Run]] = {}
            for i in rest:
                sp = spans[i]
                prv, nxt = bounds(i)
                lo, hi = (sp.end, nxt) if mode == "after" else (prv, sp.start)
                cands[i] = [r for r in alone if r.fit(lens[i]) is not None and lo <= r.pos <= hi]
            trial = _unique(cands)
            if len(trial) > len(best):
                best = trial
        for i, r in best.items():
            take(i, r)
    return got


def _unique(cands: dict[int, list[Run]]) -> dict[int, Run]:
    """Rows whose candidate is certain: the only one left once the runs other rows are certain
    of are set aside; a run two rows both want goes to neither."""
    out: dict[int, Run] = {}
    changed = True
    while changed:
        changed = False
        taken = {id(r) for r in out.values()}
        for i, rs in cands.items():
            if i in out:
                continue
            left = [r for r in rs if id(r) not in taken]
            if len(left) == 1:
                r = left[0]
                rivals = [
                    j
                    for j, other in cands.items()
                    if j != i
                    and j not in out
                    and any(x is r for x in other)
                    and len([x for x in other if id(x) not in taken]) == 1
                ]
                if not rivals:
                    out[i] = r
                    taken.add(id(r))
                    changed = True
    return out


# --- reading tables into cells --------------------------------------------------------------------


@dataclass
class Reading:
    spec: DocSpec
    lines: list[Line]
    cells: dict[str, RawCell] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    skipped_sheets: set[str] = field(default_factory=set)
    unread: dict[str, str] = field(default_factory=dict)  # key -> why it was not filled
    # key -> (line index, cell index) of the table cell its value was read from
    origin: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def form(self):
        return self.spec.form

    def mismatch(self, detail: str, sheet: str | None = None, f: Field | None = None) -> None:
        self.findings.append(
            make_finding(self.form, "form-mismatch", f, sheet=sheet, detail=detail)
        )

    def variant(self, detail: str, f: Field) -> None:
        self.findings.append(make_finding(self.form, "label-variant", f, detail=detail))

    def put(self, f: Field, raw, origin: tuple[int, int] | None = None) -> None:
        self.cells[f.key] = RawCell(as_published(raw), f.sheet, f.cell)
        self.unread.pop(f.key, None)
        if origin is None:
            self.origin.pop(f.key, None)
        else:
            self.origin[f.key] = origin

    def leave(self, fields: list[Field], why: str) -> None:
        # no RawCell: evaluate says the cell could not be read, not that it is blank
        for f in fields:
            self.cells.pop(f.key, None)
            self.origin.pop(f.key, None)
            self.unread[f.key] = why

    def skip_table(self, sheet: str, why: str) -> None:
        self.leave(self.spec.table_fields(sheet), why)
        self.skipped_sheets.add(sheet)


def _quote(ln: Line, limit: int = 30) -> str:
    s = ln.text
    return s if len(s) <= limit else s[:limit] + "…"


def read_rows(
    rd: Reading,
    st: Stream,
    rows: list[tuple[str, list[Field]]],
    name: str,
    header_end: int,
    drop_col: int | None = None,
    spec: DocSpec | None = None,
    target: dict[str, Field] | None = None,
) -> None:
    """Read a table whose rows carry official labels (tables 2 and 3) into rd. `target` maps
    this table's keys to the reading form's fields when the table follows another form."""
    spec = spec or rd.spec
    spans = find_labels(st, [c for c, _ in rows], spec, header_end, rows[0][1][0].sheet)
    lens = [len(fs) + (1 if drop_col is not None else 0) for _, fs in rows]
    got = assign(st, spans, lens)
    taken = {id(r) for r in got.values()}

    def mapped(fs: list[Field]) -> list[Field]:
        if target is None:
            return fs
        return [target[f.key] for f in fs if f.key in target]

    for i, (caption, fs) in enumerate(rows):
        run, sp = got.get(i), spans[i]
        out = mapped(fs)
        if run is None:
            why = MSG.row_missing if sp is None else MSG.row_short.format(n=lens[i])
            near = [r for r in st.runs if sp and r.line in sp.lines and id(r) not in taken]
            if sp and not near:
                # numbers standing between this label and the next one (PDF text), too few
                nxt = min((s.start for s in spans[i + 1 :] if s), default=len(st.text) + 1)
                near = [
                    r
                    for r in st.runs
                    if id(r) not in taken
                    and r.line not in st.text_lines
                    and sp.start <= r.pos <= nxt
                    and len(r.values) > 1
                ]
                near = near[:1] if len(near) == 1 else []
            if near:
                values = "、".join(v or MSG.blank for v in near[0].values)
                between = near[0].line not in sp.lines
                why += (MSG.row_has_between if between else MSG.row_has).format(
                    k=len(near[0].values), values=values
                )
                taken.add(id(near[0]))
            msg = MSG.row_unread.format(name=name, caption=caption, why=why)
            rd.mismatch(msg, out[0].sheet if out else None, out[0] if out else None)
            rd.leave(out, msg)
            continue
        if sp.how != "exact" and out:
            rd.variant(
                MSG.label_variant.format(name=name, printed=sp.printed, caption=caption), out[0]
            )
        values = list(run.fit(lens[i]))
        off = run.start + len(run.values) - len(values)
        where = [(run.line, off + k) if run.start >= 0 else None for k in range(len(values))]
        if drop_col is not None:
            del values[drop_col]
            del where[drop_col]
        for f, v, at in zip(fs, values, where):
            if target is None:
                rd.put(f, v, at)
            elif f.key in target:
                rd.put(target[f.key], v, at)
    # numbers that belong to no official row: an inserted row
    first = min((s.start for s in spans if s), default=None)
    if first is None:
        return
    label_lines = set().union(*(s.lines for s in spans if s))
    sheet = rows[0][1][0].sheet
    for r in st.runs:
        if (
            id(r) in taken
            or r.pos < first
            or r.line in label_lines
            or not any(v.strip() for v in r.values)
        ):
            continue
        ln = rd.lines[r.line]
        rd.mismatch(
            MSG.inserted_row.format(
                name=name, where=ln.where, line=_quote(ln), values="、".join(r.values)
            ),
            sheet,
        )


def read_table2(rd: Reading, st: Stream, sheet: str) -> None:
    read_rows(rd, st, rd.spec.rows(sheet), sheet, 0)


def read_table3(rd: Reading, st: Stream, sheet: str, spec: DocSpec | None = None) -> None:
    """Table 3 by the structure of `spec`'s form (the reading's own, or the earlier form whose
    rows the document kept: then its rows go to the reading form's rows named in the TOML)."""
    spec = spec or rd.spec
    rows = spec.rows(sheet)
    width = len(rows[0][1])
    target = None
    if spec is not rd.spec:
        target = _row_map(rd, spec, sheet)
    first = _exact(st, label_core(rows[0][0]), 0)
    header_end = first.start if first else 0
    # the number of cells per row: the form's, or one more with an unofficial subtotal column
    counts: dict[int, int] = {}
    for r in st.runs:
        if r.pos >= header_end and len(r.values) > 1:
            counts[len(r.values)] = counts.get(len(r.values), 0) + 1
    most = max(counts, key=lambda n: (counts[n], n == width), default=width)
    drop = None
    if most == width + 1:
        drop = _subtotal_column(st, header_end, spec, sheet)
        if drop is None:
            msg = MSG.extra_column_unknown.format(
                sheet=sheet, most=most, words="".join(f"“{w}”" for w in spec.subtotal_words)
            )
            rd.mismatch(msg, sheet)
            rd.skip_table(sheet, msg)
            return
        rd.mismatch(
            MSG.extra_column_dropped.format(
                sheet=sheet, n=drop + 1, group=_org_header(spec, sheet)
            ),
            sheet,
        )
    elif most != width and counts:
        rd.mismatch(MSG.width_differs.format(sheet=sheet, most=most, width=width), sheet)
    read_rows(rd, st, rows, sheet, header_end, drop, spec, target)


def _row_map(rd: Reading, earlier: DocSpec, sheet: str) -> dict[str, Field]:
    """Keys of the earlier form's table -> fields of the reading form: rows with the same id,
    and the rows the reading form's TOML names for the earlier form's own rows. Rows of the
    reading form that receive nothing are left unread, with the reason."""
    fields = {f.key: f for f in rd.spec.table_fields(sheet)}
    out: dict[str, Field] = {}
    ren = rd.spec.earlier_rows
    for f in earlier.table_fields(sheet):
        key = f.key
        for old, new in ren.items():
            prefix = f"t3_{old}_"
            if key.startswith(prefix):
                key = f"t3_{new}_" + key.removeprefix(prefix)
        if key in fields:
            out[f.key] = fields[key]
    got = {f.key for f in out.values()}
    missing: dict[str, list[Field]] = {}
    for k, f in fields.items():
        if k not in got:
            missing.setdefault(f.row_caption, []).append(f)
    for caption, fs in missing.items():
        rd.leave(
            fs, MSG.earlier_form_row.format(sheet=sheet, caption=caption, form=earlier.form.id)
        )
    return out


def _subtotal_column(st: Stream, header_end: int, spec: DocSpec, sheet: str) -> int | None:
    """Index (0-based, among width+1 values) of an added subtotal column, from the header's
    order, confirmed by the numbers (the subtotal equals the organisation columns)."""
    rows = spec.rows(sheet)
    cols = [f.col_caption for f in rows[0][1]]
    leaves = cols[1:-1]
    head = st.text[:header_end]
    # a header that spans the organisation columns may contain a leaf's word (其他组织)
    for c in spec.form.sheet(sheet).captions:
        n = norm(c.text)
        if c.style == "header" and c.text not in cols and any(norm(x) in n for x in leaves):
            head = head.replace(n, "#" * len(n))
    m = (
        re.search("|".join(map(re.escape, spec.subtotal_words)), head)
        if spec.subtotal_words
        else None
    )
    if m:
        found = [head.find(norm(x)) for x in leaves]
        if all(p >= 0 for p in found):
            return 1 + sum(1 for p in found if p < m.start())
    width = len(cols)
    nums = [
        [_int(v) for v in r.values]
        for r in st.runs
        if r.pos >= header_end and len(r.values) == width + 1
    ]
    nums = [n for n in nums if None not in n]

    def consistent(k: int) -> bool:
        return all(n[k] == sum(x for j, x in enumerate(n[1:width], 1) if j != k) for n in nums)

    ok = [k for k in range(1, width) if consistent(k)]
    mappings = {tuple(tuple(x for j, x in enumerate(n) if j != k) for n in nums) for k in ok}
    if ok and len(mappings) == 1 and nums:
        return ok[-1]
    return None


def _org_header(spec: DocSpec, sheet: str) -> str:
    """The header over the organisation columns (the caption spanning them)."""
    cols = [f.col_caption for f in spec.rows(sheet)[0][1]]
    leaves = cols[1:-1]
    return next(
        (
            c.text
            for c in spec.form.sheet(sheet).captions
            if c.style == "header" and c.text not in cols and any(x in c.text for x in leaves)
        ),
        "",
    )


def _int(v: str) -> int | None:
    t = unicodedata.normalize("NFKC", v).strip()
    return int(t) if t.isdigit() else None


def read_table4(rd: Reading, st: Stream, sheet: str) -> None:
    """Table 4 is one row of cells under a two-level header: the row is the one run with as
    many values as the table has cells; the header's order of the case groups is checked."""
    fields = rd.spec.table_fields(sheet)
    n = len(fields)
    runs = [r for r in st.runs if len(r.values) == n]
    if len(runs) != 1:
        lengths = sorted({len(r.values) for r in st.runs if len(r.values) > 1})
        why = (
            MSG.one_row_many.format(k=len(runs), n=n)
            if runs
            else MSG.one_row_none.format(n=n)
            + (MSG.one_row_lengths.format(lengths="、".join(map(str, lengths))) if lengths else "")
        )
        msg = MSG.one_row_unread.format(sheet=sheet, why=why)
        rd.mismatch(msg, sheet)
        rd.skip_table(sheet, msg)
        return
    values = list(runs[0].values)
    run = runs[0]
    where = [(run.line, run.start + k) if run.start >= 0 else None for k in range(len(values))]
    head = st.text[: runs[0].pos]
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(fields):
        groups.setdefault(f.row_caption, []).append(i)
    # the group headers that name case groups of equal size (the litigation sub-groups)
    named = {g: head.find(label_core(g.split("·")[-1])) for g in groups if "·" in g}
    if len(named) > 1 and all(p >= 0 for p in named.values()):
        official = [g for g in groups if g in named]
        printed = sorted(official, key=lambda g: named[g])
        if printed != official:
            rd.mismatch(
                MSG.group_order.format(
                    sheet=sheet, first=printed[0].split("·")[-1], second=official[0].split("·")[-1]
                ),
                sheet,
            )
            slots = [groups[g] for g in official]  # where each official group sits
            reordered, moved = list(values), list(where)
            for g, slot in zip(printed, slots):  # the printed group in that slot
                for dst, src in zip(groups[g], slot):
                    reordered[dst], moved[dst] = values[src], where[src]
            values, where = reordered, moved
    for f, v, at in zip(fields, values, where):
        rd.put(f, v, at)


def identify(st: Stream, sheet: str) -> str | None:
    """The form a table follows, by the words the forms' TOML lists for it (newest first)."""
    for spec in all_specs():
        words = spec.identify.get(sheet, ())
        if words and any(norm(w) in st.text for w in words):
            return spec.form.id
    return None


__all__ = ["Reading", "Stream", "read_table2", "read_table3", "read_table4", "identify", "doc_spec"]
