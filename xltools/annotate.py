"""Mark findings on a copy of the workbook: error cells red, warning cells yellow, each with a
note (legacy comment, shown by Excel, WPS and LibreOffice), and a first sheet 校验结果 listing
every finding with a link to its cell. The input file is never modified.

`plan_marks` is the one painting plan: the annotated copy and `xltools live` both apply it, so
the two never disagree. openpyxl is imported only when a copy is written (it costs 0.17 s at
start-up, measured with -X importtime): naming copies and planning marks stay cheap for the
parent process of a batch and for `xltools live`.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from xltools.findings import ERROR, Finding, Report
from xltools.fsutil import atomic_save_workbook
from xltools.messages import ANNOTATE, TEMPLATE
from xltools.template import fill_workbook
from xltools.textsafe import safe_filename, safe_text, wrapped_lines
from xltools.vocabulary import SEVERITY_FILLS, severity_label

RESULT_SHEET = ANNOTATE.result_sheet
FILLS = SEVERITY_FILLS
LOCATE_FILL = "B4A7D6"  # violet: the cell xltools.locate says is most likely wrong
NOTE_AUTHOR = ANNOTATE.note_author


@dataclass(frozen=True, slots=True)
class CellMark:
    sheet: str
    cell: str
    severity: str  # the worst severity on the cell
    color: str  # RGB hex
    note: str


def plan_marks(findings: list[Finding]) -> list[CellMark]:
    """One mark per cell that has findings, in first-seen order; errors win over warnings; a
    cell located as the most likely wrong one gets its own colour."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet and f.cell:
            by_cell.setdefault((f.sheet, f.cell), []).append(f)
    marks = []
    for (sheet, cell), fs in by_cell.items():
        severity = ERROR if any(f.severity == ERROR for f in fs) else "warning"
        note = "\n".join(
            ANNOTATE.text("note", label=severity_label(f.severity), rule=f.rule, message=f.message)
            for f in fs
        )
        color = LOCATE_FILL if any(f.rule == "locate" for f in fs) else FILLS[severity]
        marks.append(CellMark(sheet, cell, severity, color, safe_text(note, 2000)))
    return marks


def annotated_name(source: Path, outdir: Path, taken: set[str] | None = None) -> Path:
    stem = safe_filename(source.stem, 60)
    name = ANNOTATE.text("file_name", stem=stem)
    n = 2
    while taken is not None and name in taken:
        name = ANNOTATE.text("file_name_n", stem=stem, n=n)
        n += 1
    if taken is not None:
        taken.add(name)
    return outdir / name


def annotate(report: Report, out: Path, source: Path | None = None) -> Path:
    """Write the annotated copy of `report`'s file to `out` (temporary name, then rename)."""
    from openpyxl.comments import Comment  # noqa: PLC0415  0.17 s at start-up: see the docstring
    from openpyxl.styles import PatternFill  # noqa: PLC0415

    source = Path(source or report.file)
    wb = _open_copy(report, source)
    for mark in plan_marks(report.findings):
        if mark.sheet not in wb.sheetnames:
            continue
        ws = wb[mark.sheet]
        c = ws[mark.cell]
        if type(c).__name__ == "MergedCell":
            continue
        fill = PatternFill("solid", fgColor=mark.color)
        merged = next((r for r in ws.merged_cells.ranges if mark.cell in r), None)
        for target in [cell for row in ws[merged.coord] for cell in row] if merged else [c]:
            target.fill = fill
        comment = Comment(mark.note, NOTE_AUTHOR)
        comment.width, comment.height = 320, 160
        c.comment = comment
    _result_sheet(wb, report)
    return atomic_save_workbook(wb, Path(out))


def _open_copy(report: Report, source: Path):
    from openpyxl import load_workbook  # noqa: PLC0415  0.17 s at start-up: see the docstring

    # a file the isolated reader gave up on (a bomb, a crash, a limit) is never opened here
    if not report.unreadable and _is_xlsx(source):
        try:
            return load_workbook(source, keep_links=False)
        except Exception:
            pass
    # .xls/.ods/published documents, or a file openpyxl cannot load: the template refilled
    # with what was read, so the agency still sees its numbers and the marks in place (an
    # unreadable file: the blank template, with why it could not be read)
    with tempfile.TemporaryDirectory(prefix="xltools-") as tmp:
        values = {k: v for k, v in report.values.items() if v is not None}
        return load_workbook(fill_workbook(values, Path(tmp) / "copy.xlsx", report.form))


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


# the 说明 column of 校验结果: its width, what of it a wrapped line fills in practice (CJK glyphs
# are wider than two Latin ones), points per line of 11-point text
MESSAGE_WIDTH, MESSAGE_FILL, LINE_HEIGHT = 90, 76, 14.0


def _result_sheet(wb, report: Report) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415  see the docstring

    if RESULT_SHEET in wb.sheetnames:
        del wb[RESULT_SHEET]
    ws = wb.create_sheet(RESULT_SHEET, 0)
    wb.active = 0
    for sheet in wb.worksheets[1:]:
        sheet.sheet_view.tabSelected = False
    ws.sheet_properties.tabColor = "C00000" if report.errors else "FFC000"
    for col, width in {"A": 6, "B": 8, "C": 18, "D": 14, "E": MESSAGE_WIDTH}.items():
        ws.column_dimensions[col].width = width
    ws["A1"] = ANNOTATE.title
    ws["A1"].font = Font(name=TEMPLATE.title_font, size=14, bold=True)
    ws["A2"] = safe_text(
        ANNOTATE.text(
            "about",
            file=Path(report.file).name,
            agency=report.agency or ANNOTATE.not_filled,
            year=report.year or ANNOTATE.not_filled,
        )
    )
    ws["A2"].data_type = "s"
    ws["A3"] = ANNOTATE.text("counts", errors=report.errors, warnings=report.warnings)
    for i, head in enumerate(ANNOTATE.heads, start=1):
        c = ws.cell(row=5, column=i, value=head)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="DDEBF7")
    for n, f in enumerate(report.findings, start=1):
        row = 5 + n
        ws.cell(row=row, column=1, value=n)
        sev = ws.cell(row=row, column=2, value=severity_label(f.severity))
        sev.fill = PatternFill("solid", fgColor=FILLS.get(f.severity, "FFFFFF"))
        ws.cell(row=row, column=3, value=f.rule)
        where = ws.cell(row=row, column=4, value=f.where or "—")
        if f.sheet and f.cell and f.sheet in wb.sheetnames:
            sheet_ref = f.sheet.replace("'", "''")
            where.hyperlink = f"#'{sheet_ref}'!{f.cell}"
            where.font = Font(color="0563C1", underline="single")
        msg = ws.cell(row=row, column=5, value=safe_text(f.message))
        msg.data_type = "s"
        msg.alignment = Alignment(wrap_text=True, vertical="top")
        # rows as tall as their wrapped message: spreadsheet programs do not grow a row they did
        # not lay out themselves, so a long message would be cut off on screen and on paper
        ws.row_dimensions[row].height = wrapped_lines(msg.value, MESSAGE_FILL) * LINE_HEIGHT + 2
        for col in range(1, 5):
            ws.cell(row=row, column=col).alignment = Alignment(vertical="top")
    ws.freeze_panes = "A6"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
