"""Every request body field takes only its contract JSON type.

The operations and their bodies come from the service's own OpenAPI document: each property of
each body (and of the objects in its arrays) is sent a value of every other JSON type, starting
from the operation's documented request example, and must answer 400 VALIDATION_ERROR naming that
field, with nothing written.
"""

import copy

import pytest
from django.apps import apps

from support.models import Comment, SupportIssue
from tests.api.openapi_walk import examples_of, generated_schema, operations, request_body_schema
from tests.billing.helpers import SECRET_KEY, closed_loopback_url
from tests.helpers import assert_error, client_for

pytestmark = pytest.mark.django_db

API_PREFIX = "/workspace/api/v1"
PLATFORM_TOKEN = "platform-test-token"  # noqa: S105 -- a test credential

# Values of each JSON type that are not of the type named.
WRONG_VALUES = {
    "string": [12345, 1.5, True, ["x"], {"x": 1}],
    "integer": ["12", True, 1.5, [1], {"x": 1}],
    "number": ["1.5", True, [1], {"x": 1}],
    "boolean": ["true", 1, ["x"], {"x": 1}],
    "array": ["x", 1, {"x": 1}],
    "object": ["x", 1, ["x"]],
}
# Models whose rows a refused request must leave alone.
WRITTEN_BY_THE_API = ("workspaces", "billing", "support", "audit", "usage")


def _resolve(schema, document):
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
            options = schema.get("allOf") or schema.get("oneOf") or schema.get("anyOf")
            schema = next(
                (option for option in options if _resolve(option, document).get("type") != "null"), options[0]
            )
        else:
            return schema


def _type_of(schema, document):
    schema = _resolve(schema, document)
    if "type" in schema:
        return schema["type"]
    if "enum" in schema:
        return "string" if all(isinstance(value, str) for value in schema["enum"] if value is not None) else None
    return None


def _fields(schema, document, prefix=()):
    """(path in the body, JSON type) of every property, into the objects of arrays."""
    schema = _resolve(schema, document)
    for name, sub in schema.get("properties", {}).items():
        if _resolve(sub, document).get("readOnly"):
            continue
        kind = _type_of(sub, document)
        if kind is None:
            continue  # any JSON (e.g. a usage event, validated one by one by the ingest service)
        yield (*prefix, name), kind
        if kind == "array":
            items = _resolve(_resolve(sub, document).get("items", {}), document)
            if items.get("properties"):
                yield from _fields(items, document, (*prefix, name, 0))


def _cases():
    document = generated_schema()
    for method, path, operation in operations(document):
        body = request_body_schema(operation)
        if body is None:
            continue
        media, schema = body
        example = next(iter(examples_of(media)), None)
        assert example is not None, f"{method.upper()} {path} has no request example"
        for field, kind in _fields(schema, document):
            for wrong in WRONG_VALUES[kind]:
                label = f"{method.upper()} {path} {'.'.join(map(str, field))}={wrong!r}"
                yield pytest.param(method, path, example, field, wrong, id=label)


def _with(body, field, value):
    body = copy.deepcopy(body)
    node = body
    for key in field[:-1]:
        node = node[key]
    node[field[-1]] = value
    return body


def _rows():
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in WRITTEN_BY_THE_API
    }


@pytest.fixture
def world(workspace, settings):
    settings.PLATFORM_SERVICE_TOKEN = PLATFORM_TOKEN
    # Billing is configured, but any call to Stripe fails: validation must refuse first.
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_API_BASE = closed_loopback_url()
    issue = SupportIssue.objects.create(
        workspace=workspace, created_by=workspace.owner, title="t", description="d", type="bug", priority="low"
    )
    comment = Comment.objects.create(issue=issue, author=workspace.owner, body="b", display_name="Ada")
    return {"slug": workspace.slug, "id": issue.pk, "commentId": comment.pk, "newPlan": "pro"}


@pytest.mark.parametrize("method, path, example, field, wrong", list(_cases()))
def test_a_wrong_json_type_is_a_400_naming_the_field(api_client, workspace, world, method, path, example, field, wrong):
    url = API_PREFIX + path.format(**world)
    if path.startswith("/internal/"):
        client = api_client
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {PLATFORM_TOKEN}")
    else:
        client = client_for(workspace.owner)
    before = _rows()

    response = getattr(client, method)(url, _with(example, field, wrong), format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert ".".join(map(str, field)) in body["details"], body
    assert _rows() == before


def test_a_valid_example_body_is_accepted(world, workspace):
    """The walk starts from bodies the service takes: one of them, sent as documented."""
    response = client_for(workspace.owner).put(
        f"{API_PREFIX}/{workspace.slug}", {"name": "Acme Analytics EU", "description": "EU"}, format="json"
    )

    assert response.status_code == 200, response.content
