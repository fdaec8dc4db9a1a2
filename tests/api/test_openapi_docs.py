"""The published document is written for consumers: every operation has a summary, a description,
examples of its request and success answer (valid against their schemas) and the error codes it
can answer; no maintainer's docstring leaks into it."""

import inspect
import re

import jsonschema
import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers

from tests.api.openapi_walk import examples_of, generated_schema, json_schema, operations, request_body_schema
from tests.helpers import API

ERROR_CODE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\bFORBIDDEN\b")


@pytest.fixture(scope="module")
def document():
    return generated_schema()


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            yield pattern.callback.cls


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _internal_docstrings():
    """Docstrings of our views (and their handlers) and serializers: notes for maintainers."""
    ours = ("workspaces.", "billing.", "usage.", "support.", "audit.", "centrali.")
    classes = set(_views(get_resolver().url_patterns))
    classes |= {cls for cls in _subclasses(serializers.BaseSerializer) if cls.__module__.startswith(ours)}
    docs = set()
    for cls in classes:
        for klass in cls.__mro__:
            if klass.__module__.startswith(ours) and klass.__doc__:
                docs.add(inspect.cleandoc(klass.__doc__).split("\n")[0])
        for name in ("get", "post", "put", "patch", "delete"):
            handler = getattr(cls, name, None)
            if handler is not None and handler.__doc__ and handler.__module__.startswith(ours):
                docs.add(inspect.cleandoc(handler.__doc__).split("\n")[0])
    return {doc for doc in docs if len(doc) > 12}


def _descriptions(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value
            else:
                yield from _descriptions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _descriptions(item)


def test_every_operation_has_a_summary_and_a_description(document):
    lacking = [
        f"{method.upper()} {path}: {part}"
        for method, path, operation in operations(document)
        for part in ("summary", "description")
        if not operation.get(part, "").strip()
    ]

    assert not lacking, "\n".join(lacking)


def test_no_internal_docstring_leaks(document):
    docstrings = _internal_docstrings()
    assert docstrings  # the walk found them

    leaked = sorted({doc for text in _descriptions(document) for doc in docstrings if doc in text})

    assert not leaked, "\n".join(leaked)


def test_every_body_has_a_request_example(document):
    lacking = [
        f"{method.upper()} {path}"
        for method, path, operation in operations(document)
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if not examples_of(media)
    ]

    assert not lacking, "\n".join(sorted(set(lacking)))


def test_every_success_answer_has_an_example(document):
    lacking = []
    for method, path, operation in operations(document):
        for code, response in operation["responses"].items():
            if not code.startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                if media.get("schema", {}).get("format") == "binary":
                    continue  # a file: nothing to show
                if not examples_of(media):
                    lacking.append(f"{method.upper()} {path} {code} {media_type}")

    assert not lacking, "\n".join(lacking)


def test_examples_match_their_schemas(document):
    problems = []
    for method, path, operation in operations(document):
        body = request_body_schema(operation)
        if body is not None:
            media, schema = body
            for value in examples_of(media):
                error = jsonschema.exceptions.best_match(
                    jsonschema.Draft7Validator(json_schema(schema, document)).iter_errors(value)
                )
                if error is not None:
                    problems.append(f"{method.upper()} {path} request: {error.message}")
        for code, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                if "schema" not in media or not media_type.endswith("json"):
                    continue
                validator = jsonschema.Draft7Validator(json_schema(media["schema"], document, required=False))
                for value in examples_of(media):
                    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
                    if error is not None:
                        problems.append(f"{method.upper()} {path} {code}: {list(error.path)} {error.message}")

    assert not problems, "\n".join(problems)


def test_every_operation_documents_its_error_codes(document):
    problems = []
    for method, path, operation in operations(document):
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        if not any(code.startswith("4") for code in errors):
            problems.append(f"{method.upper()} {path}: no 4xx documented")
        for code, response in errors.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": "#/components/schemas/Error"}:
                continue  # an answer of its own (e.g. a readiness report), not an error of the API
            if not ERROR_CODE.search(response.get("description", "")):
                problems.append(f"{method.upper()} {path} {code}: no error code in {response.get('description')!r}")

    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_the_interactive_docs_render_the_document_from_local_assets(api_client):
    response = api_client.get(f"{API}/docs", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html and "cdn.jsdelivr" not in html
    assert f"{API}/openapi.json" in html
