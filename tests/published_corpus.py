"""A corpus of published reports built from data, in the shapes real reports take, with the
cells each one must give.

Every case is a set of figures (consistent by the form's rules unless an error is planted),
the prose around the tables, and the ways agencies print them (row labels as printed, titles
without 工作, the agency only in the signature, traditional characters, a table 3 kept on the
2019 form …). Each case is written in four formats: .txt (in the case's text shape), .html,
.docx, and PDF from two producers — LibreOffice converting the .docx (ruled tables) and
ReportLab drawing the tables without rules (text order as PDF extraction gives it: wrapped
labels with their numbers between the halves, group labels one character a line, numbers
between two labels).

`build(folder)` writes them all; `measure(folder, docs)` reads them and counts cells read,
wrong and unread (and whether each unread cell is explained) and the findings against the
planted ones. The test and scripts/published_figures.py both use it.
"""

from __future__ import annotations

import html
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltools.spec import load_form, parse_a1

FORMATS = ("txt", "html", "docx", "pdf-libreoffice", "pdf-reportlab")


@dataclass
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    label: bool = False  # a caption (row label, header, group) rather than a value


Grid = list[list[tuple[int, Cell]]]


@dataclass
class Case:
    name: str
    year: int
    agency: str
    t2_form: str = "2021"
    t3_form: str = "2021"
    seed: int = 1
    text_shape: str = "tab"  # tab | pipe | lines | pdftext
    title: list[str] | None = None  # default: agency line + year title
    intro: list[str] = field(default_factory=list)
    outro: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    printed_labels: dict[str, str] = field(default_factory=dict)  # official caption -> as printed
    traditional: bool = False
    overrides: dict[str, str] = field(default_factory=dict)  # key -> text printed in the cell
    expect_findings: set[tuple[str, str | None]] = field(
        default_factory=set
    )  # (rule, key or sheet)
    header_glue: str = ""  # page furniture glued to the title
    values: dict[str, str] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)  # key -> value the reader must give
    absent: set[str] = field(default_factory=set)  # keys the document does not print


# --- figures ---------------------------------------------------------------------------------


def _t3_rows(form_id: str) -> list[str]:
    return load_form(form_id).sheet("表三").matrix["rows"]


def figures(form_t2: str, form_t3: str, seed: int) -> dict[str, int]:
    """Consistent figures: every total the sum of its parts, table 3 balanced per column,
    table 2 in force >= issued - repealed."""
    rnd = random.Random(seed)
    v: dict[str, int] = {}
    f2 = load_form(form_t2)
    for f in f2.fields:
        if f.key.startswith("t2_"):
            v[f.key] = (
                rnd.choice([0, 0, 1, 2, 3, 5, 8, 12, 25, 130])
                if f.type != "amount"
                else rnd.choice([0, 1.5, 12.25])
            )
    for item in ("regulation", "normative"):
        if f"t2_{item}_in_force" in v:
            v[f"t2_{item}_in_force"] = v[f"t2_{item}_issued"] + rnd.randint(0, 30)
    f3 = load_form(form_t3)
    rows = _t3_rows(form_t3)
    results = [r for r in rows if r not in ("new", "carried_in", "results", "carried_out")]
    cols = [c for c in f3.sheet("表三").matrix["cols"] if c != "total"]
    for c in cols:
        busy = c == "person" or rnd.random() < 0.4
        res = {r: (rnd.choice([0, 0, 0, 1, 2, 4]) if busy else 0) for r in results}
        done = sum(res.values())
        carried_out = rnd.choice([0, 1, 2]) if busy else 0
        carried_in = min(done + carried_out, rnd.choice([0, 1, 3]))
        new = done + carried_out - carried_in
        for r in results:
            v[f"t3_{r}_{c}"] = res[r]
        v[f"t3_new_{c}"], v[f"t3_carried_in_{c}"] = new, carried_in
        v[f"t3_results_{c}"], v[f"t3_carried_out_{c}"] = done, carried_out
    for r in rows:
        v[f"t3_{r}_total"] = sum(v[f"t3_{r}_{c}"] for c in cols)
    for g in ("review", "direct", "after_review"):
        parts = [rnd.choice([0, 0, 1, 2]) for _ in range(4)]
        for k, p in zip(("upheld", "corrected", "other", "pending"), parts):
            v[f"t4_{g}_{k}"] = p
        v[f"t4_{g}_total"] = sum(parts)
    return v


def _fmt(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _expect(text: str):
    from xltools.published.tables import as_published

    return as_published(text)


# --- the document as blocks --------------------------------------------------------------------


def grid(
    form_id: str, sheet: str, values: dict[str, str], printed: dict[str, str]
) -> tuple[str, Grid, int]:
    s = load_form(form_id).sheet(sheet)
    origins: dict[tuple[int, int], Cell] = {}
    title = ""

    def place(rng: str, text: str, label: bool) -> None:
        a, _, b = rng.partition(":")
        (r0, c0), (r1, c1) = parse_a1(a), parse_a1(b or a)
        origins[(r0, c0)] = Cell(text, r1 - r0 + 1, c1 - c0 + 1, label)

    for c in s.captions:
        if c.style == "title":
            title = c.text
        else:
            place(c.range, printed.get(c.text, c.text), True)
    for f in s.fields:
        place(f.merge or f.cell, values[f.key], False)
    first = min(r for r, _ in origins)
    last = max(r + c.rowspan - 1 for (r, _), c in origins.items())
    ncols = max(col + c.colspan - 1 for (_, col), c in origins.items())
    rows = [
        [(col - 1, origins[(r, col)]) for col in range(1, ncols + 1) if (r, col) in origins]
        for r in range(first, last + 1)
    ]
    return title, rows, ncols


@dataclass
class Doc:
    paragraphs_before: list[str]
    tables: list[tuple[str, Grid, int]]
    paragraphs_after: list[str]


def document(case: Case) -> Doc:
    title = (
        case.title
        if case.title is not None
        else [case.agency, f"{case.year}年政府信息公开工作年度报告"]
    )
    if case.header_glue and title:
        title = [case.header_glue + title[0]] + title[1:]
    intro = ["一、总体情况"] + (
        case.intro
        or [
            f"{case.year}年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，"
            f"持续推进政务公开工作。"
        ]
    )
    outro = (
        [
            "五、存在的主要问题及改进情况",
            "一是公开内容的规范性有待提高；二是解读形式较为单一。",
            "六、其他需要报告的事项",
            "本年度未收取信息处理费。",
        ]
        + case.outro
        + case.signature
    )
    tables = [
        grid(case.t2_form, "表二", case.values, case.printed_labels),
        grid(case.t3_form, "表三", case.values, case.printed_labels),
        grid(
            case.t3_form if case.t3_form == case.t2_form else "2021",
            "表四",
            case.values,
            case.printed_labels,
        ),
    ]
    doc = Doc(title + intro, tables, outro)
    if case.traditional:
        import opencc

        conv = opencc.OpenCC("s2t")
        doc = Doc(
            [conv.convert(p) for p in doc.paragraphs_before],
            [
                (
                    conv.convert(t),
                    [
                        [
                            (c, Cell(conv.convert(x.text), x.rowspan, x.colspan, x.label))
                            for c, x in row
                        ]
                        for row in rows
                    ],
                    n,
                )
                for t, rows, n in doc.tables
            ],
            [conv.convert(p) for p in doc.paragraphs_after],
        )
    return doc


# --- writers --------------------------------------------------------------------------------------


def write_docx(doc: Doc, path: Path) -> Path:
    import docx

    d = docx.Document()
    for t in doc.paragraphs_before:
        d.add_paragraph(t)
    for title, rows, ncols in doc.tables:
        d.add_paragraph(title)
        table = d.add_table(rows=len(rows), cols=ncols)
        table.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, cell in row:
                target = table.cell(r, c)
                if cell.rowspan > 1 or cell.colspan > 1:
                    target = target.merge(table.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
                target.text = cell.text
    for t in doc.paragraphs_after:
        d.add_paragraph(t)
    d.save(str(path))
    return path


def write_html(doc: Doc, path: Path) -> Path:
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>年度报告</title></head><body>",
        "<div class='nav'>首页 &gt; 政务公开 &gt; 年度报告</div>",
    ]
    out += [f"<p>{html.escape(t)}</p>" for t in doc.paragraphs_before]
    for title, rows, _ in doc.tables:
        out.append(f"<p><strong>{html.escape(title)}</strong></p><table border='1'>")
        for row in rows:
            tds = []
            for _, c in row:
                span = (f" rowspan='{c.rowspan}'" if c.rowspan > 1 else "") + (
                    f" colspan='{c.colspan}'" if c.colspan > 1 else ""
                )
                tds.append(f"<td{span}>{html.escape(c.text)}</td>")
            out.append("<tr>" + "".join(tds) + "</tr>")
        out.append("</table>")
    out += [f"<p>{html.escape(t)}</p>" for t in doc.paragraphs_after]
    out.append("<div class='footer'>主办单位：某某市人民政府办公室</div></body></html>")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def write_txt(doc: Doc, path: Path, shape: str) -> Path:
    """tab: one cell per line after a tab, a blank line after a row (Word's text export);
    pipe: a row per line, cells between ` | `; lines: one cell per line and nothing else."""
    lines = list(doc.paragraphs_before)
    for title, rows, _ in doc.tables:
        lines.append(title)
        below: dict[int, int] = {}
        for row in rows:
            starts = {c: cell for c, cell in row}
            if shape == "pipe":
                lines.append("| " + " | ".join(cell.text for _, cell in row) + " |")
            elif shape == "pipe-fullwidth":
                lines.append("｜".join(cell.text for _, cell in row))
            elif shape == "lines":
                lines += [cell.text for _, cell in row]
            else:
                cols = sorted(set(starts) | {c for c, n in below.items() if n > 0})
                lines += ["\t" + (starts[c].text if c in starts else "") for c in cols]
                lines.append("")
            for c in list(below):
                below[c] -= 1
            for c, cell in row:
                if cell.rowspan > 1:
                    below[c] = cell.rowspan - 1
    lines += doc.paragraphs_after
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_reportlab(doc: Doc, path: Path, traditional: bool = False) -> Path:
    """Tables drawn without rules: labels top-aligned and wrapped in their column, numbers
    centred in the row (so a two-line label has its numbers between its halves), a narrow
    column's text stood one character a line (vertical group labels), page numbers."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "STSong-Light"  # Adobe-GB1 holds the traditional characters too
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    c = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    left, size, lead = 40, 9, 12
    y = height - 50
    page = 1

    def newpage():
        nonlocal y, page
        c.setFont(font, 8)
        c.drawCentredString(width / 2, 25, f"- {page} -")
        c.showPage()
        page += 1
        y = height - 50
        c.setFont(font, size)

    def para(text: str) -> None:
        nonlocal y
        per = int((width - 2 * left) / size)
        for i in range(0, max(len(text), 1), per):
            if y < 60:
                newpage()
            c.drawString(left, y, text[i : i + per])
            y -= lead

    c.setFont(font, size)
    for t in doc.paragraphs_before:
        para(t)
    for title, rows, ncols in doc.tables:
        para(title)
        widths = _rl_widths(ncols, width - 2 * left)
        xs = [left + sum(widths[:i]) for i in range(ncols + 1)]
        heights = []
        for row in rows:
            h = 2
            for col, cell in row:
                if cell.rowspan == 1:
                    w = xs[col + cell.colspan] - xs[col]
                    h = max(h, len(_wrap(cell.text, w, size)))
            heights.append(h * lead)
        r = 0
        while r < len(rows):
            # keep a vertically merged block on one page
            span = max((cell.rowspan for _, cell in rows[r]), default=1)
            block = sum(heights[r : r + span])
            if y - block < 60:
                newpage()
            top = y
            for rr in range(r, r + span):
                for col, cell in rows[rr]:
                    w = xs[col + cell.colspan] - xs[col]
                    cell_top = top - sum(heights[r:rr])
                    h = sum(heights[rr : rr + cell.rowspan])
                    x = xs[col] + 2
                    if not cell.label:
                        if cell.text:
                            c.drawCentredString(
                                xs[col] + w / 2, cell_top - h / 2 - size / 2 + 2, cell.text
                            )
                        continue
                    if w < 2.2 * size:
                        chars = [ch for ch in cell.text]
                        for i, ch in enumerate(chars):
                            c.drawString(x, cell_top - size - i * lead, ch)
                        continue
                    for i, part in enumerate(_wrap(cell.text, w, size)):
                        c.drawString(x, cell_top - size - i * lead, part)
            y = top - block
            r += span
        y -= lead
    for t in doc.paragraphs_after:
        para(t)
    c.setFont(font, 8)
    c.drawCentredString(width / 2, 25, f"- {page} -")
    c.save()
    return path


def _rl_widths(ncols: int, total: float) -> list[float]:
    if ncols == 4:  # table 2
        return [160, 110, 110, 110]
    if ncols == 10:  # table 3: two narrow group columns, labels, seven numbers
        return [16, 16, 190] + [36] * 7
    return [total / ncols] * ncols  # table 4


def _wrap(text: str, w: float, size: int) -> list[str]:
    per = max(1, int((w - 4) / size))
    return [text[i : i + per] for i in range(0, len(text), per)] or [""]


def pdf_text(pdf: Path) -> str:
    import pdfplumber

    with pdfplumber.open(str(pdf)) as p:
        return "\n".join(tl["text"] for page in p.pages for tl in page.extract_text_lines())


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def lo_pdf(files: list[Path], outdir: Path) -> None:
    """All .docx to PDF in one LibreOffice run (a private profile)."""
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        subprocess.run(
            [
                soffice(),
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
                str(outdir),
                *map(str, files),
            ],
            check=True,
            capture_output=True,
            timeout=600,
            env={**os.environ, "HOME": str(profile)},
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# --- the cases ------------------------------------------------------------------------------------


def cases() -> list[Case]:
    out = [
        Case("c01-pipe", 2022, "某某市财政局", seed=1, text_shape="pipe"),
        Case("c02-one-cell-per-line", 2023, "某某县自然资源局", seed=2, text_shape="lines"),
        Case(
            "c03-labels-as-printed",
            2022,
            "某某区市场监督管理局",
            seed=3,
            printed_labels={
                "行政规范性文件": "规范性文件",
                "2.其他法律行政法规禁止公开": "2、其他法律行政止公开",
                "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": (
                    "(二)部分公开(区分处理的,只计这一情形,不计其他情形)"
                ),
                "行政许可": "行政 许可",
                "3.危及“三安全一稳定”": "3、危及 “三安全一稳定”",
            },
            expect_findings={
                ("label-variant", "t2_normative_issued"),
                ("label-variant", "t3_withheld_law_person"),
            },
        ),
        Case(
            "c04-table3-on-2019-form",
            2022,
            "某某县教育和体育局",
            t3_form="2019",
            seed=4,
            expect_findings={("form-mismatch", None)},
        ),
        Case(
            "c05-title-without-gongzuo",
            2023,
            "某某市生态环境局",
            seed=5,
            header_glue="Page8-",
            title=["某某市生态环境局2023年政府信息公开年度报告"],
        ),
        Case(
            "c06-agency-in-signature",
            2023,
            "某某县卫生健康局",
            seed=6,
            title=["政府信息公开工作年度报告"],
            intro=["本报告中所列数据的统计期限为2023年1月1日至12月31日。"],
            signature=["某某县卫生健康局", "2024年1月18日"],
        ),
        Case(
            "c07-prose-subheadings",
            2022,
            "某某市交通运输局",
            seed=7,
            intro=[
                "（一）主动公开政府信息情况",
                "本年度通过门户网站主动公开各类信息一千余条。",
                "（二）收到和处理政府信息公开申请情况",
                "依申请公开工作依法按时办理。",
                "（四）政府信息公开行政复议、行政诉讼情况",
                "相关案件均依法应诉。",
            ],
        ),
        Case("c08-traditional", 2022, "某某市人力资源和社会保障局", seed=8, traditional=True),
        Case("c09-text-agrees", 2022, "某某区住房和城乡建设局", seed=9),
        Case("c10-text-disagrees", 2022, "某某县农业农村局", seed=10),
        Case("c11-form-2019", 2020, "某某市水利局", t2_form="2019", t3_form="2019", seed=11),
        Case(
            "c12-planted-errors",
            2022,
            "某某县民政局",
            seed=12,
            expect_findings={
                ("t3-balance", "t3_carried_out_person"),
                ("t4-total", "t4_review_total"),
                ("value-blank", "t2_penalty_decisions"),
            },
        ),
        Case("c13-pdf-text", 2023, "某某市司法局", seed=13, text_shape="pdftext"),
        Case(
            "c14-fullwidth-bars", 2021, "某某县文化和旅游局", seed=14, text_shape="pipe-fullwidth"
        ),
        # blank cells: a printed total whose part is blank is kept; a blank total over a blank
        # part is value-blank; a dash is value-blank
        Case(
            "c15-blanks",
            2022,
            "某某市审计局",
            seed=15,
            overrides={
                "t3_new_business": "",
                "t3_carried_in_person": "",
                "t3_carried_in_total": "",
                "t2_licensing_decisions": "—",
            },
            expect_findings={
                ("value-blank", "t3_new_business"),
                ("value-blank", "t3_carried_in_person"),
                ("value-blank", "t3_carried_in_total"),
                ("value-blank", "t2_licensing_decisions"),
            },
        ),
    ]
    for case in out:
        _fill(case)
    return out


def _fill(case: Case) -> None:
    v = figures(case.t2_form, case.t3_form, case.seed)
    if case.name.startswith("c12"):
        v["t3_carried_out_person"] += 1  # breaks the balance of the 自然人 column
        v["t3_carried_out_total"] += 1
        v["t4_review_total"] += 2  # a total that is not the sum of its parts
    case.values = {k: _fmt(x) for k, x in v.items()}
    if case.name.startswith("c12"):
        case.values["t2_penalty_decisions"] = "/"
    case.values.update(case.overrides)
    # what the reader must give: the form it fills is the year's form; a table 3 kept on the
    # earlier form fills the same rows, its one （六） row going to the row the TOML names
    form_id = "2021" if case.year >= 2021 else "2019"
    form = load_form(form_id)
    exp: dict[str, Any] = {"meta_agency": case.agency, "meta_year": case.year}
    for f in form.fields:
        if f.is_meta:
            continue
        key = f.key
        if case.t3_form != form_id and key.startswith("t3_other_"):
            if key.startswith("t3_other_misc_"):
                exp[key] = _expect(case.values["t3_other_" + key.removeprefix("t3_other_misc_")])
            else:
                case.absent.add(key)
            continue
        exp[key] = _expect(case.values[key])
    case.expected = exp
    total = v["t3_new_total"] + v["t3_carried_in_total"]
    handled = v["t3_results_total"]
    pub, part = v["t3_public_total"], v["t3_partial_total"]
    unav = sum(x for k, x in v.items() if k.startswith("t3_unavailable_") and k.endswith("_total"))
    unpr = sum(x for k, x in v.items() if k.startswith("t3_unprocessed_") and k.endswith("_total"))
    rev, lit = v["t4_review_total"], v["t4_direct_total"] + v["t4_after_review_total"]
    if case.name.startswith("c09"):
        case.intro = [
            f"{case.year}年，本局共收到政府信息公开申请{v['t3_new_total']}件，上年结转{v['t3_carried_in_total']}件，"
            f"共办理{handled}件，其中予以公开及部分公开{pub + part}件，"
            f"无法提供{unav}件，不予处理{unpr}件。",
            f"全年发生政府信息公开行政复议{rev}件、行政诉讼{lit}件。",
        ]
    if case.name.startswith("c10"):
        case.intro = [
            f"{case.year}年，本局共收到政府信息公开申请{v['t3_new_total'] + 2}件，"
            f"其中予以公开及部分公开{pub + part + 1}件。",
            f"全年发生政府信息公开行政复议{rev}件、行政诉讼{lit + 3}件。",
        ]
        case.expect_findings = {("text-vs-table", "t3_new_total"), ("text-vs-table", None)}
    _ = total


def build(folder: Path, formats=FORMATS) -> list[tuple[Case, str, Path]]:
    """Write every case in every format; [(case, format, path)]."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Case, str, Path]] = []
    docx_files = []
    for case in cases():
        doc = document(case)
        base = folder / case.name
        rl = write_reportlab(doc, base.with_name(case.name + "-rl.pdf"), case.traditional)
        if "txt" in formats:
            txt = base.with_suffix(".txt")
            if case.text_shape == "pdftext":
                txt.write_text(pdf_text(rl) + "\n", encoding="utf-8")
            else:
                write_txt(doc, txt, case.text_shape)
            out.append((case, "txt", txt))
        if "html" in formats:
            out.append((case, "html", write_html(doc, base.with_suffix(".html"))))
        dx = write_docx(doc, base.with_suffix(".docx"))
        if "docx" in formats:
            out.append((case, "docx", dx))
        docx_files.append((case, dx))
        if "pdf-reportlab" in formats:
            out.append((case, "pdf-reportlab", rl))
    if "pdf-libreoffice" in formats and soffice():
        lodir = folder / "lo"
        lodir.mkdir(exist_ok=True)
        lo_pdf([d for _, d in docx_files], lodir)
        for case, d in docx_files:
            out.append((case, "pdf-libreoffice", lodir / (d.stem + ".pdf")))
    return out


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    format: str
    cells: int = 0  # cells the document prints
    read: int = 0  # read with the printed value
    wrong: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    absent_unexplained: list[str] = field(default_factory=list)
    planted: int = 0
    missed_findings: list[tuple] = field(default_factory=list)
    false_findings: list[tuple] = field(default_factory=list)


def measure_one(case: Case, fmt: str, path: Path, reading=None) -> Result:
    """`reading`: the document's DocumentReading when the caller has it already."""
    from xltools.evaluate import evaluate
    from xltools.published import read_document

    reading = reading or read_document(path)
    raw = reading.raw
    res = Result(case.name, fmt)
    for key, want in case.expected.items():
        res.cells += 1
        rc = raw.cells.get(key)
        if rc is None or (rc.raw is None and want is not None):
            res.unread.append(key)
            if key not in reading.unread:
                res.unexplained.append(key)
        elif rc.raw != want:
            res.wrong.append(f"{key}: {rc.raw!r} != {want!r}")
        else:
            res.read += 1
    res.absent_unexplained = [k for k in case.absent if k not in reading.unread]
    report = evaluate(raw)
    got = {(f.rule, f.key) for f in report.findings} | {(f.rule, None) for f in report.findings}
    planted = case.expect_findings
    res.missed_findings = sorted(planted - got, key=str)
    res.planted = len(planted)
    # a finding is false when nothing planted explains it: its rule at its key, or (for a
    # finding without a key) its rule anywhere; a cell left unread explains its value-blank and
    # the sums over it (those cells count as unread already)
    form = load_form(raw.form)
    unread = set(res.unread) | case.absent
    for f in report.findings:
        if (f.rule, f.key) in planted or (f.rule, None) in planted:
            continue
        if f.rule == "locate":  # which cell is most likely wrong: follows the planted errors
            continue
        if f.key in unread:
            continue
        if f.key and form.field(f.key).sum_of and unread & set(form.field(f.key).sum_of):
            continue
        if f.rule == "t3-balance" and any(
            k.endswith("_" + f.key.rsplit("_", 1)[1]) for k in unread if k.startswith("t3_")
        ):
            continue
        res.false_findings.append((f.rule, f.key, f.message[:100]))
    return res


def measure(docs: list[tuple[Case, str, Path]]) -> list[Result]:
    return [measure_one(c, fmt, p) for c, fmt, p in docs]


def summary(results: list[Result]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in results:
        for k in (r.format, "all"):
            s = out.setdefault(
                k,
                {
                    "reports": 0,
                    "cells": 0,
                    "read": 0,
                    "wrong": 0,
                    "unread": 0,
                    "explained": 0,
                    "planted": 0,
                    "found": 0,
                    "false": 0,
                },
            )
            s["reports"] += 1
            s["cells"] += r.cells
            s["read"] += r.read
            s["wrong"] += len(r.wrong)
            s["unread"] += len(r.unread)
            s["explained"] += len(r.unread) - len(r.unexplained)
            s["false"] += len(r.false_findings)
            s["planted"] += r.planted
            s["found"] += r.planted - len(r.missed_findings)
    return out
