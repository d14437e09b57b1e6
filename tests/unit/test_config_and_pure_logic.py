"""Settings from the environment, cursors, and the summary's derived fields."""

from __future__ import annotations

from datetime import date

import pytest

from progress_tracking import summary_figures
from progress_tracking.config import DEFAULT_USER_SVC_BASE_URL, Settings
from progress_tracking.database_url import dsn_from_secret
from progress_tracking.models.facts import SummaryFacts


def test_auth0_domain_gives_issuer_and_jwks_url_and_audiences_split_on_commas():
    settings = Settings.from_env({"AUTH0_DOMAIN": "https://tenant.example.invalid/", "AUTH0_AUDIENCE": "a, b,"})
    assert settings.auth0_issuer == "https://tenant.example.invalid/"
    assert settings.auth0_jwks_url == "https://tenant.example.invalid/.well-known/jwks.json"
    assert settings.auth0_audiences == ("a", "b")


def test_explicit_issuer_and_jwks_url_override_the_domain():
    settings = Settings.from_env(
        {"AUTH0_DOMAIN": "t.invalid", "AUTH0_ISSUER": "https://i.invalid/", "AUTH0_JWKS_URL": "http://k.invalid/j"}
    )
    assert (settings.auth0_issuer, settings.auth0_jwks_url) == ("https://i.invalid/", "http://k.invalid/j")


def test_defaults():
    settings = Settings.from_env({})
    assert settings.user_svc_base_url == DEFAULT_USER_SVC_BASE_URL
    assert settings.user_id_claim == "sub" and settings.database_url is None and settings.auth0_issuer is None
    assert settings.user_svc_cache_seconds == 60


def test_the_user_service_cache_time_is_read_and_bounded():
    assert Settings.from_env({"USER_SVC_CACHE_SECONDS": "0"}).user_svc_cache_seconds == 0
    assert Settings.from_env({"USER_SVC_CACHE_SECONDS": "2.5"}).user_svc_cache_seconds == 2.5
    for wrong in ("-1", "3601", "soon", "nan"):
        with pytest.raises(ValueError, match="user_svc_cache_seconds"):
            Settings.from_env({"USER_SVC_CACHE_SECONDS": wrong})


@pytest.mark.parametrize(
    ("variable", "field", "good", "wrong"),
    [
        (
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
            "secrets_extension_port",
            ["1", "65535"],
            ["0", "65536", "27.5", "x"],
        ),
        ("OUTBOX_FOLLOW_SECONDS", "outbox_follow_seconds", ["0", "840"], ["-0.5", "841", "inf", "later"]),
        ("SUMMARY_RECOMPUTE_CONNECTIONS", "summary_recompute_connections", ["1", "8"], ["0", "9", "1.5", "all"]),
    ],
)
def test_the_numbers_from_the_environment_are_read_and_bounded(variable, field, good, wrong):
    for value in good:  # the controls: values at the bounds are taken as they are
        assert getattr(Settings.from_env({variable: value}), field) == float(value)
    for value in wrong:
        with pytest.raises(ValueError, match=field):
            Settings.from_env({variable: value})


def test_the_settings_are_frozen_and_their_names_may_not_be_empty():
    settings = Settings.from_env({"USER_ID_CLAIM": "https://example.invalid/user_id"})
    assert settings.user_id_claim == "https://example.invalid/user_id"
    with pytest.raises(AttributeError):
        settings.user_id_claim = "sub"  # type: ignore[misc]
    for field in ("user_id_claim", "event_bus_name"):
        with pytest.raises(ValueError, match=field):
            Settings(**{field: ""})


@pytest.mark.parametrize(
    ("secret", "url"),
    [
        ("postgresql://u:p@h/db", "postgresql://u:p@h/db"),
        ('{"url": "postgresql://h/db"}', "postgresql://h/db"),
        ('{"DATABASE_URL": "postgresql://h/x"}', "postgresql://h/x"),
    ],
)
def test_the_database_secret_holds_a_url_or_json_with_one(secret, url):
    assert dsn_from_secret(secret) == url


def facts(**overrides) -> SummaryFacts:
    base = dict(
        log_count=3,
        first_date=date(2026, 1, 1),
        last_date=date(2026, 1, 10),
        average_weight=80.123,
        min_weight=79.0,
        max_weight=81.0,
        first_weight=81.0,
        latest_weight=79.0,
        average_calories=100.0,
        total_calories=300.0,
        workouts={"run": 3},
        longest_streak=4,
        last_streak=2,
    )
    return SummaryFacts(**{**base, **overrides})


@pytest.mark.parametrize(("today", "current"), [(date(2026, 1, 10), 2), (date(2026, 1, 11), 2), (date(2026, 1, 12), 0)])
def test_the_current_streak_lives_while_its_last_day_is_today_or_yesterday(today, current):
    summary = summary_figures.summary_from_facts("u", facts(), today)
    assert summary.current_streak_days == current
    assert summary.longest_streak_days == 4
    assert summary.average_weight == 80.12 and summary.weight_change_kg == -2.0


def test_weight_change_needs_a_weight():
    summary = summary_figures.summary_from_facts("u", facts(first_weight=None, latest_weight=None), date(2026, 1, 10))
    assert summary.weight_change_kg is None


def test_summary_facts_agree_but_for_the_last_bits_of_their_float_sums():
    from progress_tracking.models.facts import SummaryFacts

    facts = SummaryFacts(
        log_count=3,
        first_date=date(2026, 1, 1),
        last_date=date(2026, 1, 3),
        average_weight=70.1,
        min_weight=70.0,
        max_weight=70.2,
        first_weight=70.0,
        latest_weight=70.2,
        average_calories=None,
        total_calories=0.30000000000000004,
        workouts={"run": 2},
        longest_streak=3,
        last_streak=3,
    )
    assert facts.agrees_with(facts.model_copy(update={"average_weight": 70.10000000000001, "total_calories": 0.3}))
    # The controls: a real difference, in a float or in anything else, is a disagreement.
    assert not facts.agrees_with(facts.model_copy(update={"average_weight": 70.11}))
    assert not facts.agrees_with(facts.model_copy(update={"average_calories": 0.0}))
    assert not facts.agrees_with(facts.model_copy(update={"workouts": {"run": 3}}))
