"""What a response costs against Lambda's limit is what the runtime writes, and the summary's workouts stay bounded."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from localdev.gateway import invoke_response_bytes
from localdev.template import read_template
from progress_tracking import summary_figures
from progress_tracking.api_edge import model_response
from progress_tracking.models.facts import SummaryFacts
from progress_tracking.models.summary import MAX_WORKOUT_KINDS
from progress_tracking.response_size import RESPONSE_BUDGET_BYTES, body_text, invoke_bytes
from tests.helpers import ROOT

EMPTY = invoke_response_bytes({"body": ""})
values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def test_the_functions_run_on_a_runtime_that_writes_non_ascii_as_it_is():
    # The cost is measured as the python3.12 runtime writes the invoke response (its marshaller's ensure_ascii=False);
    # python3.11 and earlier escape non-ASCII (an emoji costs 12 bytes, not 4): the budget would need measuring again.
    runtime = read_template(ROOT / "template.yaml")["Globals"]["Function"]["Runtime"]
    assert runtime in ("python3.12", "python3.13")


@given(values)
def test_a_bodys_cost_is_what_it_adds_to_the_invoke_response(value):
    text = body_text(value)
    assert invoke_bytes(text) == invoke_response_bytes({"body": text}) - EMPTY


@given(st.lists(values, min_size=1, max_size=5))
def test_a_pages_cost_is_the_sum_of_its_items_costs_and_the_commas(items):
    # Escaping goes character by character: what paging adds up item by item is what the page costs.
    inside = sum(invoke_bytes(body_text(item)) for item in items) + len(items) - 1
    assert invoke_bytes(body_text(items)) == inside + invoke_bytes("[]")


def test_a_summary_names_the_most_logged_workouts_however_many_kinds_were_logged():
    # 100,000 kinds at the bound of 200 characters, in the costliest ones (80 MB as Lambda counts them).
    kinds = {'"' * 194 + f"{n:06d}": 1 + n % 7 for n in range(100_000)}
    facts = SummaryFacts(
        log_count=sum(kinds.values()),
        first_date=date(2020, 1, 1),
        last_date=date(2026, 1, 1),
        average_weight=None,
        min_weight=None,
        max_weight=None,
        first_weight=None,
        latest_weight=None,
        average_calories=None,
        total_calories=0,
        workouts=kinds,
        longest_streak=1,
        last_streak=1,
    )
    summary = summary_figures.summary_from_facts("u", facts, date(2026, 1, 2))
    most = sorted(kinds.items(), key=lambda kind: (-kind[1], kind[0]))[:MAX_WORKOUT_KINDS]
    assert summary.workouts == dict(most) and all(count == 7 for _, count in most)
    assert summary.workout_kinds == 100_000
    assert summary.other_workouts == sum(kinds.values()) - 7 * MAX_WORKOUT_KINDS
    size = invoke_response_bytes(model_response(200, summary))
    assert size <= RESPONSE_BUDGET_BYTES
    # The control: every kind would not fit.
    assert invoke_bytes(body_text(kinds)) > 10 * RESPONSE_BUDGET_BYTES


def test_a_summary_with_few_kinds_names_them_all():
    facts = SummaryFacts(
        log_count=3,
        first_date=date(2026, 1, 1),
        last_date=date(2026, 1, 3),
        average_weight=None,
        min_weight=None,
        max_weight=None,
        first_weight=None,
        latest_weight=None,
        average_calories=None,
        total_calories=0,
        workouts={"yoga": 1, "run": 2},
        longest_streak=3,
        last_streak=3,
    )
    summary = summary_figures.summary_from_facts("u", facts, date(2026, 1, 3))
    assert summary.workouts == {"run": 2, "yoga": 1}
    assert (summary.workout_kinds, summary.other_workouts) == (2, 0)
