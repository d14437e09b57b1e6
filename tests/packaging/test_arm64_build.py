"""The build that deploys: template.yaml as it is, for arm64 (sam build fetches the layer's wheels for aarch64 without
Docker). Every native module in it must be an aarch64 ELF file: one x86_64 module fails the function's import on
Lambda's Graviton, which no test on this machine would run into otherwise."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from tests.helpers.packaging import LAMBDA_ARCHITECTURE, ROOT, sam_build

pytestmark = pytest.mark.packaging

# e_machine in an ELF header (bytes 18-19, little-endian on both architectures).
AARCH64, X86_64 = 183, 62
ELF = b"\x7fELF"


def native_modules(build_dir: Path) -> dict[Path, int]:
    """Every ELF file of the build (extension modules and the libraries bundled with them), with its e_machine."""
    found = {}
    for path in build_dir.rglob("*.so*"):
        with path.open("rb") as file:
            header = file.read(20)
        if header[:4] == ELF:
            found[path.relative_to(build_dir)] = int.from_bytes(header[18:20], "little")
    return found


@pytest.fixture(scope="module")
def arm64_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam-build-arm64")
    sam_build(build_dir, ROOT / "template.yaml")
    return build_dir


def test_every_native_module_of_the_arm64_build_is_aarch64(arm64_build):
    modules = native_modules(arm64_build)
    layer = {path.parts[2] for path in modules if path.parts[0] == "ProgressTrackingLayer"}
    # The layer's native dependencies are all there (the database driver with its libpq, the models, the JWT crypto).
    assert {"psycopg2", "psycopg2_binary.libs", "pydantic_core", "cryptography"} <= layer, sorted(layer)
    assert {path: machine for path, machine in modules.items() if machine != AARCH64} == {}


def test_the_check_tells_an_x86_64_build_apart(build):
    # The positive control: the build the other packaging tests run (this machine's architecture) is caught.
    if LAMBDA_ARCHITECTURE[platform.machine()] != "x86_64":
        pytest.skip("the other packaging tests' build is this machine's, arm64: no x86_64 build to tell apart")
    modules = native_modules(build.layer_dir.parent.parent)
    assert modules and set(modules.values()) == {X86_64}
