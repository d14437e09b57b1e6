"""The resilience suite's and the soak's verdict can fail: it finds a lost write, a write stored twice, and a write
that is there exactly once passes (the positive control)."""

from __future__ import annotations

import uuid

from localdev.load import Ack, Ledger, verify
from progress_tracking.store import appending


def test_the_verdict_tells_a_kept_write_from_a_lost_and_a_doubled_one(database, database_url):
    user = f"verdict-{uuid.uuid4().hex[:8]}"
    change = appending.Change(actor="t", request_id="req-kept")
    marker = f"kept-{uuid.uuid4().hex}"
    kept = database.run(
        lambda c: appending.log_new(c, user, {"date": "2026-01-01", "weight_kg": 80.0, "notes": marker}, change)
    )
    ledger = Ledger(acks=[Ack("POST log", "req-kept", kept.log_id, 1, marker)])
    assert verify(database_url, ledger, [user]).ok

    ledger.acks.append(Ack("POST log", "req-lost", kept.log_id + 10**9, 1, f"lost-{uuid.uuid4().hex}"))
    verdict = verify(database_url, ledger, [user])
    assert not verdict.ok and len(verdict.lost_writes) == 1 and verdict.duplicated_writes == []

    # The same content stored twice under another log: the acknowledged write is no longer there exactly once.
    database.run(
        lambda c: appending.log_new(c, user, {"date": "2026-01-02", "weight_kg": 81.0, "notes": marker}, change)
    )
    verdict = verify(database_url, Ledger(acks=[ledger.acks[0]]), [user])
    assert verdict.duplicated_writes and verdict.lost_writes == []
