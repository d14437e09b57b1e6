"""The EventBridge client, for the relay alone: no other function imports this module, so none loads boto3."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config


@lru_cache(maxsize=1)
def get_client() -> Any:
    """One client per container. The SDK retries throttling and network errors (standard mode, 3 attempts, short
    timeouts); the relay retries entries PutEvents did not take, and never moves its checkpoint past one."""
    return boto3.client(
        "events",
        config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}),
    )
