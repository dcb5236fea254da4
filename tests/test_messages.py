"""The message catalogue is the only place a user-facing Chinese text is written.

Walks xltools/**/*.py with `ast`: a string constant (an f-string's parts included) holding a
Chinese character (a CJK ideograph; punctuation alone such as "、" is not a text) must be
  - a docstring,
  - the value of a click `help=` / `epilog=` / `short_help=` keyword (command documentation),
  - in vocabulary.py (the one module of severity and status labels and colours),
  - the pattern of a call to the `re` module (re.compile, re.search, ...): grammar that parses
    Chinese input (a published report's prose, page numbers), which no user reads; such a
    pattern must not hold an official caption of the forms (those come from the form TOML),
  - or one of the few entries of ALLOWED below, each with its reason.
Every entry the code names exists in messages.toml, and every {placeholder} of an entry the
code fills is supplied.

The web page's templates (xltools/web/templates) hold no Chinese word either, in their text or
in their expressions: each word is an entry of the catalogue's [page] tables, named as
`t('table.entry', name=value)`; every entry named exists and gets its placeholders, and every
entry of [page] is named by some template.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from xltools import messages
from xltools.messages import catalogue

PACKAGE = Path(messages.__file__).parent
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
DOC_KEYWORDS = {"help", "epilog", "short_help"}
RE_FUNCTIONS = {
    "compile",
    "search",
    "match",
    "fullmatch",
    "sub",
    "subn",
    "split",
    "findall",
    "finditer",
}

# (file relative to xltools/, text the literal starts with): why it stays in Python. Keep tiny.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "__main__.py",
        "已中断",
    ): "said when Ctrl-C arrives while the program is still loading, before the "
    "catalogue can be read",
}


def _sources():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _documentation(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in DOC_KEYWORDS:
            out.update(id(n) for n in ast.walk(node.value))
    return out


def _patterns(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.args
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in RE_FUNCTIONS
        ):
            out.update(id(n) for n in ast.walk(node.args[0]))
    return out


def pattern_texts(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ids = _patterns(tree)
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and CJK.search(n.value)
        and id(n) in ids
    ]


def inline_texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every Chinese string constant of `path` that is not documentation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _documentation(tree) | _patterns(tree)
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and CJK.search(n.value)
        and id(n) not in skip
    ]


def test_no_user_text_is_written_inline():
    found, used = [], set()
    for path in _sources():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "vocabulary.py":
            continue
        for line, text in inline_texts(path):
            allowed = next((k for k in ALLOWED if k[0] == rel and text.startswith(k[1])), None)
            if allowed:
                used.add(allowed)
            else:
                found.append(f"xltools/{rel}:{line}: {text[:60]!r}")
    assert not found, (
        "Chinese text written in Python; move it to xltools/forms/messages.toml:\n"
        + "\n".join(found)
    )
    assert used == set(ALLOWED), f"allowlist entries no longer needed: {set(ALLOWED) - used}"


def test_the_scan_sees_inline_text(tmp_path):
    """The scan catches a literal, an f-string part and a default, and lets documentation by."""
    source = tmp_path / "m.py"
    source.write_text(
        '"""模块说明"""\nimport click, re\n'
        '@click.option("--x", help="帮助")\n'
        'def f(a="默认"):\n    """函数说明"""\n    re.search(rf"{a}件", a)\n'
        '    return f"共 {a} 个" + "、"\n',
        encoding="utf-8",
    )
    assert inline_texts(source) == [(4, "默认"), (7, "共 "), (7, " 个")]
    assert pattern_texts(source) == [(6, "件")]


def test_no_pattern_holds_an_official_caption():
    """Grammar may stay in a pattern; the form's own captions come from its TOML."""
    from xltools.spec import form_ids, load_form

    numbering = re.compile(r"^[（(]?[一二三四五六七八九十\d]+[)）.、．]\s*")
    captions = {
        numbering.sub("", c)
        for form in form_ids()
        for f in load_form(form).fields
        for c in (f.row_caption, f.col_caption)
        if c
    }
    captions = {c for c in captions if len(c) >= 4}
    assert {"结果维持", "予以公开", "本年新收政府信息公开申请数量"} <= captions
    found = [
        f"xltools/{p.relative_to(PACKAGE).as_posix()}:{line}: {c}"
        for p in _sources()
        for line, text in pattern_texts(p)
        for c in captions
        if c in text
    ]
    assert not found, "\n".join(found)


# ------------------------------------------------------------------------------ catalogue use


def _section_names(tree: ast.AST) -> dict[str, str]:
    """Local name → catalogue section: `from xltools.messages import MAIL as texts`,
    `X = Section("s")`."""
    sections = {
        name: obj.name for name, obj in vars(messages).items() if isinstance(obj, messages.Section)
    }
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "xltools.messages":
            for a in node.names:
                if a.name in sections:
                    out[a.asname or a.name] = sections[a.name]
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "Section"
            and node.value.args
            and isinstance(node.value.args[0], ast.Constant)
        ):
            out[node.targets[0].id] = node.value.args[0].value
    return out


def _entry(section: str, key: str):
    entries = catalogue()[section]
    for k in (key, key.lower(), key.lower().replace("_", "-")):
        if k in entries:
            return k, entries[k]
    return None, None


def _placeholders(template: str) -> set[str]:
    out = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name:
            out.add(re.split(r"[.\[]", name)[0])
    return out


def _supplied(call: ast.Call) -> set[str] | None:
    """Keyword names a call supplies; None when it passes **mapping (anything may be there).
    (An entry only read, not formatted here, is reported as False: nothing to check.)"""
    if any(k.arg is None for k in call.keywords):
        return None
    return {k.arg for k in call.keywords}


def catalogue_uses(path: Path):
    """(line, section, key, supplied names or None, call or None) of each catalogue entry named."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _section_names(tree)
    if not names:
        return
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in names):
            continue
        section, parent = names[node.id], parents.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.attr == "text":
            call = parents.get(id(parent))
            if isinstance(call, ast.Call) and call.args:
                key = call.args[0]  # "a" or "a" if x else "b"
                for k in [key.body, key.orelse] if isinstance(key, ast.IfExp) else [key]:
                    if isinstance(k, ast.Constant):
                        yield node.lineno, section, k.value, _supplied(call)
        elif isinstance(parent, ast.Attribute) and parent.attr not in ("entries", "name"):
            fmt = parents.get(id(parent))
            call = (
                parents.get(id(fmt))
                if isinstance(fmt, ast.Attribute) and fmt.attr == "format"
                else None
            )
            yield (
                node.lineno,
                section,
                parent.attr,
                _supplied(call) if isinstance(call, ast.Call) else False,
            )
        elif (
            isinstance(parent, ast.Subscript)
            and parent.value is node
            and isinstance(parent.slice, ast.Constant)
        ):
            yield node.lineno, section, parent.slice.value, False


def test_every_entry_named_in_code_exists_and_gets_its_placeholders():
    problems, seen = [], 0
    for path in _sources():
        rel = path.relative_to(PACKAGE.parent).as_posix()
        for line, section, key, supplied in catalogue_uses(path):
            seen += 1
            name, value = _entry(section, key)
            if name is None:
                problems.append(f"{rel}:{line}: [{section}] has no entry {key!r}")
            elif (
                isinstance(supplied, set)
                and isinstance(value, str)
                and not _placeholders(value) <= supplied
            ):
                problems.append(
                    f"{rel}:{line}: [{section}] {name} needs "
                    f"{sorted(_placeholders(value) - supplied)}"
                )
    assert seen > 300
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("section", sorted(catalogue()))
def test_every_template_of_the_catalogue_parses(section):
    def walk(value, where):
        if isinstance(value, str):
            try:
                _placeholders(value)
            except ValueError as e:
                pytest.fail(f"{where}: {e}")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    walk(catalogue()[section], section)


# ------------------------------------------------------------------------------ the templates

TEMPLATES = PACKAGE / "web" / "templates"


def _parse(path: Path) -> nodes.Template:
    return jinja2.Environment().parse(path.read_text(encoding="utf-8"))


def template_texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every Chinese word of a template: in its text or in a string constant
    of its expressions."""
    out = []
    for node in _parse(path).find_all((nodes.TemplateData, nodes.Const)):
        value = node.data if isinstance(node, nodes.TemplateData) else node.value
        if isinstance(value, str) and CJK.search(value):
            out.append((node.lineno, value.strip()))
    return out


def page_uses(path: Path):
    """(line, entry, names supplied or None) of each `t('table.entry', ...)` of a template."""
    for call in _parse(path).find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args):
            continue
        key = call.args[0]
        supplied = None if call.dyn_kwargs is not None else {k.key for k in call.kwargs}
        for k in [key.expr1, key.expr2] if isinstance(key, nodes.CondExpr) else [key]:
            yield call.lineno, k.value if isinstance(k, nodes.Const) else None, supplied


def _templates():
    return sorted(TEMPLATES.glob("*.html"))


def test_no_user_text_is_written_in_a_template():
    found = [
        f"{p.relative_to(PACKAGE.parent).as_posix()}:{line}: {text[:60]!r}"
        for p in _templates()
        for line, text in template_texts(p)
    ]
    assert not found, (
        "Chinese text written in a template; move it to [page] of xltools/forms/messages.toml "
        "and write t('table.entry'):\n" + "\n".join(found)
    )


def test_every_page_entry_exists_gets_its_placeholders_and_is_used():
    page = catalogue()["page"]
    problems, used = [], set()
    for path in _templates():
        rel = path.relative_to(PACKAGE.parent).as_posix()
        for line, key, supplied in page_uses(path):
            if key is None:
                problems.append(f"{rel}:{line}: t() with an entry that is not written out")
                continue
            table, _, entry = key.partition(".")
            value = page.get(table, {}).get(entry)
            if not isinstance(value, str):
                problems.append(f"{rel}:{line}: [page.{table}] has no entry {entry!r}")
                continue
            used.add(key)
            if supplied is not None and not _placeholders(value) <= supplied:
                problems.append(
                    f"{rel}:{line}: [page.{table}] {entry} needs "
                    f"{sorted(_placeholders(value) - supplied)}"
                )
    assert len(used) > 300
    unused = sorted(f"{table}.{entry}" for table, entries in page.items() for entry in entries)
    unused = [k for k in unused if k not in used]
    assert not problems, "\n".join(problems)
    assert not unused, f"[page] entries no template names: {unused}"


def test_the_template_scan_sees_text_and_entries(tmp_path):
    source = tmp_path / "x.html"
    source.write_text(
        "{% block title %}标题{% endblock %}\n"
        "<p>{{ t('board.days_left', n=3) }} {{ x or '（空）' }}</p>\n"
        "{{ t('agency.publish_pdf' if y else 'agency.publish') }}{{ t(name) }}\n",
        encoding="utf-8",
    )
    assert template_texts(source) == [(1, "标题"), (2, "（空）")]
    assert list(page_uses(source)) == [
        (2, "board.days_left", {"n"}),
        (3, "agency.publish_pdf", set()),
        (3, "agency.publish", set()),
        (3, None, set()),
    ]
