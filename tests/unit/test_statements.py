"""The statements the layer sends are files of store/sql/, one statement each, loaded by name: every file is used,
every name has its file, and values only ever go in as named parameters."""

from __future__ import annotations

import ast
import re

import pytest

from progress_tracking.store.statements import SQL_DIR, statement
from tests.helpers import ROOT

LAYER = ROOT / "layers" / "progress_tracking" / "progress_tracking"
FILES = sorted(path.stem for path in SQL_DIR.glob("*.sql"))


def names_the_layer_loads() -> set[str]:
    """The first argument of every `statement(…)` call of the layer: a name, or a choice of names."""
    found: set[str] = set()
    for path in LAYER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "statement":
                found |= {
                    c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
    return found


def test_every_statement_file_is_loaded_and_every_name_loaded_has_its_file():
    loaded = names_the_layer_loads()
    assert "append_log_event" in loaded  # the control: the calls are found
    assert sorted(loaded) == FILES


@pytest.mark.parametrize("name", FILES)
def test_a_statement_binds_its_values_by_name_and_its_comments_hold_no_placeholder(name):
    text = statement(name)
    code = re.sub(r"--[^\n]*", "", text)
    assert re.sub(r"%\([a-z_]+\)s", "", code).count("%") == 0, "a value not bound by name, or a stray %"
    assert "%" not in "".join(re.findall(r"--[^\n]*", text)), "psycopg2 would fill a placeholder in a comment"
    assert code.strip() and ";" not in code.rstrip().rstrip(";"), "one statement a file"


def test_the_checker_finds_a_positional_placeholder():
    # The control: what the check above refuses.
    assert re.sub(r"%\([a-z_]+\)s", "", "SELECT 1 WHERE a = %s").count("%") == 1
