"""The docs page and the home page in a real browser (headless Chromium over the DevTools Protocol) against the local
app as a real process: every operation is rendered, "Try it out" answers 401 before "Authorize" and 201 after it, and
the home page's chart has one point per logged day. `UPDATE_SCREENSHOTS=1` also writes the screenshots into docs/."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from localdev.databases import scratch_database
from tests.helpers import API, App
from tests.helpers.browser import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SET_VALUE = """(selector, value) => {
  const field = document.querySelector(selector);
  const prototype = field.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(prototype, "value").set.call(field, value);  // as typing does, so React sees it
  field.dispatchEvent(new Event("input", {bubbles: true}));
  return true;
}"""
LOG_PROGRESS = "#operations-Logs-LogProgress"
STATUS = f"{LOG_PROGRESS} .live-responses-table tbody .response-col_status"


@pytest.fixture(scope="module")
def app(tmp_path_factory, clean_env, postgres_server_url) -> Iterator[App]:
    with scratch_database(postgres_server_url) as url:  # a database of its own: dev-user-1 starts with nothing
        started = App(tmp_path_factory.mktemp("browser-app"), {**clean_env, "DATABASE_URL": url})
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    browser = Browser()
    try:
        opened = browser.new_page()
        yield opened
        opened.close()
    finally:
        browser.close()


def save_screenshot(page: Page, tmp_path: Path, name: str) -> None:
    png = page.screenshot(tmp_path / name)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / name).write_bytes(png)


def click(page: Page, selector: str) -> None:
    page.wait_for(f"document.querySelector({json.dumps(selector)})")
    page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def test_the_banner_points_to_the_home_page_and_the_docs(app):
    assert f"{app.url}/docs" in app.banner and f"{app.url}/openapi.json" in app.banner
    assert "all four scopes" in app.banner


def test_the_docs_page_renders_every_operation_at_a_trailing_slash_too(app, page):
    page.goto(f"{app.url}/docs/")  # its assets named relative to the page: a blank page when they missed
    operations = {route.function.logical_id for route in API.routes}
    page.wait_for(f"document.querySelectorAll('.opblock').length === {len(operations)}")


def test_the_docs_page_renders_every_operation_and_try_it_out_needs_authorize(app, page, tmp_path):
    page.goto(f"{app.url}/docs")
    operations = {route.function.logical_id.removesuffix("Function") for route in API.routes}
    page.wait_for(f"document.querySelectorAll('.opblock').length === {len(operations)}")
    rendered = page.evaluate("Array.from(document.querySelectorAll('.opblock')).map(block => block.id)")
    assert {block.rsplit("-", 1)[1] for block in rendered} == operations
    assert page.evaluate("document.querySelector('.servers select').value") == "/"

    # Given the POST, opened, with its example body filled in by "Try it out"
    click(page, f"{LOG_PROGRESS} .opblock-summary-control")
    click(page, f"{LOG_PROGRESS} .try-out__btn")
    body = json.loads(page.wait_for(f"document.querySelector('{LOG_PROGRESS} textarea.body-param__text').value"))
    assert body["weight_kg"] == 80.5  # the operation's example
    # Negative control: before "Authorize" the call goes out without a token and the gateway answers 401
    click(page, f"{LOG_PROGRESS} .btn.execute")
    assert page.wait_for(f"document.querySelector('{STATUS}')?.textContent === '401' && '401'") == "401"

    # When a development token is entered under "Authorize"
    click(page, ".btn.authorize")
    page.wait_for("document.querySelector('.modal-ux input')")
    page.evaluate(f"({SET_VALUE})('.modal-ux input', {json.dumps(app.token_from_banner())})")
    click(page, ".modal-ux .auth-btn-wrapper .authorize")
    page.wait_for("document.querySelector('.modal-ux').innerText.includes('Logout')")
    click(page, ".modal-ux .btn-done")
    click(page, f"{LOG_PROGRESS} .btn.execute")
    # Then the same call answers 201 with the new log
    assert page.wait_for(f"document.querySelector('{STATUS}')?.textContent === '201' && '201'") == "201"
    answer = page.evaluate(f"document.querySelector('{LOG_PROGRESS} .live-responses-table tbody').innerText")
    assert "Progress logged successfully" in answer
    save_screenshot(page, tmp_path, "docs-page.png")


def test_the_home_page_draws_one_point_per_logged_day(app, page, tmp_path):
    headers = {"Authorization": f"Bearer {app.mint()}"}
    erased = requests.delete(f"{app.url}/api/progress/user/dev-user-1/logs?erase=true", headers=headers, timeout=10)
    assert erased.status_code == 200  # the default token has admin:progress; the docs test's log is gone

    # Negative control: no logs, no points
    page.goto(f"{app.url}/")
    page.wait_for("document.body.dataset.loaded")
    assert page.evaluate("document.body.dataset.loaded") == "true"
    assert page.evaluate("document.querySelectorAll('#weight-chart circle.weight-point').length") == 0
    assert "No logs yet" in page.evaluate("document.getElementById('status').textContent")

    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in (0, 2, 5, 9, 20)]
    weights = ["81.4", "81", "80.6", "80.9", "80.2"]
    for when, weight in zip(days, weights, strict=True):
        body = {"user_id": "dev-user-1", "date": when.isoformat(), "weight_kg": weight, "workout_done": "running"}
        assert requests.post(f"{app.url}/api/progress/log", json=body, headers=headers, timeout=10).status_code == 201
    # a second log on a logged day is still one point (the day's average); a log without a weight is none
    for body in (
        {"user_id": "dev-user-1", "date": days[1].isoformat(), "weight_kg": 81.2},
        {"user_id": "dev-user-1", "date": (today - timedelta(days=3)).isoformat(), "workout_done": "rowing"},
    ):
        assert requests.post(f"{app.url}/api/progress/log", json=body, headers=headers, timeout=10).status_code == 201

    page.goto(f"{app.url}/")
    page.wait_for("document.body.dataset.loaded")
    assert page.evaluate("document.body.dataset.loaded") == "true"
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('#weight-chart circle.weight-point')).map(c => c.dataset.date)"
    )
    assert sorted(drawn) == sorted(day.isoformat() for day in days)
    bars = page.evaluate("Array.from(document.querySelectorAll('#workout-chart rect.workout-bar')).length")
    assert bars == 12
    numbers = page.evaluate("document.getElementById('numbers').innerText")
    assert "7" in numbers and "Logs" in numbers
    assert page.evaluate("document.querySelector('a[href=\"/docs\"]') !== null")
    assert "development token issuer" in page.evaluate("document.getElementById('token-note').textContent")
    save_screenshot(page, tmp_path, "home-page.png")
