"""The statements the layer sends: each one a file of `sql/` beside this module, read once by its name.

A statement file holds one statement, one clause a line, with comments on the why; values are bound parameters
(`%(name)s`) and nothing is assembled from pieces. What statements call (the per-user lock, the summary fold, the
triggers) is created by the numbered migrations in `migrations/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")


@cache
def statement(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()
