"""The summary workbook of a consolidation.

Its first sheets are the template itself (封面, 表二, 表三, 表四, 校验) holding the consolidated
figures, so the next level up reads it like any agency's workbook. Then: 报送情况 (every roster
entry and file with its status), 分单位明细 (one row per agency, a column per key), 校验问题
(every finding) and 图表 (native charts). Written with XlsxWriter in constant memory, text
always as strings: nothing a workbook contained becomes a live formula here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from xltools.consolidation import Consolidation
from xltools.fsutil import atomic_path
from xltools.messages import NAMES, RUN, SUMMARY
from xltools.template import Formats, new_workbook, write_form_sheets
from xltools.textsafe import safe_text
from xltools.vocabulary import ERROR, ERRORS, STATUS_COLORS, STATUS_LABELS, WARNINGS, severity_label

if TYPE_CHECKING:
    from xltools.findings import Report


def write_summary(result: "Consolidation", path: Path, agency: str | None = None) -> "Report":
    """Write the workbook (temporary name, then rename) and return it read back and checked."""
    form = result.form
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
    from xltools import UnreadableError
    from xltools.evaluate import evaluate
    from xltools.pipeline import unreadable_report
    from xltools.reader.workbook import read_workbook

    try:
        return evaluate(read_workbook(path, screen=False))
    except UnreadableError as e:
        return unreadable_report(str(path), str(e))


def _streamed_sheet(wb, name: str):
    """A sheet whose rows go straight to a temporary file as they are written (XlsxWriter's
    constant_memory, for this sheet only: the form sheets are written out of row order). The
    sheets that grow with the number of agencies are written this way, so 10,000 agencies x
    200 columns never sit in memory. Rows must be written top to bottom: a cell written to a
    row above the current one would be lost."""
    wb.constant_memory = True
    try:
        return wb.add_worksheet(name)
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
    if isinstance(value, bool):
        ws.write_string(row, col, SUMMARY.yes if value else SUMMARY.no, f)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, f)
    else:
        ws.write_string(row, col, safe_text(str(value)), f)


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
    ws = _streamed_sheet(wb, NAMES.sheet_detail)
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
    keys = [(j, f.key) for j, f in enumerate(fields, start=len(fixed))]
    write_number = ws.write_number
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
        for j, key in keys:
            v = values.get(key)
            if (type(v) is int or type(v) is float) or (
                isinstance(v, (int, float)) and not isinstance(v, bool)
            ):
                write_number(row, j, v)
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


def _print(ws, fit: bool = True) -> None:
    ws.set_paper(9)
    ws.set_landscape()
    if fit:
        ws.fit_to_pages(1, 0)
