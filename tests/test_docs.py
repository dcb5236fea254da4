"""docs/ is the domain contract in the repository: its generated pages match the form
definitions, results.md names every results.json field, the README links there."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from xltools.results import Entry, Run

ROOT = Path(__file__).resolve().parents[1]


def _builder():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_pages_are_current():
    build = _builder()
    for name, make in build.GENERATED.items():
        assert (ROOT / "docs" / name).read_text(encoding="utf-8") == make(), (
            f"docs/{name} is out of date: run python scripts/build_docs.py"
        )


def test_results_md_names_every_field():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_0-9]+)`", text))
    run = Run(
        outdir=ROOT, year=2022, form="2021", created="x", entries=(Entry(agency="甲", status="ok"),)
    )
    doc = run.to_dict()
    assert set(doc) <= named
    assert set(doc["entries"][0]) <= named


def test_readme_links_the_docs_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    for link in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / link).is_file(), link
    assert "docs/format.md" in readme
