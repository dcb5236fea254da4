"""Fuzzing (issue 8): valid workbooks mutated in their cell values and in their raw bytes.

The law: every run ends, every file is accounted for with a status, and no exception escapes.
CI runs a bounded number of examples (the whole module in well under a minute); set
XLTOOLS_FUZZ_EXAMPLES=2000 to run many more on demand.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from factory import make_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools.batch import check_paths
from xltools.consolidate import consolidate
from xltools.findings import STATUS_LABELS
from xltools.spec import load_form

EXAMPLES = int(os.environ.get("XLTOOLS_FUZZ_EXAMPLES", "0"))
settings.register_profile(
    "ci",
    max_examples=EXAMPLES or 60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FUZZ = settings.get_profile("ci")
FORM = load_form("2021")
KEYS = [f.key for f in FORM.fields]

_BASE: dict[str, bytes] = {}


def _base_bytes() -> bytes:
    if "xlsx" not in _BASE:
        with tempfile.TemporaryDirectory() as tmp:
            _BASE["xlsx"] = make_workbook(Path(tmp) / "base.xlsx").read_bytes()
    return _BASE["xlsx"]


def _assert_accounted(files: list[Path], reports) -> None:
    assert [Path(r.file) for r in reports] == files
    for r in reports:
        assert r.status in STATUS_LABELS
        for f in r.findings:
            assert f.message


# --- raw bytes ------------------------------------------------------------------------------------

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**9), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**9), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**9), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.integers(0, 10**9), st.integers(1, 512)),
    st.tuples(st.just("overwrite"), st.integers(0, 10**9), st.binary(min_size=1, max_size=16)),
)


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        if not b:
            break
        i = pos % len(b)
        if op == "flip":
            b[i] ^= arg
        elif op == "truncate":
            del b[i:]
        elif op == "insert":
            b[i:i] = arg
        elif op == "delete":
            del b[i : i + arg]
        else:
            b[i : i + len(arg)] = arg
    return bytes(b)


@FUZZ
@given(st.lists(st.lists(mutation, min_size=1, max_size=4), min_size=1, max_size=4))
def test_byte_mutations_every_file_accounted_for(batch):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, ops in enumerate(batch):
            p = Path(tmp) / f"m{i}.xlsx"
            p.write_bytes(_mutate(_base_bytes(), ops))
            files.append(p)
        reports = check_paths(files, jobs=1)
        _assert_accounted(files, reports)


# --- cell values ----------------------------------------------------------------------------------

cell_value = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.text(max_size=60),
    st.sampled_from(
        [
            "/",
            "—",
            "无",
            "2件",
            "１２",
            "1,234",
            "#DIV/0!",
            "#N/A",
            "=1+1",
            "+A1",
            "@x",
            "-",
            " 3 ",
            "\r\n",
            "\x00\x01",
            "😀",
            '=HYPERLINK("x")',
            "../../x",
            "..\\x",
        ]
    ),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), cell_value, min_size=1, max_size=12))
def test_value_mutations_check_and_consolidate(values):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inbox = tmp / "inbox"
        inbox.mkdir()
        try:
            path = make_workbook(inbox / "fuzz.xlsx", **values)
        except Exception:
            # the template writer refused the value (fill's own input checks): nothing to read
            return
        other = make_workbook(inbox / "plain.xlsx", meta_agency="对照单位")
        reports = check_paths([path, other], jobs=0)
        _assert_accounted([path, other], reports)
        result = consolidate([inbox], tmp / "out", jobs=0, annotate=True)
        assert {e.file for e in result.entries if e.file} == {str(path), str(other)}
        assert (tmp / "out" / "results.json").exists()
        assert all(
            p.resolve().is_relative_to((tmp / "out").resolve()) for p in (tmp / "out").rglob("*")
        )
