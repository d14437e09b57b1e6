"""Powertools takes its service name and metrics namespace from the environment the template sets; log keys belong to
the invocation's thread."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from localdev.template import fixed_environment

ROOT = Path(__file__).resolve().parents[2]
SHOW_NAMES = (
    "from progress_tracking.observability import get_tracer, logger, metrics; import json;"
    "print(json.dumps([logger.service, metrics.namespace, metrics.service, get_tracer().service]))"
)


def _names_with(service: str, namespace: str) -> list[str]:
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": service, "POWERTOOLS_METRICS_NAMESPACE": namespace}
    env["PYTHONPATH"] = str(ROOT / "layers" / "progress_tracking")
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    result = subprocess.run(
        [sys.executable, "-c", SHOW_NAMES], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def test_logger_metrics_and_tracer_follow_the_powertools_variables():
    assert _names_with("orders-api", "Shop") == ["orders-api", "Shop", "orders-api", "orders-api"]
    assert _names_with("progress-tracking", "ProgressTracking") == [
        "progress-tracking",
        "ProgressTracking",
        "progress-tracking",
        "progress-tracking",
    ]


def test_the_local_app_takes_the_names_the_template_sets():
    environment = fixed_environment(ROOT / "template.yaml")
    assert environment["POWERTOOLS_SERVICE_NAME"] == "progress-tracking"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "ProgressTracking"
    assert "DATABASE_URL" not in environment  # empty in the template: not a value to impose
    assert all(isinstance(value, str) for value in environment.values())  # no !Ref left unresolved


SHOW_PATCHED = (
    "from progress_tracking.observability import get_tracer; get_tracer();"
    "from aws_xray_sdk.core import patcher; import json; print(json.dumps(sorted(patcher._PATCHED_MODULES)))"
)


def _patched_with(env_overrides: dict[str, str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    env.update({"PYTHONPATH": str(ROOT / "layers" / "progress_tracking"), **env_overrides})
    result = subprocess.run(
        [sys.executable, "-c", SHOW_PATCHED], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def test_the_sdk_tracer_patches_http_client_which_the_user_profile_client_uses():
    # In Lambda (the runtime sets LAMBDA_TASK_ROOT) the Tracer patches http.client, and only it.
    assert _patched_with({"LAMBDA_TASK_ROOT": "/var/task"}) == ["httplib"]
    # The control: with tracing disabled nothing is patched, so the list above is the Tracer's doing.
    assert _patched_with({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}) == []


# Powertools keeps these keys for every thread of the process, and nothing clears them between invocations any more:
# each invocation's keys are the invoking thread's (observability.logged, logger.thread_safe_append_keys).
PROCESS_WIDE_KEYS = re.compile(r"\blogger\.(append_keys|inject_lambda_context|set_correlation_id|structure_logs)\b")


def test_no_function_keeps_log_keys_for_the_whole_process():
    assert PROCESS_WIDE_KEYS.search("    logger.append_keys(log_id=log.log_id)")  # the control: the pattern finds one
    sources = [*ROOT.glob("functions/*/app.py"), *(ROOT / "layers" / "progress_tracking").rglob("*.py")]
    assert len(sources) > 30
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PROCESS_WIDE_KEYS.search(line)
    ]
    assert found == []
