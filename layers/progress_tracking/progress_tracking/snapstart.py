"""Lambda SnapStart for Python (template parameter SnapStart): what every environment restored from one snapshot must
not share. The runtime's `snapshot_restore_py` module exists only where SnapStart runs; elsewhere nothing is
registered.

Each module that keeps something per container says what to drop, when it first keeps it: the database connections
are closed before the snapshot (no open socket may be frozen into it) and after each restore; the database URL read
from the secret (it may have been rotated since the snapshot), the settings (the environment is the restored one's)
and the User Profile client (its remembered users and its keep-alive connection) are forgotten after each restore;
and so is the random module's state (every restored copy would otherwise draw the same numbers). The authorizer's
JWKS keys are kept: public, the same for every copy, and refetched on an unknown kid. The functions' shared entry point
(observability.logged) gives the runtime these hooks during the function's init.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType

_closers: list[Callable[[], None]] = []  # before the snapshot and after each restore
_forgetters: list[Callable[[], None]] = []  # after each restore
_registered_with: list[ModuleType] = []


def close_before_snapshot(close: Callable[[], None]) -> None:
    """`close` runs before the snapshot is taken and after each restore (an open connection)."""
    if close not in _closers:
        _closers.append(close)


def forget_after_restore(forget: Callable[[], None]) -> None:
    """`forget` runs after each restore (something this container kept that a restored copy must not share)."""
    if forget not in _forgetters:
        _forgetters.append(forget)


def register() -> bool:
    """Registers the hooks with the runtime when it offers them (once); True if it does."""
    runtime = _runtime_hooks()
    if runtime is None:
        return False
    if runtime not in _registered_with:
        runtime.register_before_snapshot(before_snapshot)
        runtime.register_after_restore(after_restore)
        _registered_with.append(runtime)
    return True


def before_snapshot() -> None:
    for close in _closers:
        close()


def after_restore() -> None:
    for drop in (*_closers, *_forgetters):
        drop()
    # A library module, reseeded (from os.urandom: unique to this restored environment) when something loaded it.
    if "random" in sys.modules:
        sys.modules["random"].seed()


def _runtime_hooks() -> ModuleType | None:
    module = sys.modules.get("snapshot_restore_py")
    if module is None and importlib.util.find_spec("snapshot_restore_py") is not None:
        module = importlib.import_module("snapshot_restore_py")
    return module
