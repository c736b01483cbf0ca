"""A category's extra fields (Open311 service-definition attributes): how they are described to
clients, and how a report's `attribute[CODE]` answers are read and checked.

A list attribute answers with its value keys; a multivaluelist may repeat `attribute[CODE][]` (or
`attribute[CODE]`). Anything a client sends that is not one of the category's attributes, a
malformed field name, a wrong type or a missing required answer is refused with a message that
names the field and the fix; nothing is filed for a refused report.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from starlette.datastructures import FormData

from config.categories import CategoryConfig, ServiceAttribute
from dispatch.api.deps import ApiError
from streams.records import without_nul

_FIELD = re.compile(r"^attribute\[([A-Za-z0-9_-]{1,64})\](\[\])?$")
_DESCRIBED = {
    "number": "a number, e.g. 3 or 2.5",
    "datetime": "a W3C datetime, e.g. 2026-05-01T08:30:00+08:00",
}


def definition(category: CategoryConfig, lang: str) -> dict:
    """The GeoReport v2 service definition of a category."""
    attributes = []
    for order, attribute in enumerate(category.attributes, start=1):
        kind = attribute.datatype
        length = f"at most {attribute.max_length} characters"
        attributes.append(
            {
                "variable": True,
                "code": attribute.code,
                "datatype": kind,
                "required": attribute.required,
                "datatype_description": _DESCRIBED.get(kind)
                or (length if "valuelist" not in kind else None),
                "order": order,
                "description": getattr(attribute.names, lang),
                "values": [
                    {"key": value.key, "name": getattr(value.names, lang)}
                    for value in attribute.values
                ],
            }
        )
    return {"service_code": category.id, "attributes": attributes}


def read_answers(category: CategoryConfig, form: FormData) -> dict[str, str | tuple[str, ...]]:
    """The report's answers to the category's attributes, checked; ApiError 400 otherwise."""
    known = {a.code: a for a in category.attributes}
    sent: dict[str, list[str]] = {}
    for field in dict.fromkeys(form.keys()):
        if not field.startswith("attribute"):
            continue
        match = _FIELD.match(field)
        if match is None:
            raise ApiError(
                400,
                f"malformed field {field[:80]!r}: send attribute[CODE], "
                "or attribute[CODE][] repeated for a multivaluelist",
            )
        code = match.group(1)
        if code not in known:
            raise ApiError(
                400,
                f"attribute[{code}] is not a field of service {category.id!r}; "
                f"see services/{category.id}.xml for its attributes",
            )
        values = [
            without_nul(v).strip() for v in form.getlist(field) if isinstance(v, str) and v.strip()
        ]
        sent.setdefault(code, []).extend(values)
    answers = {}
    for code, attribute in known.items():
        values = sent.get(code, [])
        if not values:
            if attribute.required:
                raise ApiError(400, _missing(category, attribute))
            continue
        answers[code] = _checked(attribute, values)
    return answers


def _missing(category: CategoryConfig, attribute: ServiceAttribute) -> str:
    choices = f": one of {', '.join(v.key for v in attribute.values)}" if attribute.values else ""
    return (
        f"attribute[{attribute.code}] ({attribute.names.en}) is required for service "
        f"{category.id!r}{choices}"
    )


def _checked(attribute: ServiceAttribute, values: list[str]) -> str | tuple[str, ...]:
    code, kind = attribute.code, attribute.datatype
    if kind != "multivaluelist" and len(values) > 1:
        raise ApiError(400, f"attribute[{code}] takes one value, not {len(values)}")
    if kind.endswith("valuelist"):
        keys = [v.key for v in attribute.values]
        unknown = [v for v in values if v not in keys]
        if unknown:
            choices = ", ".join(keys)
            raise ApiError(
                400, f"attribute[{code}]={unknown[0][:40]!r} is not a choice; one of {choices}"
            )
        return tuple(dict.fromkeys(values)) if kind == "multivaluelist" else values[0]
    value = values[0]
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ApiError(400, f"attribute[{code}]={value[:40]!r} is not {_DESCRIBED[kind]}")
    elif kind == "datetime":
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(
                400, f"attribute[{code}]={value[:40]!r} is not {_DESCRIBED[kind]}"
            ) from None
    elif len(value) > attribute.max_length:
        raise ApiError(
            400, f"attribute[{code}] is longer than {attribute.max_length} characters; shorten it"
        )
    return value
