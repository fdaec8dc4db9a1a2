"""Filters of list endpoints, from the query string (django-filter).

A filter the endpoint knows, given a value it cannot take (an unknown enum value, too long, a NUL
character), is a 400 naming the parameter, never silently ignored; query parameters that are not
filters are left to the view (paging) or ignored. An enum filter's message lists its values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, cast

import django_filters
from django.db.models import Model, QuerySet

from centrali.errors import InvalidInput
from centrali.paging import PageParams, paginate

_M = TypeVar("_M", bound=Model)


class FilterSet(django_filters.FilterSet):
    # The code of the 400 a bad filter value answers.
    error_code: ClassVar[str] = "INVALID_FILTER"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.ChoiceFilter):
                valid = ", ".join(str(value) for value, _ in filter_.extra["choices"])
                filter_.extra["error_messages"] = {"invalid_choice": f"`{name}` must be one of: {valid}."}

    @classmethod
    def filter(cls, data: Mapping[str, Any], queryset: QuerySet[_M]) -> QuerySet[_M]:
        """`queryset` filtered by the filters `data` names (InvalidInput as `qs`). A query string
        that names none of them costs no FilterSet: building one copies every filter and a form."""
        if not cls.applies_to(data):
            return queryset
        return cast("QuerySet[_M]", cls(data, queryset=queryset).qs)

    @classmethod
    def page(
        cls,
        data: Mapping[str, Any],
        params: PageParams,
        *,
        rows: Callable[[], QuerySet[_M]],
        first_page: Callable[[int], tuple[list[_M], int]],
    ) -> tuple[list[_M], int]:
        """(items, total) of a page of `rows()` filtered by `data`; the unfiltered first page (the
        list as the console opens it) comes from `first_page(limit)`, a compiled query."""
        if params.page == 1 and not cls.applies_to(data):
            return first_page(params.limit)
        return paginate(cls.filter(data, rows()), params)

    @classmethod
    def applies_to(cls, data: Mapping[str, Any]) -> bool:
        """Whether `data` (the query string) names any of the filters."""
        return any(name in data for name in cls.base_filters)

    @property
    def qs(self) -> QuerySet[Model]:
        """The filtered queryset; InvalidInput naming every filter whose value is refused."""
        if not self.is_valid():
            details = {name: [str(message) for message in messages] for name, messages in self.errors.items()}
            message = " ".join(
                text if text.startswith(f"`{name}`") else f"`{name}`: {text}"
                for name, messages in details.items()
                for text in messages
            )
            raise InvalidInput(message, code=self.error_code, details=details)
        queryset: QuerySet[Model] = super().qs
        return queryset
