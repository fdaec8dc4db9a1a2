"""Django's PostgreSQL backend, with a health check that costs a poll() instead of a round trip, and
psycopg's own C loader for timestamptz columns.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before each request reuses it by
sending `SELECT 1`: one more round trip on every request, as much as the whole query of the
hottest read (issue 12). An idle connection has nothing to read until the server says something,
and a server that drops it (a restart, a failover, pg_terminate_backend) says so: a FATAL message
and the end of the stream. So a connection whose socket has nothing to read is usable; one whose
socket is readable (or closed) gets Django's own `SELECT 1`, which tells a stray notice from a
dead connection.

Django reads every timestamptz through a subclass of psycopg's pure-Python loader (to set the
connection's time zone on each value): about 6 µs a value against psycopg's C loader's 0.4 µs, a
sixth of a support-issue page's time in decoding its timestamps. `_TimestamptzLoader` decodes
with the C loader and sets the same zone, so the values are the ones Django's loader makes.
"""

from __future__ import annotations

import functools
import select
from datetime import datetime, tzinfo
from typing import Any, ClassVar

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base
from psycopg import abc
from psycopg.adapt import Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid


def _psycopg_timestamptz_loader() -> type[abc.Loader]:
    loader = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if loader is None:  # psycopg always registers one (in C with psycopg[binary])
        raise ImproperlyConfigured("psycopg has no loader for timestamptz")
    return loader


_PSYCOPG_TIMESTAMPTZ_LOADER = _psycopg_timestamptz_loader()


class _TimestamptzLoader(Loader):
    """What django.db.backends.postgresql.psycopg_any.BaseTzLoader answers: the value in `timezone`
    (which Django's create_cursor compares with its own), decoded by psycopg's fastest loader."""

    timezone: ClassVar[tzinfo | None] = None

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load = _PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data: Any) -> datetime:
        value: datetime = self._load(data)
        return value if value.tzinfo is self.timezone else value.replace(tzinfo=self.timezone)


@functools.cache
def _timestamptz_loader_in(zone: tzinfo | None) -> type[_TimestamptzLoader]:
    return type("TimestamptzLoader", (_TimestamptzLoader,), {"timezone": zone})


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.adapters.register_loader(TIMESTAMPTZ_OID, _timestamptz_loader_in(self.timezone))
        return connection

    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI)
            if not poller.poll(0):
                return True
        except (OSError, ValueError):
            return False
        return bool(super().is_usable())
