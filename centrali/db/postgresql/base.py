"""Django's PostgreSQL backend, with a health check that costs a poll() instead of a round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before each request reuses it by
sending `SELECT 1`: one more round trip on every request, as much as the whole query of the
hottest read (issue 12). An idle connection has nothing to read until the server says something,
and a server that drops it (a restart, a failover, pg_terminate_backend) says so: a FATAL message
and the end of the stream. So a connection whose socket has nothing to read is usable; one whose
socket is readable (or closed) gets Django's own `SELECT 1`, which tells a stray notice from a
dead connection.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
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
