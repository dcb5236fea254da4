"""Read a consolidation's OUTDIR (results.json) into plain dataclasses."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xltools import XltoolsError
from xltools.findings import Finding

RESULTS_FILE = "results.json"
SUPPORTED_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class Entry:
    agency: str
    roster_name: str | None
    status: str
    file: str | None
    annotated: str | None          # relative to OUTDIR
    email: str | None
    contact: str | None
    note: str | None
    findings: tuple[Finding, ...]
    sha256: str | None = None

    @property
    def name(self) -> str:
        """The name to address the agency by: the roster's spelling when known."""
        return self.roster_name or self.agency


@dataclass(frozen=True, slots=True)
class Run:
    outdir: Path
    year: int | None
    form: str | None
    created: str | None
    summary_workbook: str | None
    entries: tuple[Entry, ...]


def load_results(outdir: str | Path) -> Run:
    outdir = Path(outdir)
    path = outdir / RESULTS_FILE
    if not path.is_file():
        raise XltoolsError(f"{outdir} 中没有 {RESULTS_FILE}：请先运行 xltools consolidate 生成汇总结果，"
                           "再对其输出文件夹运行 xltools mail。")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XltoolsError(f"{path} 无法读取（{exc}）：请重新运行 xltools consolidate。") from exc
    if not isinstance(doc, dict) or doc.get("schema_version") != SUPPORTED_SCHEMA:
        raise XltoolsError(f"{path} 的格式版本（schema_version={doc.get('schema_version') if isinstance(doc, dict) else None}）"
                           f"不受支持：本版本只读取版本 {SUPPORTED_SCHEMA}，请用同一版本的 xltools 重新汇总。")
    try:
        entries = tuple(_entry(e) for e in doc.get("entries") or [])
    except (KeyError, TypeError, AttributeError) as exc:
        raise XltoolsError(f"{path} 的内容不完整（{exc!r}）：请重新运行 xltools consolidate。") from exc
    year = doc.get("year")
    return Run(outdir=outdir, year=int(year) if isinstance(year, (int, str)) and str(year).isdigit() else None,
               form=str(doc["form"]) if doc.get("form") else None, created=doc.get("created"),
               summary_workbook=doc.get("summary_workbook"), entries=entries)


def _entry(d: dict) -> Entry:
    return Entry(
        agency=str(d.get("agency") or d.get("roster_name") or ""),
        roster_name=d.get("roster_name"),
        status=d["status"],
        file=d.get("file"),
        annotated=d.get("annotated"),
        email=d.get("email"),
        contact=d.get("contact"),
        note=d.get("note"),
        findings=tuple(Finding.from_dict(f) for f in d.get("findings") or []),
        sha256=d.get("sha256"),
    )


def inside(outdir: Path, relative: str | None) -> Path | None:
    """OUTDIR/relative if it is an existing file inside OUTDIR (results.json is data too)."""
    if not relative:
        return None
    base = outdir.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate
