"""Builds the SAM artifacts once per run and runs them under Python 3.12, as the Lambda runtime would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localdev.lambda_runtime import RUNNER, find_python312, runtime_site_packages
from localdev.template import read_template

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


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    python = find_python312()
    if python is None:
        pytest.fail("No working Python 3.12 found (needed to build and run the python3.12 artifacts)")
    build_dir = tmp_path_factory.mktemp("sam-build")
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    sam = Path(sys.executable).with_name("sam")
    completed = subprocess.run(
        [str(sam), "build", "--build-dir", str(build_dir), "--template-file", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    built = read_template(build_dir / "template.yaml")
    source = read_template(ROOT / "template.yaml")
    defaults = built.get("Globals", {}).get("Function", {})
    functions = {}
    layer_dir = None
    for logical_id, resource in built["Resources"].items():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            layer_dir = build_dir / resource["Properties"]["ContentUri"] / "python"
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = {**defaults, **resource["Properties"]}
        folder = Path(source["Resources"][logical_id]["Properties"]["CodeUri"]).name
        functions[folder] = BuiltFunction(
            logical_id=logical_id,
            folder=folder,
            code_dir=build_dir / properties["CodeUri"],
            handler=properties["Handler"],
            memory_mb=int(properties["MemorySize"]),
            timeout_s=int(properties["Timeout"]),
            environment=properties["Environment"]["Variables"],
        )
    assert layer_dir is not None and layer_dir.is_dir()
    runtime_dir = runtime_site_packages(tmp_path_factory.mktemp("lambda-runtime"))
    return Build(python=python, layer_dir=layer_dir, runtime_dir=runtime_dir, functions=functions)
