"""Where a value still lies: every column of every table (text-cast, bytea decoded) and every file
of the workspace storage (zip archives opened), searched case-insensitively."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable

from django.conf import settings
from django.db import connection


def _columns() -> dict[str, list[tuple[str, str]]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name, c.ordinal_position
            """
        )
        tables: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in cursor.fetchall():
            tables.setdefault(table, []).append((column, data_type))
    return tables


def tables_holding(needles: Iterable[str]) -> set[tuple[str, str, str]]:
    """(table, column, needle) for each column of the database where a needle occurs."""
    needles = [needle for needle in needles if needle]
    found = set()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, columns in _columns().items():
            for column, data_type in columns:
                text = f"encode({quote(column)}, 'escape')" if data_type == "bytea" else f"{quote(column)}::text"
                for needle in needles:
                    cursor.execute(
                        f"SELECT 1 FROM {quote(table)} WHERE {text} ILIKE %s LIMIT 1",  # noqa: S608 (names from the catalogue)
                        [f"%{needle}%"],
                    )
                    if cursor.fetchone():
                        found.add((table, column, needle))
    return found


def table_count() -> int:
    return len(_columns())


def _contents(path: str) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data += b"".join(archive.read(name) for name in archive.namelist())
    return data


def files_holding(needles: Iterable[str]) -> set[tuple[str, str]]:
    """(file path, needle) for each file under MEDIA_ROOT whose path or contents hold a needle."""
    found = set()
    for root, _dirs, files in os.walk(settings.MEDIA_ROOT):
        for name in files:
            path = os.path.join(root, name)
            haystack = path.lower().encode() + b"\n" + _contents(path).lower()
            for needle in needles:
                if needle and needle.lower().encode() in haystack:
                    found.add((os.path.relpath(path, settings.MEDIA_ROOT), needle))
    return found


def media_files() -> list[str]:
    return [os.path.join(root, name) for root, _dirs, files in os.walk(settings.MEDIA_ROOT) for name in files]
