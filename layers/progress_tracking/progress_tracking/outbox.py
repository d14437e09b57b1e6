"""The outbox: committed changes leave as domain events through a relay that follows the event log.

No write waits on EventBridge: the event log itself is the outbox. Every event carries its user's stream position,
taken under the user's lock (per user, commit order), and a `release_tx`: the greatest transaction id among its own
and its user's earlier events' (migration 0013). The relay reads the log in (release_tx, stream position) order, only
what was released below the xid8 horizon, from its own checkpoint: each user's events leave in stream order, within
and across batches (an event waits while an earlier one of its user is committed but not yet below the horizon), and
a transaction that commits late is never skipped. Each batch is one transaction: read, publish (PutEvents, ≤ 10
entries and ≤ 256 KB a request, failed entries retried), then move the checkpoint. A relay killed before the commit
publishes the batch again next time (at least once; every entry carries the event's stable id), and the checkpoint
never passes an entry that failed.

Erasure: the erasure's transaction writes a tombstone (`erasure_tombstones`, with the user's next stream position),
published as `UserProgressErased` in the user's order. A batch read just before an erasure commits must not publish
the erased user's events after it: the erasure takes the user's *gate* (an advisory lock) exclusively, and the relay
takes the gates of its batch's users shared, then re-reads which of its events still exist, and holds the gates until
it commits. So either the erasure committed first (the events are gone and dropped) or it waits for the relay's commit
(they were published before it). Writers never take a gate, so they never wait for EventBridge; an erasure waits at
most for one batch in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from progress_tracking import domain_events
from progress_tracking.db import Cursor, Database, one_row
from progress_tracking.observability import logger
from progress_tracking.store import checkpoints, lag, relay_log
from progress_tracking.store.statements import statement

CHECKPOINT = "outbox"
# Tombstones are deleted once every checkpoint named like this has passed them.
CHECKPOINT_PREFIX = "outbox"
# Two-key advisory locks (a key space apart from the single bigint keys of the migration and the recompute).
RELAY_LOCK_CLASS = 7_146_251  # (class, hashtext(checkpoint name)): one relay per checkpoint at a time
BATCH_SIZE = 100
MAX_ENTRIES_PER_REQUEST = 10
MAX_REQUEST_BYTES = 256 * 1024
ATTEMPTS = 4  # per request: the first try and three retries of the entries that failed
BACKOFF_SECONDS = 0.2
SAFETY_MARGIN_MS = 15_000


class PutEventsClient(Protocol):
    """What the relay needs of the EventBridge client (boto3's, or the local app's sink)."""

    def put_events(self, *, Entries: list[dict[str, Any]]) -> Mapping[str, Any]: ...  # noqa: N803 - boto3's name


@dataclass(frozen=True)
class OutboxEvent:
    checkpoint: checkpoints.Checkpoint  # (release_tx, stream position)
    position: int  # in the event log: the event's id
    user_id: str
    detail_type: str
    detail: dict[str, Any]
    from_log: bool  # an event of progress_events (False: an erasure's tombstone)


def events_after(cursor: Cursor, checkpoint: checkpoints.Checkpoint, limit: int) -> list[OutboxEvent]:
    """The next events and tombstones after `checkpoint`, merged in (release_tx, stream position) order.

    Only rows released below the horizon are read, every transaction up to their release_tx having ended: a row
    committed later has a release_tx at or above that horizon, so it sorts after everything returned here and can
    never be skipped, although positions are handed out before commit; and a user's earlier events, whose
    transactions are at most that release_tx, are all readable too, and sort before."""
    found = []
    for (
        release_tx,
        stream_position,
        position,
        user_id,
        log_id,
        version,
        event_type,
        data,
        request_id,
        occurred_at,
    ) in relay_log.rows_after(cursor, checkpoint, limit):
        if event_type == "erased":
            detail_type = domain_events.USER_PROGRESS_ERASED
            detail = domain_events.erased_detail(position=position, user_id=user_id, stream_position=stream_position)
        else:
            detail_type = domain_events.DETAIL_TYPES[event_type]
            detail = domain_events.progress_detail(
                position=position,
                stream_position=stream_position,
                log_id=log_id,
                user_id=user_id,
                version=version,
                data=data,
                request_id=request_id,
                occurred_at=occurred_at,
            )
        found.append(
            OutboxEvent(
                checkpoints.Checkpoint(release_tx, stream_position),
                position,
                user_id,
                detail_type,
                detail,
                from_log=event_type != "erased",
            )
        )
    return found


def requests(entries: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The entries in order, cut into PutEvents requests of at most 10 entries and 256 KB."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = domain_events.entry_size(entry)
        if entry_size > MAX_REQUEST_BYTES:  # cannot happen within the API's bounds; never skipped silently
            raise ValueError(f"A domain event of {entry_size} bytes is over EventBridge's limit")
        if chunk and (len(chunk) == MAX_ENTRIES_PER_REQUEST or size + entry_size > MAX_REQUEST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        yield chunk


def _failed(client: PutEventsClient, entries: list[dict[str, Any]]) -> list[int]:
    """Indexes of the entries EventBridge did not take (all of them when the call itself failed)."""
    try:
        response = client.put_events(Entries=entries)
    except Exception as exc:  # the SDK has retried already; the relay retries once more, then stops
        logger.warning("PutEvents failed", extra={"error": type(exc).__name__})
        return list(range(len(entries)))
    results = list(response.get("Entries") or [])
    if len(results) != len(entries):
        return list(range(len(entries)))
    return [index for index, result in enumerate(results) if result.get("ErrorCode") or not result.get("EventId")]


def publish(client: PutEventsClient, entries: list[dict[str, Any]], sleep: Callable[[float], None]) -> int:
    """Publish entries in order, retrying failed ones; the number of leading entries that are published (all of them,
    unless some still failed after the last attempt: the relay's checkpoint stops before the first of those)."""
    published = 0
    for chunk in requests(entries):
        pending = list(range(len(chunk)))
        for attempt in range(ATTEMPTS):
            if attempt:
                sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            still = _failed(client, [chunk[index] for index in pending])
            if still:
                logger.warning("Domain events not accepted", extra={"attempt": attempt + 1, "failed": len(still)})
            pending = [pending[index] for index in still]
            if not pending:
                break
        if pending:
            return published + pending[0]
        published += len(chunk)
    return published


@dataclass
class RelayReport:
    batches: int = 0
    events: int = 0  # read from the log
    published: int = 0
    dropped: int = 0  # read, but erased before they could be published
    failed: int = 0  # left for the next run: the first entry still refused after every attempt, and those after it
    finished: bool = False
    busy: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


@dataclass(frozen=True)
class _Batch:
    events: int
    published: int
    dropped: int
    failed: int


def relay(
    database: Database,
    client: PutEventsClient,
    bus_name: str,
    remaining_ms: Callable[[], int],
    *,
    name: str = CHECKPOINT,
    batch_size: int = BATCH_SIZE,
    follow_seconds: float = 0,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RelayReport:
    """Publish every event after the checkpoint, batch by batch; with `follow_seconds`, keep polling that long."""
    report = RelayReport()
    follow_until = time.monotonic() + follow_seconds
    while remaining_ms() > SAFETY_MARGIN_MS:
        outcome = database.run(lambda cursor: _batch(cursor, client, bus_name, name, batch_size, sleep))
        if outcome is None:
            report.busy = True
            break
        report.batches += 1
        report.events += outcome.events
        report.published += outcome.published
        report.dropped += outcome.dropped
        report.failed += outcome.failed
        if outcome.failed:
            break
        if outcome.events < batch_size:
            report.finished = True
            if time.monotonic() >= follow_until:
                break
            sleep(poll_seconds)
    if report.events or report.busy:
        logger.info("Domain events relayed", extra=report.as_dict())
    else:
        logger.debug("Domain events relayed", extra=report.as_dict())
    return report


def _batch(
    cursor: Cursor, client: PutEventsClient, bus_name: str, name: str, batch_size: int, sleep: Callable[[float], None]
) -> _Batch | None:
    cursor.execute(statement("try_relay_lock"), {"lock_class": RELAY_LOCK_CLASS, "name": name})
    if not one_row(cursor)[0]:
        return None
    checkpoint = checkpoints.read_checkpoint(cursor, name)
    read = events_after(cursor, checkpoint, batch_size)
    if not read:
        return _Batch(0, 0, 0, 0)
    gone = relay_log.erased_meanwhile(cursor, [(event.user_id, event.position) for event in read if event.from_log])
    kept = [event for event in read if not (event.from_log and event.position in gone)]
    entries = [domain_events.entry(event.detail_type, event.detail, bus_name) for event in kept]
    published = publish(client, entries, sleep)
    if published < len(kept):  # stop before the first entry that failed: everything earlier is done
        first_failed = kept[published].checkpoint
        passed = [event.checkpoint for event in read if event.checkpoint < first_failed]
        new_checkpoint = passed[-1] if passed else checkpoint
    else:
        new_checkpoint = read[-1].checkpoint
    if new_checkpoint != checkpoint:
        checkpoints.save_checkpoint(cursor, name, new_checkpoint, datetime.now(UTC))
        relay_log.forget_published_tombstones(cursor, CHECKPOINT_PREFIX)
    return _Batch(len(read), published, len(read) - len(kept), len(kept) - published)


def seconds_behind(database: Database, name: str = CHECKPOINT) -> float:
    """How long the oldest committed event the relay has not published yet has waited (0: none waits); the deployed
    relay writes it after every run, RelayLag (store.lag)."""
    return database.run(lambda cursor: lag.relay_seconds_behind(cursor, checkpoints.read_checkpoint(cursor, name)))


def start_at_end(database: Database, name: str, *, restart: bool = False) -> checkpoints.Checkpoint:
    """Give a relay that has never run (or any, with `restart`) a checkpoint at the end of the log, below the horizon,
    so it publishes only what happens from now on (the local app's sink, tests). Never used for the deployed relay."""

    def work(cursor: Cursor) -> checkpoints.Checkpoint:
        cursor.execute(statement("checkpoint_exists"), {"name": name})
        if restart or cursor.fetchone() is None:
            end = checkpoints.START
            while batch := events_after(cursor, end, 10_000):
                end = batch[-1].checkpoint
            checkpoints.save_checkpoint(cursor, name, end, datetime.now(UTC))
        return checkpoints.read_checkpoint(cursor, name)

    return database.run(work)
