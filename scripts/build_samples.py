"""Build samples/submissions/*.xlsx from the plain data files in samples/data/.

    python scripts/build_samples.py

Each data file is {key: value} as `xltools fill` takes it; a file whose keys belong to form
2019 only is filled on form 2019 (the sample of a 2022 report on the wrong form).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xltools.spec import load_form  # noqa: E402
from xltools.template import fill_workbook  # noqa: E402


def form_of(values: dict) -> str | None:
    only_2019 = set(load_form("2019").keys) - set(load_form("2021").keys)
    return "2019" if only_2019 & values.keys() else None


def build(data_dir: Path = ROOT / "samples" / "data", out_dir: Path = ROOT / "samples" / "submissions") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for data in sorted(data_dir.glob("*.json")):
        values = json.loads(data.read_text(encoding="utf-8"))
        written.append(fill_workbook(values, out_dir / f"{data.stem}.xlsx", form_of(values)))
    return written


if __name__ == "__main__":
    for p in build():
        print(p.relative_to(ROOT))
