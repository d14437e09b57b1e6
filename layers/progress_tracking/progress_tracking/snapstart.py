"""Lambda SnapStart for Python (template parameter SnapStart): what every environment restored from one snapshot must
not share. The runtime's `snapshot_restore_py` module exists only where SnapStart runs; elsewhere nothing is
registered.

Before the snapshot: no open socket may be frozen into it (the database connection). After each restore: the
connection again (in case one was opened), the database URL read from the secret (it may have been rotated since
the snapshot), the settings (the environment is the restored one's), the User Profile client (its remembered users
and its keep-alive connection), and the random module's state (every restored copy would otherwise draw the same
numbers). The authorizer's JWKS keys are kept: public, the same for every copy, and refetched on an unknown kid.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from progress_tracking import config


def register() -> bool:
    """Registers the hooks with the runtime when it offers them; True if it did."""
    runtime = _runtime_hooks()
    if runtime is None:
        return False
    runtime.register_before_snapshot(before_snapshot)
    runtime.register_after_restore(after_restore)
    return True


def before_snapshot() -> None:
    _close_database_connections()


def after_restore() -> None:
    _close_database_connections()
    database_url = sys.modules.get("progress_tracking.database_url")
    if database_url is not None:
        database_url.forget_secret()
    config.get_settings.cache_clear()
    user_service = sys.modules.get("progress_tracking.user_service")
    if user_service is not None:
        user_service.get_user_service.cache_clear()
    if "random" in sys.modules:
        sys.modules["random"].seed()  # from os.urandom: unique to this restored environment


def _close_database_connections() -> None:
    db = sys.modules.get("progress_tracking.db")
    if db is None:
        return
    for get in (db.get_database, db.get_batch_database):
        if get.cache_info().currsize:
            get().close()


def _runtime_hooks() -> ModuleType | None:
    module = sys.modules.get("snapshot_restore_py")
    if module is None and importlib.util.find_spec("snapshot_restore_py") is not None:
        module = importlib.import_module("snapshot_restore_py")
    return module
