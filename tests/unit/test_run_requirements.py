"""`make run` installs what the local app runs with (requirements-run.txt) and none of the development tools, and the
development set includes all of it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers import ROOT

DEVELOPMENT_TOOLS = {"aws-sam-cli", "moto", "mypy", "schemathesis", "pytest", "ruff", "hypothesis"}


def requirements(path: Path) -> set[str]:
    """The project names a requirements file installs, the files it includes (-r) followed."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= requirements(path.parent / line[3:].strip())
        elif line:
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower())
    return names


def installed_by(target: str) -> str:
    """The commands `make <target>` runs when every stamp is out of date (-B), printed rather than run (-n)."""
    return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_run_installs_the_run_requirements_only():
    commands = installed_by("run")
    assert "pip install --quiet -r requirements-run.txt" in commands
    assert "requirements-dev.txt" not in commands
    assert "progress_tracking_app.py" in commands
    # The control: the development targets install the development set
    assert "pip install --quiet -r requirements-dev.txt" in installed_by("lint")


def test_the_run_requirements_are_the_layers_runtime_and_the_local_apps_and_no_tool():
    run = requirements(ROOT / "requirements-run.txt")
    assert requirements(ROOT / "layers" / "progress_tracking" / "requirements.txt") <= run
    assert {"waitress", "pgserver", "pyyaml", "swagger-ui-bundle-v2"} <= run
    assert not run & DEVELOPMENT_TOOLS
    development = requirements(ROOT / "requirements-dev.txt")
    assert run <= development and development >= DEVELOPMENT_TOOLS  # the control: the tools are found where they are
