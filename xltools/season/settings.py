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
from xltools.messages import SEASON

SETTINGS_NAME = "season.toml"
_TOP_KEYS = ("year", "roster", "previous", "office", "public_url", "deadline", "thresholds")

DEFAULT_FACTOR = 5.0  # plausibility: a key total changes by more than this factor …
DEFAULT_MIN_CHANGE = 20.0  # … and by at least this much


@dataclass(frozen=True, slots=True)
class Settings:
    year: int
    roster: str | None = None  # path (relative to the season folder when inside it)
    previous: str | None = (
        None  # last year's figures: summary workbook, season folder or folder of workbooks
    )
    factor: float = DEFAULT_FACTOR
    min_change: float = DEFAULT_MIN_CHANGE
    office: str | None = None  # 汇总单位, e.g. “聊城市人民政府办公室”
    public_url: str | None = None  # the address agencies reach the web page by (their links)
    deadline: str | None = None  # 报送期限, ISO date (2026-02-10)
    extra: dict = field(default_factory=dict)  # other tables ([imap], …), kept as they are

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
    lines = [SEASON.settings_comment, f"year = {s.year}"]
    for key in ("roster", "previous", "office", "public_url", "deadline"):
        value = getattr(s, key)
        if value:
            lines.append(f"{key} = {_toml_str(value)}")
    lines += [
        "",
        "[thresholds]",
        SEASON.settings_thresholds_comment,
        f"factor = {s.factor:g}",
        f"min_change = {s.min_change:g}",
        "",
    ]
    for table, values in s.extra.items():
        if isinstance(values, dict):
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if _toml_value(v)]
            lines.append("")
    return atomic_write_text(folder / SETTINGS_NAME, "\n".join(lines))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _toml_str(v)
    return ""


def read_settings(folder: Path) -> Settings:
    path = folder / SETTINGS_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise XltoolsError(
            SEASON.text("not_a_season", folder=folder, settings=SETTINGS_NAME)
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise XltoolsError(SEASON.text("settings_unreadable", path=path, error=e)) from None
    year = data.get("year")
    if not isinstance(year, int) or not 2019 <= year <= 2100:
        raise XltoolsError(SEASON.text("settings_bad_year", path=path, year=year))
    th = data.get("thresholds") or {}
    try:
        factor = float(th.get("factor", DEFAULT_FACTOR))
        min_change = float(th.get("min_change", DEFAULT_MIN_CHANGE))
    except (TypeError, ValueError):
        raise XltoolsError(SEASON.text("settings_not_numbers", path=path)) from None
    if factor <= 1 or min_change < 0:
        raise XltoolsError(SEASON.text("settings_bad_thresholds", path=path))

    def text(k):
        v = data.get(k)
        return str(v) if v not in (None, "") else None

    return Settings(
        year,
        text("roster"),
        text("previous"),
        factor,
        min_change,
        text("office"),
        text("public_url"),
        text("deadline"),
        {k: v for k, v in data.items() if k not in _TOP_KEYS},
    )
