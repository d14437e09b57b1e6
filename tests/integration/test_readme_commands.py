"""Every command the project tells a reader to type works as typed, from the project's root on a fresh clone: the
shell blocks (```sh, bash, shell, console) and the inline commands of README.md and docs/*.md, the commands the
app's banner prints, those of the docs page's text (/openapi.json's descriptions) and of the home page.

How they run. The repository's files (tracked and new, not ignored) are copied into a temporary directory, with
`.venv` and `node_modules` linked to this checkout's: a fresh clone, so `.local/` (the embedded Postgres, the
development key) starts empty, the ids the README shows are the ones a newcomer gets, and the `token` subcommand
signs with the key of the app the test started. The app runs there as `make run` runs it
(`.venv/bin/python progress_tracking_app.py`, no DATABASE_URL, no Auth0, nothing configured) on a free port. Each
source's commands run in order in one bash session (so `export TOKEN=…` reaches the commands after it), in that
directory, with the environment of a newcomer's shell (none of the service's or the tests' variables).

What the test changes in a command: only the app's address, `http://127.0.0.1:5000` → the free port's URL
(`SUBSTITUTIONS`). Nothing else.

What it checks: every command exits 0 (with pipefail; an assignment `NAME=$(…)` must also leave NAME non-empty);
where the text claims output — a `# → a … b` line under a command — each of the claimed fragments (`a`, `b`, split
at ` … `) is in what the command printed (ignoring case: HTTP header names are case-insensitive, and servers spell
them differently). Statically, for every command, run or exempt: the project's code is started with the venv's
interpreter (`.venv/bin/python`), never a bare `python`/`python3` (which lacks the packages on a fresh machine).

What it does not run: the commands `EXEMPT` lists, each with its reason (AWS, long runs, installs, starting a
second server), and synopses (`[--flag X]`, `…`), which are only checked statically. An exemption that matches no
command fails the test, so the list cannot go stale.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import pytest
import requests

from tests.helpers import ROOT, App, free_port

SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LOCAL_URL = "http://127.0.0.1:5000"
# An inline code span is a command when it starts with one of these (and has an argument).
COMMAND_STARTS = (".venv/bin/", "python", "python3 ", "make ", "curl ", "npm ", "aws ", "sam ", "pip ")
CLAIM = "# → "

# (where: a path relative to the root, or "*"; the command, a regex searched in it) → why it is not run.
EXEMPT: dict[tuple[str, str], str] = {
    ("docs/deploy.md", r"."): "deploying and smoke-testing a stack: needs an AWS account (and the deployed stack)",
    ("docs/operations.md", r"."): "the runbook of a deployed stack: the AWS CLI, its logs and queues; Docker",
    ("*", r"^make run\b"): "starts a server until Ctrl-C; the test starts the same app (`make run` is "
    "`.venv/bin/python progress_tracking_app.py $(ARGS)`) and its set-up step is test_run_requirements.py's",
    ("*", r"progress_tracking_app\.py$"): "starts the server: the test starts it itself, on a free port",
    ("*", r"^make test\b|-m pytest\b"): "the whole suite, this test included: minutes",
    ("*", r"^make bench\b|-m bench(?! round-trips)"): "a benchmark of minutes (`-m bench round-trips` runs)",
    ("*", r"^make (install|validate|postman)\b"): "make first brings .venv to requirements-dev.txt (an install); "
    "make test runs `sam validate`, and test_postman.py runs the same collection with the same newman",
    ("*", r"^make (build|deploy)\b"): "sam build needs Python 3.12 and minutes (the packaging tests run it); "
    "deploy needs AWS",
    ("*", r"pip install|-m venv|^npm ci\b"): "installs packages from the network into the shared .venv",
    ("*", r"^(\.venv/bin/)?sam |^aws "): "needs an AWS account, or Docker for `sam local invoke`",
}
SUBSTITUTIONS = {LOCAL_URL: "{url}"}


@dataclass
class Command:
    source: str  # where it is written: a path, "banner", "docs page", "home page"
    text: str
    claims: list[str] = field(default_factory=list)
    exempt: str | None = None  # why it is not run
    synopsis: bool = False  # a form with placeholders, not a command to paste


@dataclass
class Outcome:
    status: int
    output: str


# --- finding the commands --------------------------------------------------------------------------------------------


def _complete(lines: list[str]) -> bool:
    """Whether `lines` hold one whole command: no continuation pending, and bash parses them."""
    last = lines[-1].rstrip()
    if last.endswith(("\\", "|", "&&", "||")):
        return False
    return subprocess.run(["bash", "-n"], input="\n".join(lines), capture_output=True, text=True).returncode == 0


def commands_of_a_block(source: str, block: str) -> list[Command]:
    """A shell block's commands, in order, each with the `# →` claims written under it."""
    commands: list[Command] = []
    pending: list[str] = []
    for line in block.splitlines():
        stripped = line.strip()
        if not pending:
            if stripped.startswith(CLAIM.strip()):
                assert commands, f"{source}: a claim before any command: {line}"
                commands[-1].claims.append(stripped.removeprefix(CLAIM.strip()).strip())
                continue
            if not stripped or stripped.startswith("#"):
                continue
        pending.append(line)
        if _complete(pending):
            commands.append(Command(source, "\n".join(pending)))
            pending = []
    assert not pending, f"{source}: an unfinished command: {pending}"
    return commands


def inline_commands(source: str, text: str) -> list[Command]:
    """The inline code spans of `text` that are commands (a span may run over a line break)."""
    spans = (" ".join(span.split()) for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", text))
    return [Command(source, span) for span in dict.fromkeys(spans) if span.startswith(COMMAND_STARTS) and " " in span]


def commands_of_markdown(source: str, text: str) -> list[Command]:
    """A Markdown text's commands: its shell blocks', then its prose's inline ones."""
    found: list[Command] = []
    prose: list[str] = []
    position = 0
    for fence in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL):
        prose.append(text[position : fence.start()])
        position = fence.end()
        if fence.group(2) in SHELL_LANGUAGES:
            found += commands_of_a_block(source, fence.group(3))
    prose.append(text[position:])
    return found + inline_commands(source, "".join(prose))


def commands_of_the_banner(banner: str) -> list[Command]:
    """The lines the banner gives to paste: the indented ones under "In a shell" and "Try:"."""
    commands: list[Command] = []
    taking = False
    for line in banner.splitlines():
        if not line.startswith("  "):
            taking = line.startswith(("In a shell", "Try:"))
            commands += inline_commands("banner", line)
        elif taking:
            commands.append(Command("banner", line.strip()))
    return commands


def commands_of_the_docs_page(document: dict) -> list[Command]:
    descriptions: list[str] = []

    def collect(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "description" and isinstance(value, str):
                    descriptions.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(document)
    return inline_commands("docs page", "\n".join(descriptions))


def commands_of_the_home_page() -> list[Command]:
    html = (ROOT / "localdev" / "home_page.html").read_text()
    spans = [unescape(re.sub(r"\s+", " ", span)) for span in re.findall(r"<code>(.*?)</code>", html, re.DOTALL)]
    return inline_commands("home page", " ".join(f"`{span}`" for span in spans))


def classify(command: Command) -> Command:
    for (where, pattern), reason in EXEMPT.items():
        if where in ("*", command.source) and re.search(pattern, command.text):
            command.exempt = reason
            return command
    command.synopsis = "…" in command.text or bool(re.search(r" \[-", command.text))
    return command


def venv_rule_broken(command: str) -> bool:
    """The project's code started with an interpreter other than the venv's, or a bare `python` anywhere."""
    starts = r"(^|[\s|;&(])"
    project_code = rf"{starts}python3?\s+(progress_tracking_app\.py|-m\s+(bench|pytest))"
    return bool(re.search(project_code, command) or re.search(rf"{starts}python\s", command))


# --- running them ----------------------------------------------------------------------------------------------------


def run_session(commands: list[Command], cwd: Path, env: dict[str, str], url: str) -> list[Outcome]:
    """The commands in one bash session, in order; each one's exit status and what it printed (stderr too)."""
    script = ["exec 2>&1", "set -o pipefail"]
    for n, command in enumerate(commands):
        text = command.text
        for written, chosen in SUBSTITUTIONS.items():
            text = text.replace(written, chosen.format(url=url))
        script += [f"printf '\\n@@begin {n}@@\\n'", text, "__status=$?"]
        assigned = re.match(r"(?:export\s+)?([A-Za-z_]\w*)=\$\(", text)
        if assigned:  # `export NAME=$(…)` exits 0 whatever `…` did: the value tells
            script.append(f'[ -n "${{{assigned.group(1)}}}" ] || __status=97')
        script.append(f"printf '\\n@@end {n} %d@@\\n' $__status")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc"], input="\n".join(script), cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    outcomes = []
    for n in range(len(commands)):
        found = re.search(rf"@@begin {n}@@\n(.*?)\n@@end {n} (\d+)@@", done.stdout, re.DOTALL)
        outcomes.append(Outcome(int(found.group(2)), found.group(1)) if found else Outcome(-1, done.stdout[-2000:]))
    return outcomes


def problems(commands: list[Command], outcomes: list[Outcome]) -> list[str]:
    found = []
    for command, outcome in zip(commands, outcomes, strict=True):
        if outcome.status != 0:
            found.append(f"{command.source}: exit {outcome.status}: {command.text}\n{outcome.output[-1500:]}")
            continue
        printed = outcome.output.lower()
        for claim in command.claims:
            missing = [part for part in claim.split(" … ") if part.strip() and part.lower() not in printed]
            if missing:
                found.append(f"{command.source}: {command.text}\nclaims {missing}; printed:\n{outcome.output[-1500:]}")
    return found


# --- the fresh clone and its app -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's files as a fresh clone would have them, the installed environments linked."""
    root = tmp_path_factory.mktemp("fresh-clone")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    for linked in (".venv", "node_modules"):
        (root / linked).symlink_to((ROOT / linked).resolve())
    return root


@pytest.fixture(scope="module")
def newcomer_env(clean_env) -> dict[str, str]:
    """A newcomer's shell: none of the service's configuration, none of the tests' variables."""
    return {name: value for name, value in clean_env.items() if not name.startswith("TEST_")}


@pytest.fixture(scope="module")
def app(clone, newcomer_env) -> Iterator[App]:
    started = App(clone / ".local", newcomer_env, port=free_port(), root=clone)
    try:
        yield started
    finally:
        started.stop()


def every_command(app: App) -> dict[str, list[Command]]:
    """Every source's commands, in the order they run: the README first, as it shows a fresh data dir's ids."""
    document = requests.get(f"{app.url}/openapi.json", timeout=10).json()
    sources = {
        str(path.relative_to(ROOT)): commands_of_markdown(str(path.relative_to(ROOT)), path.read_text())
        for path in DOCUMENTS
    }
    sources["banner"] = commands_of_the_banner(app.banner)
    sources["docs page"] = commands_of_the_docs_page(document)
    sources["home page"] = commands_of_the_home_page()
    return {source: [classify(command) for command in commands] for source, commands in sources.items()}


@pytest.fixture(scope="module")
def results(app, clone, newcomer_env) -> dict[str, tuple[list[Command], list[Outcome]]]:
    ran = {}
    for source, commands in every_command(app).items():
        runnable = [command for command in commands if not command.exempt and not command.synopsis]
        ran[source] = (runnable, run_session(runnable, clone, newcomer_env, app.url))
    return ran


SOURCES = [str(path.relative_to(ROOT)) for path in DOCUMENTS] + ["banner", "docs page", "home page"]


@pytest.mark.parametrize("source", SOURCES)
def test_every_command_works_as_typed_on_a_fresh_clone(results, source):
    commands, outcomes = results[source]
    assert problems(commands, outcomes) == []


def test_the_readme_runs_its_examples_and_shows_what_it_claims(results):
    commands, _ = results["README.md"]
    texts = [command.text for command in commands]
    assert len(commands) >= 30 and sum(len(command.claims) for command in commands) >= 25
    # The idempotency example sends its request twice and shows the replay; header examples show the headers.
    replayed = [command for command in commands if any("Idempotent-Replayed: true" in c for c in command.claims)]
    assert len(replayed) == 1 and "Idempotency-Key" in replayed[0].text
    assert sum("Idempotency-Key: demo-retry-1" in text for text in texts) == 2
    for command in commands:
        if any(re.search(r"HTTP/1\.1|ETag|Location|X-Request-Id|Idempotent-Replayed", c) for c in command.claims):
            assert re.search(r"curl -\w*i\w* |-D -", command.text), command.text
    # The operations commands and a quick benchmark are among them.
    for needed in ("/local/events", "user-deleted", " recompute", " rebuild", "-m bench round-trips", "-X PATCH"):
        assert any(needed in text for text in texts), needed


def test_the_banner_and_the_docs_page_give_commands_that_run(results, app):
    banner, _ = results["banner"]
    assert any("export TOKEN=$(.venv/bin/python progress_tracking_app.py token)" in c.text for c in banner)
    assert any(c.text.startswith("curl ") for c in banner)
    assert any("progress_tracking_app.py token" in c.text for c in results["docs page"][0])
    # The token alone on its line is what the docs page's Authorize box takes.
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", app.token_from_banner())


def test_no_command_starts_the_projects_code_without_the_venv(app):
    commands = [command for found in every_command(app).values() for command in found]
    assert len(commands) >= 60
    assert [f"{command.source}: {command.text}" for command in commands if venv_rule_broken(command.text)] == []


def test_every_exemption_is_used_and_says_why(app):
    commands = [command for found in every_command(app).values() for command in found]
    used = {
        key
        for key in EXEMPT
        for command in commands
        if key[0] in ("*", command.source) and re.search(key[1], command.text)
    }
    assert set(EXEMPT) - used == set()
    assert all(len(reason) > 20 for reason in EXEMPT.values())


# --- positive controls: a broken command is caught -------------------------------------------------------------------

TRY_IT = """
export TOKEN=$(.venv/bin/python progress_tracking_app.py token)
API=http://127.0.0.1:5000
curl -si $API/api/progress/summary/control-user -H "Authorization: Bearer $TOKEN"
# → HTTP/1.1 200 OK … "user_id":"control-user"
"""


def run_block(block: str, clone: Path, env: dict[str, str], url: str) -> list[str]:
    commands = commands_of_a_block("control", block)
    return problems(commands, run_session(commands, clone, env, url))


def test_the_control_block_passes_as_written(app, clone, newcomer_env):
    assert run_block(TRY_IT, clone, newcomer_env, app.url) == []


@pytest.mark.parametrize(
    ("broken", "caught"),
    [
        # A subcommand misspelt: the assignment fails (argparse exits 2 inside $(…)), and the call then is a 401.
        (TRY_IT.replace("token)", "tokn)"), ["exit 97", "claims"]),
        # A command whose output is not what the text claims: curl exits 0, the claim catches it.
        (TRY_IT.replace("summary/control-user", "summary/control-user/nope"), ["claims"]),
        # A tool that does not exist.
        (TRY_IT.replace("curl -si", "curlx -si"), ["exit 127"]),
    ],
)
def test_a_broken_command_is_caught(app, clone, newcomer_env, broken, caught):
    found = "\n".join(run_block(broken, clone, newcomer_env, app.url))
    for what in caught:
        assert what in found, found


def test_a_command_without_the_venv_is_caught():
    assert not venv_rule_broken(".venv/bin/python progress_tracking_app.py token")
    assert not venv_rule_broken("python3 -m venv .venv && .venv/bin/pip install -r requirements-run.txt")
    assert not venv_rule_broken("""python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'""")
    for broken in (
        "python progress_tracking_app.py token",
        "python3 progress_tracking_app.py recompute",
        "export TOKEN=$(python progress_tracking_app.py token)",
        "python -m bench round-trips",
        "curl -s $API | python -c 'import json'",
    ):
        assert venv_rule_broken(broken), broken


def test_the_extraction_finds_blocks_claims_and_inline_commands():
    text = (
        "Run `.venv/bin/python progress_tracking_app.py\nrecompute` or `make test`; not `curl` alone.\n\n"
        "```sh\n# a comment\nA=$(echo a |\n  cat)\ncurl -s x \\\n  -d y\n# → one … two\n```\n"
        '```json\n{"not": "a command"}\n```\n'
    )
    assert [(c.text, c.claims) for c in commands_of_markdown("example.md", text)] == [
        ("A=$(echo a |\n  cat)", []),  # a pipe at the end of a line goes on
        ("curl -s x \\\n  -d y", ["one … two"]),  # so does a backslash; the claim is the command's
        (".venv/bin/python progress_tracking_app.py recompute", []),  # an inline span over a line break
        ("make test", []),
    ]  # and the JSON block is data, never run
