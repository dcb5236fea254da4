"""The summary workbook of a consolidation.

Its first sheets are the template itself (封面, 表二, 表三, 表四, 校验) holding the consolidated
figures, so the next level up reads it like any agency's workbook. Then: 报送情况 (every roster
entry and file with its status), 分单位明细 (one row per agency, a column per key), 校验问题
(every finding), 图表 (native charts), 指标分析 (indicators per agency against its peer group,
with the groups' quartiles as box-like bars) and, when earlier years are known, 近年趋势 (the
indicators over the years, a line per key total). Written with XlsxWriter in constant memory, text
always as strings: nothing a workbook contained becomes a live formula here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from xltools import UnreadableError
from xltools.analytics import Analysis, analysis_of
from xltools.consolidation import Consolidation
from xltools.evaluate import evaluate
from xltools.fsutil import atomic_path
from xltools.messages import ANALYTICS, NAMES, RUN, SUMMARY
from xltools.pipeline import unreadable_report
from xltools.reader.workbook import read_workbook
from xltools.template import Formats, new_workbook, write_form_sheets
from xltools.textsafe import safe_text
from xltools.vocabulary import ERROR, ERRORS, STATUS_COLORS, STATUS_LABELS, WARNINGS, severity_label

if TYPE_CHECKING:
    from xltools.findings import Report


def write_summary(result: "Consolidation", path: Path, agency: str | None = None) -> "Report":
    """Write the workbook (temporary name, then rename) and return it read back and checked."""
    form = result.form
    # first: the peer warnings it adds belong in 报送情况 and 校验问题 too
    analysis = analysis_of(result)
    values = dict(result.totals)
    n = len(result.included)
    values["meta_agency"] = agency or RUN.summary_agency.format(n=n)
    if result.year:
        values["meta_year"] = result.year
    note = RUN.summary_note.format(
        n=n,
        files=len(result.files),
        created=result.created,
        roster=RUN.summary_note_roster.format(n=result.roster_size) if result.roster_size else "",
        policy=RUN.policy_all if result.include_invalid else RUN.policy_valid,
    )
    with atomic_path(path) as tmp:
        wb = new_workbook(tmp)
        fmt = write_form_sheets(wb, form, values, note)
        _status_sheet(wb, fmt, result)
        _detail_sheet(wb, fmt, result)
        _findings_sheet(wb, fmt, result)
        _charts_sheet(wb, fmt, result)
        _indicator_sheet(wb, fmt, result, analysis)
        if analysis.years:
            _trend_sheet(wb, fmt, analysis)
        for extra in getattr(
            result, "extra_sheets", ()
        ):  # e.g. the season's sheets (xltools.season)
            extra(wb, fmt)
        wb.close()
    report = _read_back(path)
    report.file = str(path)
    return report


def _read_back(path: Path) -> "Report":
    """The written workbook read and checked as an agency's would be, without the hostile-input
    pre-scan: xltools wrote it a moment ago, and the scan would pass over every row of
    分单位明细 (most of the time for thousands of agencies)."""
    try:
        return evaluate(read_workbook(path, screen=False))
    except UnreadableError as e:
        return unreadable_report(str(path), str(e))


def _streamed_sheet(wb, name: str, worksheet_class=None):
    """A sheet whose rows go straight to a temporary file as they are written (XlsxWriter's
    constant_memory, for this sheet only: the form sheets are written out of row order). The
    sheets that grow with the number of agencies are written this way, so 10,000 agencies x
    200 columns never sit in memory. Rows must be written top to bottom: a cell written to a
    row above the current one would be lost."""
    wb.constant_memory = True
    try:
        return wb.add_worksheet(name, worksheet_class=worksheet_class)
    finally:
        wb.constant_memory = False


def _header(ws, fmt: Formats, row: int, heads: list[str], widths: list[float]) -> None:
    head = fmt.style("header")
    for i, (h, w) in enumerate(zip(heads, widths)):
        ws.write_string(row, i, h, head)
        ws.set_column(i, i, w)


def _text(ws, row: int, col: int, value, f=None) -> None:
    if value is None or value == "":
        return
    kind = value.__class__
    if kind is str:
        ws.write_string(row, col, safe_text(value), f)
    elif kind is bool:
        ws.write_string(row, col, SUMMARY.yes if value else SUMMARY.no, f)
    elif kind is int or kind is float or isinstance(value, (int, float)):
        ws.write_number(row, col, value, f)
    else:
        ws.write_string(row, col, safe_text(str(value)), f)


class _RowXml:
    """A run of cells of one row, rendered as XML once (_NumberRows.write_numbers)."""

    __slots__ = ("xml",)
    format = None

    def __init__(self, xml: str):
        self.xml = xml


class _NumberRows(Worksheet):
    """A worksheet that writes a row's cells as one piece of XML. XlsxWriter's path for each
    cell (a stored tuple, then an element with its attributes escaped) was most of the time of
    分单位明细 (200 numbers a row for thousands of agencies) and of 指标分析's agency rows. The
    XML is what XlsxWriter writes for the same cells; the run is kept where XlsxWriter keeps a
    row's cells, so the row is written out in its place."""

    def write_numbers(self, row: int, col: int, numbers: list) -> None:
        """Each int or float of `numbers` at col, col + 1, …; anything else leaves its cell
        empty."""
        r = str(row + 1)
        cells = []
        last = -1
        for j, (letters, v) in enumerate(zip(_columns(col, len(numbers)), numbers)):
            kind = v.__class__
            if kind is int and -_BIG < v < _BIG:  # what .16G gives for such an int, faster
                cells.append(f'<c r="{letters}{r}"><v>{v}</v></c>')
            elif (kind is float or isinstance(v, (int, float))) and kind is not bool:
                if not -_INF < v < _INF:
                    continue  # NaN and infinities: XlsxWriter refuses them (never in values)
                cells.append(f'<c r="{letters}{r}"><v>{v:.16G}</v></c>')
            else:
                continue
            last = j
        self._store_run(row, col, last, cells)

    def write_cells(self, row: int, col: int, cells: list[tuple]) -> None:
        """(value, format) pairs at col, col + 1, …, as one piece of XML: a str as an inline
        string (a streamed sheet's way), an int or float as a number, None or "" leaves its
        cell empty. The XML is XlsxWriter's for the same write_string / write_number calls
        (tests/test_consolidate.py compares them); a cell without a format takes none."""
        r = str(row + 1)
        out = []
        last = -1
        for j, (letters, (v, f)) in enumerate(zip(_columns(col, len(cells)), cells)):
            if v is None or v == "":
                continue
            style = "" if f is None else f' s="{f._get_xf_index()}"'
            kind = v.__class__
            if kind is str:
                text = self._escape_control_characters(safe_text(v))
                keep = ' xml:space="preserve"' if _LEADING_OR_TRAILING.search(text) else ""
                text = self._escape_data(text)
                out.append(
                    f'<c r="{letters}{r}"{style} t="inlineStr"><is><t{keep}>{text}</t></is></c>'
                )
            elif kind is not bool and isinstance(v, (int, float)) and -_INF < v < _INF:
                out.append(f'<c r="{letters}{r}"{style}><v>{v:.16G}</v></c>')
            else:
                raise TypeError(f"not a cell value: {v!r}")
            last = j
        self._store_run(row, col, last, out)

    def _store_run(self, row: int, col: int, last: int, cells: list[str]) -> None:
        """Cells col … col + last of a row, as their XML, where XlsxWriter keeps a row's cells
        (the row above written out first on a streamed sheet, as write_number would)."""
        if last < 0:
            return
        if self._check_dimensions(row, col) or self._check_dimensions(row, col + last):
            return
        if self.constant_memory and row > self.previous_row:
            self._write_single_row(row)
        self.table[row][col] = _RowXml("".join(cells))

    def _write_cell(self, row: int, col: int, cell) -> None:
        if cell.__class__ is _RowXml:
            self.fh.write(cell.xml)
        else:
            super()._write_cell(row, col, cell)


_INF = float("inf")
_BIG = 10**15
_LEADING_OR_TRAILING = re.compile(r"^\s|\s$")  # XlsxWriter keeps such a text's spaces


@lru_cache(maxsize=None)
def _columns(first: int, n: int) -> tuple[str, ...]:
    return tuple(xl_col_to_name(c) for c in range(first, first + n))


def _status_sheet(wb, fmt: Formats, result: "Consolidation") -> None:
    ws = _streamed_sheet(wb, NAMES.sheet_status)
    heads = list(SUMMARY.status_heads)
    widths = [6, 30, 30, 14, 10, 8, 8, 9, 60, 40, 12, 20, 66, 10, 28]
    compared = any(
        getattr(e, "compared", None) for e in result.entries
    )  # a season: versions compared
    if compared:
        heads.append(SUMMARY.compared_head)
        widths.append(50)
    _header(ws, fmt, 0, heads, widths)
    colored = {s: fmt.get(bg_color=c, border=1, font_size=10) for s, c in STATUS_COLORS.items()}
    plain = fmt.get(font_size=10)
    wrap = fmt.get(font_size=10, text_wrap=True, valign="top")
    for i, e in enumerate(result.entries, start=1):
        values = e.report.values if e.report else {}
        row = [
            i,
            e.name,
            e.agency,
            e.roster.group if e.roster else None,
            None,
            e.errors,
            e.warnings,
            e.included,
            e.note,
            e.file,
            e.submitted,
            e.modified,
            e.sha256,
            values.get("meta_contact"),
            values.get("meta_email") or (e.roster.email if e.roster else None),
        ]
        if compared:
            row.append(getattr(e, "compared", None))
        for col, v in enumerate(row):
            _text(ws, i, col, v, wrap if col == 8 else plain)
        ws.write_string(i, 4, STATUS_LABELS.get(e.status, e.status), colored.get(e.status, plain))
    ws.autofilter(0, 0, max(len(result.entries), 1), len(heads) - 1)
    ws.freeze_panes(1, 2)
    ws.print_area(
        0, 0, max(len(result.entries), 1), 9
    )  # the hashes and contacts stay on screen only
    _print(ws)


def _detail_sheet(wb, fmt: Formats, result: "Consolidation") -> None:
    ws = _streamed_sheet(wb, NAMES.sheet_detail, _NumberRows)
    form = result.form
    fields = [f for f in form.fields if f.is_numeric]
    caption = fmt.get(
        bold=True, text_wrap=True, valign="top", font_size=9, bg_color="#DDEBF7", border=1
    )
    key_fmt = fmt.get(font_size=8, font_color="#595959", border=1)
    fixed = SUMMARY.detail_heads
    ws.set_column(0, 0, 30)
    ws.set_column(1, len(fixed) - 1, 9)
    ws.set_column(len(fixed), len(fixed) + len(fields) - 1, 12)
    ws.set_row(0, 60)
    # row by row (a streamed sheet): captions, then keys, then one row per agency
    for i, h in enumerate(fixed):
        ws.write_string(0, i, h, caption)
    for j, f in enumerate(fields, start=len(fixed)):
        ws.write_string(0, j, f"{f.sheet}·{f.row_caption}·{f.col_caption}", caption)
    for i, k in enumerate(["agency", "status", "included", "meta_year", "form"]):
        ws.write_string(1, i, k, key_fmt)
    for j, f in enumerate(fields, start=len(fixed)):
        ws.write_string(1, j, f.key, key_fmt)
    keys = [f.key for f in fields]
    first = len(fixed)
    row = 2
    for e in result.entries:
        if not e.report or not e.report.values:
            continue
        values = e.report.values
        for col, v in enumerate(
            [
                e.name,
                STATUS_LABELS.get(e.status, e.status),
                e.included,
                e.report.year,
                e.report.form,
            ]
        ):
            _text(ws, row, col, v)
        ws.write_numbers(row, first, [values.get(k) for k in keys])
        row += 1
    ws.autofilter(1, 0, max(row - 1, 1), len(fixed) + len(fields) - 1)
    ws.freeze_panes(2, 1)
    ws.repeat_rows(0, 1)
    ws.repeat_columns(0, 0)
    _print(ws, fit=False)


def _findings_sheet(wb, fmt: Formats, result: "Consolidation") -> None:
    ws = _streamed_sheet(wb, NAMES.sheet_findings)
    _header(ws, fmt, 0, SUMMARY.findings_heads, [30, 36, 6, 18, 14, 100])
    wrap = fmt.get(font_size=10, text_wrap=True, valign="top")
    red = fmt.get(font_size=10, bg_color=STATUS_COLORS[ERRORS])
    yellow = fmt.get(font_size=10, bg_color=STATUS_COLORS[WARNINGS])
    row = 1
    groups = [
        (
            SUMMARY.summary_review,
            str(result.outdir / NAMES.summary_workbook),
            result.summary.findings if result.summary else [],
        )
    ]
    groups += [(e.name, e.file, e.findings) for e in result.entries if e.findings]
    for name, file, findings in groups:
        for f in findings:
            _text(ws, row, 0, name)
            _text(ws, row, 1, file)
            ws.write_string(
                row, 2, severity_label(f.severity), red if f.severity == ERROR else yellow
            )
            _text(ws, row, 3, f.rule)
            _text(ws, row, 4, f.where)
            _text(ws, row, 5, f.message, wrap)
            row += 1
    ws.autofilter(0, 0, max(row - 1, 1), 5)
    ws.freeze_panes(1, 1)
    _print(ws)


# what the charts show comes from the form's [summary] section

_NUMBERING = re.compile(r"^(（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|\d+[.．、])")
_NOTE = re.compile(r"（[^（）]*）$")


def _short(label: str) -> str:
    """A caption as a chart label: without its numbering and a trailing note in brackets."""
    return _NOTE.sub("", _NUMBERING.sub("", label)) or label


def _outcomes(totals: dict, form) -> list[tuple[str, float]]:
    """The outcome rows (parts of the configured total row), summed by their innermost group."""
    spec = form.summary["outcomes"]
    m = next(s.matrix for s in form.sheets if s.matrix and s.matrix["name"] == spec["matrix"])
    depth = len(m["groups"][spec["row"]])
    out: dict[str, float] = {}
    for rid in m["row_sums"][spec["row"]]:
        groups = m["groups"][rid]
        label = _short(groups[depth] if len(groups) > depth else m["labels"][rid])
        out[label] = out.get(label, 0) + (
            totals.get(m["key"].format(row=rid, col=spec["col"])) or 0
        )
    return list(out.items())


def _reviews(form) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, ...]]]]:
    """(result captions with their key suffix, [(group label, part keys)]) of the reviews sheet."""
    groups = [
        (f.row_caption.split("·")[-1], f.sum_of)
        for f in form.sheet(form.summary["reviews_sheet"]).fields
        if f.is_total
    ]
    first = groups[0][1]
    results = [(form.field(k).col_caption, k) for k in first]
    return results, groups


CHART_SHEET = NAMES.sheet_charts


class _Charts:
    """The 图表 sheet: each chart beside its own small data table, one under the other, so
    the sheet prints on pages one chart wide. Each method writes one and moves `row` down."""

    def __init__(self, wb, fmt: Formats, result: "Consolidation"):
        self.wb, self.result, self.cfg = wb, result, result.form.summary
        self.ws = wb.add_worksheet(CHART_SHEET)
        self.bold = fmt.get(bold=True, font_size=10)
        self.ws.set_column(0, 0, 28)
        self.ws.set_column(1, 4, 10)
        self.row = 0

    def _place(self, chart, data_rows: int, height: int = 300) -> None:
        chart.set_size({"width": 640, "height": height})
        self.ws.insert_chart(self.row, 6, chart)
        self.row += max(data_rows + 2, height // 20 + 2)

    def _table(self, label: str, rows: list[tuple[str, float]]) -> int:
        ws, row = self.ws, self.row
        ws.write_string(row, 0, label, self.bold)
        for i, (name, n) in enumerate(rows, start=1):
            ws.write_string(row + i, 0, safe_text(name))
            ws.write_number(row + i, 1, n)
        return max(len(rows), 1)

    def _series(self, first: int, last: int, **extra) -> dict:
        return {
            "categories": [CHART_SHEET, first, 0, last, 0],
            "values": [CHART_SHEET, first, 1, last, 1],
            **extra,
        }

    def ranked(self) -> None:
        """The agencies with the most of the ranked figure (applications received)."""
        cfg = self.cfg
        top = cfg.get("top", 20)
        ranked = sorted(
            ((e.name, e.report.values.get(cfg["ranked_key"]) or 0) for e in self.result.included),
            key=lambda x: -x[1],
        )[:top]
        last = self._table(cfg["ranked_label"].format(n=top), ranked)
        chart = self.wb.add_chart({"type": "bar"})
        chart.add_series(
            self._series(
                self.row + 1,
                self.row + last,
                name=cfg["ranked_series"],
                fill={"color": "#4472C4"},
                data_labels={"value": True},
            )
        )
        chart.set_title({"name": cfg["ranked_title"]})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        self._place(chart, last + 1, max(300, 22 * last + 90))

    def outcomes(self) -> None:
        """Outcomes of the applications handled."""
        outcomes = _outcomes(self.result.totals, self.result.form)
        self._table(self.cfg["outcomes_label"], outcomes)
        pie = self.wb.add_chart({"type": "pie"})
        pie.add_series(
            self._series(
                self.row + 1,
                self.row + len(outcomes),
                name=self.cfg["outcomes_series"],
                data_labels={"value": True, "percentage": True},
            )
        )
        pie.set_title({"name": self.cfg["outcomes_title"]})
        self._place(pie, len(outcomes) + 1)

    def reviews(self) -> None:
        """Administrative review and litigation results, stacked per group."""
        ws, row = self.ws, self.row
        ws.write_string(row, 0, self.cfg["reviews_label"], self.bold)
        results, groups = _reviews(self.result.form)
        for j, (label, _) in enumerate(results, start=1):
            ws.write_string(row + 1, j, label, self.bold)
        for i, (group, parts) in enumerate(groups, start=2):
            ws.write_string(row + i, 0, group)
            for j, key in enumerate(parts, start=1):
                ws.write_number(row + i, j, self.result.totals.get(key) or 0)
        col = self.wb.add_chart({"type": "column", "subtype": "stacked"})
        colors = ["#70AD47", "#ED7D31", "#A5A5A5", "#FFC000"]
        for j in range(1, len(results) + 1):
            col.add_series(
                {
                    "name": [CHART_SHEET, row + 1, j],
                    "categories": [CHART_SHEET, row + 2, 0, row + 1 + len(groups), 0],
                    "values": [CHART_SHEET, row + 2, j, row + 1 + len(groups), j],
                    "fill": {"color": colors[(j - 1) % len(colors)]},
                }
            )
        col.set_title({"name": self.cfg["reviews_title"]})
        self._place(col, len(groups) + 2)

    def statuses(self) -> None:
        """Who has reported."""
        counts = self.result.counts()
        statuses = [s for s in STATUS_LABELS if counts.get(s)]
        self._table(self.cfg["status_label"], [(STATUS_LABELS[s], counts[s]) for s in statuses])
        if statuses:
            st = self.wb.add_chart({"type": "pie"})
            st.add_series(
                self._series(
                    self.row + 1,
                    self.row + len(statuses),
                    name=self.cfg["status_label"],
                    points=[
                        {"fill": {"color": STATUS_COLORS[s]}, "border": {"color": "#7F7F7F"}}
                        for s in statuses
                    ],
                    data_labels={"value": True, "category": True},
                )
            )
            st.set_title({"name": self.cfg["status_label"]})
            self._place(st, len(statuses) + 1)


def _charts_sheet(wb, fmt: Formats, result: "Consolidation") -> None:
    charts = _Charts(wb, fmt, result)
    charts.ranked()
    charts.outcomes()
    charts.reviews()
    charts.statuses()
    _print(charts.ws)


# --- 指标分析 and 近年趋势 (xltools.analytics) ----------------------------------------------------

INDICATOR_SHEET = NAMES.sheet_indicators
TREND_SHEET = NAMES.sheet_trends
_RATE_FORMAT = "0.0%"
_COUNT_FORMAT = "#,##0.##"
_FLAG_FILL = "#F4B084"
CHART_GROUPS = 12  # the box-like charts show the largest groups; the table shows every group


def _number_format(ind) -> str:
    return _RATE_FORMAT if ind.is_rate else _COUNT_FORMAT


def _value(ws, row: int, col: int, ind, v, fmts: dict, flagged: bool = False) -> None:
    """A value of an indicator, or “—” where it is undefined (never 0)."""
    if v is None:
        ws.write_string(row, col, ANALYTICS.undefined, fmts["undefined"])
    else:
        ws.write_number(row, col, v, fmts[(ind.is_rate, flagged)])


def _value_formats(fmt: Formats) -> dict:
    out = {"undefined": fmt.get(font_size=10, align="center", font_color="#7F7F7F")}
    for rate in (True, False):
        for flagged in (True, False):
            props = {"font_size": 10, "num_format": _RATE_FORMAT if rate else _COUNT_FORMAT}
            if flagged:
                props.update(bg_color=_FLAG_FILL, bold=True)
            out[(rate, flagged)] = fmt.get(**props)
    return out


def _box_chart(wb, sheet: str, first: int, last: int, title: str, rate: bool):
    """Box-like bars: an invisible bar up to P25, then P25–median and median–P75, one per
    (indicator, group) category of rows first..last of the charts' data (columns 11 and 12:
    indicator, group; 13: P25; 14 and 15: the two parts of the box)."""
    chart = wb.add_chart({"type": "bar", "subtype": "stacked"})
    categories = [sheet, first, 11, last, 12]
    chart.add_series(
        {
            "categories": categories,
            "values": [sheet, first, 13, last, 13],
            "fill": {"none": True},
            "border": {"none": True},
        }
    )
    for col, name, color in (
        (14, ANALYTICS.box_lower, "#9DC3E6"),
        (15, ANALYTICS.box_upper, "#2E75B6"),
    ):
        chart.add_series(
            {
                "name": name,
                "categories": categories,
                "values": [sheet, first, col, last, col],
                "fill": {"color": color},
                "border": {"color": "#1F4E79"},
                "gap": 60,
            }
        )
    chart.set_title({"name": title, "name_font": {"size": 11}})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis(
        {"num_format": "0%" if rate else "#,##0", "major_gridlines": {"visible": True}}
    )
    chart.set_legend({"none": True})  # the title says what the box and its parts are
    chart.set_size({"width": 620, "height": _box_height(last - first + 1)})
    return chart


def _box_height(categories: int) -> int:
    return max(260, 20 * categories + 100)


def _indicator_sheet(wb, fmt: Formats, result: "Consolidation", analysis: Analysis) -> None:
    """Definitions, then each group's quartiles per indicator (box-like charts beside them),
    then one row per included agency: its group, each indicator with its rank in the group.
    Written top to bottom (a streamed sheet: 10,000 agencies need not sit in memory)."""
    ws = _streamed_sheet(wb, INDICATOR_SHEET, _NumberRows)
    inds = list(analysis.indicators)
    bold = fmt.get(bold=True, font_size=11)
    head = fmt.style("header")
    plain = fmt.get(font_size=10)
    top = fmt.get(font_size=10, valign="top")
    wrap = fmt.get(font_size=10, text_wrap=True, valign="top")
    fmts = _value_formats(fmt)
    members = [e for g in analysis.members.values() for e in g]
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 2, 8)
    for j in range(len(inds)):
        ws.set_column(3 + 2 * j, 3 + 2 * j, 10)
        ws.set_column(4 + 2 * j, 4 + 2 * j, 7)
    row = 0
    ws.write_string(row, 0, ANALYTICS.text("sheet_title", n=len(members)), bold)
    row += 2
    ws.write_string(row, 0, ANALYTICS.definitions_title, bold)
    row += 1
    name_h, unit_h, formula_h, meaning_h = ANALYTICS.definition_heads
    for c, h in ((0, name_h), (1, unit_h)):
        ws.write_string(row, c, h, head)
    ws.merge_range(row, 2, row, 6, formula_h, head)
    ws.merge_range(row, 7, row, 12, meaning_h, head)
    row += 1
    for ind in inds:
        ws.set_row(row, 27)
        ws.write_string(row, 0, ind.name, top)
        ws.write_string(row, 1, ind.unit, top)
        ws.merge_range(row, 2, row, 6, safe_text(ind.formula), wrap)
        ws.merge_range(row, 7, row, 12, safe_text(ind.meaning), wrap)
        row += 1
    row += 1
    # the groups' quartiles, counts first then rates: each chart takes one block of rows
    groups = list(analysis.groups)  # the largest first (xltools.analytics)
    charted = groups[:CHART_GROUPS]
    ws.write_string(row, 0, ANALYTICS.groups_title, bold)
    ws.write_string(row, 11, ANALYTICS.text("chart_data_title", n=len(charted)), bold)
    row += 1
    # the table: counts first, then rates; beside it the charts' data, one block of rows
    # (indicator × group, the largest groups only) per chart
    table: list[tuple] = []
    chart_rows: dict[bool, list[tuple]] = {False: [], True: []}
    for rate in (False, True):
        for ind in (i for i in inds if i.is_rate == rate):
            for g in groups:
                st = analysis.groups[g][ind.id]
                table.append((ind, g, st))
                if g in charted and st.n:
                    # the indicator's name once per block: the chart's outer category level
                    first_of_block = not chart_rows[rate] or chart_rows[rate][-1][0] is not ind
                    chart_rows[rate].append((ind, g, st, first_of_block))
    chart_data = chart_rows[False] + chart_rows[True]
    head_row = row
    for c, h in enumerate(ANALYTICS.group_heads):
        ws.write_string(row, c, h, head)
    for c, h in enumerate(ANALYTICS.chart_data_heads, start=11):
        ws.write_string(row, c, h, head)
    row += 1
    for i in range(max(len(table), len(chart_data))):
        if i < len(table):
            ind, g, st = table[i]
            ws.write_string(row, 0, ind.name, plain)
            ws.write_string(row, 1, safe_text(g), plain)
            ws.write_string(row, 2, ind.unit, plain)
            ws.write_number(row, 3, st.n, plain)
            for c, v in ((4, st.p25), (5, st.p50), (6, st.p75), (7, st.pooled)):
                _value(ws, row, c, ind, v, fmts)
        if i < len(chart_data):
            ind, g, st, first_of_block = chart_data[i]
            if first_of_block:
                ws.write_string(row, 11, ind.name, plain)
            ws.write_string(row, 12, safe_text(g), plain)
            f = fmts[(ind.is_rate, False)]
            ws.write_number(row, 13, st.p25, f)
            ws.write_number(row, 14, st.p50 - st.p25, f)
            ws.write_number(row, 15, st.p75 - st.p50, f)
        row += 1
    blocks = []
    first = head_row + 1
    for rate in (False, True):
        if chart_rows[rate]:
            blocks.append((rate, first, first + len(chart_rows[rate]) - 1))
            first += len(chart_rows[rate])
    # the box-like charts side by side under the table, within the width of the agencies' table
    row += 1
    tallest = 0
    for (rate, first, last), col in zip(blocks, (0, 7)):
        title = ANALYTICS.box_rates_title if rate else ANALYTICS.box_counts_title
        if len(groups) > len(charted):
            title += ANALYTICS.text("chart_some_groups", n=len(charted))
        chart = _box_chart(wb, INDICATOR_SHEET, first, last, title, rate)
        ws.insert_chart(row, col, chart, {"x_offset": 4, "y_offset": 4})
        tallest = max(tallest, _box_height(last - first + 1))
    row += tallest // 20 + 2
    # one row per included agency
    ws.write_string(row, 0, ANALYTICS.agencies_title, bold)
    row += 1
    header = row
    heads = list(ANALYTICS.agency_heads)
    for ind in inds:
        heads.append(ANALYTICS.text("value_head", name=ind.name, unit=ind.unit))
        heads.append(ANALYTICS.text("rank_head", name=ind.name))
    ws.set_row(row, 45)
    for c, h in enumerate(heads):
        ws.write_string(row, c, h, head)
    row += 1
    first = row
    flagged_cells = []
    undefined = (ANALYTICS.undefined, fmts["undefined"])
    for g in groups:
        for e in analysis.members[g]:
            flags = e.peer_flags
            cells = [(e.name, plain), (g, plain), (len(flags), plain)]
            for j, ind in enumerate(inds):
                v = e.indicators.get(ind.id)
                flagged = ind.id in flags
                # a value, or “—” where it is undefined (never 0); then its rank in the group
                cells.append(undefined if v is None else (v, fmts[(ind.is_rate, flagged)]))
                cells.append((e.ranks.get(ind.id), plain))
                if flagged:
                    flagged_cells.append((row, 3 + 2 * j))
            ws.write_cells(row, 0, cells)
            row += 1
    last = max(row - 1, first)
    # a warned value keeps its orange under the column's data bar (a cell's own fill would be
    # painted over): a conditional format of its own, true always
    flag = fmt.get(bg_color=_FLAG_FILL, bold=True)
    for r, c in flagged_cells:
        ws.conditional_format(r, c, r, c, {"type": "formula", "criteria": "=TRUE", "format": flag})
    for j, ind in enumerate(inds):
        col = 3 + 2 * j
        ws.conditional_format(
            first, col, last, col, {"type": "data_bar", "bar_color": "#9DC3E6", "bar_solid": True}
        )
    ws.conditional_format(
        first,
        2,
        last,
        2,
        {"type": "cell", "criteria": ">", "value": 0, "format": fmts[(False, True)]},
    )
    ws.autofilter(header, 0, last, len(heads) - 1)
    ws.freeze_panes(0, 1)
    _print(ws)


def _trend_sheet(wb, fmt: Formats, analysis: Analysis) -> None:
    """The totals' indicators per year (a line chart of the key totals, one of the rates),
    then each included agency's indicators per year."""
    ws = _streamed_sheet(wb, TREND_SHEET)
    inds = list(analysis.indicators)
    years = analysis.years
    bold = fmt.get(bold=True, font_size=11)
    head = fmt.style("header")
    plain = fmt.get(font_size=10)
    fmts = _value_formats(fmt)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 1 + len(years), 12)
    sources = ANALYTICS.join.join(
        ANALYTICS.text("trend_source", year=y, source=analysis.trend_sources.get(y, ""))
        for y in years
    )  # the folder or workbook of each earlier year; this year's is this consolidation
    row = 0
    ws.write_string(
        row,
        0,
        safe_text(ANALYTICS.text("trend_title", first=years[0], last=years[-1], sources=sources)),
        bold,
    )
    row += 2
    ws.write_string(row, 0, ANALYTICS.trend_totals_title, bold)
    row += 1
    top = row
    for c, h in enumerate(
        [ANALYTICS.trend_heads[1], ANALYTICS.group_heads[2]]
        + [ANALYTICS.text("trend_year", year=y) for y in years]
    ):
        ws.write_string(row, c, h, head)
    row += 1
    rows_of: dict[str, int] = {}
    for ind in inds:
        ws.write_string(row, 0, ind.name, plain)
        ws.write_string(row, 1, ind.unit, plain)
        for j, y in enumerate(years):
            _value(ws, row, 2 + j, ind, analysis.trend_totals.get(ind.id, {}).get(y), fmts)
        rows_of[ind.id] = row
        row += 1
    chart_row = top
    for rate in (False, True):
        chosen = [i for i in inds if i.is_rate == rate and (rate or i.trend)]
        if not chosen:
            continue
        chart = wb.add_chart({"type": "line"})
        for ind in chosen:
            r = rows_of[ind.id]
            chart.add_series(
                {
                    "name": [TREND_SHEET, r, 0],
                    "categories": [TREND_SHEET, top, 2, top, 1 + len(years)],
                    "values": [TREND_SHEET, r, 2, r, 1 + len(years)],
                    "marker": {"type": "circle", "size": 6},
                    "data_labels": {"value": len(chosen) <= 4, "position": "above"},
                }
            )
        chart.set_title(
            {
                "name": ANALYTICS.trend_rates_chart if rate else ANALYTICS.trend_counts_chart,
                "name_font": {"size": 11},
            }
        )
        chart.set_y_axis({"num_format": "0%" if rate else "#,##0", "min": 0})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 620, "height": 320})
        ws.insert_chart(chart_row, 3 + len(years), chart)
        chart_row += 18
    row = max(row, chart_row) + 1
    ws.write_string(row, 0, ANALYTICS.trend_agencies_title, bold)
    row += 1
    header = row
    for c, h in enumerate(
        list(ANALYTICS.trend_heads) + [ANALYTICS.text("trend_year", year=y) for y in years]
    ):
        ws.write_string(row, c, h, head)
    row += 1
    for agency, by_id in analysis.trends.items():
        for ind in inds:
            ys = by_id.get(ind.id, {})
            _text(ws, row, 0, agency, plain)
            ws.write_string(row, 1, ind.name, plain)
            for j, y in enumerate(years):
                if y in ys:
                    _value(ws, row, 2 + j, ind, ys[y], fmts)
            row += 1
    ws.autofilter(header, 0, max(row - 1, header + 1), 1 + len(years))
    ws.freeze_panes(0, 1)
    _print(ws)


def _print(ws, fit: bool = True) -> None:
    ws.set_paper(9)
    ws.set_landscape()
    if fit:
        ws.fit_to_pages(1, 0)
