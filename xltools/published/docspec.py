"""What a form's tables look like in a published document, from the `[published]` section of
the form's TOML: section headings, the words that identify the form, row-label aliases, the
phrases the text uses for the tables' figures. Nothing about the form is typed in Python."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from xltools.spec import FORM_IDS, Field, Form, _raw_form, load_form

_NOT_WORD = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")
_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十]+[)）]|\d+[.、．]|[(（]\d+[)）])"
)
_PAREN = re.compile(r"[(（][^()（）]*[)）]")


def norm(s: str) -> str:
    """Text reduced to what label matching compares: CJK, letters, digits."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", s))


def label_core(caption: str) -> str:
    """An official caption without its numbering and explanatory parenthesis:
    "（二）X（区分处理的，…）" -> "X"."""
    s = unicodedata.normalize("NFKC", caption).strip()
    s = _NUMBERING.sub("", s)
    s = _PAREN.sub("", s)
    return norm(s)


@dataclass(frozen=True)
class Section:
    part: int
    table: str | None  # the template sheet the part's table fills
    phrases: tuple[str, ...]
    fallback: tuple[str, ...]


@dataclass(frozen=True)
class DocSpec:
    form: Form
    sections: tuple[Section, ...]
    identify: dict[str, tuple[str, ...]]
    aliases: dict[str, tuple[str, ...]]
    earlier_rows: dict[str, str]
    subtotal_words: tuple[str, ...]
    title_words: tuple[str, ...]
    period_words: tuple[str, ...]
    text: dict
    prose_title_words: tuple[str, ...] = ()

    def table_fields(self, sheet: str) -> list[Field]:
        return [f for f in self.form.fields if f.sheet == sheet]

    def rows(self, sheet: str) -> list[tuple[str, list[Field]]]:
        """Fields of a table grouped by row caption, in the template's order."""
        rows: dict[str, list[Field]] = {}
        for f in self.table_fields(sheet):
            rows.setdefault(f.row_caption, []).append(f)
        return list(rows.items())

    def section(self, part: int) -> Section:
        return next(s for s in self.sections if s.part == part)

    @property
    def tables(self) -> list[Section]:
        return [s for s in self.sections if s.table]


@lru_cache(maxsize=None)
def doc_spec(form_id: str) -> DocSpec:
    form = load_form(form_id)
    p = _raw_form(form_id).get("published", {})  # the parsed TOML's [published] section
    sections = tuple(
        Section(s["part"], s.get("table"), tuple(s["phrases"]), tuple(s.get("fallback", ())))
        for s in p.get("sections", ())
    )
    return DocSpec(
        form,
        sections,
        {k: tuple(v) for k, v in p.get("identify", {}).items()},
        {k: tuple(v) for k, v in p.get("aliases", {}).items()},
        dict(p.get("earlier_rows", {})),
        tuple(p.get("subtotal_words", ())),
        tuple(p.get("title_words", ())),
        tuple(p.get("period_words", ())),
        dict(p.get("text", {})),
        tuple(p.get("prose_title_words", ())),
    )


def all_specs() -> list[DocSpec]:
    """Every form, newest first (the order in which a table's form is identified)."""
    return [doc_spec(f) for f in FORM_IDS]
