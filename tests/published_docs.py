"""Builders of published-report documents for tests: the official tables laid out from the
form spec (same captions, same merged cells as the template), written as .docx, .html, the
reference report's text shape, or PDF (LibreOffice from the .docx)."""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from xltools.spec import Form, load_form, parse_a1

TITLE = ("聊城市商务和投资促进局", "2022年政府信息公开工作年度报告")
INTRO = (
    "一、总体情况",
    "2022年，聊城市商务和投资促进局严格执行依申请公开相关制度，共收到2件依申请公开事项，为自然人申请。",
)
OUTRO = (
    "五、存在的主要问题及改进情况",
    "一是对政务信息公开质量有待进一步提高。",
    "六、其他需要报告的事项",
    "聊城市商务和投资促进局2022年度未收取信息处理费。",
)


@dataclass
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1


Grid = list[list[tuple[int, Cell]]]  # rows of (column index, origin cell)


def official_grid(form: Form, sheet: str, values: dict[str, str]) -> tuple[str, Grid, int]:
    """(title, rows of origin cells, number of columns) of one official table, as the template
    lays it out: captions and input cells with their merges; the title row becomes a heading."""
    s = form.sheet(sheet)
    origins: dict[tuple[int, int], Cell] = {}
    title = ""

    def place(rng: str, text: str) -> None:
        a, _, b = rng.partition(":")
        (r0, c0), (r1, c1) = parse_a1(a), parse_a1(b or a)
        origins[(r0, c0)] = Cell(text, r1 - r0 + 1, c1 - c0 + 1)

    for c in s.captions:
        if c.style == "title":
            title = c.text
        else:
            place(c.range, c.text)
    for f in s.fields:
        place(f.merge or f.cell, str(values.get(f.key, "0")))
    first = min(r for r, _ in origins)
    last = max(r + c.rowspan - 1 for (r, _), c in origins.items())
    ncols = max(col + c.colspan - 1 for (_, col), c in origins.items())
    rows = [
        [(col - 1, origins[(r, col)]) for col in range(1, ncols + 1) if (r, col) in origins]
        for r in range(first, last + 1)
    ]
    return title, rows, ncols


def tables(values: dict[str, str], form_id: str = "2021") -> list[tuple[str, Grid, int]]:
    form = load_form(form_id)
    return [official_grid(form, name, values) for name in ("表二", "表三", "表四")]


def write_docx(
    path: Path,
    values: dict[str, str],
    form_id: str = "2021",
    borders: bool = True,
    intro=INTRO,
    outro=OUTRO,
) -> Path:
    import docx

    d = docx.Document()
    for t in TITLE:
        d.add_paragraph(t)
    for t in intro:
        d.add_paragraph(t)
    for title, rows, ncols in tables(values, form_id):
        d.add_paragraph(title)
        table = d.add_table(rows=len(rows), cols=ncols)
        if borders:
            table.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, cell in row:
                target = table.cell(r, c)
                if cell.rowspan > 1 or cell.colspan > 1:
                    target = target.merge(table.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
                target.text = cell.text
    for t in outro:
        d.add_paragraph(t)
    d.save(str(path))
    return path


def html_table(rows: Grid) -> str:
    out = ["<table border='1'>"]
    for row in rows:
        tds = []
        for _, c in row:
            span = (f" rowspan='{c.rowspan}'" if c.rowspan > 1 else "") + (
                f" colspan='{c.colspan}'" if c.colspan > 1 else ""
            )
            tds.append(f"<td{span}><p><span>{html.escape(c.text)}</span></p></td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_html(
    path: Path,
    values: dict[str, str],
    form_id: str = "2021",
    intro=INTRO,
    outro=OUTRO,
    grids: list[tuple[str, Grid, int]] | None = None,
    encoding: str = "utf-8",
) -> Path:
    parts = [
        f"<html><head><meta charset='{encoding}'><title>年度报告</title></head><body>",
        "<div class='nav'>首页 &gt; 政务公开</div>",
        f"<h1>{TITLE[0]}<br/>{TITLE[1]}</h1>",
    ]
    parts += [f"<p>{html.escape(t)}</p>" for t in intro]
    for title, rows, _ in grids or tables(values, form_id):
        parts.append(f"<p><strong>{title}</strong></p>")
        parts.append(html_table(rows))
    parts += [f"<p>{html.escape(t)}</p>" for t in outro]
    parts.append("</body></html>")
    path.write_bytes("\n".join(parts).encode(encoding))
    return path


def write_reference_txt(path: Path, values: dict[str, str], form_id: str = "2021") -> Path:
    """The reference report's shape: one cell per line after a tab, a blank line after a row;
    a horizontally merged cell once, a vertically merged one's continuation as an empty cell."""
    lines = [*TITLE, *INTRO]
    for title, rows, _ in tables(values, form_id):
        lines.append(title)
        below: dict[int, int] = {}  # column -> rows still covered by a cell from above
        for row in rows:
            starts = {c: cell for c, cell in row}
            cols = sorted(set(starts) | {c for c, n in below.items() if n > 0})
            for c in cols:
                lines.append("\t" + (starts[c].text if c in starts else ""))
            for c in list(below):
                below[c] -= 1
            for c, cell in row:
                if cell.rowspan > 1:
                    below[c] = cell.rowspan - 1
            lines.append("")
    lines += OUTRO
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(src: Path, outdir: Path) -> Path:
    """Convert with LibreOffice headless (a private profile, so parallel runs do not clash)."""
    profile = (outdir / "lo-profile").resolve()
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return outdir / (src.stem + ".pdf")


def write_xlsx_report(
    path: Path,
    values: dict[str, str],
    form_id: str = "2021",
    borders: bool = True,
    intro=INTRO,
    outro=OUTRO,
) -> Path:
    """The whole report on one worksheet (text rows, then each table with its merged cells),
    for LibreOffice Calc to print as a text PDF: Calc is what the test machines have."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Side

    wb = Workbook()
    ws = wb.active
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    r = 1
    for t in (*TITLE, *intro):
        ws.cell(r, 1, t)
        r += 1
    for title, rows, ncols in tables(values, form_id):
        ws.cell(r, 1, title)
        r += 1
        for row in rows:
            for c, cell in row:
                ws.cell(r, c + 1, cell.text)
                if cell.rowspan > 1 or cell.colspan > 1:
                    ws.merge_cells(
                        start_row=r,
                        start_column=c + 1,
                        end_row=r + cell.rowspan - 1,
                        end_column=c + cell.colspan,
                    )
            r += 1
        for rr in ws.iter_rows(min_row=r - len(rows), max_row=r - 1, max_col=ncols):
            ws.row_dimensions[rr[0].row].height = 36
            for x in rr:
                x.alignment = Alignment(wrap_text=True, vertical="center")
                if borders:
                    x.border = box
        r += 1
    for t in outro:
        ws.cell(r, 1, t)
        r += 1
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["C"].width = 44
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.save(path)
    return path
