"""The upsert's models: a batch of a user's logs, each item's outcome, and a single POST's answer when it carried a
client record id and did not create a log."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from progress_tracking.models.fields import BODY_CONFIG, UserId
from progress_tracking.models.log import LogItem, ProgressLog

MAX_BATCH_ITEMS = 500
# A batch's body: 500 logs with a short note each fit in a quarter of it; one with long notes on every item may not
# (a 413 naming this bound: send fewer logs). Far below API Gateway's 10 MB and Lambda's 6 MB.
BATCH_MAX_BODY_BYTES = 1024 * 1024
# created: a new log; updated / restored: a higher client version replaced a live / deleted log's fields;
# unchanged: an equal or lower client version, nothing written (the log as it is, `deleted` if it is a deleted one).
Outcome = Literal["created", "updated", "restored", "unchanged"]


class LogsBatch(BaseModel):
    """Body of POST /api/progress/logs/batch: up to 500 logs of one user, all written or none. Every bad item is
    listed in the 400's details by its place (`logs.3.weight_kg`); an item naming the same source and client record
    id as an earlier one is refused (one record cannot take two states in one write)."""

    model_config = BODY_CONFIG

    user_id: UserId
    logs: Annotated[list[LogItem], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]

    def repeated_ids(self) -> list[dict[str, str]]:
        """A 400's details for every item naming a (source, client_record_id) an earlier item of the batch names:
        one record cannot take two states in one write."""
        first_index: dict[tuple[str, str], int] = {}
        problems = []
        for index, item in enumerate(self.logs):
            if item.client_record_id is None:
                continue
            name = (item.source, item.client_record_id)
            if name in first_index:
                problems.append(
                    {
                        "field": f"logs.{index}.client_record_id",
                        "message": f"the same source and client_record_id as logs.{first_index[name]}",
                    }
                )
            else:
                first_index[name] = index
        return problems


class Upserted(BaseModel):
    """One item's outcome with its log as it is after the write (or as it was, unchanged). What the store answers,
    and what an Idempotency-Key keeps for a replay."""

    index: int
    outcome: Outcome
    deleted: bool  # an unchanged item whose log is deleted: its id stays reserved
    log: ProgressLog


class BatchItemResult(BaseModel):
    index: int  # the item's place in `logs`, from 0
    outcome: Outcome
    log_id: int
    version: int
    deleted: bool


class LogsUpserted(BaseModel):
    message: str = "Logs upserted"
    user_id: str
    results: list[BatchItemResult]  # in the order of the request's `logs`

    @classmethod
    def of(cls, user_id: str, items: list[Upserted]) -> LogsUpserted:
        return cls(
            user_id=user_id,
            results=[
                BatchItemResult(
                    index=item.index,
                    outcome=item.outcome,
                    log_id=item.log.log_id,
                    version=item.log.version,
                    deleted=item.deleted,
                )
                for item in items
            ],
        )


class LogUpserted(BaseModel):
    """A POST with a client record id that did not create a log: 200 with the log as the write left it."""

    message: str
    id: int
    outcome: Outcome
    deleted: bool
    log: ProgressLog

    @classmethod
    def of(cls, outcome: Outcome, deleted: bool, log: ProgressLog) -> LogUpserted:
        messages = {
            "updated": "Progress log updated to the client's newer version",
            "restored": "Progress log restored at the client's newer version",
            "unchanged": "The log already has this client version or a newer one; nothing was written",
        }
        return cls(message=messages[outcome], id=log.log_id, outcome=outcome, deleted=deleted, log=log)
