"""pgbench scripts generated from the service's own round trips, recorded at the wire (localdev/wire.py).

An endpoint is recorded twice, with different inputs (another user, log or date). The two recordings must be the same
statements token for token but for their literals; each literal that differs is what varies per transaction, and it
must be explained, the same way in both recordings, by:

- an input of the request the bench chooses per transaction (`Input`: `\\set user_n random(1, :users)`), or
- a value an earlier round trip of the same request returned (that round trip then ends with `\\gset rN_`, and the
  literal becomes `:rN_column`, or `:rN_column_next` for that value plus one, as a new version number is), or
- the app's clock, a request id or a hash of the request's body (an ISO timestamp, a UUID, 64 hex digits), which are
  kept as the first recording has them.

Anything else stops the generation: a script that drifted from the code would measure something else. Each round
trip stays one round trip: its statements are joined by `\\;`, which pgbench sends as one message (`-M simple`).

`Script.pgbench()` is the script's text; `Script.run_once()` runs one transaction of it through a psycopg2 cursor (the
same statements, for the statement-by-statement breakdown and for the tests).
"""

from __future__ import annotations

import ast
import operator
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localdev.wire import RecordedRoundTrip

# SQL as psycopg2 sends it, in tokens: literals (strings, numbers) are what may vary; everything else must be equal.
_TOKENS = re.compile(
    r"""
    (?P<string>[eE]'(?:\\.|[^'\\]|'')*'|'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")*")
    |(?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)\$)
    |(?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<word>[A-Za-z_][\w$]*)
    |(?P<space>\s+)
    |(?P<semicolon>;)
    |(?P<other>::|.)
    """,
    re.VERBOSE | re.DOTALL,
)
# The literals kept as recorded when they differ: the app's clock, request ids, hashes of a request's body.
_CLOCK_OR_ID = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\b[0-9a-f]{64}\b"
)
_VARIABLE = re.compile(r":+([A-Za-z0-9_]+)")
# Type OIDs of the results whose values a later round trip may reuse.
_INTEGERS = {20, 21, 23}
_FLOATS = {700, 701}
_TIMESTAMPS = {1114, 1184}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokens(sql: str) -> list[Token]:
    found = []
    for match in _TOKENS.finditer(sql):
        kind = match.lastgroup if match.lastgroup != "tag" else "dollar"
        found.append(Token(str(kind), match.group()))
    assert "".join(token.text for token in found) == sql
    return found


def statements(sql: str) -> list[str]:
    """The statements of one round trip's text, split at its top-level semicolons, without empty ones."""
    parts: list[list[str]] = [[]]
    for token in tokens(sql):
        if token.kind == "semicolon":
            parts.append([])
        else:
            parts[-1].append(token.text)
    return [text for text in ("".join(part).strip() for part in parts) if text]


@dataclass(frozen=True)
class Input:
    """A value the bench chooses per transaction: `\\set name expression` in pgbench (no expression: given with -D, or
    in `run_once`'s variables), read in the SQL as `template` says (default `:name`); `recorded` holds its values in
    the two recordings (none when no literal shows it)."""

    name: str
    expression: str
    recorded: tuple[Any, Any] | None = None
    template: str = ""

    @property
    def reads(self) -> str:
        return self.template or f":{self.name}"


@dataclass(frozen=True)
class _Candidate:
    """A placeholder and what it reads as in each recording."""

    placeholder: str
    first: str
    second: str
    number: bool  # an integer or float: it may stand for a whole number literal


@dataclass
class RoundTrip:
    statements: list[str]  # SQL with pgbench variables
    gset: str = ""  # the prefix of the variables its result is stored in, when a later round trip reads them
    increments: list[str] = field(default_factory=list)  # rN_column_next, set to :rN_column + 1 after it


@dataclass
class Script:
    """One endpoint's transaction: the inputs drawn, then its round trips in order."""

    name: str
    inputs: list[Input]
    round_trips: list[RoundTrip]
    kept: list[str] = field(default_factory=list)  # literals that differ between the recordings, kept as recorded

    def pgbench(self, header: str = "") -> str:
        lines = [f"-- {line}" for line in header.splitlines()]
        if self.kept:
            lines.append(
                f"-- Kept as the first recording has them (clock, request ids, hashes): {', '.join(self.kept)}"
            )
        lines += [f"\\set {variable.name} {variable.expression}" for variable in self.inputs if variable.expression]
        for round_trip in self.round_trips:
            lines.append(_joined(round_trip.statements) + (f"\n\\gset {round_trip.gset}" if round_trip.gset else ""))
            if not round_trip.gset:
                lines[-1] += "\n;" if "--" in lines[-1].rsplit("\n", 1)[-1] else ";"
            lines += [f"\\set {name} :{name.removesuffix('_next')} + 1" for name in round_trip.increments]
        return "\n".join(lines) + "\n"

    def text(self, variables: dict[str, Any]) -> str:
        """A one-round-trip script's text with `variables` in it, as it is sent."""
        if len(self.round_trips) != 1 or self.round_trips[0].gset:
            raise ValueError(f"{self.name} is not one round trip")
        return fill("\n;\n".join(self.round_trips[0].statements), variables)

    def run_once(
        self,
        cursor: Any,
        variables: dict[str, Any],
        rng: random.Random,
        after: Callable[[int, str], None] | None = None,
    ) -> None:
        """One transaction through a psycopg2 cursor on an autocommit connection, each round trip one `execute`;
        `variables` holds pgbench's -D values and client_id, and keeps what the transaction set (as pgbench's do).
        `after(n, text)` is called after round trip n with the text it sent."""
        for variable in self.inputs:
            if variable.expression:
                variables[variable.name] = evaluate(variable.expression, variables, rng)
        for n, round_trip in enumerate(self.round_trips, start=1):
            text = fill("\n;\n".join(round_trip.statements), variables)
            cursor.execute(text)
            if round_trip.gset:
                row = cursor.fetchone()
                if row is None or cursor.fetchone() is not None:
                    raise RuntimeError(f"{self.name}: round trip {n} must return one row")
                for column, value in zip(cursor.description, row, strict=True):
                    variables[round_trip.gset + column.name] = "" if value is None else str(value)
            for name in round_trip.increments:
                variables[name] = int(variables[name.removesuffix("_next")]) + 1
            if after is not None:
                after(n, text)


def _joined(statements: Sequence[str]) -> str:
    """Statements joined by pgbench's `\\;` (one message); on a line of its own after a trailing comment."""
    parts = []
    for text in statements[:-1]:
        parts.append(text + ("\n\\;" if "--" in text.rsplit("\n", 1)[-1] else " \\;"))
    parts.append(statements[-1])
    return "\n".join(parts)


def fill(template: str, variables: dict[str, Any]) -> str:
    """pgbench's substitution: `:name` becomes the variable's value where one is defined; `::` is a cast."""

    def value(match: re.Match[str]) -> str:
        if match.group().startswith("::") or match.group(1) not in variables:
            return match.group()
        return str(variables[match.group(1)])

    return _VARIABLE.sub(value, template)


_OPERATORS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Mod: operator.mod,
    ast.Div: lambda a, b: int(a / b),  # pgbench divides integers toward zero
}


def evaluate(expression: str, variables: dict[str, Any], rng: random.Random) -> int:
    """The integer subset of pgbench's expressions this bench uses: integers, `:variables`, + - * / % and
    random(lower, upper) (both included)."""

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return int(variables[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "random":
            lower, upper = (value(argument) for argument in node.args)
            return rng.randint(lower, upper)
        raise ValueError(f"not a pgbench expression this bench knows: {expression}")

    return value(ast.parse(expression.replace(":", ""), mode="eval").body)


class ScriptDrift(Exception):
    """The two recordings cannot be one script: they took different paths, or a literal varies for no known reason."""


def script_from_recordings(
    name: str,
    first: Sequence[RecordedRoundTrip],
    second: Sequence[RecordedRoundTrip],
    inputs: Iterable[Input],
) -> Script:
    inputs = list(inputs)
    if len(first) != len(second):
        raise ScriptDrift(f"{name}: {len(first)} round trips in one recording, {len(second)} in the other")
    for round_trip in (*first, *second):
        if round_trip.error or round_trip.extended:
            raise ScriptDrift(f"{name}: a recorded round trip failed or used the extended protocol: {round_trip}")
    candidates = [
        _Candidate(
            variable.reads,
            fill(variable.reads, {variable.name: variable.recorded[0]}),
            fill(variable.reads, {variable.name: variable.recorded[1]}),
            number=variable.reads == f":{variable.name}",
        )
        for variable in inputs
        if variable.recorded is not None
    ]
    script = Script(name, inputs, [])
    used: set[str] = set()
    for n, (one, other) in enumerate(zip(first, second, strict=True), start=1):
        mine, theirs = tokens(one.text), tokens(other.text)
        if [token.kind for token in mine] != [token.kind for token in theirs]:
            raise ScriptDrift(f"{name}, round trip {n}: the recordings differ in shape:\n{one.text}\n{other.text}")
        templated = []
        for a, b in zip(mine, theirs, strict=True):
            if a.text == b.text:
                templated.append(a.text)
            elif a.kind not in ("string", "number"):
                raise ScriptDrift(f"{name}, round trip {n}: {a.text!r} vs {b.text!r} outside a literal")
            else:
                templated.append(_explain(name, n, a, b, candidates, script.kept, used))
        script.round_trips.append(RoundTrip(statements("".join(templated))))
        candidates += _returned(one, other, f"r{n}_")
    # Only what a later round trip reads is stored: \gset and the increments where their values are used.
    for n, round_trip in enumerate(script.round_trips, start=1):
        prefix = f"r{n}_"
        if any(variable.startswith(prefix) for variable in used):
            round_trip.gset = prefix
            round_trip.increments = sorted(v for v in used if v.startswith(prefix) and v.endswith("_next"))
    _check_no_stray_variables(script, first, used)
    return script


def _returned(one: RecordedRoundTrip, other: RecordedRoundTrip, prefix: str) -> list[_Candidate]:
    """What a round trip returned, as later literals may read it: only its last result (what `\\gset` stores), and
    only when it is one row in both recordings."""
    if not one.answers or not other.answers:
        return []
    a, b = one.answers[-1], other.answers[-1]
    if len(a.rows) != 1 or len(b.rows) != 1 or a.columns != b.columns:
        return []
    found = []
    for (column, type_oid), x, y in zip(a.columns, a.rows[0], b.rows[0], strict=True):
        if x is None or y is None or x == y:
            continue
        placeholder = f":{prefix}{column}"
        for first, second in _renderings(type_oid, x, y):
            found.append(_Candidate(placeholder, first, second, number=type_oid in _INTEGERS | _FLOATS))
        if type_oid in _INTEGERS:
            found.append(_Candidate(f"{placeholder}_next", str(int(x) + 1), str(int(y) + 1), number=True))
    return found


def _renderings(type_oid: int, x: str, y: str) -> list[tuple[str, str]]:
    """How the service writes a value the server returned as text: psycopg2 floats by repr and times in ISO form with
    a T; pydantic's JSON (a stored response) times in UTC with a Z."""
    found = [(x, y)]
    if type_oid in _FLOATS:
        found.append((repr(float(x)), repr(float(y))))
    if type_oid in _TIMESTAMPS:
        iso = datetime.fromisoformat(x).isoformat(), datetime.fromisoformat(y).isoformat()
        found.append(iso)
        found.append((iso[0].replace("+00:00", "Z"), iso[1].replace("+00:00", "Z")))
    return found


def _explain(
    name: str, n: int, a: Token, b: Token, candidates: list[_Candidate], kept: list[str], used: set[str]
) -> str:
    """The literal `a` (first recording) with each varying part replaced by its placeholder, the same way `b`
    (second recording) reads; or ScriptDrift."""
    if a.kind == "number":
        for candidate in candidates:
            if candidate.number and (candidate.first, candidate.second) == (a.text, b.text):
                used.add(candidate.placeholder.lstrip(":"))
                return candidate.placeholder
        raise ScriptDrift(f"{name}, round trip {n}: nothing explains the number {a.text} vs {b.text}")
    mine, theirs = a.text, b.text
    applied = []
    # Longest first, so that a timestamp is replaced before the date inside it.
    for candidate in sorted(candidates, key=lambda c: -max(len(c.first), len(c.second))):
        if _occurs(candidate.first, mine) and _occurs(candidate.second, theirs):
            marker = _marker(len(applied))
            mine = _replace(candidate.first, marker, mine)
            theirs = _replace(candidate.second, marker, theirs)
            applied.append(candidate)
    if mine != theirs:
        masked_mine, masked_theirs = _CLOCK_OR_ID.sub("\x01", mine), _CLOCK_OR_ID.sub("\x01", theirs)
        if masked_mine != masked_theirs:
            raise ScriptDrift(f"{name}, round trip {n}: nothing explains the literal\n{a.text}\nvs\n{b.text}")
        for match in _CLOCK_OR_ID.findall(mine):
            if match in _CLOCK_OR_ID.findall(theirs):
                continue
            # A clock reading kept as recorded must not be a returned time written some other way.
            if _moment(match) is not None and any(_moment(c.first) == _moment(match) for c in candidates):
                raise ScriptDrift(f"{name}, round trip {n}: {match} is a returned value in a form not known here")
            kept.append(match)
    for index, candidate in enumerate(applied):
        if _marker(index) in mine:
            used.add(candidate.placeholder.lstrip(":"))
            mine = mine.replace(_marker(index), candidate.placeholder)
    return mine


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _marker(index: int) -> str:
    """Where a candidate was found, while the others are looked for: a private-use character, no word or digit."""
    return chr(0xE000 + index)


def _bounded(value: str) -> re.Pattern[str]:
    # Not inside a longer word, number or date: 'scale-user-1' is not in 'scale-user-12', 7 is not in 7.5 or 2007.
    return re.compile(rf"(?<![\w.:-]){re.escape(value)}(?![\w.:-])")


def _occurs(value: str, text: str) -> bool:
    return bool(value) and _bounded(value).search(text) is not None


def _replace(value: str, marker: str, text: str) -> str:
    return _bounded(value).sub(lambda _: marker, text)


def _check_no_stray_variables(script: Script, recorded: Sequence[RecordedRoundTrip], used: set[str]) -> None:
    """No recorded text reads as a variable pgbench would replace (a `:name` that happens to be one): only the
    placeholders put there may."""
    defined = {variable.name for variable in script.inputs} | used | {"client_id", "scale", "random_seed"}
    for round_trip in recorded:
        for match in _VARIABLE.finditer(round_trip.text):
            if not match.group().startswith("::") and match.group(1) in defined:
                raise ScriptDrift(f"{script.name}: the recorded {match.group()} would be read as a variable")
