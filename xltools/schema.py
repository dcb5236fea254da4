"""The form definition as a plain document (`xltools schema --json`)."""
from __future__ import annotations

from xltools.spec import load_form


def describe(form_id: str = "2021") -> dict:
    form = load_form(form_id)
    used = dict.fromkeys(u.id for u in form.rules)
    # value and metadata rules apply to every form through cleaning, not through a rule entry
    for rid in ("value-blank", "value-not-number", "value-not-integer", "value-negative",
                "value-coerced", "meta-missing", "form-mismatch"):
        used.setdefault(rid)
    return {
        "schema_version": 1,
        "form": form.id,
        "title": form.full_title,
        "years": [form.first_year, form.last_year],
        "template_version": form.template_version,
        "fields": [
            {"key": f.key, "sheet": f.sheet, "cell": f.cell, "row_caption": f.row_caption,
             "col_caption": f.col_caption, "type": f.type, "required": f.required,
             "total": f.is_total, "sum_of": list(f.sum_of), **({"choices": list(f.choices)} if f.choices else {})}
            for f in form.fields
        ],
        "rules": [
            {"id": rid, "severity": form.catalogue[rid].severity, "description": form.catalogue[rid].description}
            for rid in used
        ],
    }
