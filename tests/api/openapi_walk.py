"""Walking the service's own generated OpenAPI document: operations, bodies, examples, JSON Schemas."""

from collections.abc import Iterator
from typing import Any

from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


def generated_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in document["paths"].items():
        for method, operation in items.items():
            if method in METHODS:
                yield method, path, operation


def examples_of(media: dict[str, Any]) -> list[Any]:
    """The example values of one media type object."""
    values = [example["value"] for example in media.get("examples", {}).values() if "value" in example]
    if "example" in media:
        values.append(media["example"])
    return values


def json_schema(schema: dict[str, Any], document: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, `nullable` as a null type,
    `required` dropped unless asked for."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return json_schema(document["components"]["schemas"][name], document, required=required)
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in {"properties", "patternProperties"}:
            converted[key] = {name: json_schema(sub, document, required=required) for name, sub in value.items()}
        elif key in {"items", "additionalProperties", "not"} and isinstance(value, dict):
            converted[key] = json_schema(value, document, required=required)
        elif key in {"allOf", "anyOf", "oneOf"}:
            converted[key] = [json_schema(sub, document, required=required) for sub in value]
        elif key == "required" and not required:
            continue
        elif key not in {"nullable", "readOnly", "writeOnly", "example", "format"}:
            converted[key] = value
    if schema.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def request_body_schema(operation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the JSON media type object, its schema) of the operation's request body, or None."""
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    if media is None:
        return None
    return media, media["schema"]
