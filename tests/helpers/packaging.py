"""The SAM build the packaging tests run: its functions as Lambda would run them, and the build of template.yaml for
this machine's architecture (the packaging conftest builds it once per run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localdev.lambda_runtime import RUNNER, find_python312

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    folder: str  # the source folder's name under functions/, which names its sample event
    code_dir: Path
    handler: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, Any]


@dataclass(frozen=True)
class Build:
    python: Path
    layer_dir: Path
    runtime_dir: Path
    functions: dict[str, BuiltFunction]  # by source folder name

    def run(
        self, function: BuiltFunction, events: list[dict], env: dict[str, str], tmp_path: Path, layers: bool = True
    ) -> dict[str, Any]:
        job = tmp_path / f"{function.logical_id}-job.json"
        result = tmp_path / f"{function.logical_id}-result.json"
        job.write_text(
            json.dumps(
                {
                    "name": function.logical_id,
                    "code_dir": str(function.code_dir),
                    "handler": function.handler,
                    "layer_dirs": [str(self.layer_dir)] if layers else [],
                    "runtime_dirs": [str(self.runtime_dir)],
                    "memory_mb": function.memory_mb,
                    "timeout_s": function.timeout_s,
                    "events": events,
                    "env": env,
                }
            )
        )
        completed = subprocess.run(
            [str(self.python), "-I", "-S", str(RUNNER), str(job), str(result)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        return json.loads(result.read_text())


# Lambda's names for the architectures, by what this machine calls its own.
LAMBDA_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def template_for(architecture: str) -> str:
    """template.yaml's text with its functions and layer built for `architecture` instead of arm64."""
    text = (ROOT / "template.yaml").read_text()
    # The functions' (Globals) and the layer's compatible architectures, and the layer's build architecture.
    for deployed, count in (("Architectures: [arm64]", 2), ("BuildArchitecture: arm64", 1)):
        assert text.count(deployed) == count, f"template.yaml no longer says {deployed!r} {count} times"
        text = text.replace(deployed, deployed.replace("arm64", architecture))
    return text


def sam_build(build_dir: Path, template: Path) -> None:
    """`sam build` of `template` (its code found from the repository) into `build_dir`, with a Python 3.12."""
    python = find_python312()
    if python is None:
        pytest.fail("No working Python 3.12 found (needed to build and run the python3.12 artifacts)")
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    sam = Path(sys.executable).with_name("sam")
    completed = subprocess.run(
        [str(sam), "build", "--build-dir", str(build_dir), "--template-file", str(template), "--base-dir", str(ROOT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
