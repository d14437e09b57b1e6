"""The JWT stack is the authorizer's alone: an API function's cold start never imports PyJWT or cryptography."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JWT_STACK = ("jwt", "cryptography")
API_FUNCTIONS = sorted(
    path.name for path in (ROOT / "functions").iterdir() if (path / "app.py").exists() and path.name != "authorizer"
)


def loaded_after_importing_the_handler(function: str) -> list[str]:
    """Imports functions/<function>/app.py as Lambda does (its folder and the layer on the path), in a new process.

    pyOpenSSL is hidden as the Lambda runtime lacks it: this dev environment has it (for moto), and botocore, which
    Powertools imports when present, would load cryptography through urllib3's pyOpenSSL support.
    """
    probe = (
        "import sys, json; sys.modules['OpenSSL'] = None; import app; "
        f"print(json.dumps([m for m in {JWT_STACK!r} if m in sys.modules]))"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "progress_tracking")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT / "functions" / function,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_an_api_function_does_not_load_the_jwt_stack(function):
    assert loaded_after_importing_the_handler(function) == []


def test_positive_control_the_authorizer_does_load_it():
    assert loaded_after_importing_the_handler("authorizer") == list(JWT_STACK)
