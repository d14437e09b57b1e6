"""The layer's layout shows its layers: the HTTP edge runs no SQL, no module name stands at two depths, and importing a
module changes nothing in the process (hooks and callbacks are installed by explicit calls)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from tests.helpers import ROOT

LAYER = ROOT / "layers" / "progress_tracking"
PACKAGE = LAYER / "progress_tracking"
# Modules that run SQL, or load the driver that does.
SQL_MODULES = ("psycopg2", "progress_tracking.db", "progress_tracking.transaction_cursor", "progress_tracking.store")


def loaded_by(code: str, path: Path | None = None) -> dict:
    """What `code` (run in a fresh interpreter with the layer on its path) prints as JSON."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (path, LAYER) if p)}
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def sql_modules_loaded_by(module: str) -> list[str]:
    return loaded_by(
        f"""
        import importlib, json, sys
        importlib.import_module({module!r})
        print(json.dumps(sorted(m for m in sys.modules if m.startswith({SQL_MODULES!r}))))
        """
    )


def test_the_http_edge_imports_no_module_that_runs_sql():
    for edge in ("progress_tracking.api_edge", "progress_tracking.gateway_events", "progress_tracking.authz"):
        assert sql_modules_loaded_by(edge) == [], edge
    # The control: an operation does load them.
    assert "psycopg2" in sql_modules_loaded_by("progress_tracking.logs")


def twice(paths: list[Path]) -> list[str]:
    names = Counter(path.stem for path in paths if path.stem != "__init__")
    return sorted(name for name, count in names.items() if count > 1)


def test_no_module_name_stands_at_two_depths():
    modules = list(PACKAGE.rglob("*.py"))
    assert len(modules) > 40  # the control: the package is found
    assert twice(modules) == []
    assert twice([Path("a/goals.py"), Path("a/store/goals.py"), Path("a/b/__init__.py"), Path("a/__init__.py")]) == [
        "goals"
    ]


FAKE_RUNTIME = """
registered = []


def register_before_snapshot(hook):
    registered.append("before")


def register_after_restore(hook):
    registered.append("after")
"""


def test_importing_the_layer_installs_nothing_and_the_entry_point_and_the_database_do(tmp_path):
    # Given the SnapStart runtime's module (a stand-in) on the path, as in a SnapStart function...
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME)
    found = loaded_by(
        """
        import importlib, json, pkgutil
        import psycopg2.extensions
        import progress_tracking
        import snapshot_restore_py

        # ...importing every module of the layer registers no hook and installs no wait callback...
        for module in pkgutil.walk_packages(progress_tracking.__path__, "progress_tracking."):
            importlib.import_module(module.name)
        after_imports = [list(snapshot_restore_py.registered), psycopg2.extensions.get_wait_callback() is not None]

        # ...the functions' shared entry point registers the hooks, once, and a Database installs the callback.
        from progress_tracking.db import Database
        from progress_tracking.observability import logged

        logged(lambda event, context: None)
        logged(lambda event, context: None)
        Database("postgresql://nowhere.invalid/db")
        after_calls = [list(snapshot_restore_py.registered), psycopg2.extensions.get_wait_callback() is not None]
        print(json.dumps([after_imports, after_calls]))
        """,
        tmp_path,
    )
    assert found == [[[], False], [["before", "after"], True]]


def imports_of_the_tests(root: Path) -> dict[str, set[str]]:
    """Each test module's and conftest's imports of modules under `tests`."""
    found: dict[str, set[str]] = {}
    for path in [*root.rglob("test_*.py"), *root.rglob("conftest.py")]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
        found[str(path.relative_to(root))] = {name for name in names if name.split(".")[0] == "tests"}
    return found


def test_test_modules_import_only_the_helpers_never_each_other():
    found = imports_of_the_tests(ROOT / "tests")
    assert "tests.helpers" in found["conftest.py"]  # the control: imports are found
    strays = {
        module: sorted(name for name in names if not name.startswith("tests.helpers"))
        for module, names in found.items()
    }
    assert {module: names for module, names in strays.items() if names} == {}
