"""Platform services name a workspace by id or by slug: an id-shaped ref is only ever an id."""

import uuid

import pytest
from django.utils import timezone

from tests.factories import WorkspaceFactory
from usage.models import UsageEvent

pytestmark = pytest.mark.django_db

URL = "/workspace/api/v1/internal/usage-events"


def _report(service_client, ref):
    event = {"id": "evt-1", "workspace": ref, "metric": "records", "value": 1, "timestamp": timezone.now().isoformat()}
    return service_client.post(URL, {"events": [event]}, format="json")


def test_an_id_ref_is_the_workspace_with_that_id_even_if_another_slug_spells_it(service_client):
    victim_id = uuid.uuid4()
    # Created first, so a newest-first lookup sees the victim before it.
    impostor = WorkspaceFactory.create(slug=str(victim_id))
    victim = WorkspaceFactory.create(pk=victim_id)

    response = _report(service_client, str(victim_id))

    assert response.json()["accepted"] == 1
    assert list(UsageEvent.objects.values_list("workspace", flat=True)) == [victim.pk]
    assert not UsageEvent.objects.filter(workspace=impostor).exists()


def test_an_id_shaped_ref_never_names_a_workspace_by_its_slug(service_client):
    WorkspaceFactory.create(slug=str(uuid.uuid4()))
    id_shaped_slug = WorkspaceFactory.create(slug=str(uuid.uuid4())).slug

    response = _report(service_client, id_shaped_slug)

    assert response.json()["rejected"] == 1
    assert not UsageEvent.objects.exists()


def test_a_slug_ref_names_the_workspace_with_that_slug(service_client, workspace, other_workspace):
    response = _report(service_client, workspace.slug)

    assert response.json()["accepted"] == 1
    assert list(UsageEvent.objects.values_list("workspace", flat=True)) == [workspace.pk]
