"""Where a transaction's database time goes, statement by statement: a script (bench/scripts.py) run through psycopg2
with auto_explain loaded for the session, which reports every statement's duration as a NOTICE, the statements that
triggers run included; averaged over many transactions on one connection.

A duration is the executor's, wall-clock: a statement's run with its triggers inside it, and so, for a statement that
calls a PL/pgSQL function, the planning of the function's own statements (run it again with generic plans to see how
much that is); not the parsing and planning of the top-level statement, nor the commit.
"""

from __future__ import annotations

import json
import random
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from bench.scripts import Script, statements

AUTO_EXPLAIN = (
    "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;"
    " SET auto_explain.log_level = notice; SET auto_explain.log_format = json; SET client_min_messages = notice"
)
_NOTICE = re.compile(r"duration: ([\d.]+) ms\s+plan:\s*(\{.*\})", re.DOTALL)


@dataclass
class Statement:
    """One statement of the script (or one a trigger of it ran: `nested`), its mean time per transaction."""

    round_trip: int
    label: str
    writes: tuple[str, ...]  # the tables it inserts into, updates or deletes from
    nested: bool
    total_ms: float = 0.0

    def mean_ms(self, transactions: int) -> float:
        return self.total_ms / transactions


@dataclass
class Breakdown:
    script: str
    transactions: int
    statements: list[Statement] = field(default_factory=list)  # each top-level one followed by those it ran

    def executed_ms(self) -> float:
        return sum(s.total_ms for s in self.statements if not s.nested) / self.transactions

    def writing_ms(self, table: str) -> float:
        """Mean time per transaction of the statements triggers ran that write `table`."""
        return sum(s.total_ms for s in self.statements if s.nested and table in s.writes) / self.transactions


def _writes(plan: dict[str, Any]) -> Iterator[str]:
    if plan.get("Node Type") == "ModifyTable":
        yield f"{plan['Relation Name']}"
    for child in plan.get("Plans", []):
        yield from _writes(child)


def _label(text: str, writes: tuple[str, ...]) -> str:
    first = " ".join(text.split())[:64]
    return f"{first}… (writes {', '.join(dict.fromkeys(writes))})" if writes else f"{first}…"


def measure(
    url: str, script: Script, transactions: int, variables: dict[str, Any], settings: str = "", seed: int = 1
) -> Breakdown:
    """`transactions` of `script` on one connection (with `settings` for its session), each statement's time."""
    result = Breakdown(script.name, transactions)
    index: dict[tuple[int, int, str, bool], Statement] = {}
    connection = psycopg2.connect(url)
    connection.autocommit = True
    connection.notices = deque()
    try:
        with connection.cursor() as cursor:
            cursor.execute(AUTO_EXPLAIN)
            if settings:
                cursor.execute(settings)
            connection.notices.clear()

            def collect(n: int, text: str) -> None:
                # The notices of one round trip: a top-level statement's after those its triggers ran.
                top = [s for s in statements(text) if not re.match(r"(?i)(BEGIN|COMMIT|ROLLBACK|SET)\b", s)]
                waiting: list[tuple[float, str, tuple[str, ...]]] = []
                position = 0
                while connection.notices:
                    found = _NOTICE.search(connection.notices.popleft())
                    if not found:
                        continue
                    plan = json.loads(found.group(2))
                    writes = tuple(_writes(plan["Plan"]))
                    if plan["Query Text"] != text:
                        waiting.append((float(found.group(1)), _label(plan["Query Text"], writes), writes))
                        continue
                    own = top[position] if position < len(top) else ""
                    entries = [(float(found.group(1)), _label(own, writes), writes, False)]
                    entries += [(ms, label, nested_writes, True) for ms, label, nested_writes in waiting]
                    for ms, label, entry_writes, nested in entries:
                        key = (n, position, label, nested)
                        if key not in index:
                            index[key] = Statement(n, label, entry_writes, nested)
                            result.statements.append(index[key])
                        index[key].total_ms += ms
                    waiting = []
                    position += 1

            rng = random.Random(seed)
            for _ in range(transactions):
                script.run_once(cursor, variables, rng, collect)
    finally:
        connection.close()
    return result


def print_breakdowns(usual: Breakdown, generic: Breakdown) -> None:
    """Both runs of a script, statement by statement: as the service runs it, and with generic plans."""
    n = usual.transactions
    print(
        f"\n{usual.script}: each statement's executor time (auto_explain; mean per transaction of {n}, on one"
        " connection; wall-clock, so compare the rows with each other, not with the CPU above)"
    )
    print(f"{'':<118} {'as it runs':>10} {'generic plans':>14}")
    theirs = {(s.round_trip, s.label, s.nested): s for s in generic.statements}
    for statement in usual.statements:
        indent = "      in a trigger: " if statement.nested else f"  round trip {statement.round_trip}: "
        other = theirs.get((statement.round_trip, statement.label, statement.nested))
        generic_us = f"{other.mean_ms(generic.transactions) * 1000:11.0f} µs" if other else ""
        print(f"{indent}{statement.label:<96.96} {statement.mean_ms(n) * 1000:8.0f} µs {generic_us}")
    print(
        f"  {'the statements in all (the top-level ones: their triggers run inside them)':<116}"
        f" {usual.executed_ms() * 1000:8.0f} µs {generic.executed_ms() * 1000:11.0f} µs"
    )
