"""The JSON renderer writes the bytes DRF's own JSONRenderer writes, encoded by orjson
(centrali.api.renderers); what orjson cannot encode, and an indented answer, DRF renders itself."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.serializers import Serializer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from centrali.api.renderers import JSONRenderer
from tests.helpers import API, client_for

RENDERED_ALIKE = {
    "text": {"ascii": "plain", "unicode": "Zürich · 東京 · 🚀", "escapes": 'quote " backslash \\ tab \t nl \n'},
    "separators": "line\u2028paragraph\u2029end",
    "numbers": [0, -1, 2**63 - 1, -(2**63), 1.5, 0.1, 123456.789],
    "atoms": [True, False, None],
    "nested": [[], {}, [{"a": [1, {"b": None}]}]],
    "int keys": {1: "one", 2: "two"},
    "tuple": (1, "two"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "datetimes": [
        datetime(2026, 12, 2, 9, 57, 11, 123456, tzinfo=UTC),
        datetime(2026, 12, 2, 9, 57, 11, tzinfo=UTC),
        datetime(2026, 12, 2, 9, 57, 11, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 12, 2, 9, 57, 11),
    ],
    "date": date(2026, 12, 2),
    "time": time(9, 57, 11, 123456),
    "timedelta": timedelta(minutes=90),
    "decimal": Decimal("12.50"),
    "lazy": gettext_lazy("Workspace"),
    "bytes": b"raw",
    "drf containers": ReturnDict({"list": ReturnList([1, 2], serializer=Serializer())}, serializer=Serializer()),
}


def _drf(data, media_type=None):
    return renderers.JSONRenderer().render(data, media_type)


@pytest.mark.parametrize("key", RENDERED_ALIKE)
def test_renders_the_bytes_drf_renders(key):
    data = {key: RENDERED_ALIKE[key]}

    assert JSONRenderer().render(data) == _drf(data)


def test_a_small_float_is_the_same_number_written_without_the_exponent_s_leading_zero():
    rendered = JSONRenderer().render([1e-7, 1e22])

    assert rendered == b"[1e-7,1e+22]"  # DRF (the standard library): [1e-07,1e+22]
    assert json.loads(rendered) == json.loads(_drf([1e-7, 1e22]))


def test_escapes_line_and_paragraph_separators_as_drf_does():
    assert JSONRenderer().render(["\u2028\u2029"]) == b'["\\u2028\\u2029"]'


def test_an_integer_beyond_64_bits_is_rendered_by_drf():
    assert JSONRenderer().render({"big": 2**70}) == b'{"big":1180591620717411303424}'


def test_an_indented_answer_is_drf_s():
    data = {"a": [1, 2]}

    assert JSONRenderer().render(data, "application/json; indent=2") == _drf(data, "application/json; indent=2")


def test_nothing_renders_as_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_an_unknown_type_fails_as_in_drf():
    with pytest.raises(TypeError):
        JSONRenderer().render({"object": object()})


@pytest.mark.django_db
def test_the_api_answers_with_it(workspace, other_workspace):
    response = client_for(workspace.owner).get(f"{API}/{workspace.slug}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == _drf(response.json())
    assert response.json()["slug"] == workspace.slug != other_workspace.slug
