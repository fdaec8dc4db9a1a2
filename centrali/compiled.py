"""A queryset compiled to SQL once and run again with other values: for the very hottest reads.

Django compiles a queryset to SQL on every evaluation. For the hot reads (the caller's membership,
read on every `/{slug}/` request; the billing terms and usage totals behind the usage and quota
reads) compiling costs several times what PostgreSQL spends answering (issue 12, bench/RESULTS.md).
`CompiledQuery` builds the queryset once per thread and database with placeholder values, keeps
the compiled SQL and the compiler's row layout, and on each call substitutes the real values,
prepared as the fields prepare them. `fetch` builds model instances (select_related ones and
annotations included) the way Django's own model iterable does; `fetch_rows` answers a values_list queryset's tuples,
through the same converters.

Only the values change between calls, never the shape of the query, so the SQL is the one Django
would have compiled: the same query, the same plan, the same results. A query whose shape depends
on something other than the values (a setting, say) passes it as `variant`: each variant is built
and compiled once, with `build(variant=...)`.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar, cast

import orjson
from django.db import connections
from django.db.models import Field, JSONField, Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # not in the stubs
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

_M = TypeVar("_M", bound=Model)

# (compiler, sql, parameters with the placeholders, {value name: its positions among the parameters})
_Compiled = tuple[Any, str, list[Any], dict[str, list[int]]]


class CompiledQuery(Generic[_M]):
    """`build(**values)` makes the queryset; `placeholders` maps each value's name to the model field
    that prepares it, as (model, field name), and a placeholder value that no other parameter of the
    query equals (it may occur several times: every occurrence takes the value)."""

    def __init__(
        self,
        build: Callable[..., QuerySet[_M, Any]],
        *,
        placeholders: dict[str, tuple[type[Model], str, Any]],
    ):
        self.build = build
        self.placeholders: dict[str, tuple[Field[Any, Any], Any]] = {
            name: (cast("Field[Any, Any]", model._meta.get_field(field_name)), value)
            for name, (model, field_name, value) in placeholders.items()
        }
        self._local = threading.local()  # a compiler holds its thread's connection: one per thread

    def _compiled(self, alias: str, variant: Hashable) -> _Compiled:
        cache: dict[tuple[str, Hashable], _Compiled] = self._local.__dict__.setdefault("cache", {})
        key = (alias, variant)
        if key not in cache:
            connection = connections[alias]
            values = {name: value for name, (_, value) in self.placeholders.items()}
            queryset = self.build(**values) if variant is None else self.build(variant=variant, **values)
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            positions = {}
            for name, (field, value) in self.placeholders.items():
                prepared = field.get_db_prep_value(value, connection, prepared=False)
                found = [index for index, param in enumerate(params) if param == prepared]
                if not found:
                    raise ValueError(f"the placeholder {name!r} is not among the query's parameters")
                positions[name] = found
            cache[key] = (compiler, sql, list(params), positions)
        return cache[key]

    def _execute(
        self, using: str, variant: Hashable, limit: int | None, values: dict[str, Any]
    ) -> tuple[Any, list[Any]]:
        compiler, sql, params, positions = self._compiled(using, variant)
        connection = connections[using]
        params = params.copy()
        for name, value in values.items():
            prepared = self.placeholders[name][0].get_db_prep_value(value, connection, prepared=False)
            for position in positions[name]:
                params[position] = prepared
        cursor = _kept_cursor(connection)
        cursor.execute(sql, params)
        rows = cursor.fetchall()  # to the end: no statement stays open on the kept cursor (SQLite's would)
        return compiler, rows if limit is None else rows[:limit]

    def fetch(
        self, *, using: str = "default", limit: int | None = None, variant: Hashable = None, **values: Any
    ) -> list[_M]:
        """The instances the queryset built with `values` yields (the first `limit` rows)."""
        compiler, rows = self._execute(using, variant, limit, values)
        model, init_list, start, end, populators, related, annotations = self._row_layout(compiler, using, variant)
        build = _builder_of(model)
        for from_db in related:
            from_db.refresh()
        instances = []
        for row in self._converted(compiler, using, variant, rows):
            instance = cast("_M", build(using, init_list, row[start:end]))
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances

    def fetch_rows(self, *, using: str = "default", variant: Hashable = None, **values: Any) -> list[tuple[Any, ...]]:
        """The tuples the values_list queryset built with `values` yields."""
        compiler, rows = self._execute(using, variant, None, values)
        return [tuple(row) for row in self._converted(compiler, using, variant, rows)]

    # What Django works out again for every evaluation, from the compiled query alone: the columns'
    # converters (results_iter asks every column for them) and, for instances, the row layout and
    # the select_related populators. Kept with the compiled query, per thread.

    def _converted(self, compiler: Any, using: str, variant: Hashable, rows: list[Any]) -> Any:
        converters = self._kept(using, variant, "converters", lambda: _converters_of(compiler))
        return compiler.apply_converters(rows, converters) if converters else rows

    def _row_layout(self, compiler: Any, using: str, variant: Hashable) -> Any:
        def layout() -> Any:
            klass_info, select = compiler.klass_info, compiler.select
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            init_list = [column[0].target.attname for column in select[start:end]]
            populators = get_related_populators(klass_info, select, using)
            related = _build_populated_instances_with_builders(populators)
            annotations = list(compiler.annotation_col_map.items())
            return klass_info["model"], init_list, start, end, populators, related, annotations

        return self._kept(using, variant, "layout", layout)

    def _kept(self, using: str, variant: Hashable, name: str, make: Callable[[], Any]) -> Any:
        kept: dict[tuple[str, Hashable, str], Any] = self._local.__dict__.setdefault("kept", {})
        key = (using, variant, name)
        if key not in kept:
            kept[key] = make()
        return kept[key]


_kept_cursors = threading.local()


def _kept_cursor(connection: Any) -> Any:
    """A cursor of `connection` for the compiled queries, kept while its connection lives: a
    psycopg cursor's first execute costs a third more than the next ones (a membership read 119
    against 90 us), and only values change between the compiled queries' runs. It is Django's
    cursor (its error wrapping, execute wrappers and, where queries are logged, its debug
    wrapper), made anew when the connection or the logging changes; the health check Django runs
    before a request's first cursor runs here too."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    kept: dict[str, tuple[Any, bool, Any]] = _kept_cursors.__dict__.setdefault("by_alias", {})
    database, logged = connection.connection, connection.queries_logged
    entry = kept.get(connection.alias)
    if entry is None or entry[0] is not database or entry[1] is not logged:
        entry = kept[connection.alias] = (database, logged, connection.cursor())
    return entry[2]


def _converters_of(compiler: Any) -> dict[int, Any]:
    fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
    if compiler.has_composite_fields(fields):
        raise ValueError("a CompiledQuery reads no composite fields")
    converters: dict[int, Any] = compiler.get_converters(fields)
    return {
        position: ([_faster(converter) for converter in column_converters], expression)
        for position, (column_converters, expression) in converters.items()
    }


def _faster(converter: Callable[..., Any]) -> Callable[..., Any]:
    """`converter`, or one that answers the same values faster: a JSON column without a decoder of
    its own is decoded by orjson (a sixth of json.loads' time on a small document, a third on a
    Stripe object), through Django's own from_db_value where orjson refuses (an integer beyond 64
    bits, a value that is not JSON text)."""
    if getattr(converter, "__func__", None) is not JSONField.from_db_value or converter.__self__.decoder is not None:  # type: ignore[attr-defined]  # a bound from_db_value
        return converter
    from_db_value = converter

    def loaded_json(value: Any, expression: Any, connection: Any) -> Any:
        if type(value) is str:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return from_db_value(value, expression, connection)

    return loaded_json


def _build_populated_instances_with_builders(populators: list[Any]) -> list[_FromDb]:
    """Make Django's select_related populators build their instances as `_builder_of` says; answers
    the `_FromDb`s, to refresh once per fetch. A populator only calls `model_cls.from_db(db,
    field_names, values)` (django.db.models.query.RelatedPopulator)."""
    related = []
    for populator in populators:
        populator.model_cls = from_db = _FromDb(populator.model_cls)
        related.append(from_db)
        related.extend(_build_populated_instances_with_builders(populator.related_populators))
    return related


class _FromDb:
    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.refresh()

    def refresh(self) -> None:
        self.from_db = _builder_of(self.model)


def _builder_of(model: type[Model]) -> Callable[[str, list[str], Any], Model]:
    """What builds `model`'s instances for one fetch, as `model.from_db(db, field_names, values)`
    would: without Model.__init__'s loop over every field where that loop is all it would do (a
    model with no __init__ or from_db of its own, no pre_init or post_init receiver, and a plain
    deferred attribute behind each field). For the membership read's four models this halves
    building them. Asked once per fetch, not per row: a receiver connected since is honoured on
    the next fetch."""
    if not _plainly_built(model) or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db
    return functools.partial(_built_plainly, model)


def _built_plainly(model: type[Model], db: str, field_names: list[str], values: Any) -> Model:
    instance = model.__new__(model)
    state = ModelState()
    state.adding, state.db = False, db
    instance._state = state
    instance.__dict__.update(zip(field_names, values, strict=True))
    return instance


@functools.cache
def _plainly_built(model: type[Model]) -> bool:
    return (
        model.__init__ is Model.__init__
        and model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]  # a classmethod's function
        and all(
            type(inspect.getattr_static(model, field.attname)) in (DeferredAttribute, ForeignKeyDeferredAttribute)
            for field in model._meta.concrete_fields
        )
    )
