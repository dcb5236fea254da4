"""The one catalogue of user-facing text: xltools/forms/messages.toml.

Sections: ``rules`` (per rule id: severity, description, message template), ``detail`` (what
fills a finding's {detail}), ``run`` (checking and consolidating many files), ``cli``,
``live``, ``mail``, ``fetch``, ``published``, ``locate``, ``season`` (the season folder and its
commands), ``web``, ``read`` (why a file cannot be read), ``roster``, ``template``, ``summary``,
``annotate``, ``analytics`` (indicators, peers and trends), ``accounts`` (the web page's
accounts and passwords), ``page`` (the web page's own text, one table per page, read by the
templates through ``t('page.entry')``), ``names`` (the files, folders and sheets xltools
writes) and ``grammar`` (words of Chinese input the readers recognise: numerals, placeholders,
report prose). Code names
an entry and fills its placeholders; it never writes a sentence a user reads itself
(tests/test_messages.py enforces this and checks that every entry named exists and gets its
placeholders).

    from xltools.messages import RUN
    RUN.not_found.format(path=p)      # or RUN.text("not_found", path=p)
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=None)
def catalogue() -> dict[str, dict[str, Any]]:
    text = resources.files("xltools.forms").joinpath("messages.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


class Section:
    """One section of the catalogue; entries by attribute (case-insensitive) or by item."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def entries(self) -> dict[str, Any]:
        return catalogue()[self.name]

    def __getitem__(self, key: str) -> Any:
        return self.entries()[key]

    def __getattr__(self, key: str) -> Any:
        entries = self.entries()
        for k in (key, key.lower(), key.lower().replace("_", "-")):
            if k in entries:
                return entries[k]
        raise AttributeError(f"messages.toml [{self.name}] has no entry {key!r}")

    def __contains__(self, key: str) -> bool:
        return key in self.entries()

    def text(self, key: str, /, **values: Any) -> str:
        return self[key].format(**values)


RULES = Section("rules")
DETAIL = Section("detail")
RUN = Section("run")
CLI = Section("cli")
LIVE = Section("live")
MAIL = Section("mail")
FETCH = Section("fetch")
SEASON = Section("season")
NAMES = Section("names")
WEB = Section("web")
READ = Section("read")
ROSTER = Section("roster")
GRAMMAR = Section("grammar")
TEMPLATE = Section("template")
SUMMARY = Section("summary")
ANNOTATE = Section("annotate")
ANALYTICS = Section("analytics")
ACCOUNTS = Section("accounts")
PAGE = Section("page")
