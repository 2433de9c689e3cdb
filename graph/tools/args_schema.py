"""Argument models for tools described by JSON schema (configured HTTP tools, MCP servers).

``args_model(name, schema)`` builds a pydantic model from an object schema's ``properties`` and
``required``: strings, integers, numbers, booleans, arrays and objects, with ``enum``,
``maxLength`` and defaults. Unknown keys are rejected, so a model cannot smuggle arguments the
schema does not name. A key that cannot be a field name (``_id``, ``model_config``, ``a-b``) gets
a safe field name with the key as its alias: validate the arguments as given, and send them on
with ``model_dump(by_alias=True)``. Anything fancier (``anyOf``, ``$ref``) is accepted as any
JSON value: the server validates it again.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[Any],
    "object": dict[str, Any],
}


def _annotation(prop: dict[str, Any]) -> Any:
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return Literal[tuple(enum)]
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    return _TYPES.get(str(kind), Any)


_RESERVED = set(dir(BaseModel))


def _plain_name(key: str) -> bool:
    return key.isidentifier() and not key.startswith("_") and key not in _RESERVED


def args_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model accepting what the object ``schema`` describes."""
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields: dict[str, Any] = {}
    for n, (key, prop) in enumerate(properties.items()):
        prop = prop if isinstance(prop, dict) else {}
        annotation = _annotation(prop)
        constraints: dict[str, Any] = {"description": prop.get("description")}
        if not _plain_name(key):
            constraints["alias"] = key
            key = f"arg_{n}"
        if prop.get("maxLength") is not None and annotation is str:
            constraints["max_length"] = int(prop["maxLength"])
        if key in required:
            fields[key] = (annotation, Field(..., **constraints))
        else:
            fields[key] = (annotation | None, Field(prop.get("default"), **constraints))
    model_name = "".join(part.title() for part in name.split("_")) + "Args"
    if not fields and properties:
        raise ValueError(f"no usable argument in the schema of {name}")
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
