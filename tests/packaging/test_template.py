"""The template passes SAM's own transform (`sam validate`, what `sam deploy` runs first) and cfn-lint
(`sam validate --lint`), offline: no AWS account, no credentials, no samconfig.toml shortcut."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging


def sam_validate(*arguments: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`sam validate` with an empty config file (samconfig.toml's settings left out) and no AWS credentials at all."""
    empty_config = tmp_path / "empty.toml"
    empty_config.write_text("")
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AWS_") or name == "AWS_CA_BUNDLE"
    }
    environment |= {
        "SAM_CLI_TELEMETRY": "0",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("sam")), "validate", "--config-file", str(empty_config), *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sam_validate_runs_the_transform_offline_and_it_passes(tmp_path):
    completed = sam_validate("--template-file", "template.yaml", "--region", "eu-west-1", tmp_path=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "is a valid SAM Template. This is according to basic SAM Validation" in completed.stdout


def test_sam_validate_lint_is_clean(tmp_path):
    completed = sam_validate("--lint", "--template-file", "template.yaml", "--region", "eu-west-1", tmp_path=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "is a valid SAM Template" in completed.stdout


def test_the_transform_check_fails_on_a_template_the_transform_rejects(tmp_path):
    # The positive control: main's template before issue 20 (GatewayResponses under a condition) passed the lint
    # and failed the transform.
    template = (ROOT / "template.yaml").read_text()
    start = template.index("      GatewayResponses:\n")
    broken = tmp_path / "template.yaml"
    broken.write_text(template[:start] + "      GatewayResponses: !If\n        - HasCors\n        - {}\n        - {}\n"
                      + template[template.index("      Auth:\n        DefaultAuthorizer"):])  # fmt: skip
    completed = sam_validate("--template-file", str(broken), "--region", "eu-west-1", tmp_path=tmp_path)
    assert completed.returncode != 0
    assert "Invalid property type 'list' for GatewayResponses" in completed.stdout + completed.stderr
