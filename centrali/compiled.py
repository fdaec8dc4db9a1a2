"""A queryset compiled to SQL once and run again with other values: for the very hottest reads.

Django compiles a queryset to SQL on every evaluation. For the caller's membership (with its user,
workspace and plan), read on every `/{slug}/` request, compiling costs several times what PostgreSQL
spends answering (issue 12, bench/RESULTS.md). `CompiledQuery` builds the queryset once per database
connection with placeholder values, keeps the compiled SQL and the compiler's row layout, and on each
call substitutes the real values, prepared as the fields prepare them, and builds the model instances
(select_related ones included) the way Django's own model iterable does.

Only the values change between calls, never the shape of the query, so the SQL is the one Django
would have compiled: the same query, the same plan, the same instances.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Field, Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # not in the stubs

_M = TypeVar("_M", bound=Model)


class CompiledQuery(Generic[_M]):
    """`build(**values)` makes the queryset; `placeholders` maps each value's name to the field that
    prepares it and a placeholder value that occurs once among the query's parameters."""

    def __init__(self, build: Callable[..., QuerySet[_M]], *, placeholders: dict[str, tuple[Field[Any, Any], Any]]):
        self.build = build
        self.placeholders = placeholders
        self._local = threading.local()  # a compiler holds its thread's connection: one per thread

    def _compiled(self, alias: str) -> tuple[Any, str, list[Any], dict[str, int]]:
        cache: dict[str, tuple[Any, str, list[Any], dict[str, int]]] = self._local.__dict__.setdefault("cache", {})
        if alias not in cache:
            connection = connections[alias]
            queryset = self.build(**{name: value for name, (_, value) in self.placeholders.items()})
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            positions = {}
            for name, (field, value) in self.placeholders.items():
                prepared = field.get_db_prep_value(value, connection, prepared=False)
                found = [index for index, param in enumerate(params) if param == prepared]
                if len(found) != 1:
                    raise ValueError(f"the placeholder {name!r} occurs {len(found)} times in the parameters")
                positions[name] = found[0]
            cache[alias] = (compiler, sql, list(params), positions)
        return cache[alias]

    def fetch(self, *, using: str = "default", limit: int | None = None, **values: Any) -> list[_M]:
        """The instances the queryset built with `values` yields (the first `limit` rows)."""
        compiler, sql, params, positions = self._compiled(using)
        connection = connections[using]
        params = params.copy()
        for name, value in values.items():
            params[positions[name]] = self.placeholders[name][0].get_db_prep_value(value, connection, prepared=False)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, using)
        instances = []
        for row in compiler.results_iter([rows]):
            instance = klass_info["model"].from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances
