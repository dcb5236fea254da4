"""The shape of the package (issue 12): imports flow one way, official captions live only in
the form definitions, every command's help ends with an example."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xltools.cli import main
from xltools.spec import form_ids, load_form

PACKAGE = Path(__file__).resolve().parents[1] / "xltools"


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        name = ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        )
        out[name] = p
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package `name` imports, at module level, inside functions or under
    `if TYPE_CHECKING:` (a type two modules need moves down: no cycle hides in type hints)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"

    class Visitor(ast.NodeVisitor):
        def visit_Import(self, node):
            found.update(a.name for a in node.names)

        def visit_ImportFrom(self, node):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for a in node.names:
                full = f"{base}.{a.name}"
                found.add(full if full in modules else base)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def test_imports_have_no_cycles():
    modules = _modules()
    graph = {n: _imports(n, p, modules) for n, p in modules.items()}
    cycles, state, stack = [], {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == 1:
                cycles.append(" -> ".join(stack[stack.index(v) :] + [v]))
            elif not state.get(v):
                visit(v)
        stack.pop()
        state[u] = 2

    for n in sorted(graph):
        if not state.get(n):
            visit(n)
    assert cycles == []
    assert "xltools.season.workflow" in graph["xltools.web.coordinator"]
    # the graph is real: the pipeline reaches the readers and the rules
    assert {"xltools.reader", "xltools.evaluate"} <= graph["xltools.pipeline"]
    assert "xltools.rules" in graph["xltools.evaluate"]


# every module imported first, on its own: a cycle through a package's __init__ (which the graph
# above does not see: importing xltools.reader.base runs xltools/reader/__init__.py first) fails
# here. Third-party libraries stay loaded between modules, so the whole check takes seconds.
_EACH = r"""
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "xltools" or m.startswith("xltools.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as e:
        failed.append(f"{name}: {type(e).__name__}: {e}")
print("\n".join(failed))
"""


def test_every_module_imports_first():
    names = sorted(_modules())
    assert len(names) > 80
    out = subprocess.run(
        [sys.executable, "-c", _EACH, *names], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


STORE = {"xltools.season.store", "xltools.season.db"}  # the only modules that speak SQL
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|PRAGMA|BEGIN|COMMIT)\b", re.I)


def test_sql_only_in_the_store_and_no_click_or_exit_in_the_season():
    """One store speaks SQL; the season's workflow is a library (no click, no sys.exit, no
    printing): the command line, the web page and mail intake all call it."""
    modules = _modules()
    sql, cli, exits = {}, {}, {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if name in STORE:
                break
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _SQL.match(node.value)
            ):
                sql.setdefault(name, []).append(node.value[:40])
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if "sqlite3" in names:
                    sql.setdefault(name, []).append("import sqlite3")
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany"):
                sql.setdefault(name, []).append(f".{node.attr}(")
        if name.startswith("xltools.season"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"^\s*(import click|from click)", text, re.M):
                cli[name] = "click"
            if re.search(r"sys\.exit\(|\bprint\(", text):
                exits[name] = "sys.exit/print"
    assert sql == {} and cli == {} and exits == {}


_NUMBERING = re.compile(r"^(（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|\d+[.．、])")


def _official_captions() -> set[str]:
    """Every caption of tables 2-4 in every form (row and column captions too), without its
    numbering or a trailing note in brackets; four characters or more."""
    out = {"结果维持", "予以公开", "本年新收", "行政规范性文件"}  # the issue's own examples
    for fid in form_ids():
        form = load_form(fid)
        for sheet in form.sheets[1:]:
            texts = [c.text for c in sheet.captions] + [
                t for f in sheet.fields for t in (f.row_caption, f.col_caption)
            ]
            for text in texts:
                for part in text.split("·"):
                    core = re.sub(r"（[^（）]*）$", "", _NUMBERING.sub("", part))
                    if len(core) >= 4:
                        out.add(core)
    return out


def test_no_official_caption_in_python():
    captions = _official_captions()
    assert len(captions) > 60
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        hits = sorted(c for c in captions if c in text)
        if hits:
            offenders[str(path.relative_to(PACKAGE.parent))] = hits
    legacy = {"xltools/reader/published.py", "xltools/reader/published_text.py"}
    if offenders and set(offenders) <= legacy:
        pytest.xfail(
            "the published-report reader's captions move into the form TOML with issue #16 "
            f"(its new package replaces {', '.join(sorted(offenders))})"
        )
    assert offenders == {}


def test_every_command_help_ends_with_an_example():
    runner = CliRunner()
    assert len(main.commands) >= 9
    for name, command in sorted(main.commands.items()):
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        lines = [line.strip() for line in result.output.rstrip().splitlines()]
        # click puts the options after the docstring: the example is the docstring's end
        end = lines.index("Options:") if "Options:" in lines else len(lines)
        body = [line for line in lines[:end] if line]
        assert "示例：" in body, name
        examples = body[body.index("示例：") + 1 :]
        assert examples and all(line.startswith(f"xltools {name}") for line in examples), (
            name,
            examples,
        )
