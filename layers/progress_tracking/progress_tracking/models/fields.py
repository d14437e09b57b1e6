"""The fields' rules and bounds: every type a request or response model is built from, written down once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter

EARLIEST_DATE = date(1900, 1, 1)
# The literal path words that win over {user_id} in the routes (as in API Gateway): such a user could never list.
RESERVED_USER_IDS = frozenset({"log", "logs", "summary", "user", "goals", "series", "changes", "export", "import"})
# A target date may be a day behind UTC (users west of UTC) and at most about ten years ahead.
TARGET_DATE_HORIZON = timedelta(days=3660)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A number first-version clients send as a JSON string: digits, optionally signed, with an optional fraction.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")


def _iso_date(value: Any) -> Any:
    """A date is `YYYY-MM-DD` and nothing else (no Unix timestamps, no times): parsed here, whatever the mode."""
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("a date is YYYY-MM-DD")
        return date.fromisoformat(value)  # ValueError for 2026-02-30
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("a date is a YYYY-MM-DD string")


def _decimal_string(value: Any) -> Any:
    """`"71"` and `"71.5"` are numbers (first-version clients send them so); any other string is not."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError("must be a number (a string holding a plain decimal number is accepted)")
        return float(value)
    return value


def _unsigned_zero(value: float) -> float:
    return 0.0 if value == 0 else value  # -0.0 is stored and answered as 0


def _has_a_visible_character(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def reserved_word(value: str) -> str:
    return f"{value!r} is a reserved word of the API's paths and cannot be a user id"


def _not_reserved(value: str) -> str:
    if value in RESERVED_USER_IDS:
        raise ValueError(reserved_word(value))
    return value


def _not_after_tomorrow(value: date) -> date:
    # "Tomorrow" in UTC leaves room for users whose local day is ahead of UTC.
    if value > datetime.now(UTC).date() + timedelta(days=1):
        raise ValueError("date must not be later than tomorrow")
    if value < EARLIEST_DATE:
        raise ValueError(f"date must not be earlier than {EARLIEST_DATE.isoformat()}")
    return value


def _target_date_ahead(value: date) -> date:
    today = datetime.now(UTC).date()
    if value < today - timedelta(days=1):
        raise ValueError("target_date must not be in the past")
    if value > today + TARGET_DATE_HORIZON:
        raise ValueError("target_date must be within ten years")
    return value


# RFC 3339's date-time: a full date and time with its offset (`T` and `Z` may be lower case), nothing else: no Unix
# times (`0`, `-1`, `1767225600`), no date alone, no local time, no ISO 8601 forms RFC 3339 does not have.
_RFC_3339 = re.compile(
    r"""[0-9]{4}-[0-9]{2}-[0-9]{2}        # full-date
        [Tt]
        [0-9]{2}:[0-9]{2}:[0-9]{2}        # partial-time
        (\.[0-9]{1,9})?                   # time-secfrac
        ([Zz]|[+-][0-9]{2}:[0-9]{2})      # time-offset""",
    re.VERBOSE,
)


def _rfc_3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC_3339.fullmatch(value):
        return datetime.fromisoformat(value.upper())  # ValueError for 2026-02-30T00:00:00Z
    raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-11-27T12:00:00Z")


def _true_or_false(value: Any) -> Any:
    """A flag in a query string is `true` or `false`, written so: `yes`, `1` or `on` must not erase anything."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:00-05:00 is past datetime.max in UTC
        raise ValueError("time out of range") from exc


# Postgres text cannot hold NUL, and other control characters (C0, DEL and C1) have no business in one-line fields.
# U+FFFD is what undecodable bytes become: never part of a real id.
USER_ID_MAX_LENGTH = 128
USER_ID_RULE = f"1 to {USER_ID_MAX_LENGTH} printable characters"
UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=USER_ID_MAX_LENGTH, pattern=r"^[^\x00-\x1f\x7f-\x9f\ufffd]+$"),
    AfterValidator(_not_reserved),
]
# A log id: a positive 64-bit integer (Postgres bigint), written in a path or a cursor as plain decimal digits.
LOG_ID_RULE = "a positive 64-bit integer"
LogId = Annotated[int, Field(ge=1, le=2**63 - 1)]
_LOG_ID_DIGITS = re.compile(r"[1-9][0-9]{0,18}")  # no sign, leading zero, space or `_`; 19 digits hold any bigint
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
LogDate = Annotated[IsoDate, AfterValidator(_not_after_tomorrow)]
# Plausible human body weights, in kilograms: from a newborn's (about 2 kg) to just above the heaviest person on record
# (about 635 kg). A value outside is a typo or a unit mistake (grams, tonnes, 5e-324), never a body. In pounds, the same
# bounds converted and rounded inward to 2 decimals (4.41 lb = 2.0003 kg, 1433 lb = 649.998 kg), so that every weight
# accepted in pounds is one accepted in kilograms too; the errors name these round bounds.
MIN_BODY_WEIGHT_KG = 2.0
MAX_BODY_WEIGHT_KG = 650.0
MIN_BODY_WEIGHT_LB = 4.41
MAX_BODY_WEIGHT_LB = 1433.0

WeightKg = Annotated[float, Field(ge=MIN_BODY_WEIGHT_KG, le=MAX_BODY_WEIGHT_KG), BeforeValidator(_decimal_string)]
WeightLb = Annotated[float, Field(ge=MIN_BODY_WEIGHT_LB, le=MAX_BODY_WEIGHT_LB), BeforeValidator(_decimal_string)]
# Where a log came from: a short name the client chooses (`manual`, `health-connect`, `apple-health`, `withings`), and
# optionally the device, free text. A log that names no source is `manual` (values.DEFAULT_SOURCE).
SOURCE_RULE = "1 to 40 lowercase letters, digits or '-', starting with a letter or digit"
Source = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
Device = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"),
    AfterValidator(_has_a_visible_character),
]
CaloriesBurned = Annotated[
    float, Field(ge=0, le=100_000), BeforeValidator(_decimal_string), AfterValidator(_unsigned_zero)
]
WorkoutDone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"),
    AfterValidator(_has_a_visible_character),
]
Notes = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]
# A device's own id for a record (Health Connect's clientRecordId) and the version it raises on every edit
# (clientRecordVersion, a long): unique per user and source; a higher version updates, an equal or lower one is a no-op.
CLIENT_RECORD_ID_MAX_LENGTH = 100
ClientRecordId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CLIENT_RECORD_ID_MAX_LENGTH, pattern=r"^[^\x00-\x1f\x7f-\x9f\ufffd]+$"),
    AfterValidator(_has_a_visible_character),
]
ClientVersion = Annotated[int, Field(ge=0, le=2**63 - 1)]
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
TargetDate = Annotated[IsoDate, AfterValidator(_target_date_ahead)]
WeeklyWorkouts = Annotated[int, Field(ge=1, le=100)]
WeeklyCalories = Annotated[float, Field(gt=0, le=700_000)]
LATEST_SERIES_DATE = date(2999, 12, 31)


def _series_range(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_SERIES_DATE:
        raise ValueError(f"date must be from {EARLIEST_DATE.isoformat()} to {LATEST_SERIES_DATE.isoformat()}")
    return value


SeriesDate = Annotated[IsoDate, AfterValidator(_series_range)]
AsOf = Annotated[AwareDatetime, BeforeValidator(_rfc_3339), AfterValidator(_utc)]  # normalised to UTC
QueryFlag = Annotated[bool, BeforeValidator(_true_or_false)]

BODY_CONFIG = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


def check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise ValueError("from must not be later than to")


user_id_adapter: TypeAdapter[str] = TypeAdapter(UserId)
log_id_adapter: TypeAdapter[int] = TypeAdapter(LogId)


def log_id_from_text(value: str) -> int:
    """A log id written as text (a path parameter); ValueError unless it is one."""
    if not _LOG_ID_DIGITS.fullmatch(value):
        raise ValueError(f"log_id must be {LOG_ID_RULE}")
    return log_id_adapter.validate_python(int(value))
