"""Loads the sample events in events/, so tests drive functions with the same files as `sam local invoke -e`."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@cache
def _read(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json: callers may change it freely."""
    return copy.deepcopy(_read(name))
