"""The Idempotency-Key rule: what a key may be, how long it is kept, and what a retry must repeat to be replayed.

The keys are stored beside the response they replay, in the transaction of the log they produced
(store.idempotency_keys).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from progress_tracking.errors import InvalidRequest
from progress_tracking.values import DEFAULT_SOURCE

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
RULE = f"1 to {MAX_LENGTH} visible ASCII characters"
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH, pattern=r"^[\x21-\x7e]+$")]
# Kept this long after their first use; the scheduled recompute expires older ones (store.idempotency_keys).
LIFETIME = timedelta(hours=24)


@functools.cache
def key_adapter() -> TypeAdapter[str]:
    # Built on the first key, not at import: every API function imports this module, only POST reads the header, and
    # the validator took ~14 ms of each function's cold start.
    return TypeAdapter(Key)


def parse_key(value: str) -> str:
    """The Idempotency-Key header's value, or InvalidRequest."""
    try:
        return key_adapter().validate_python(value)
    except ValidationError:
        raise InvalidRequest(f"{HEADER} must be {RULE}", details=[{"field": HEADER, "message": RULE}]) from None


NEW_FIELD_DEFAULTS = {
    "weight_lb": None,
    "source": DEFAULT_SOURCE,
    "device": None,
    "client_record_id": None,
    "client_version": None,
}


@dataclass(frozen=True)
class Claim:
    """One caller's key and the request it came with: a retry with the same key must carry the same body."""

    principal: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, principal: str, key: str, body: BaseModel) -> Claim:
        # The fields a POST gained after keys were first stored (migrations 0018 and 0019) count only when they differ
        # from their defaults: a retry sent across those deploys carries the same hash as its first attempt. (A batch's
        # body has none of them at its top level: it is hashed whole.)
        fields = type(body).model_fields
        unchanged = {
            name for name, default in NEW_FIELD_DEFAULTS.items() if name in fields and getattr(body, name) == default
        }
        return cls(principal, key, hashlib.sha256(body.model_dump_json(exclude=unchanged).encode()).hexdigest())
