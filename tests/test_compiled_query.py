"""centrali.compiled.CompiledQuery answers what the queryset it compiles answers, with each call's
values in every place the placeholder held, and one compilation per variant."""

from typing import Any
from uuid import UUID

import pytest
from django.db import connection
from django.db.models import Count
from django.db.models.signals import post_init

from centrali.compiled import CompiledQuery
from tests.factories import MembershipFactory, WorkspaceFactory
from workspaces.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db

WORKSPACE_ID = (Workspace, "id")
SLUG = (Workspace, "slug")


def _members_of(*, workspace_id: UUID) -> Any:
    # The placeholder occurs twice: in the filter and in the exclusion's join.
    return (
        Membership.objects.filter(workspace_id=workspace_id)
        .exclude(user__memberships__workspace_id=workspace_id, role=Role.OWNER)
        .values_list("user__username")
        .order_by("user__username")
    )


def _workspace_by_slug(*, slug: str, variant: str) -> Any:
    return Workspace.objects.filter(slug=slug).select_related("plan").order_by(variant)


def test_rows_are_what_the_queryset_answers_for_each_calls_values():
    query = CompiledQuery(_members_of, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})
    first, second = WorkspaceFactory.create(), WorkspaceFactory.create()
    MembershipFactory.create_batch(2, workspace=first)
    MembershipFactory.create_batch(3, workspace=second)

    for workspace in (first, second, first):
        assert query.fetch_rows(workspace_id=workspace.pk) == list(_members_of(workspace_id=workspace.pk))
    assert len(query.fetch_rows(workspace_id=second.pk)) == 3


def test_instances_come_with_their_select_related_rows():
    query = CompiledQuery(_workspace_by_slug, placeholders={"slug": (*SLUG, "\0slug")})
    workspace = WorkspaceFactory.create()
    WorkspaceFactory.create()  # another, never answered

    [found] = query.fetch(slug=workspace.slug, variant="id")

    assert (found.pk, found.name, found.plan.code) == (workspace.pk, workspace.name, workspace.plan.code)
    assert query.fetch(slug="no-such-workspace", variant="id") == []


def _members_counted(*, workspace_id: UUID) -> Any:
    return (
        Membership.objects.filter(workspace_id=workspace_id).annotate(members=Count("id", distinct=True)).order_by("id")
    )


def test_instances_carry_their_annotations():
    query = CompiledQuery(_members_counted, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})
    workspace = WorkspaceFactory.create()
    MembershipFactory.create(workspace=workspace)

    members = query.fetch(workspace_id=workspace.pk)

    assert [(m.pk, m.members) for m in members] == [
        (m.pk, m.members) for m in _members_counted(workspace_id=workspace.pk)
    ]


def test_each_variant_is_compiled_once_and_kept_apart():
    built = []

    def build(*, slug, variant):
        built.append(variant)
        return _workspace_by_slug(slug=slug, variant=variant)

    query = CompiledQuery(build, placeholders={"slug": (*SLUG, "\0slug")})
    workspace = WorkspaceFactory.create()
    for variant in ("id", "-id", "id", "-id"):
        assert [w.pk for w in query.fetch(slug=workspace.slug, variant=variant)] == [workspace.pk]

    assert built == ["id", "-id"]


def test_a_placeholder_missing_from_the_parameters_is_refused():
    def build(*, workspace_id):
        return Membership.objects.values_list("id")  # the value never reaches the SQL

    query = CompiledQuery(build, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})

    with pytest.raises(ValueError, match="workspace_id"):
        query._compiled("default", None)


def test_it_runs_one_query(django_assert_num_queries):
    query = CompiledQuery(_members_of, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})
    workspace = WorkspaceFactory.create()
    query.fetch_rows(workspace_id=workspace.pk)

    with django_assert_num_queries(1):
        query.fetch_rows(workspace_id=workspace.pk)


def _membership_with_all(*, workspace_id: UUID) -> Any:
    return Membership.objects.filter(workspace_id=workspace_id).select_related("user", "workspace__plan").order_by("id")


def _state_of(instance):
    fields = {key: value for key, value in vars(instance).items() if key != "_state"}
    cached = {name: _state_of(related) for name, related in instance._state.fields_cache.items() if related}
    return fields, instance._state.db, instance._state.adding, cached


def test_instances_are_built_as_the_orm_builds_them_related_ones_included():
    query = CompiledQuery(_membership_with_all, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})
    workspace = WorkspaceFactory.create()
    MembershipFactory.create(workspace=workspace)

    built = query.fetch(workspace_id=workspace.pk)

    assert [_state_of(m) for m in built] == [_state_of(m) for m in _membership_with_all(workspace_id=workspace.pk)]
    assert built[0].workspace.plan.code == workspace.plan.code


def test_a_model_with_a_post_init_receiver_is_built_through_its_init():
    query = CompiledQuery(_membership_with_all, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})
    workspace = WorkspaceFactory.create()
    initialised = []

    def receiver(sender, instance, **kwargs):
        initialised.append(type(instance))

    post_init.connect(receiver, sender=Workspace)
    try:
        query.fetch(workspace_id=workspace.pk)
    finally:
        post_init.disconnect(receiver, sender=Workspace)

    assert initialised == [Workspace]  # the owner's membership's workspace


def test_json_columns_are_the_values_the_orm_decodes_integers_beyond_64_bits_included():
    query = CompiledQuery(_workspace_by_slug, placeholders={"slug": (*SLUG, "\0slug")})
    workspace = WorkspaceFactory.create()
    workspace.plan.features = {"big": 2**70, "ratio": 0.1, "text": "é\u2028", "nested": [None, True, {"n": -1}]}
    workspace.plan.save(update_fields=["features"])

    [found] = query.fetch(slug=workspace.slug, variant="id")

    assert found.plan.features == _workspace_by_slug(slug=workspace.slug, variant="id").get().plan.features
    assert found.plan.features["big"] == 2**70


@pytest.mark.django_db(transaction=True)  # a connection closes only outside a transaction
def test_a_connection_closed_between_runs_is_replaced_with_its_cursor():
    query = CompiledQuery(_members_of, placeholders={"workspace_id": (*WORKSPACE_ID, UUID(int=0))})
    workspace = WorkspaceFactory.create()
    MembershipFactory.create_batch(2, workspace=workspace)
    before = query.fetch_rows(workspace_id=workspace.pk)

    connection.close()  # a no-op on SQLite's in-memory test database; on PostgreSQL a new connection

    assert query.fetch_rows(workspace_id=workspace.pk) == before
