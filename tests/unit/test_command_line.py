"""The local app's command line: every flag in both spellings (the original service wrote --user_svc_base_url), and the
default development token carries all four scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from progress_tracking_app import DEV_TOKEN_SCOPES, parse_args


@pytest.mark.parametrize(
    ("hyphens", "underscores"),
    [
        (["--user-svc-base-url", "http://u.test/api/users"], ["--user_svc_base_url", "http://u.test/api/users"]),
        (["--data-dir", "/tmp/x", "--port", "5050"], ["--data_dir", "/tmp/x", "--port", "5050"]),
        (["token", "--user-id", "u-2", "--ttl", "60"], ["token", "--user_id", "u-2", "--ttl", "60"]),
    ],
)
def test_every_flag_takes_both_spellings(hyphens, underscores):
    assert parse_args(hyphens) == parse_args(underscores)
    assert parse_args(hyphens) != parse_args([])  # positive control: the flags did something


def test_an_unknown_flag_is_still_refused(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--data-directory", "/tmp/x"])


def test_the_default_token_has_all_four_scopes():
    assert parse_args(["token"]).scope.split() == [
        "read:progress",
        "write:progress",
        "delete:progress",
        "admin:progress",
    ]
    assert parse_args(["token"]).scope == DEV_TOKEN_SCOPES
    assert parse_args(["--data_dir", "d"]).data_dir == Path("d")
