"""An OutputSerializer answers exactly what DRF's own rendering of its fields answers, key order
included: through HTTP on every endpoint that renders one (each render compared with DRF's), and
field kind by field kind below."""

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import UUID

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from centrali.api.output import OutputSerializer
from support.models import Comment, SupportIssue
from tests.api.test_hot_path_queries import _busy_tenant
from tests.factories import WorkspaceFactory
from tests.helpers import API, client_for
from usage.metrics import METRICS
from usage.services import ingest_events
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

SERVICE_TOKEN = "platform-service-token-for-output-tests"


@pytest.fixture
def renders(monkeypatch):
    """Every OutputSerializer render, also rendered by DRF's Serializer.to_representation: the
    serializer classes rendered and the renders that differed."""
    seen: set[type] = set()
    differences: list[tuple[str, object, object]] = []
    planned = OutputSerializer.to_representation

    def compared(self, instance):
        answer = planned(self, instance)
        expected = serializers.Serializer.to_representation(self, instance)
        seen.add(type(self))
        if list(answer.items()) != list(expected.items()):
            differences.append((type(self).__name__, answer, expected))
        return answer

    monkeypatch.setattr(OutputSerializer, "to_representation", compared)
    return SimpleNamespace(seen=seen, differences=differences)


def _all_subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _all_subclasses(subclass)


def test_every_output_serializer_renders_as_drf_does_through_the_api(renders, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_output_serializers"  # invoices are read locally
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    _busy_tenant(3)  # a neighbour
    tenant = _busy_tenant(3)
    now = timezone.now().isoformat()
    ingest_events(
        events=[
            {"id": f"overview-{metric}", "workspace": tenant.slug, "metric": metric, "value": 2, "timestamp": now}
            for metric in METRICS
        ]
    )  # every overview block shown
    issue = SupportIssue.objects.filter(workspace=tenant).earliest("id")
    issue.assigned_to = None  # a null through a nullable field
    issue.save()
    Comment.objects.create(issue=issue, body="Still slow.", display_name="Ada", author=tenant.owner)
    client = client_for(tenant.owner)
    event = client.get(f"{API}/{tenant.slug}/audit/activity").json()["entries"][0]
    invoice = client.get(f"{API}/{tenant.slug}/invoices").json()[0]
    paths = [
        "",
        "/support-issues",
        f"/support-issues/{issue.pk}",
        f"/support-issues/{issue.pk}/comments",
        "/audit/activity",
        f"/audit/{event['resourceType']}/{event['resourceId']}/history",
        "/usage/current",
        f"/usage/{datetime.now(UTC):%Y-%m}",
        "/invoices",
        f"/invoice/{invoice['id']}",
        "/overview",
    ]
    for path in paths:
        assert client.get(f"{API}/{tenant.slug}{path}").status_code == 200, path
    service = APIClient()
    service.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}")
    assert service.get(f"{API}/internal/workspaces/{tenant.slug}/quota").status_code == 200

    assert renders.differences == []
    rendered_by_the_service = {
        cls for cls in _all_subclasses(OutputSerializer) if not cls.__subclasses__() and cls.__module__ != __name__
    }
    assert rendered_by_the_service - renders.seen == set()


class _Plan(OutputSerializer):
    name = serializers.CharField()
    count = serializers.IntegerField(source="stats.count")
    at = serializers.DateTimeField(allow_null=True)
    price = serializers.DecimalField(max_digits=6, decimal_places=2)
    tags = serializers.ListField(child=serializers.CharField())
    extra = serializers.JSONField()
    label = serializers.SerializerMethodField()  # type: ignore[assignment]  # Field.label, in the stubs
    password = serializers.CharField(write_only=True)

    def get_label(self, instance) -> str:
        return f"{instance.name} for {self.context['viewer']}"


class _Owner(OutputSerializer):
    plans = _Plan(many=True)
    main = _Plan(allow_null=True)
    lookup = serializers.DictField(child=_Plan())


def _plan(**overrides):
    values = {"name": "Pro", "stats": {"count": 3}, "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
              "price": "29.5", "tags": ["a", "b"], "extra": {"k": [1]}, "password": "x"}  # fmt: skip
    return SimpleNamespace(**{**values, **overrides})


@pytest.mark.parametrize(
    "instance",
    [
        _plan(),
        _plan(at=None),  # a null value
        _plan(at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.get_fixed_timezone(120))),  # not in UTC
        _plan(stats=None),  # a null on the way: DRF's own field options decide
        _plan(stats={}),  # a key missing on the way
    ],
    ids=["values", "null-value", "another-zone", "null-on-the-way", "missing-key"],
)
def test_a_row_renders_as_drf_renders_it(instance):
    serializer = _Plan(context={"viewer": "ada"})

    try:
        expected = serializers.Serializer.to_representation(serializer, instance)
    except (AttributeError, KeyError, TypeError) as exc:  # DRF refuses it: so does the plan
        with pytest.raises(type(exc)):
            serializer.to_representation(instance)
        return

    assert list(serializer.to_representation(instance).items()) == list(expected.items())


class _Flags(OutputSerializer):
    """Every field reads a plain path: rendered through the one-getter plan."""

    code = serializers.CharField()
    ref = serializers.UUIDField()
    seats = serializers.IntegerField()
    public = serializers.BooleanField()
    active = serializers.BooleanField(allow_null=True)


@pytest.mark.parametrize(
    ("code", "ref", "seats", "public", "active"),
    [
        ("pro", "7f1c2d4e-0000-4000-8000-000000000001", 3, True, False),  # already of the output types
        (7, UUID(int=1), "12", "false", None),  # not: DRF's own rendering of each
        (None, None, None, None, "true"),
        ("", UUID(int=2), True, 0, 1),  # a bool is an int to IntegerField; 0/1 are booleans to BooleanField
    ],
    ids=["native-types", "other-types", "nulls", "edge-values"],
)
def test_values_of_a_fields_output_type_pass_as_they_are_others_render_as_drf_does(code, ref, seats, public, active):
    row = SimpleNamespace(code=code, ref=ref, seats=seats, public=public, active=active)
    serializer = _Flags()

    expected = serializers.Serializer.to_representation(serializer, row)

    assert list(serializer.to_representation(row).items()) == list(expected.items())


def test_nested_output_serializers_single_many_and_in_a_dict_render_as_drf_does():
    owner = SimpleNamespace(plans=[_plan(), _plan(name="Free")], main=None, lookup={"x": _plan()})
    serializer = _Owner(context={"viewer": "ada"})

    assert serializer.to_representation(owner) == serializers.Serializer.to_representation(serializer, owner)


def test_a_field_the_plan_cannot_render_is_refused_at_the_first_render():
    class WithRelation(OutputSerializer):
        workspace: serializers.PrimaryKeyRelatedField[Workspace] = serializers.PrimaryKeyRelatedField(read_only=True)

    with pytest.raises(TypeError, match="PrimaryKeyRelatedField is not a value field"):
        WithRelation().to_representation(WorkspaceFactory.build())
