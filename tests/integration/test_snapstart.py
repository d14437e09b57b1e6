"""SnapStart's hooks, called as the runtime would call them (its `snapshot_restore_py` exists only in Lambda: a fake
one stands in), drop what no two restored environments may share."""

from __future__ import annotations

import random
import sys
import types

import pytest

from localdev.stubs import SecretsExtensionStub
from progress_tracking import config, db, snapstart, user_service
from progress_tracking.database_url import forget_secret

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:progress-db-AbCdEf"


class FakeRuntime(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.before: list = []
        self.after: list = []

    def register_before_snapshot(self, hook) -> None:
        self.before.append(hook)

    def register_after_restore(self, hook) -> None:
        self.after.append(hook)


def test_without_the_runtime_module_no_hook_is_registered():
    assert "snapshot_restore_py" not in sys.modules
    assert snapstart.register() is False


def test_the_hooks_are_registered_when_the_runtime_offers_them(monkeypatch):
    runtime = FakeRuntime()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapstart.register() is True
    assert (runtime.before, runtime.after) == ([snapstart.before_snapshot], [snapstart.after_restore])


@pytest.fixture
def initialised(monkeypatch, service_env, database_url):
    """A container after its init and a first request: a connection, the secret's URL, settings and a known user."""
    with SecretsExtensionStub("token", {ARN: database_url}) as extension:
        monkeypatch.delenv("DATABASE_URL")
        monkeypatch.setenv("DATABASE_SECRET_ARN", ARN)
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(extension.port))
        monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
        config.get_settings.cache_clear()
        db.get_database.cache_clear()
        forget_secret()
        user_service.get_user_service.cache_clear()
        database = db.get_database()
        database.run(lambda cursor: cursor.execute("SELECT 1"))
        yield database, extension
        database.close()
        forget_secret()
        db.get_database.cache_clear()
        config.get_settings.cache_clear()
        user_service.get_user_service.cache_clear()


def connection(database: db.Database):
    return getattr(database._local, "connection", None)


def test_before_the_snapshot_the_database_connection_is_closed(initialised):
    database, _ = initialised
    opened = connection(database)
    assert opened is not None and opened.closed == 0  # positive control: the init left a connection open
    snapstart.before_snapshot()
    assert opened.closed != 0 and connection(database) is None


def test_after_a_restore_connection_secret_settings_user_cache_and_random_state_are_new(initialised):
    database, extension = initialised
    opened = connection(database)
    settings, users = config.get_settings(), user_service.get_user_service()
    random.seed(7)
    drawn_in_the_snapshot = random.random()
    random.seed(7)
    snapstart.after_restore()
    assert opened.closed != 0
    assert config.get_settings() is not settings and user_service.get_user_service() is not users
    assert random.random() != drawn_in_the_snapshot
    # The URL is read from the secret again (it may have been rotated since the snapshot), on the next connection.
    assert extension.served == [ARN]
    assert database.run(lambda cursor: cursor.execute("SELECT 1")) is None
    assert extension.served == [ARN, ARN]
