"""The docs page and the home page in a real browser (headless Chromium over the DevTools Protocol) against the local
app as a real process: every operation is rendered, "Try it out" answers 401 before "Authorize" and 201 after it; the
home page's chart has one point per logged day, it shows the goals (the goal line, the projected date, the weekly
goals' progress bars), units and periods on every number and labelled axes at a phone's width (390 px) and a
desktop's (1280 px), and a machine token picks any user. `UPDATE_SCREENSHOTS=1` also writes the screenshots into
docs/ (the home page's from tests/helpers/demo_progress.py's demo user)."""

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
from tests.helpers.demo_progress import seed_demo

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


def save_screenshot(page: Page, tmp_path: Path, name: str, full_page: bool = False) -> None:
    png = (page.full_page_screenshot if full_page else page.screenshot)(tmp_path / name)
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
    # No goals: the page says how to set them, and draws no goal line
    assert "No goals yet" in page.evaluate("document.getElementById('goals').textContent")
    assert page.evaluate("document.querySelectorAll('.goal-line, .goal-bar').length") == 0


# --- the demo user: goals, units, periods, axes, at two widths -----------------------------------------------------

# What the home page shows, read from the page as the browser laid it out.
SHOWN = """(() => {
  const texts = (selector) => Array.from(document.querySelectorAll(selector), (node) => node.textContent.trim());
  const bar = (id) => {
    const found = document.querySelector("#" + id + " .goal-bar");
    return found && {now: Number(found.getAttribute("aria-valuenow")), max: Number(found.getAttribute("aria-valuemax")),
                     filled: found.firstChild.getBoundingClientRect().width / found.getBoundingClientRect().width,
                     text: document.getElementById(id).innerText};
  };
  const chart = (id) => {
    const svg = document.getElementById(id);
    return {yTicks: texts("#" + id + " .y-tick"), xTicks: texts("#" + id + " .x-tick"),
            unit: texts("#" + id + " .axis-unit"),
            grid: svg.querySelectorAll(".grid-line").length, goalLabels: texts("#" + id + " .goal-label"),
            goalLines: Array.from(svg.querySelectorAll("line.goal-line"), (line) => Number(line.getAttribute("y1"))),
            tickY: Object.fromEntries(Array.from(svg.querySelectorAll(".y-tick"),
                                                 (tick) => [tick.textContent, Number(tick.getAttribute("y")) - 4])),
            right: svg.getBoundingClientRect().right,
            fontPx: parseFloat(getComputedStyle(svg.querySelector(".tick")).fontSize)};
  };
  return {
    scrollWidth: document.documentElement.scrollWidth,
    projected: document.getElementById("projected-date")?.textContent,
    weightGoal: document.getElementById("goal-weight")?.innerText,
    workouts: bar("goal-workouts"), calories: bar("goal-calories"),
    cards: Array.from(document.querySelectorAll(".card"), (card) => ({
      value: card.querySelector(".value").firstChild.textContent, unit: card.querySelector(".value small")?.textContent,
      label: card.querySelector(".label").textContent, period: card.querySelector(".period").textContent})),
    weight: chart("weight-chart"), workoutChart: chart("workout-chart"), caloriesChart: chart("calories-chart"),
    calorieBars: document.querySelectorAll("#calories-chart rect.calories-bar").length,
  };
})()"""


@pytest.fixture(scope="module")
def demo(app) -> dict:
    """dev-user-1 as the demo user (the page's own token reads dev-user-1); its summary."""
    token = app.mint()
    seed_demo(app.url, token, app.env["DATABASE_URL"])
    summary = requests.get(
        f"{app.url}/api/progress/summary/dev-user-1", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert summary.status_code == 200, summary.text
    return summary.json()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_home_page_shows_goals_units_periods_and_axes_at_a_phones_and_a_desktops_width(
    app, page, demo, width, tmp_path
):
    goals = demo["goals"]
    weight, workouts, calories = goals["weight"], goals["weekly_workouts"], goals["weekly_calories_burned"]
    assert weight["projected_date"] and weight["on_track"]  # the demo's trend reaches the goal in time
    page.set_width(width)
    page.goto(f"{app.url}/")
    page.wait_for("document.body.dataset.loaded")
    assert page.evaluate("document.body.dataset.loaded") == "true"
    shown = page.evaluate(SHOWN)

    # The weight goal: the goal line at the target on the chart, the projected date in the card and on the chart
    assert shown["projected"] == weight["projected_date"]
    assert "76 kg" in shown["weightGoal"] and "kg/week" in shown["weightGoal"] and "on track" in shown["weightGoal"]
    assert [label for label in shown["weight"]["goalLabels"] if weight["projected_date"] in label]
    assert shown["weight"]["goalLines"] == [pytest.approx(shown["weight"]["tickY"]["76"], abs=0.5)]
    # The weekly goals: progress bars, this week against the target, and the streak
    for bar, goal, unit in ((shown["workouts"], workouts, "workouts"), (shown["calories"], calories, "kcal")):
        assert (bar["now"], bar["max"]) == (goal["this_week"], goal["target"])
        assert bar["filled"] == pytest.approx(min(1, goal["this_week"] / goal["target"]), abs=0.02)
        assert f"of {goal['target']:,.0f} {unit}" in bar["text"].replace("\n", " ")
        assert f"Streak: {goal['streak_weeks']} weeks" in bar["text"]
    # Every number has its unit and its period
    assert len(shown["cards"]) >= 10
    for card in shown["cards"]:
        assert card["unit"] in {"kg", "kcal", "workouts", "logs", "days"}, card
        assert card["period"].strip(), card
    assert {"kg", "kcal", "workouts"} <= {card["unit"] for card in shown["cards"]}
    periods = " ".join(card["period"] for card in shown["cards"])
    assert "last 30 days" in periods and "all time" in periods
    all_time = {card["label"]: card for card in shown["cards"] if "all time" in card["period"]}
    assert all_time["Logs"]["value"] == str(demo["log_count"])
    assert all_time["Latest weight"]["value"] == f"{demo['latest_weight_kg']:.1f}".removesuffix(".0")
    # Readable axes: several labelled ticks and gridlines on every chart, each with its unit, within the page's width
    for chart, unit in ((shown["weight"], "kg"), (shown["workoutChart"], "workouts"), (shown["caloriesChart"], "kcal")):
        assert len(chart["yTicks"]) >= 3 and len(chart["xTicks"]) >= 3 and chart["grid"] >= len(chart["yTicks"]), chart
        assert chart["unit"] == [unit] and chart["fontPx"] >= 11 and chart["right"] <= width
    # Calories per week charted, with the weekly goals' lines
    assert shown["calorieBars"] == 12
    assert any("1,500 kcal a week" in label for label in shown["caloriesChart"]["goalLabels"])
    assert any("3 workouts a week" in label for label in shown["workoutChart"]["goalLabels"])
    assert shown["scrollWidth"] <= width  # nothing wider than the screen
    save_screenshot(page, tmp_path, f"home-page-{width}.png", full_page=True)


PASTE_TOKEN = """(token) => {
  const input = document.getElementById("token-input");
  input.value = token;
  input.dispatchEvent(new Event("change"));
  return true;
}"""
PICK_USER = """(user) => {
  document.getElementById("user-input").value = user;
  document.getElementById("picker").requestSubmit();
  return true;
}"""


def shows(page: Page, user: str) -> dict:
    """Waits until the page has shown `user`'s progress; what it shows."""
    page.wait_for(f"document.body.dataset.user === {json.dumps(user)}")
    return page.evaluate(
        "({user: document.getElementById('user').textContent, loaded: document.body.dataset.loaded,"
        " picker: !document.getElementById('picker').hidden, status: document.getElementById('status').textContent,"
        " numbers: document.getElementById('numbers').innerText, search: location.search})"
    )


def test_a_machine_token_picks_any_user_and_an_end_users_token_shows_their_own(app, page, demo):
    page.set_width(1280)
    page.goto(f"{app.url}/")
    # The page's own token is an end user's (dev-user-1, read-only): their progress, no picker
    assert shows(page, "dev-user-1")["picker"] is False
    page.evaluate(f"({PASTE_TOKEN})({json.dumps(app.mint('--user-id', 'bob', '--scope', 'read:progress'))})")
    bob = shows(page, "bob")
    assert (bob["user"], bob["loaded"], bob["picker"]) == ("bob", "true", False)

    # A machine token: the picker, at first on the page's user
    page.evaluate(f"({PASTE_TOKEN})({json.dumps(app.mint('--client', '--scope', 'read:progress'))})")
    first = shows(page, "dev-user-1")
    assert first["picker"] is True and f"{demo['log_count']} logs" in first["numbers"]
    page.evaluate(f"({PICK_USER})('carol')")
    carol = shows(page, "carol")
    assert (carol["user"], carol["loaded"], carol["search"]) == ("carol", "true", "?user=carol")
    assert "No logs yet" in carol["status"]
    page.evaluate(f"({PICK_USER})('dev-user-1')")
    assert f"{demo['log_count']} logs" in shows(page, "dev-user-1")["numbers"]
    known = page.evaluate("Array.from(document.querySelectorAll('#known-users option'), (option) => option.value)")
    assert {"carol", "dev-user-1"} <= set(known)

    # An end user's token with admin:progress may look at anyone too; one without may not (the API's 403 is shown)
    page.evaluate(f"({PASTE_TOKEN})({json.dumps(app.mint('--user-id', 'bob'))})")  # all four scopes: admin too
    page.wait_for("!document.getElementById('picker').hidden")
    page.evaluate(f"({PICK_USER})('dave')")
    assert shows(page, "dave")["loaded"] == "true"
    page.goto(f"{app.url}/?user=carol")
    page.evaluate(f"({PASTE_TOKEN})({json.dumps(app.mint('--user-id', 'bob', '--scope', 'read:progress'))})")
    assert shows(page, "bob")["picker"] is False  # ?user= is for those who may pick
