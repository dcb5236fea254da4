"""The form definition as a plain document (`xltools schema --json`)."""

from __future__ import annotations

from xltools.rules import rules_for
from xltools.spec import form_ids, load_form, load_indicators


def describe(form_id: str = "2021") -> dict:
    form = load_form(form_id)
    rules: dict[str, dict] = {}
    for r in rules_for(form):
        entry = rules.setdefault(
            r.id,
            {
                "id": r.id,
                "severity": r.severity,
                "description": r.description,
                "kind": r.kind,
                "stage": r.stage,
                "live_sheet": r.expressible,
                "instances": 0,
            },
        )
        entry["instances"] += 1
    return {
        "schema_version": 1,
        "form": form.id,
        "title": form.full_title,
        "years": [form.first_year, form.last_year],
        "template_version": form.template_version,
        "fields": [
            {
                "key": f.key,
                "sheet": f.sheet,
                "cell": f.cell,
                "row_caption": f.row_caption,
                "col_caption": f.col_caption,
                "type": f.type,
                "required": f.required,
                "total": f.is_total,
                "sum_of": list(f.sum_of),
                **({"choices": list(f.choices)} if f.choices else {}),
            }
            for f in form.fields
        ],
        "rules": list(rules.values()),
    }


def list_forms() -> list[dict]:
    """Every form found (the package's and XLTOOLS_FORMS_PATH's), newest first."""
    out = []
    for fid in form_ids():
        form = load_form(fid)
        out.append(
            {
                "form": form.id,
                "title": form.full_title,
                "years": [form.first_year, form.last_year],
                "maps_from": list(form.maps_from),
                "source": form.source,
            }
        )
    return out


def describe_indicators() -> dict:
    """Every indicator (`xltools schema --indicators --json`) and the peer settings."""
    indicators = load_indicators()
    return {
        "schema_version": 1,
        "indicators": [
            {
                "id": i.id,
                "name": i.name,
                "formula": i.formula,
                "unit": i.unit,
                "meaning": i.meaning,
                "peers": i.peers,
                "cell": i.cell,
                "trend": i.trend,
                "source": i.source,
            }
            for i in indicators
        ],
        "peers": dict(indicators.peers),
        "trends": dict(indicators.trends),
        "sources": list(indicators.sources),
    }
