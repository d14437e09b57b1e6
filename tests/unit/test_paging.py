"""Paging: a page ends by count or by bytes, whichever comes first, and its cursor says where the next begins."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest
from pydantic import BaseModel

from progress_tracking import paging
from progress_tracking.errors import InvalidCursor
from progress_tracking.response_size import ITEMS_BUDGET_BYTES, body_text, invoke_bytes


def cursor_of(position: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


class Item(BaseModel):
    text: str


def item_of(cost: int) -> Item:
    """An item that costs exactly `cost` bytes of the invoke response."""
    empty = invoke_bytes(body_text({"text": ""}))
    return Item(text="x" * (cost - empty))


def test_a_page_ends_at_its_limit_when_its_items_are_small():
    items = [Item(text=str(n)) for n in range(11)]
    assert paging.fit(items, 10) == (items[:10], True)
    assert paging.fit(items, 11) == (items, False)
    assert paging.fit(items[:3], 10) == (items[:3], False)
    assert paging.fit([], 10) == ([], False)


def test_a_page_ends_before_the_item_that_would_pass_the_budget():
    # Three items and the two commas between them fill the budget to the byte: they fit, a fourth does not.
    third = (ITEMS_BUDGET_BYTES - 2) // 3
    items = [item_of(third), item_of(third), item_of(ITEMS_BUDGET_BYTES - 2 - 2 * third), item_of(100)]
    assert paging.fit(items, 1000) == (items[:3], True)
    assert paging.fit(items[:3], 1000) == (items[:3], False)
    # One byte more in the third item and the page ends before it.
    items[2] = item_of(ITEMS_BUDGET_BYTES - 2 - 2 * third + 1)
    assert paging.fit(items, 1000) == (items[:2], True)


def test_escaped_characters_count_as_the_invoke_response_counts_them():
    # 2,000 quotes cost 8,000 bytes (escaped in the body, and again around it); as many x's cost 2,000.
    quotes, plain = Item(text='"' * 2000), Item(text="x" * 2000)
    assert invoke_bytes(body_text(quotes.model_dump())) - invoke_bytes(body_text(plain.model_dump())) == 6000
    cost = invoke_bytes(body_text(quotes.model_dump()))
    per_page = (ITEMS_BUDGET_BYTES + 1) // (cost + 1)  # n items and the n - 1 commas between them
    page, more = paging.fit([quotes] * 1000, 1000)
    assert more and len(page) == per_page
    assert paging.fit([plain] * 1000, 1000) == ([plain] * 1000, False)  # the same count of plain text fits


def test_a_page_always_holds_its_first_item_however_large():
    items = [item_of(ITEMS_BUDGET_BYTES + 1), item_of(10)]
    assert paging.fit(items, 1000) == (items[:1], True)
    assert paging.fit(items[:1], 1000) == (items[:1], False)


def test_list_cursors_round_trip_and_tampered_ones_are_refused():
    cursor = paging.list_cursor(date(2026, 1, 2), 42)
    assert paging.after_in_list(cursor) == (date(2026, 1, 2), 42)
    assert cursor == "WyIyMDI2LTAxLTAyIiw0Ml0"  # the form list cursors have always had: clients may hold some
    for bad in ["", "!!!", "bm90IGpzb24", paging.list_cursor(date(2026, 1, 2), 0), "WyIyMDI2LTAxLTAyIiwidHJ1ZSJd"]:
        with pytest.raises(InvalidCursor):
            paging.after_in_list(bad)


@pytest.mark.parametrize("history", ["log_history", "goal_history"])
def test_history_cursors_round_trip_and_belong_to_their_history(history):
    cursor = paging.history_cursor(history, 7)
    assert paging.after_in_history(history, cursor) == 7
    other = "goal_history" if history == "log_history" else "log_history"
    # A cursor of another history, or of the list, is not one of this history (and this one is not a list's).
    for foreign in [paging.history_cursor(other, 7), paging.list_cursor(date(2026, 1, 2), 7)]:
        with pytest.raises(InvalidCursor):
            paging.after_in_history(history, foreign)
    with pytest.raises(InvalidCursor):
        paging.after_in_list(cursor)


@pytest.mark.parametrize("version", [0, -1, 2**31, True, "7", 7.0, None])
def test_a_history_cursor_names_a_version_a_history_can_have(version):
    with pytest.raises(InvalidCursor):
        paging.after_in_history("log_history", cursor_of(["log_history", version]))
    assert paging.after_in_history("log_history", cursor_of(["log_history", 2**31 - 1])) == 2**31 - 1
