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


# The python3.12 runtime provides the AWS SDK (in its own site-packages, after the layers on sys.path): the relay
# uses it and bundles none. The same pure-Python packages are taken from this environment.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")


def runtime_site_packages(target: Path) -> Path:
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    for name in RUNTIME_PACKAGES:
        source = site / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target
