"""Standing in for the Lambda python3.12 runtime on a machine without Docker: find a Python 3.12 to build and run
the SAM artifacts with; `lambda_runner.py` beside this file loads and invokes a built handler in isolation."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RUNNER = Path(__file__).with_name("lambda_runner.py")


def find_python312() -> Path | None:
    """A working Python 3.12: on PATH, else the newest under pyenv. A pyenv shim on PATH may exist without answering,
    so each candidate is asked for its version."""
    pyenv = sorted(
        Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"),
        key=lambda p: tuple(int(part) for part in p.parts[-3].split(".")),
        reverse=True,
    )
    for candidate in [shutil.which("python3.12"), *pyenv]:
        if (
            candidate
            and subprocess.run(
                [str(candidate), "-c", "import sys; assert sys.version_info[:2] == (3, 12)"], capture_output=True
            ).returncode
            == 0
        ):
            return Path(candidate)
    return None
