"""Plain values the models share with modules that must not load pydantic (the relay publishes events without it): a
log's default source, and a computed number as answered."""

from __future__ import annotations

# A log that names no source is `manual` (models.fields has the source's rule).
DEFAULT_SOURCE = "manual"


def rounded(value: float, digits: int) -> float:
    """A computed number as answered: rounded, and never a negative zero (-0.004 rounds to -0.0, which JSON writes
    as `-0.0`; adding +0.0 turns it into 0.0 and leaves every other value as it is)."""
    return round(value, digits) + 0.0
