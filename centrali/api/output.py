"""`OutputSerializer`: a DRF serializer for responses that renders a row with a plan made once per class.

DRF renders an object field by field: each of a serializer's fields is deep-copied (re-instantiated)
for every serializer instance, then asked for its attribute and its representation. For a response
that is one object, the copies alone cost more than the rest of the view; for a page of twenty, the
per-field calls do (issue 12, bench/RESULTS.md). An OutputSerializer keeps its declared fields as
they are — its schema, its validation if any, its `.fields` are DRF's own — and renders with a plan
built once from the declared (unbound) fields: for each field, the attribute path to read and the
declared field's own `to_representation` (any field that reads its attribute as DRF's Field does;
a relation, which reads its own way, is refused) (a method field calls the serializer's method; a nested
OutputSerializer, single or `many=True`, renders with its own plan).

The plan reads plain attribute paths only. An instance where a path fails (a missing key or
attribute, a callable on the way) is rendered by DRF's own `to_representation`, so the answer is
DRF's in every case; tests/api/test_output_serializers.py holds every OutputSerializer to that.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from django.db.models import Manager
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings


class _Fallback(Exception):
    """This instance leaves the plan: DRF renders it."""


# (field name, attribute path, render, the type whose values the field renders as they are, if any)
_Step = tuple[str, tuple[str, ...], Callable[[Any, Any], Any], type | None]


class _Plan:
    """A serializer class's steps; where every field reads an attribute path (no method field, no
    `*`), one attrgetter reads them all for an object, and one itemgetter for a mapping when every
    path is a single key: a C call for the row instead of one Python call per field. The row's
    values then become its dict as they are, and only the values a field must render are rendered:
    a text, integer or boolean field's value that is not already a str, int or bool (an int id, a
    UUID), every value of the others."""

    def __init__(self, steps: list[_Step]) -> None:
        self.steps = steps
        self.names = [name for name, _, _, _ in steps]
        self.as_is = [(index, name, kind, render) for index, (name, _, render, kind) in enumerate(steps) if kind]
        self.rendered = [(index, step[0], step[2]) for index, step in enumerate(steps) if step[3] is None]
        paths = [path for _, path, _, _ in steps]
        reads_paths = bool(paths) and all(paths)
        self.by_attribute = operator.attrgetter(*(".".join(p) for p in paths)) if reads_paths else None
        self.by_key = (
            operator.itemgetter(*(p[0] for p in paths)) if reads_paths and all(len(p) == 1 for p in paths) else None
        )


class OutputSerializer(serializers.Serializer):
    _plans: ClassVar[dict[type, _Plan]] = {}

    def to_representation(self, instance: Any) -> Any:
        plan = OutputSerializer._plans.get(type(self))
        if plan is None:
            plan = OutputSerializer._plans[type(self)] = _Plan(_plan_of(type(self)))
        try:
            getter = plan.by_key if _is_mapping(instance) else plan.by_attribute
            if getter is None:
                return {
                    name: render(self, _read(instance, path) if path else instance)
                    for name, path, render, _ in plan.steps
                }
            try:
                values = getter(instance)
            except (AttributeError, KeyError, TypeError) as exc:  # TypeError: a key into a None on the way
                raise _Fallback from exc
            if len(plan.names) == 1:
                values = (values,)
            if any(map(callable, values)) and any(callable(v) and not isinstance(v, type) for v in values):
                raise _Fallback
            row = dict(zip(plan.names, values, strict=True))
            for index, name, kind, render in plan.as_is:
                value = values[index]
                if type(value) is not kind and value is not None:
                    row[name] = render(self, value)
            for index, name, render in plan.rendered:
                row[name] = render(self, values[index])
            return row
        except _Fallback:
            return super().to_representation(instance)

    def _nested(self, name: str) -> OutputSerializer:
        """The nested serializer of field `name`, one per serializer instance (it shares the context)."""
        nested: dict[str, OutputSerializer] = self.__dict__.setdefault("_nested_serializers", {})
        if name not in nested:
            declared = self._declared_fields[name]
            child = getattr(declared, "child", declared)  # many=True, a DictField's or ListField's child
            nested[name] = cast("type[OutputSerializer]", type(child))(context=self.context)
        return nested[name]


def _read(instance: Any, path: tuple[str, ...]) -> Any:
    value = instance
    for attribute in path:
        if value is None:
            raise _Fallback  # a null on the way: DRF's field options decide
        try:
            value = value[attribute] if _is_mapping(value) else getattr(value, attribute)
        except (KeyError, AttributeError) as exc:
            raise _Fallback from exc
        if callable(value) and not isinstance(value, type):
            raise _Fallback
    return value


_IS_MAPPING: dict[type, bool] = {}


def _is_mapping(value: Any) -> bool:
    kind = type(value)
    is_mapping = _IS_MAPPING.get(kind)
    if is_mapping is None:
        is_mapping = _IS_MAPPING[kind] = isinstance(value, Mapping)  # an ABC check: slow, so once per type
    return is_mapping


def _plan_of(serializer_class: type[OutputSerializer]) -> list[_Step]:
    plan: list[_Step] = []
    for name, field in serializer_class._declared_fields.items():
        if field.write_only:
            continue
        source = str(field.source or name)
        path = () if source == "*" else tuple(source.split("."))
        plan.append((name, path, _renderer(serializer_class, name, field), _rendered_as_is(field)))
    return plan


def _renderer(
    serializer_class: type[OutputSerializer], name: str, field: serializers.Field
) -> Callable[[Any, Any], Any]:
    if isinstance(field, serializers.SerializerMethodField):
        method_name = field.method_name or f"get_{name}"
        if field.source not in (None, "*"):
            raise TypeError(f"{serializer_class.__name__}.{name}: a method field reads the whole instance")
        method = getattr(serializer_class, method_name)  # the class's own: no bound method made per row
        return lambda serializer, instance: method(serializer, instance)
    if isinstance(field, serializers.ListSerializer) and isinstance(field.child, OutputSerializer):

        def render_many(serializer: OutputSerializer, value: Any) -> Any:
            if value is None:
                return None
            items = value.all() if isinstance(value, Manager) else value
            child = serializer._nested(name)
            return [child.to_representation(item) for item in items]

        return render_many
    if isinstance(field, serializers.DictField) and isinstance(field.child, OutputSerializer):
        return lambda serializer, value: (
            None
            if value is None
            else {
                str(key): None if item is None else serializer._nested(name).to_representation(item)
                for key, item in value.items()
            }
        )
    if isinstance(field, serializers.ListField) and isinstance(field.child, OutputSerializer):
        return lambda serializer, value: (
            None
            if value is None
            else [None if item is None else serializer._nested(name).to_representation(item) for item in value]
        )
    if isinstance(field, OutputSerializer):
        return lambda serializer, value: None if value is None else serializer._nested(name).to_representation(value)
    if isinstance(field, serializers.Serializer | serializers.ListSerializer):
        raise TypeError(f"{serializer_class.__name__}.{name}: nest an OutputSerializer")
    if type(field).get_attribute is not serializers.Field.get_attribute:  # relations read their own way
        raise TypeError(f"{serializer_class.__name__}.{name}: {type(field).__name__} is not a value field")
    to_representation = field.to_representation
    kind = _rendered_as_is(field)
    if kind in (str, int):  # what a text or integer field's to_representation is
        return lambda serializer, value: None if value is None else kind(value)
    if type(field) is serializers.DateTimeField and _iso_8601_in_the_current_zone(field):
        return lambda serializer, value: _datetime_in_utc(serializer, value) or to_representation(value)
    return lambda serializer, value: None if value is None else to_representation(value)


def _rendered_as_is(field: serializers.Field) -> type | None:
    """The type whose values DRF's `field.to_representation` answers unchanged: str for a text
    field (a UUID one as hex_verbose), int for an integer field, bool for a boolean one."""
    if type(field) is serializers.CharField or (
        type(field) is serializers.UUIDField and field.uuid_format == "hex_verbose"
    ):
        return str
    return {serializers.IntegerField: int, serializers.BooleanField: bool}.get(type(field))


def _iso_8601_in_the_current_zone(field: serializers.DateTimeField) -> bool:
    fmt = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return isinstance(fmt, str) and fmt.lower() == ISO_8601 and not hasattr(field, "timezone")


def _datetime_in_utc(serializer: OutputSerializer, value: Any) -> str | None:
    """DRF's ISO 8601 rendering of an aware UTC datetime while the current zone is UTC (the
    service's: settings.TIME_ZONE), without its conversions; None for anything else. The zone is
    read once per serializer instance (an asgiref Local: slow), which lives within one request."""
    if type(value) is not datetime or value.tzinfo is not UTC:
        return None
    in_utc = serializer.__dict__.get("_zone_is_utc")
    if in_utc is None:
        in_utc = serializer.__dict__["_zone_is_utc"] = str(timezone.get_current_timezone()) == "UTC"
    if not in_utc:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
