"""Load a form definition (xltools/forms/<id>.toml) into frozen dataclasses.

The layout of the template lives in the TOML files; this module only expands what they say:
table 3's matrix into fields and caption cells, "from" references between forms, and rule
entries with ``for_each`` into one rule instance per column or item.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path as _Path
from typing import Any

from xltools import XltoolsError
from xltools.formula import FormulaError, Node, expand, matching, names, parse, ratio_parts
from xltools.messages import ANALYTICS, RULES, RUN

FORM_IDS = ("2021", "2019")  # the forms shipped in the package (see form_ids() for all)
FORMS_PATH_ENV = "XLTOOLS_FORMS_PATH"
_NOT_FORMS = frozenset(
    {"messages", "publish", "indicators", "crossyear"}
)  # other TOML files of xltools/forms
INDICATORS_FILE = "indicators.toml"
NUMERIC_TYPES = frozenset({"count", "amount", "signed"})

_A1 = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


def parse_a1(ref: str) -> tuple[int, int]:
    """'D5' -> (row 5, column 4), both 1-based."""
    m = _A1.match(ref)
    if not m:
        raise ValueError(f"not an A1 cell reference: {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def col_letter(col: int) -> str:
    s = ""
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def a1(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


@dataclass(frozen=True, slots=True)
class Caption:
    sheet: str
    range: str  # "A1:D1" or "A3"
    text: str
    style: str
    vertical: bool = False  # written standing (a tall group label)

    @property
    def cell(self) -> str:
        return self.range.split(":")[0]


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    sheet: str
    cell: str
    row_caption: str
    col_caption: str
    type: str = "count"
    required: bool = True
    choices: tuple[str, ...] = ()
    merge: str | None = None
    sum_of: tuple[str, ...] = ()  # a total: the template writes SUM() of these keys
    sum_rule: str | None = None  # the rule id that checks this total

    @property
    def is_total(self) -> bool:
        return bool(self.sum_of)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_meta(self) -> bool:
        return self.key.startswith("meta_")

    @property
    def position(self) -> tuple[int, int]:
        return parse_a1(self.cell)

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    captions: tuple[Caption, ...]
    fields: tuple[Field, ...]
    widths: dict[str, float]
    heights: dict[int, float]
    landscape: bool = False
    print_rows: str | None = None
    matrix: dict | None = None  # the expanded matrix description (ids, cells), if any


@dataclass(frozen=True, slots=True)
class RuleDef:
    """A rule's entry in the message catalogue (messages.toml [rules.<id>])."""

    id: str
    severity: str
    description: str
    message: str
    texts: dict[str, str] = field(
        default_factory=dict
    )  # every text of the entry, by name ("sheet", …)


@dataclass(frozen=True, slots=True)
class RuleUse:
    """One expanded application of a rule kind in a form, with its parameters."""

    id: str
    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    issued_by: str
    first_year: int
    last_year: int | None
    template_version: str
    cover: dict[str, str]
    sheets: tuple[Sheet, ...]
    rules: tuple[RuleUse, ...]
    catalogue: dict[str, RuleDef]
    summary: dict[str, Any] = field(
        default_factory=dict
    )  # the summary workbook's charts ([summary])
    maps_from: tuple[str, ...] = ()  # forms whose reports this form's consolidation takes in
    # rows a derived form replaced: {(matrix, base row id): this form's row id} (replace_rows)
    replaced_rows: dict[tuple[str, str], str] = field(default_factory=dict)
    source: str = ""  # the TOML file
    fields: tuple[Field, ...] = field(init=False)
    by_key: dict[str, Field] = field(init=False)
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        fields = tuple(f for s in self.sheets for f in s.fields)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "by_key", {f.key: f for f in fields})
        object.__setattr__(self, "keys", tuple(f.key for f in fields))

    def field(self, key: str) -> Field:
        return self.by_key[key]

    def sheet(self, name: str) -> Sheet:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def marker(self) -> str:
        """The text the template stores in the cover's form cell."""
        return f"xltools:{self.id}:{self.template_version}"

    @property
    def full_title(self) -> str:
        return f"{self.issued_by}《{self.title}》"

    def covers_year(self, year: int) -> bool:
        return year >= self.first_year and (self.last_year is None or year <= self.last_year)

    @property
    def totals(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.is_total)


# --- discovery: the package's forms/ and every folder on XLTOOLS_FORMS_PATH ----------------------

try:
    # os.environ.get of an unset name raises and catches a KeyError inside: about 10 us, and
    # every load_form asks. The environment's own mapping answers in well under 1 us (it is
    # what os.environ reads and monkeypatch.setenv / os.environ[...] = … write).
    _ENV_DATA, _ENV_KEY, _ENV_DECODE = (
        os.environ._data,
        os.environ.encodekey(FORMS_PATH_ENV),
        os.environ.decodevalue,
    )
except AttributeError:  # another Python implementation
    _ENV_DATA = None


def _forms_path() -> str:
    if _ENV_DATA is None:
        return os.environ.get(FORMS_PATH_ENV, "")
    v = _ENV_DATA.get(_ENV_KEY)
    return "" if v is None else _ENV_DECODE(v)


@lru_cache(maxsize=8)
def _form_files(forms_path: str) -> dict[str, Any]:
    """form id -> its TOML file (a Path or a package resource); the id is the file's stem."""
    found: dict[str, Any] = {}
    package = resources.files("xltools.forms")
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml") and entry.name[:-5] not in _NOT_FORMS and _is_form(entry):
            found[entry.name[:-5]] = entry
    for folder in forms_path.split(os.pathsep):
        if not folder.strip() or not os.path.isdir(folder):
            continue
        for path in sorted(os.scandir(folder), key=lambda e: e.name):
            if path.name.endswith(".toml") and path.is_file():
                fid = path.name[:-5]
                if not _is_form(_Path(path.path)):
                    continue
                if fid in found:
                    raise XltoolsError(
                        RUN.form_duplicate.format(form=fid, first=found[fid], second=path.path)
                    )
                found[fid] = _Path(path.path)
    return found


def _is_form(file: Any) -> bool:
    """A form definition, not another TOML file kept beside the forms (messages, wording)."""
    try:
        head = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # reported as an invalid form when it is loaded
    return "[[sheets]]" in head


def form_ids() -> tuple[str, ...]:
    """Every form available, the newest (latest first year) first."""
    return _form_ids(_forms_path())


@lru_cache(maxsize=8)
def _form_ids(forms_path: str) -> tuple[str, ...]:
    files = _form_files(forms_path)
    return tuple(
        sorted(
            files, key=lambda fid: (-int(_raw_form_at(fid, forms_path).get("first_year", 0)), fid)
        )
    )


def form_for_year(year: int) -> str:
    ids = form_ids()
    for fid in ids:
        if load_form(fid).covers_year(year):
            return fid
    return ids[-1] if year < min(load_form(f).first_year for f in ids) else ids[0]


def _unknown(form_id: str) -> XltoolsError:
    return XltoolsError(RUN.unknown_form.format(form=form_id, choices="、".join(form_ids())))


@lru_cache(maxsize=None)
def load_catalogue() -> dict[str, RuleDef]:
    """The [rules] section of the message catalogue (messages.toml)."""
    return {
        rid: RuleDef(
            rid,
            d["severity"],
            d["description"],
            d["message"],
            {k: v for k, v in d.items() if isinstance(v, str)},
        )
        for rid, d in RULES.entries().items()
    }


def _raw_form(form_id: str) -> dict:
    """The form's TOML as parsed (shared: never modify it)."""
    return _raw_form_at(str(form_id), _forms_path())


@lru_cache(maxsize=None)
def _raw_form_at(form_id: str, forms_path: str) -> dict:
    file = _form_files(forms_path).get(form_id)
    if file is None:
        raise _unknown(form_id)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise XltoolsError(RUN.form_invalid.format(path=file, error=e)) from None
    if str(data.get("id")) != form_id:
        raise XltoolsError(
            RUN.form_invalid.format(
                path=file, error=RUN.text("form_id_mismatch", id=data.get("id"), form=form_id)
            )
        )
    return data


def _resolve_sheets(data: dict) -> list[dict]:
    out = []
    for s in data["sheets"]:
        if "from" in s:
            base = next(x for x in _resolve_sheets(_raw_form(s["from"])) if x["name"] == s["name"])
            base = copy.deepcopy(base)
            if "replace_rows" in s:
                _replace_rows(base["matrix"], s["replace_rows"])
            s = base
        out.append(s)
    return out


def _replace_rows(matrix: dict, replace: dict) -> None:
    rows = []
    for r in matrix["rows"]:
        if r["id"] in replace:
            new = replace[r["id"]]
            if new:
                rows.append(new)
        else:
            rows.append(r)
    for r in rows:
        if "sum_of" in r:
            mapped = []
            for rid in r["sum_of"]:
                new = replace.get(rid, {"id": rid})
                if new and new["id"] not in mapped:
                    mapped.append(new["id"])
            r["sum_of"] = mapped
    matrix["rows"] = rows


def _expand_matrix(name: str, m: dict) -> tuple[list[Caption], list[Field], dict]:
    """Table 3: rows laid out from first_row down; labels placed and merged by group depth."""
    label_cols = [parse_a1(c + "1")[1] for c in m["label_cols"]]
    last_label = label_cols[-1]
    captions: list[Caption] = []
    fields: list[Field] = []
    rows = m["rows"]
    row_of = {r["id"]: m["first_row"] + i for i, r in enumerate(rows)}
    col_of = {c["id"]: c["col"] for c in m["cols"]}

    # vertical group labels: consecutive rows sharing a group at depth d
    for depth in range(len(label_cols) - 1):
        i = 0
        while i < len(rows):
            groups = rows[i].get("groups", [])
            if len(groups) > depth:
                label = groups[depth]
                j = i
                while (
                    j + 1 < len(rows)
                    and len(rows[j + 1].get("groups", [])) > depth
                    and rows[j + 1]["groups"][depth] == label
                ):
                    j += 1
                col = col_letter(label_cols[depth])
                top, bottom = m["first_row"] + i, m["first_row"] + j
                rng = f"{col}{top}:{col}{bottom}" if bottom > top else f"{col}{top}"
                captions.append(Caption(name, rng, label, "group", label in m.get("vertical", ())))
                i = j + 1
            else:
                i += 1

    for r in rows:
        row = row_of[r["id"]]
        depth = len(r.get("groups", []))
        first = col_letter(label_cols[depth])
        rng = (
            f"{first}{row}"
            if label_cols[depth] == last_label
            else f"{first}{row}:{col_letter(last_label)}{row}"
        )
        captions.append(Caption(name, rng, r["label"], "label"))
        for c in m["cols"]:
            key = m["key"].format(row=r["id"], col=c["id"])
            sum_of: tuple[str, ...] = ()
            rule = None
            # a row total wins over a column total for the corner cell: both sum to the same
            if "sum_of" in c:
                sum_of = tuple(m["key"].format(row=r["id"], col=x) for x in c["sum_of"])
                rule = c["rule"]
            elif "sum_of" in r:
                sum_of = tuple(m["key"].format(row=x, col=c["id"]) for x in r["sum_of"])
                rule = r["rule"]
            fields.append(
                Field(
                    key,
                    name,
                    f"{c['col']}{row}",
                    r["label"],
                    c["caption"],
                    m.get("type", "count"),
                    True,
                    (),
                    None,
                    sum_of,
                    rule,
                )
            )
    # the corner cell (row total of the results row) is also checked as a column total
    extra_totals = []
    for r in rows:
        if "sum_of" in r:
            for c in m["cols"]:
                if "sum_of" in c:
                    key = m["key"].format(row=r["id"], col=c["id"])
                    parts = tuple(m["key"].format(row=x, col=c["id"]) for x in r["sum_of"])
                    extra_totals.append((key, parts, r["rule"]))
    info = {
        "name": m["name"],
        "rows": [r["id"] for r in rows],
        "cols": [c["id"] for c in m["cols"]],
        "row_of": row_of,
        "col_of": col_of,
        "key": m["key"],
        "extra_totals": extra_totals,
        "labels": {r["id"]: r["label"] for r in rows},
        "groups": {r["id"]: list(r.get("groups", [])) for r in rows},
        "row_sums": {r["id"]: list(r["sum_of"]) for r in rows if "sum_of" in r},
    }
    return captions, fields, info


def _build_sheet(s: dict) -> Sheet:
    name = s["name"]
    captions = [Caption(name, c[0], c[1], c[2]) for c in s.get("captions", [])]
    fields = []
    for f in s.get("fields", []):
        typ = f.get("type", "count")
        fields.append(
            Field(
                f["key"],
                name,
                f["cell"],
                f.get("row", ""),
                f.get("col", ""),
                typ,
                f.get("required", typ in NUMERIC_TYPES),
                tuple(f.get("choices", ())),
                f.get("merge"),
                tuple(f.get("sum_of", ())),
                f.get("rule"),
            )
        )
    matrix = None
    if "matrix" in s:
        mc, mf, matrix = _expand_matrix(name, s["matrix"])
        captions += mc
        fields += mf
    return Sheet(
        name,
        tuple(captions),
        tuple(fields),
        dict(s.get("widths", {})),
        {int(k): v for k, v in s.get("heights", {}).items()},
        bool(s.get("landscape")),
        s.get("print_rows"),
        matrix,
    )


def _expand_rules(data: dict, matrices: dict[str, dict]) -> list[RuleUse]:
    out: list[RuleUse] = []
    for r in data.get("rules", []):
        if "from" in r:
            base = _expand_rules(_raw_form(r["from"]), matrices)
            out += [u for u in base if u.id in r["ids"]]
            continue
        if "ids" in r:  # several rules of one kind without parameters
            out += [RuleUse(rid, r["kind"], {}) for rid in r["ids"]]
            continue
        params = {k: v for k, v in r.items() if k not in ("id", "kind", "for_each")}
        combos: list[dict[str, str]] = [{}]
        for var, values in r.get("for_each", {}).items():
            if isinstance(values, str) and values.startswith("@"):
                mname, attr = values[1:].split(".")
                values = matrices[mname][attr]
            combos = [dict(c, **{var: v}) for c in combos for v in values]
        derived_when = params.pop("derived_when", None)
        for combo in combos:
            p = _substitute(params, combo)
            if derived_when and all(combo.get(k) == v for k, v in derived_when.items()):
                p["derived"] = True
            out.append(RuleUse(r["id"], r["kind"], p))
    return out


def _substitute(obj: Any, env: dict[str, str]) -> Any:
    if not env:
        return obj
    if isinstance(obj, str):
        return obj.format(**env)
    if isinstance(obj, list):
        return [_substitute(x, env) for x in obj]
    if isinstance(obj, dict):
        return {k: _substitute(v, env) for k, v in obj.items()}
    return obj


def load_form(form_id: str = "2021") -> Form:
    return _load_form(str(form_id), _forms_path())


@lru_cache(maxsize=None)
def _load_form(form_id: str, forms_path: str) -> Form:
    data = _raw_form(form_id)
    try:
        return _build_form(form_id, data)
    except (KeyError, TypeError, ValueError, IndexError, StopIteration) as e:
        raise XltoolsError(
            RUN.form_invalid.format(path=_form_files(forms_path).get(form_id), error=repr(e))
        ) from None


def _build_form(form_id: str, data: dict) -> Form:
    sheets = tuple(_build_sheet(s) for s in _resolve_sheets(data))
    matrices = {s.matrix["name"]: s.matrix for s in sheets if s.matrix}
    cover = data["cover"]
    if "from" in cover:
        cover = _raw_form(cover["from"])["cover"]
    catalogue = load_catalogue()
    rules = tuple(_expand_rules(data, matrices))
    for u in rules:
        if u.id not in catalogue:
            raise XltoolsError(RUN.form_unknown_rule.format(form=form_id, rule=u.id))
    summary = data.get("summary", {})
    seen = set()
    while "from" in summary and summary["from"] not in seen:  # taken from another form
        seen.add(summary["from"])
        summary = _raw_form(summary["from"]).get("summary", {})
    based_on = [s["from"] for s in data["sheets"] if "from" in s]
    maps_from = tuple(dict.fromkeys([*data.get("maps_from", []), *based_on]))
    replaced = {}
    for s in data["sheets"]:
        for old, new in (s.get("replace_rows") or {}).items():
            if new:
                base = next(
                    x for x in _resolve_sheets(_raw_form(s["from"])) if x["name"] == s["name"]
                )
                replaced[(base["matrix"]["name"], old)] = new["id"]
    return Form(
        str(data["id"]),
        data["title"],
        data["issued_by"],
        data["first_year"],
        data.get("last_year"),
        data["template_version"],
        dict(cover),
        sheets,
        rules,
        catalogue,
        dict(summary),
        maps_from,
        replaced,
        str(_form_files(_forms_path()).get(form_id, "")),
    )


def form_section(form_id: str, name: str) -> dict:
    """A top-level table of the form's TOML (e.g. "published", "locate", "summary"), taken from
    another form when it says `from = "<form>"`; {} when the form has none. For modules whose
    settings live in the form definition. Do not modify the result."""
    data = _raw_form(str(form_id)).get(name, {})
    seen: set[str] = set()
    while isinstance(data, dict) and "from" in data and data["from"] not in seen:
        seen.add(data["from"])
        data = _raw_form(data["from"]).get(name, {})
    return data if isinstance(data, dict) else {}


def key_map(source: Form, target: Form) -> dict[str, str]:
    """How a report on `source` enters a consolidation on `target`: source key -> target key.
    Keys both forms have map to themselves; a row one form's definition replaced
    (replace_rows) maps to the row it replaced; anything else has no place in `target`."""
    out = {k: k for k in source.keys if k in target.by_key}
    pairs = []
    if source.replaced_rows and target.id in source.maps_from:  # source derives from target
        pairs = [(new, old) for (m, old), new in source.replaced_rows.items()]
    elif target.replaced_rows and source.id in target.maps_from:  # target derives from source
        pairs = [(old, new) for (m, old), new in target.replaced_rows.items()]
    for s in source.sheets:
        if not s.matrix:
            continue
        tm = next(
            (t.matrix for t in target.sheets if t.matrix and t.matrix["name"] == s.matrix["name"]),
            None,
        )
        if tm is None:
            continue
        for src_row, dst_row in pairs:
            if src_row in s.matrix["rows"] and dst_row in tm["rows"]:
                for col in s.matrix["cols"]:
                    src_key = s.matrix["key"].format(row=src_row, col=col)
                    dst_key = tm["key"].format(row=dst_row, col=col)
                    if dst_key in target.by_key:
                        out[src_key] = dst_key
    return out


def total_relations(form: Form) -> list[tuple[str, tuple[str, ...], str, bool]]:
    """Every (total key, part keys, rule id, derived) the form declares. The corner cell of
    table 3 (（七）总计 / 总计) is both a row and a column total; its second relation holds
    whenever all the others do, so it is marked derived."""
    rel = [(f.key, f.sum_of, f.sum_rule, False) for f in form.fields if f.is_total]
    for s in form.sheets:
        if s.matrix:
            rel += [(k, parts, rule, True) for k, parts, rule in s.matrix["extra_totals"]]
    return rel


# --- indicators (xltools/forms/indicators.toml, then indicators.toml on XLTOOLS_FORMS_PATH) ------

RATE_UNIT = "%"
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: a formula over the form's keys (xltools.formula), with its name and unit."""

    id: str
    name: str
    formula: str
    unit: str
    meaning: str
    tree: Node
    peers: bool = True  # compared with the agency's group (peer warnings)
    cell: str | None = None  # the key a peer warning points at (else the formula's first key)
    trend: bool = False  # a line of the 近年趋势 chart of key totals
    source: str = ""

    @property
    def is_rate(self) -> bool:
        return self.unit == RATE_UNIT


@dataclass(frozen=True)
class Indicators:
    """Every indicator defined, in order, and the settings of peers and trends."""

    items: tuple[Indicator, ...]
    peers: dict[str, float]
    trends: dict[str, Any]
    sources: tuple[str, ...] = ()
    # the formulas bound to each form's keys (xltools.analytics), made once per form
    bound: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.items}

    @property
    def trees(self) -> dict[str, Node]:
        return {i.id: i.tree for i in self.items}


def load_indicators() -> Indicators:
    """The indicators of the package's indicators.toml and of every indicators.toml in a
    folder on XLTOOLS_FORMS_PATH (added after them; their [peers] / [trends] values replace
    the package's). A Chinese XltoolsError names the file and the indicator at fault."""
    return _load_indicators(_forms_path())


def _indicator_files(forms_path: str) -> list[Any]:
    files: list[Any] = [resources.files("xltools.forms").joinpath(INDICATORS_FILE)]
    for folder in forms_path.split(os.pathsep):
        if folder.strip() and os.path.isfile(os.path.join(folder, INDICATORS_FILE)):
            files.append(_Path(folder) / INDICATORS_FILE)
    return files


@lru_cache(maxsize=8)
def _load_indicators(forms_path: str) -> Indicators:
    every_key: set[str] = set()
    for fid in _form_ids(forms_path):
        every_key.update(_load_form(fid, forms_path).keys)
    ordered_keys = sorted(every_key)
    items: list[Indicator] = []
    where: dict[str, str] = {}
    peers: dict[str, float] = {}
    trends: dict[str, Any] = {}
    files = _indicator_files(forms_path)
    for file in files:

        def bad(error: str, file=file) -> XltoolsError:
            return XltoolsError(ANALYTICS.text("indicators_invalid", path=file, error=error))

        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise bad(str(e)) from None
        for n, raw in enumerate(data.get("indicators", []), start=1):
            if not isinstance(raw, dict):
                raise bad(ANALYTICS.text("indicator_missing", n=n, id="", field="id"))
            ind = _indicator(raw, n, str(file), every_key, ordered_keys, items, bad)
            if ind.id in where:
                raise bad(ANALYTICS.text("indicator_duplicate", id=ind.id, first=where[ind.id]))
            where[ind.id] = str(file)
            items.append(ind)
        for name, v in (data.get("peers") or {}).items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise bad(ANALYTICS.text("indicator_setting", section="peers", name=name))
            peers[name] = v
        trends.update(data.get("trends") or {})
    return Indicators(tuple(items), peers, trends, tuple(str(f) for f in files))


def _indicator(
    raw: dict,
    n: int,
    source: str,
    every_key: set[str],
    ordered_keys: list[str],
    earlier: list[Indicator],
    bad,
) -> Indicator:
    for name in ("id", "name", "formula", "unit", "meaning"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise bad(ANALYTICS.text("indicator_missing", n=n, id=raw.get("id") or "", field=name))
    iid, formula = raw["id"].strip(), raw["formula"]
    if not _ID.match(iid):
        raise bad(ANALYTICS.text("indicator_bad_id", id=iid))
    if iid in every_key:
        raise bad(ANALYTICS.text("indicator_id_is_key", id=iid))
    try:
        tree = parse(formula)
    except FormulaError as e:
        reason = ANALYTICS.text(e.reason, text=e.text)
        raise bad(
            ANALYTICS.text(
                "indicator_formula", id=iid, formula=formula, pos=e.position + 1, reason=reason
            )
        ) from None
    known = {i.id: i.tree for i in earlier}
    used, patterns = names(tree)
    for name in used:
        if name not in every_key and name not in known:
            raise bad(ANALYTICS.text("indicator_unknown_name", id=iid, name=name))
    for pattern in patterns:
        if not matching(pattern, ordered_keys):
            raise bad(ANALYTICS.text("indicator_no_match", id=iid, pattern=pattern))
    unit = raw["unit"].strip()
    if unit == RATE_UNIT and ratio_parts(expand(tree, known)) is None:
        raise bad(ANALYTICS.text("indicator_not_ratio", id=iid))
    cell = raw.get("cell")
    if cell is not None and cell not in every_key:
        raise bad(ANALYTICS.text("indicator_bad_cell", id=iid, cell=cell))
    return Indicator(
        iid,
        raw["name"].strip(),
        formula,
        unit,
        raw["meaning"].strip(),
        tree,
        bool(raw.get("peers", True)),
        cell,
        bool(raw.get("trend", False)),
        source,
    )
