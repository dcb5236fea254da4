"""The season's settings file (season.toml): year, roster, last year's figures, thresholds.

A small TOML file a person may read and edit. Paths in it are relative to the season folder
when they lie inside it, so the folder can be moved or copied as a whole.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from xltools import XltoolsError
from xltools.fsutil import atomic_write_text

SETTINGS_NAME = "season.toml"

DEFAULT_FACTOR = 5.0        # plausibility: a key total changes by more than this factor …
DEFAULT_MIN_CHANGE = 20.0   # … and by at least this much


@dataclass(frozen=True, slots=True)
class Settings:
    year: int
    roster: str | None = None          # path (relative to the season folder when inside it)
    previous: str | None = None        # last year's figures: summary workbook, season folder or folder of workbooks
    factor: float = DEFAULT_FACTOR
    min_change: float = DEFAULT_MIN_CHANGE
    office: str | None = None          # 汇总单位, e.g. “聊城市人民政府办公室”
    extra: dict = field(default_factory=dict)

    def resolve(self, folder: Path, value: str | None) -> Path | None:
        if not value:
            return None
        p = Path(value)
        return p if p.is_absolute() else folder / p

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def write_settings(folder: Path, s: Settings) -> Path:
    lines = ["# xltools 本届年报工作设置（可手工修改；路径相对于本文件夹）",
             f"year = {s.year}"]
    if s.roster:
        lines.append(f"roster = {_toml_str(s.roster)}")
    if s.previous:
        lines.append(f"previous = {_toml_str(s.previous)}")
    if s.office:
        lines.append(f"office = {_toml_str(s.office)}")
    lines += ["", "[thresholds]",
              "# 与上年比较：关键合计变化超过 factor 倍且变化量不少于 min_change 时给出警告",
              f"factor = {s.factor:g}", f"min_change = {s.min_change:g}", ""]
    return atomic_write_text(folder / SETTINGS_NAME, "\n".join(lines))


def read_settings(folder: Path) -> Settings:
    path = folder / SETTINGS_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise XltoolsError(f"“{folder}”不是年报工作文件夹（缺少 {SETTINGS_NAME}）。"
                           f"请先运行 xltools init {folder} --year 年度。") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise XltoolsError(f"无法读取设置文件 {path}：{e}。请改正或删除后用 xltools init 重建。") from None
    year = data.get("year")
    if not isinstance(year, int) or not 2019 <= year <= 2100:
        raise XltoolsError(f"设置文件 {path} 中的 year 应为 2019 至 2100 之间的整数，现为“{year}”。")
    th = data.get("thresholds") or {}
    try:
        factor = float(th.get("factor", DEFAULT_FACTOR))
        min_change = float(th.get("min_change", DEFAULT_MIN_CHANGE))
    except (TypeError, ValueError):
        raise XltoolsError(f"设置文件 {path} 中 [thresholds] 的 factor、min_change 应为数字。") from None
    if factor <= 1 or min_change < 0:
        raise XltoolsError(f"设置文件 {path} 中 factor 应大于 1，min_change 不能为负数。")
    def text(k):
        v = data.get(k)
        return str(v) if v not in (None, "") else None
    return Settings(year, text("roster"), text("previous"), factor, min_change, text("office"),
                    {k: v for k, v in data.items() if k not in ("year", "roster", "previous", "office", "thresholds")})
