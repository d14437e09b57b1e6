"""Weights in kilograms or pounds: the conversion, and an answer's weights in the units a read asked for.

Every weight is stored in kg (summaries, series and goals compute in kg whatever a log was entered in). A log also
keeps the pounds it was entered in (`weight_lb`, an exact decimal): a weight is answered exactly as entered in its own
unit, and converted, rounded to 2 decimals (10 g, 0.01 lb: finer than any scale), in the other.

`metric` answers are what the API has always answered: the `*_kg` fields. `imperial` answers carry the same weights
under `*_lb` names instead (`weight_lb`, `target_weight_lb`, `min_weight_lb`, `trend_lb_per_week`, ...), and
`average_weight` (a name without a unit, kept from the first version) in pounds.
"""

from __future__ import annotations

from typing import Any, Literal

from progress_tracking.values import rounded

Units = Literal["metric", "imperial"]
KG_PER_POUND = 0.45359237  # exact, by the international yard and pound agreement of 1959
DIGITS = 2

# The weight fields of the answers, and their names in pounds. A walk over an answer renames only these, so a user's
# own text (a workout kind is a key of the summary's `workouts`) is never taken for a weight.
_POUND_NAMES = {
    "weight_kg": "weight_lb",
    "target_weight_kg": "target_weight_lb",
    "latest_weight_kg": "latest_weight_lb",
    "weight_change_kg": "weight_change_lb",
    "min_weight_kg": "min_weight_lb",
    "max_weight_kg": "max_weight_lb",
    "average_weight_kg": "average_weight_lb",
    "start_weight_kg": "start_weight_lb",
    "current_weight_kg": "current_weight_lb",
    "remaining_kg": "remaining_lb",
    "trend_kg_per_week": "trend_lb_per_week",
    "average_weight": "average_weight",
}
_USERS_KEYS = frozenset({"workouts"})  # dicts whose keys are the user's text: never walked


def kilograms(pounds: float) -> float:
    return pounds * KG_PER_POUND


def pounds(kilograms: float) -> float:
    return rounded(kilograms / KG_PER_POUND, DIGITS)


def in_units(answer: Any, units: Units) -> Any:
    """`answer` (a JSON-ready dict, as a model dumps it) with its weights in `units`."""
    if isinstance(answer, list):
        return [in_units(item, units) for item in answer]
    if not isinstance(answer, dict):
        return answer
    entered_lb = answer.get("weight_lb")  # a log (or a log's state in an event) entered in pounds
    shown: dict[str, Any] = {}
    for key, value in answer.items():
        if key == "weight_lb":
            continue  # the stored form's field: answered as `weight_kg` or `weight_lb` below, per units
        if key in _USERS_KEYS:
            shown[key] = value
        elif key == "weight_kg" and entered_lb is not None:
            shown.update({"weight_lb": entered_lb} if units == "imperial" else {key: rounded(value, DIGITS)})
        elif units == "imperial" and key in _POUND_NAMES:
            shown[_POUND_NAMES[key]] = value if value is None else pounds(value)
        else:
            shown[key] = in_units(value, units)
    return shown


def entered_in(weight_unit: str | None) -> Units:
    """The units a write answers a log in: those its weight was entered in (a log without a weight: metric)."""
    return "imperial" if weight_unit == "lb" else "metric"


def unit_of(weight_kg: float | None, weight_lb: float | None) -> Literal["kg", "lb"] | None:
    """The unit a stored weight was entered in: lb when its pounds are kept, kg otherwise; None without a weight."""
    if weight_lb is not None:
        return "lb"
    return None if weight_kg is None else "kg"
