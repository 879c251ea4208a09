"""/openapi.json as OpenAPI 3.0.3, the version the OGC ``oas30`` conformance class and GDAL expect.

FastAPI writes OpenAPI 3.1, whose schemas are JSON Schema 2020-12: ``anyOf`` with ``{"type": "null"}``
for optional values, ``examples`` arrays, ``const``, numeric ``exclusiveMinimum``, ``contentMediaType``.
A 3.0 reader (GDAL's OAPIF driver, older QGIS, code generators) takes the document for what its
``openapi`` member says, so the label alone would be a lie: every Schema Object is rewritten into the
3.0 dialect (``nullable``, ``example``, ``enum``, boolean ``exclusiveMinimum``, ``format: binary``), and
what 3.0 has no word for is dropped.  Pure dict work, no FastAPI: the app installs :func:`as_openapi30`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

VERSION = "3.0.3"
# the keywords of an OpenAPI 3.0 Schema Object; anything else (but x- extensions) is dropped
SCHEMA_KEYS = {
    "$ref", "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
    "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required",
    "enum", "type", "allOf", "oneOf", "anyOf", "not", "items", "properties", "additionalProperties",
    "description", "format", "default", "nullable", "discriminator", "readOnly", "writeOnly", "xml",
    "externalDocs", "example", "deprecated",
}  # fmt: skip
_NULL = {"type": "null"}


def schema30(schema: Any) -> Any:
    """One JSON Schema 2020-12 schema as an OpenAPI 3.0 Schema Object."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        if key in ("anyOf", "oneOf"):
            options = [schema30(v) for v in value if v != _NULL]
            nullable = nullable or len(options) < len(value)
            if len(options) == 1:
                out.update(_merge(options[0]))
            elif options:
                out[key] = options
        elif key == "allOf":
            out[key] = [schema30(v) for v in value]
        elif key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            nullable = nullable or len(kinds) < len(value)
            if len(kinds) == 1:
                out["type"] = kinds[0]
            elif kinds:
                out["anyOf"] = [{"type": k} for k in kinds]
        elif key == "type" and value == "null":
            nullable = True
        elif key == "const":
            out["enum"] = [value]
        elif key == "examples" and isinstance(value, list):
            if value:
                out.setdefault("example", value[0])
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "contentMediaType" or (key == "contentEncoding" and value in ("binary", "base64")):
            out.setdefault("format", "binary")
        elif key in ("properties", "patternProperties"):
            if key == "properties":
                out[key] = {name: schema30(v) for name, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = schema30(value) if isinstance(value, dict) else value
        elif key == "prefixItems":
            out.setdefault("items", {})
        elif key in SCHEMA_KEYS or key.startswith("x-"):
            out[key] = value
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {}
    if "$ref" in out and len(out) > 1:  # 3.0 ignores a $ref's siblings: wrap it
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    if nullable:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        out["nullable"] = True
    return out


def _merge(option: dict[str, Any]) -> dict[str, Any]:
    """The single non-null option of an ``anyOf``, to be merged into its parent (a bare $ref is wrapped,
    since 3.0 would ignore ``nullable`` beside it)."""
    if set(option) == {"$ref"}:
        return {"allOf": [option]}
    return option


def _content(content: dict[str, Any]) -> None:
    for media in content.values():
        if isinstance(media, dict) and "schema" in media:
            media["schema"] = schema30(media["schema"])


def _parameter(parameter: dict[str, Any]) -> None:
    if "schema" in parameter:
        parameter["schema"] = schema30(parameter["schema"])
    if "content" in parameter:
        _content(parameter["content"])


def _response(response: dict[str, Any]) -> None:
    _content(response.get("content", {}))
    for header in response.get("headers", {}).values():
        _parameter(header)


def _operation(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        _parameter(parameter)
    body = operation.get("requestBody")
    if isinstance(body, dict):
        _content(body.get("content", {}))
    for response in operation.get("responses", {}).values():
        _response(response)


def to_openapi30(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a FastAPI (3.1) document in the OpenAPI 3.0.3 dialect."""
    doc = copy.deepcopy(document)
    doc["openapi"] = VERSION
    for key in ("jsonSchemaDialect", "webhooks"):
        doc.pop(key, None)
    info = doc.get("info", {})
    info.pop("summary", None)
    info.get("license", {}).pop("identifier", None)
    for item in doc.get("paths", {}).values():
        for parameter in item.get("parameters", []):
            _parameter(parameter)
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            if method in item:
                _operation(item[method])
    components = doc.get("components", {})
    components.pop("pathItems", None)
    components["schemas"] = {name: schema30(s) for name, s in components.get("schemas", {}).items()}
    for parameter in components.get("parameters", {}).values():
        _parameter(parameter)
    for response in components.get("responses", {}).values():
        _response(response)
    for body in components.get("requestBodies", {}).values():
        _content(body.get("content", {}))
    return doc


def as_openapi30(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap ``app.openapi`` (FastAPI caches its own 3.1 document; the per-collection parts other routers add
    may change with the data, so the conversion runs on each call: a few milliseconds)."""

    def openapi() -> dict[str, Any]:
        return to_openapi30(build())

    return openapi
