"""Build samples/submissions/*.xlsx from the plain data files in samples/data/, and last year's
sample (samples/last_year/: the agencies' 2021 workbooks and the summary xltools made of them).

    python scripts/build_samples.py

Each data file is {key: value} as `xltools fill` takes it; a file whose keys belong to form
2019 only is filled on form 2019 (the sample of a 2022 report on the wrong form).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xltools.consolidate import consolidate  # noqa: E402
from xltools.spec import load_form  # noqa: E402
from xltools.template import fill_workbook  # noqa: E402


def form_of(values: dict) -> str | None:
    only_2019 = set(load_form("2019").keys) - set(load_form("2021").keys)
    return "2019" if only_2019 & values.keys() else None


def build(
    data_dir: Path = ROOT / "samples" / "data", out_dir: Path = ROOT / "samples" / "submissions"
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for data in sorted(data_dir.glob("*.json")):
        values = json.loads(data.read_text(encoding="utf-8"))
        written.append(fill_workbook(values, out_dir / f"{data.stem}.xlsx", form_of(values)))
    return written


# --- last year's sample (issue 13) ------------------------------------------------------------

T3_COLUMNS = ("person", "business", "research", "nonprofit", "legal", "other_org")
# planted in the shipped sample so `xltools consolidate --season` shows the cross-year rules at work
# (changes added to last year's figures; last year's own tables stay balanced)
LAST_YEAR_PLANTS = {
    "聊城市生态环境局": {"t3_carried_out_business": 2, "t3_new_business": 2},  # x-carry-over
    "聊城市住房和城乡建设局": {"t2_normative_in_force": 5},  # x-in-force
}


def last_year_values(values: dict, form_id: str = "2021") -> dict:
    """Last year's report of an agency consistent with this year's `values` (form 2021): last
    year's 结转下年度 = this year's 上年结转, its 现行有效 + 本年制发 − 本年废止 = this year's
    现行有效, results as this year's, and 本年新收 making table 3 balance. On form 2019 the
    tables are mapped (对外公开总数量 = 现行有效; （六） one row)."""
    year = int(values["meta_year"]) - 1
    form = load_form("2021")
    out = {
        k: v
        for k, v in values.items()
        if k.startswith("meta_")
        or (k.startswith("t4_") and k in form.by_key and not form.field(k).is_total)
    }
    out["meta_year"] = year
    out["meta_date"] = f"{year + 1}-01-15"
    result_rows = [
        f.key.removeprefix("t3_").removesuffix("_person")
        for f in load_form("2021").fields
        if f.key.startswith("t3_")
        and f.key.endswith("_person")
        and not f.key.startswith(("t3_new_", "t3_carried_", "t3_results_"))
    ]
    for col in T3_COLUMNS:
        results = 0
        for row in result_rows:
            v = _count(values.get(f"t3_{row}_{col}"))
            results += v
            if form_id == "2019" and row.startswith("other_"):
                out[f"t3_other_{col}"] = out.get(f"t3_other_{col}", 0) + v
            else:
                out[f"t3_{row}_{col}"] = v
        carried = _count(values.get(f"t3_carried_in_{col}"))
        out[f"t3_carried_out_{col}"] = carried
        out[f"t3_carried_in_{col}"] = 0
        out[f"t3_new_{col}"] = results + carried
    for row in ("regulation", "normative"):
        issued, repealed = (
            _count(values.get(f"t2_{row}_issued")),
            _count(values.get(f"t2_{row}_repealed")),
        )
        in_force = max(0, _count(values.get(f"t2_{row}_in_force")) - issued + repealed)
        if form_id == "2019":
            out.update(
                {
                    f"t2_{row}_made": issued,
                    f"t2_{row}_published": issued,
                    f"t2_{row}_total": in_force,
                }
            )
        else:
            out.update(
                {
                    f"t2_{row}_issued": issued,
                    f"t2_{row}_repealed": repealed,
                    f"t2_{row}_in_force": in_force,
                }
            )
    if form_id == "2019":
        for k in load_form("2019").keys:
            if k.startswith("t2_") and k not in out and not load_form("2019").field(k).is_total:
                out[k] = _count(values.get(k)) if k.endswith("_decisions") else 0
    else:
        for k in (
            "t2_licensing_decisions",
            "t2_penalty_decisions",
            "t2_coercion_decisions",
            "t2_fees_amount",
        ):
            out[k] = _count(values.get(k))
    return out


def _count(v) -> int | float:
    """A sample's figure as a number (a sample planted with text counts as 0 last year)."""
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else 0


def build_last_year(
    data_dir: Path = ROOT / "samples" / "data", out_dir: Path = ROOT / "samples" / "last_year"
) -> list[Path]:
    """samples/last_year/报表/*.xlsx (2021 workbooks) and samples/last_year/汇总表.xlsx."""
    books = out_dir / "报表"
    books.mkdir(parents=True, exist_ok=True)
    written = []
    for data in sorted(data_dir.glob("*.json")):
        values = json.loads(data.read_text(encoding="utf-8"))
        if (
            form_of(values) or "（" in data.stem
        ):  # the wrong-form sample and a first draft have no last year
            continue
        last = last_year_values(values)
        for k, change in LAST_YEAR_PLANTS.get(values["meta_agency"], {}).items():
            last[k] += change
        written.append(fill_workbook(last, books / f"{data.stem}.xlsx", "2021"))
    with tempfile.TemporaryDirectory() as tmp:
        consolidate([books], Path(tmp) / "out", jobs=0, agency="聊城市人民政府办公室（汇总）")
        shutil.copyfile(Path(tmp) / "out" / "汇总表.xlsx", out_dir / "汇总表.xlsx")
    written.append(out_dir / "汇总表.xlsx")
    return written


if __name__ == "__main__":
    for p in build() + build_last_year():
        print(p.relative_to(ROOT))
