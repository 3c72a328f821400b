"""Validation straight to the wire dict: what ``Model.model_validate(data).to_wire()`` returns,
without building the models.

A 500-job index document is thousands of model instances, built by validation only to be dumped
back to dicts by ``to_wire()``: together about as long as fetching the document. The validator here
is derived from the model's own core schema, so the two cannot drift apart: every model becomes a
typed dict keyed by its fields' aliases (camelCase), unknown keys ignored, a field with a default
left out when absent (``exclude_unset``), and every validator (field checks, defaults added by
``mode="before"`` model validators, discriminators) kept as it is. Fields are also read by their
Python name, as ``populate_by_name`` lets the models do.

It accepts exactly what the models accept; what it refuses is validated again by the models, whose
errors callers report (:func:`endpointapi.schemas.parse_wire`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator, core_schema

__all__ = ["UnsupportedSchema", "wire_validator"]


class UnsupportedSchema(TypeError):
    """The model uses a schema feature the derivation does not handle (it would not be exact)."""


@cache
def wire_validator(model: type[BaseModel]) -> SchemaValidator:
    """A validator whose output is ``model.model_validate(data).to_wire()`` for valid ``data``."""
    return SchemaValidator(_as_dicts(model.__pydantic_core_schema__))


# Schemas whose output would not be what a model dump gives: an after-validator's function would
# see a dict where it expects a model, and so would a wrap validator's around a model (one around
# a union, such as the unions' error rewriting here, only passes the handler's result through);
# a dataclass is dumped to a dict, not validated into one.
_UNSUPPORTED = {"function-after", "model-fields", "dataclass", "dataclass-args"}
_MODEL_OR_REF = {"model", "definition-ref"}


def _as_dicts(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_as_dicts(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind == "model":
        return _model(schema)
    if kind in _UNSUPPORTED or (kind == "function-wrap" and schema["schema"].get("type") in _MODEL_OR_REF):
        raise UnsupportedSchema(f"{kind}: its output would differ from the model's dump")
    return {key: _as_dicts(value) for key, value in schema.items()}


def _model(schema: dict[str, Any]) -> Any:
    config = schema.get("config", {})
    if schema.get("root_model") or schema.get("post_init") or config.get("extra_fields_behavior") != "ignore":
        raise UnsupportedSchema(f"model {schema.get('cls')!r}")
    by_name = bool(config.get("validate_by_name"))
    inner, wrappers = schema["schema"], []
    while inner.get("type") == "function-before":  # mode="before" model validators: they see the input
        wrappers.append(inner)
        inner = inner["schema"]
    if inner.get("type") != "model-fields" or inner.get("computed_fields"):
        raise UnsupportedSchema(f"model {schema.get('cls')!r}: {inner.get('type')}")
    result: Any = _typed_dict(inner, by_name)
    for wrapper in reversed(wrappers):
        result = {**{key: _as_dicts(value) for key, value in wrapper.items() if key != "schema"}, "schema": result}
    if "ref" in schema:
        result = {**result, "ref": schema["ref"]}  # definitions refer to the model by its ref
    return result


def _typed_dict(fields_schema: dict[str, Any], by_name: bool) -> core_schema.TypedDictSchema:
    fields: dict[str, Any] = {}
    for name, field in fields_schema["fields"].items():
        alias = field.get("validation_alias", name)
        if not isinstance(alias, str):
            raise UnsupportedSchema(f"field {name!r}: alias paths")
        inner, required = field["schema"], True
        if inner.get("type") == "default":
            # Absent stays absent (to_wire() excludes what was not set), so the default is not applied.
            inner, required = inner["schema"], False
        fields[alias] = core_schema.typed_dict_field(
            _as_dicts(inner),
            required=required,
            validation_alias=[[alias], [name]] if by_name and alias != name else None,
        )
    return core_schema.typed_dict_schema(fields, extra_behavior="ignore")
