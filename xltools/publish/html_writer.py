"""Document -> one HTML page for the agency's website: real <table> markup with the official
merges (rowspan/colspan), one inline style sheet, no scripts, every text escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Mapping

from xltools.fsutil import atomic_write_text
from xltools.publish.docx_writer import NEW_PAGE_ROWS
from xltools.publish.model import Document, Paragraph, Table
from xltools.textsafe import safe_text

TAGS = {"opening": "p", "body": "p", "heading": "h2", "subheading": "h3"}


def _family(fonts: list[str], generic: str) -> str:
    return ", ".join([f'"{f}"' for f in fonts] + [generic])


def _css(st: Mapping) -> str:
    body = _family(st["body_fonts"], "serif")
    return f"""
@page {{ size: A4; margin: 37mm 26mm 35mm 28mm; }}
body {{ margin: 0; background: #fff; color: #000; }}
main {{ max-width: 46em; margin: 2em auto; padding: 0 1em; font-family: {body}; \
font-size: {st["body_size"]}pt; line-height: 1.75; }}
h1 {{ font-family: {_family(st["title_fonts"], "serif")}; font-size: {st["title_size"]}pt; \
font-weight: normal; text-align: center; line-height: 1.5; margin: 0 0 1em; }}
h1 span {{ display: block; }}
h2 {{ font-family: {_family(st["heading_fonts"], "sans-serif")}; font-size: {st["body_size"]}pt; \
font-weight: normal; margin: 0.6em 0 0.3em; text-indent: 2em; }}
h3 {{ font-family: {_family(st["subheading_fonts"], "serif")}; font-size: {st["body_size"]}pt; \
font-weight: normal; margin: 0.3em 0; text-indent: 2em; }}
p {{ margin: 0; text-indent: 2em; text-align: justify; }}
mark {{ background: #ffff00; color: inherit; }}
.draft {{ font-family: {_family(st["heading_fonts"], "sans-serif")}; color: #{st["draft_color"]}; \
font-weight: bold; text-align: center; text-indent: 0; border: 2px solid #{st["draft_color"]}; \
padding: 0.3em; margin-bottom: 1em; }}
.table-wrap {{ overflow-x: auto; margin: 0.5em 0 1em; }}
table {{ border-collapse: collapse; width: 100%; \
font-family: {_family(st["table_fonts"], "serif")}; font-size: {st["table_size"]}pt; \
line-height: 1.4; }}
table.wide {{ font-size: {st["table_size_wide"]}pt; }}
th, td {{ border: 1px solid #000; padding: 0.2em 0.3em; text-align: center; \
vertical-align: middle; font-weight: normal; }}
th.label, th.corner, th.section {{ text-align: left; }}
th.section {{ background: #{st["section_fill"]}; }}
@media print {{ main {{ max-width: none; margin: 0; padding: 0; }} \
.table-wrap {{ overflow: visible; }} tr {{ page-break-inside: avoid; }} \
h2.new-page {{ break-before: page; }} h2 {{ break-after: avoid; }} }}
"""


def render_html(doc: Document, style: Mapping) -> str:
    title = "".join(doc.title)
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        '<meta name="generator" content="xltools publish">',
        f"<style>{_css(style)}</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    if doc.draft:
        out.append(f'<p class="draft">{_e(doc.draft)}</p>')
    out.append("<h1>" + "".join(f"<span>{_e(line)}</span>" for line in doc.title) + "</h1>")
    for block in doc.blocks:
        if isinstance(block, Table):
            out.append(
                f'<h2 class="new-page">{_e(block.heading)}</h2>'
                if block.nrows > NEW_PAGE_ROWS
                else f"<h2>{_e(block.heading)}</h2>"
            )
            out.append(_table(block))
        else:
            out.append(_paragraph(block))
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _e(text: str) -> str:
    return escape(safe_text(text), quote=True)


def _paragraph(p: Paragraph) -> str:
    tag = TAGS[p.kind]
    inner = "".join(f"<mark>{_e(x.text)}</mark>" if x.mark else _e(x.text) for x in p.pieces)
    return f"<{tag}>{inner}</{tag}>"


def _table(t: Table) -> str:
    total = sum(t.widths)
    cls = ' class="wide"' if t.ncols >= 10 else ""
    rows: list[list[str]] = [[] for _ in range(t.nrows)]
    for c in t.cells:
        span = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (
            f' colspan="{c.colspan}"' if c.colspan > 1 else ""
        )
        if c.kind == "value":
            rows[c.row].append(f"<td{span}>{_e(c.text)}</td>")
        else:
            label_left = c.kind in ("corner", "section") or (c.kind == "label" and t.ncols >= 10)
            klass = f' class="{c.kind if label_left else "head"}"'
            rows[c.row].append(
                f'<th scope="{"row" if c.kind in ("label", "group") else "col"}"{klass}{span}>'
                f"{_e(c.text)}</th>"
            )
    cols = "".join(f'<col style="width:{w / total * 100:.1f}%">' for w in t.widths)
    head = "".join(f"<tr>{''.join(r)}</tr>" for r in rows[: t.header_rows])
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows[t.header_rows :])
    thead = f"<thead>{head}</thead>" if head else ""
    return (
        f'<div class="table-wrap"><table{cls}><colgroup>{cols}</colgroup>'
        f"{thead}<tbody>{body}</tbody></table></div>"
    )


def write_html(doc: Document, path: Path, style: Mapping) -> Path:
    return atomic_write_text(path, render_html(doc, style))
