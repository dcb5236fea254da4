"""Test workbooks built in code from the form definition."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from xltools.messages import DETAIL
from xltools.spec import load_form
from xltools.template import fill_workbook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
REFERENCE_NAME = "聊城市商务和投资促进局"


def reference_values() -> dict[str, Any]:
    """The reference agency's real 2022 figures (../shared/reference), as committed in
    samples/data."""
    return json.loads((SAMPLES / "data" / f"{REFERENCE_NAME}.json").read_text(encoding="utf-8"))


def zero_values(form_id: str = "2021", **meta: Any) -> dict[str, Any]:
    form = load_form(form_id)
    values: dict[str, Any] = {
        k: 0 for k in form.keys if not k.startswith("meta_") and not form.field(k).is_total
    }
    values.update({"meta_agency": "测试局", "meta_year": 2022 if form_id == "2021" else 2020})
    values.update(meta)
    return values


def make_workbook(
    path: Path, form_id: str | None = None, base: dict | None = None, **values: Any
) -> Path:
    """A filled template: `base` (default: the reference agency) updated with `values`."""
    data = dict(reference_values() if base is None else base)
    data.update(values)
    return fill_workbook(data, path, form_id)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def lo_convert(src: Path, outdir: Path, fmt: str = "xlsx") -> Path:
    """Open `src` in LibreOffice headless and save it as `fmt`, as a spreadsheet application would
    (it recalculates formulas that have no cached result)."""
    return lo_convert_many([src], outdir, fmt)[0]


def lo_convert_many(srcs: list[Path], outdir: Path, fmt: str = "xlsx") -> list[Path]:
    """lo_convert for several files in one LibreOffice start (a start takes seconds)."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        subprocess.run(
            [
                soffice(),
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                fmt,
                "--outdir",
                str(outdir),
                *map(str, srcs),
            ],
            check=True,
            capture_output=True,
            timeout=120 + 60 * len(srcs),
            env={**os.environ, "HOME": str(profile)},
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    outs = [outdir / f"{src.stem}.{fmt.split(':')[0]}" for src in srcs]
    for out in outs:
        assert out.exists(), f"LibreOffice did not write {out}"
    return outs


def derived_note(form_id: str, rule: str, key: str) -> str:
    """What a finding says of a derived relation that fails because of it (the catalogue's)."""
    form = load_form(form_id)
    f = form.field(key)
    return DETAIL.derived_note.format(
        where=f.where,
        row=f.row_caption,
        col=f.col_caption,
        description=form.catalogue[rule].description,
    )
