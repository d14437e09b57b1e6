"""An embedded Postgres (the pgserver package ships the binaries) for machines with no database configured."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_embedded_postgres(data_dir: Path, cleanup_mode: str | None = "stop") -> tuple[Any, str]:
    """Start (or reuse) a Postgres whose data lives in `data_dir`; returns the server handle and its URL."""
    with warnings.catch_warnings():
        # pgserver keeps a lock file in the user's runtime directory, looked up when it is imported; without
        # XDG_RUNTIME_DIR (root in a container, a session without a login manager) platformdirs falls back to
        # /tmp/runtime-<uid>, which serves as well, and warned of it on every start.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # imported here: only machines without DATABASE_URL pay for it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
    return server, server.get_uri()
