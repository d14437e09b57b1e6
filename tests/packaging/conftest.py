"""Builds the SAM artifacts once per run and runs them under Python 3.12, as the Lambda runtime would.

template.yaml deploys arm64; the artifacts these tests run are built for this machine's architecture instead (the
same template otherwise), and test_arm64_build.py checks the arm64 build itself.
"""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from localdev.lambda_runtime import find_python312, runtime_site_packages
from localdev.template import read_template
from tests.helpers.packaging import LAMBDA_ARCHITECTURE, ROOT, Build, BuiltFunction, sam_build, template_for


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    python = find_python312()
    if python is None:
        pytest.fail("No working Python 3.12 found (needed to build and run the python3.12 artifacts)")
    build_dir = tmp_path_factory.mktemp("sam-build")
    template = tmp_path_factory.mktemp("template") / "template.yaml"
    template.write_text(template_for(LAMBDA_ARCHITECTURE[platform.machine()]))
    sam_build(build_dir, template)
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
