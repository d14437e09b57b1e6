"""Hostile input through the gateway: none of it reaches a 500, and what is refused is refused cheaply."""

from __future__ import annotations

import time

import pytest

from tests.helpers import FIRST_VERSION_BODY, assert_error, log


def post_raw(api, token, raw: bytes):
    return api.call("POST", "/api/progress/log", token, data=raw, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "malformed_json"),  # deeply nested, under the size limit
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "malformed_json"),
        (
            b'{"user_id": "u", "date": "2026-01-01", "weight_kg": 1' + b"0" * 5000 + b"}",
            "malformed_json",
        ),  # 5000 digits
        (b'{"user_id": "u", "date": "2026-01-01", "weight_kg": 1e400}', "validation_error"),  # overflows to infinity
        (b'{"user_id": "u", "date": "2026-01-01", "weight_kg": -Infinity}', "validation_error"),
        (b'{"user_id": "u\\ud800", "date": "2026-01-01", "weight_kg": 80}', "malformed_json"),  # a lone surrogate
        (b'{"user_id": "u", "date": "2026-01-01", "weight_kg": 80, "notes": "\\u0000"}', "validation_error"),
        # Duplicate keys: the last one wins, as in every JSON parser the service uses; "v" is no user of the stand-in.
        (b'{"user_id": "u", "user_id": "v", "date": "2026-01-01", "weight_kg": 80}', "unknown_user"),
        (b"\xef\xbb\xbf{}", "malformed_json"),  # a byte-order mark
        (b"null", "validation_error"),
        (b"\x00\x01\x02", "malformed_json"),
    ],
)
def test_hostile_bodies_are_refused_with_400_quickly(api, tokens, raw, code):
    started = time.perf_counter()
    response = post_raw(api, tokens.client(), raw)
    elapsed = time.perf_counter() - started
    assert_error(response, 400, code)
    assert elapsed < 1.0


def test_a_body_of_exactly_64_kib_is_accepted_and_one_byte_more_is_413(api, tokens, new_user):
    user = new_user()
    body = f'{{"user_id": "{user}", "date": "2026-01-01", "weight_kg": 80, "notes": ""}}'
    padding = 64 * 1024 - len(body.encode())
    within = body.replace('"notes": ""', '"notes": ""' + " " * padding)
    assert post_raw(api, tokens.user(user), within.encode()).status_code == 201
    assert_error(post_raw(api, tokens.user(user), (within + " ").encode()), 413, "payload_too_large")


def test_an_oversized_body_is_refused_before_it_is_parsed(api, tokens):
    started = time.perf_counter()
    response = post_raw(api, tokens.client(), b"[" * (5 * 1024 * 1024))
    assert_error(response, 413, "payload_too_large")
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "path",
    [
        "/api/progress/%00",
        "/api/progress/%ff%fe",
        "/api/progress/a%0Ab",
        "/api/progress/summary/%7F",
        "/api/progress/log/%31%32%00",
        "/api/progress/log/١٢٣",  # Arabic-Indic digits are not a log id
        "/api/progress/log/+5",
        "/api/progress/log/00012",
    ],
)
def test_hostile_path_parameters_are_400_not_500(api, tokens, path):
    method = "PUT" if "/log/" in path else "GET"
    response = api.call(method, path, tokens.client(), json={"notes": "x"})
    assert_error(response, 400, "validation_error")  # refused at the edge: never looked up, so never a 404


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "9" * 400},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"cursor": "A" * 300},
        {"cursor": "eyJ"},
        {"from": "0000-01-01"},
        {"as_of": "9999-12-31T23:59:59+99:00"},
        {"as_of": "2026-01-01T00:00:00Z" * 20},
    ],
)
def test_hostile_query_parameters_are_400(api, tokens, new_user, params):
    user = new_user()
    response = api.call("GET", f"/api/progress/{user}", tokens.user(user), params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] in ("validation_error", "invalid_cursor")


def test_control_characters_in_one_line_fields_are_refused_and_newlines_in_notes_kept(api, tokens, new_user):
    user = new_user()
    token = tokens.user(user)
    for field, value in [("workout_done", "run\u0007"), ("workout_done", "run\nwalk"), ("notes", "bell\u0007")]:
        response = api.call(
            "POST", "/api/progress/log", token, json={"user_id": user, **FIRST_VERSION_BODY, field: value}
        )
        assert_error(response, 400, "validation_error")
    created = log(api, token, user, notes="line one\r\nline two\ttabbed")
    assert created["notes"] == "line one\r\nline two\ttabbed"


def test_percent_encoded_user_ids_arrive_whole_and_unicode_intact(api, tokens, new_user):
    user = new_user("josé/ß")
    token = tokens.user(user)
    created = log(api, token, user)
    from urllib.parse import quote

    listed = api.call("GET", f"/api/progress/{quote(user, safe='')}", token).json()
    assert listed["user_id"] == user and listed["progress_logs"][0]["log_id"] == created["log_id"]
