"""Runs built Lambda handlers the way the python3.12 runtime does, for the packaging tests.

Started as `python3.12 -I -S lambda_runner.py JOB RESULT`: isolated, without site-packages, so only the standard
library, the function's build folder and the layer's python/ folder can be imported — exactly what Lambda offers.
It imports nothing from the repository.
"""

import importlib
import json
import os
import sys
import time
import uuid


class Context:
    def __init__(self, name: str, memory_mb: int, timeout_s: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "2026/11/27/[$LATEST]packaging"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _submodules(package: str) -> set[str]:
    return {name for name in sys.modules if name.startswith(package + ".")}


def main(job_path: str, result_path: str) -> None:
    with open(job_path) as job_file:
        job = json.load(job_file)
    sys.path[:0] = [job["code_dir"], *job["layer_dirs"]]
    sys.path.extend(job.get("runtime_dirs", []))  # what the runtime itself provides (boto3), after the layers
    os.environ.clear()
    os.environ.update(job["env"])
    module_name, _, function_name = job["handler"].rpartition(".")
    result: dict = {"python": sys.version.split()[0]}
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # what a Runtime.ImportModuleError would report
        result["import_error"] = f"{type(exc).__name__}: {exc}"
    else:
        result["import_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["invocations"] = []
        for event in job["events"]:
            context = Context(job["name"], job["memory_mb"], job["timeout_s"])
            try:
                result["invocations"].append({"response": handler(event, context)})
            except Exception as exc:
                result["invocations"].append({"error": f"{type(exc).__name__}: {exc}"})
        result["boto3_loaded"] = "boto3" in sys.modules
        # Top-level packages loaded by the import and the invocations (with `botocore.…` kept apart from `botocore`, and
        # the layer's modules named one by one).
        result["modules"] = sorted(
            {name.split(".")[0] for name in sys.modules} | _submodules("botocore") | _submodules("progress_tracking")
        )
    with open(result_path, "w") as result_file:
        json.dump(result, result_file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
