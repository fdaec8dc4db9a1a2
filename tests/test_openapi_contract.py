"""The generated schema must match the contract, contract/workspace-service.openapi.json.

Every operation of the contract exists, with the same path and method, the same parameters
(plus, at most, optional ones), the same 2xx status codes, and every property the contract lists in a 2xx body (and in the
request body) present in ours.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

SPEC_PATH = Path(__file__).resolve().parents[1] / "contract" / "workspace-service.openapi.json"

METHODS = {"get", "post", "put", "patch", "delete"}
# Required parameters the contract leaves out but its callers always send, and the service has always
# required: Stripe signs every webhook it delivers (an unsigned one was never accepted).
ALWAYS_REQUIRED = {("post", "/webhooks/stripe"): {("header", "Stripe-Signature")}}


def _operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
    }


@pytest.fixture(scope="module")
def contract():
    if not SPEC_PATH.exists():
        pytest.fail(f"The contract is missing at {SPEC_PATH}")
    return json.loads(SPEC_PATH.read_text())


@pytest.fixture(scope="module")
def generated():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(_resolve(part, document).get("properties", {}))
        return merged
    return schema


def _property_names(schema: dict[str, Any], document: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, document)
    if schema.get("type") == "array":
        schema = _resolve(schema.get("items", {}), document)
    return set(schema.get("properties", {}))


def _params(operation: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["in"], p["name"]) for p in operation.get("parameters", [])}


def _body_schema(node: dict[str, Any] | None) -> dict[str, Any] | None:
    content: dict[str, Any] = node.get("content", {}) if node else {}
    first: dict[str, Any] = next(iter(content.values()), {})
    return content.get("application/json", {}).get("schema") or first.get("schema")


def test_every_contract_operation_is_implemented(contract, generated):
    missing = set(_operations(contract)) - set(_operations(generated))

    assert not missing, f"contract operations with no code: {sorted(missing)}"


def test_implemented_operations_match_the_contract(contract, generated):
    ours = _operations(generated)
    problems = []
    for key, expected in _operations(contract).items():
        actual = ours.get(key)
        if actual is None:
            continue  # reported by test_every_contract_operation_is_implemented
        lacking_params = _params(expected) - _params(actual)
        if lacking_params:
            problems.append(f"{key}: parameters lack {sorted(lacking_params)}")
        # What an operation may add beside the contract's parameters: optional ones.
        required_extras = (
            {(p["in"], p["name"]) for p in actual.get("parameters", []) if p.get("required")}
            - _params(expected)
            - ALWAYS_REQUIRED.get(key, set())
        )
        if required_extras:
            problems.append(f"{key}: required parameters beyond the contract {sorted(required_extras)}")
        expected_2xx = {c for c in expected["responses"] if c.startswith("2")}
        actual_2xx = {c for c in actual["responses"] if c.startswith("2")}
        if expected_2xx != actual_2xx:
            problems.append(f"{key}: 2xx codes {sorted(actual_2xx)} != {sorted(expected_2xx)}")
        for code in expected_2xx & actual_2xx:
            want = _body_schema(expected["responses"][code])
            if want is None:
                continue
            have = _body_schema(actual["responses"][code]) or {}
            lacking = _property_names(want, contract) - _property_names(have, generated)
            if lacking:
                problems.append(f"{key}: {code} body lacks {sorted(lacking)}")
        want_request = _body_schema(expected.get("requestBody"))
        if want_request is not None:
            have_request = _body_schema(actual.get("requestBody")) or {}
            lacking = _property_names(want_request, contract) - _property_names(have_request, generated)
            if lacking:
                problems.append(f"{key}: request body lacks {sorted(lacking)}")
    assert not problems, "\n".join(problems)
