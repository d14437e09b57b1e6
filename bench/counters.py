"""What a run did to a database, in counts that do not depend on the machine's speed or on what else it runs: rows
written per table, buffers touched, WAL records and bytes. Read from Postgres's statistics views before and after
(a connection reports its counts as it closes: each reading waits until no other session of the database is open).

WAL bytes include full-page images, whose number depends on how long ago the last checkpoint was; WAL records do not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg2

_TABLES = (
    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
    " UNION ALL SELECT '(buffers)', blks_hit + blks_read, 0, 0 FROM pg_stat_database WHERE datname = current_database()"
    " UNION ALL SELECT '(wal)', wal_records, wal_bytes, 0 FROM pg_stat_wal"
)


@dataclass(frozen=True)
class Counts:
    rows: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # table: inserted, updated, deleted
    buffers: int = 0
    wal_records: int = 0
    wal_bytes: int = 0

    def __sub__(self, before: Counts) -> Counts:
        rows = {}
        for table, counts in self.rows.items():
            earlier = before.rows.get(table, (0, 0, 0))
            delta = tuple(now - then for now, then in zip(counts, earlier, strict=True))
            if any(delta):
                rows[table] = (delta[0], delta[1], delta[2])
        return Counts(
            rows,
            self.buffers - before.buffers,
            self.wal_records - before.wal_records,
            self.wal_bytes - before.wal_bytes,
        )

    @property
    def rows_written(self) -> int:
        return sum(sum(counts) for counts in self.rows.values())


# Other sessions of this database still open: a connection reports its counts as it closes, so the counts are read
# once the previous ones (the last run's, a schema change's) are gone.
_OTHERS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
)


def read(url: str, timeout: float = 10.0) -> Counts:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            deadline = time.monotonic() + timeout
            while True:
                cursor.execute(_OTHERS)
                if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            cursor.execute(_TABLES)
            found = {name: (int(a), int(b), int(c)) for name, a, b, c in cursor.fetchall()}
    finally:
        connection.close()
    buffers, wal = found.pop("(buffers)"), found.pop("(wal)")
    return Counts(found, buffers[0], wal[0], wal[1])


def per_transaction(counts: Counts, transactions: int) -> str:
    """Rows written per transaction, table by table (+inserted ~updated -deleted)."""
    parts = []
    for table, (inserted, updated, deleted) in sorted(counts.rows.items()):
        marks = [
            f"{sign}{count / transactions:.2g}"
            for sign, count in (("+", inserted), ("~", updated), ("-", deleted))
            if count / transactions >= 0.005
        ]
        if marks:
            parts.append(f"{table} {' '.join(marks)}")
    return ", ".join(parts)
