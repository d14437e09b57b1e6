"""The template passes `sam validate --lint` (SAM's own checks plus cfn-lint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging


def test_sam_validate_lint_is_clean():
    sam = Path(sys.executable).with_name("sam")
    completed = subprocess.run(
        [str(sam), "validate", "--lint", "--template-file", "template.yaml"],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "eu-west-1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "is a valid SAM Template" in completed.stdout
