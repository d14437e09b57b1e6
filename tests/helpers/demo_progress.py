"""A demo user's last 13 weeks, logged through the API of a running local app: what the home page's screenshots show
(docs/home-page-390.png, docs/home-page-1280.png). The same every time, relative to today: a weigh-in most days going
from about 84 kg down by a third of a kilo a week, runs on Mondays, strength on Wednesdays and rides on Saturdays
(one Saturday missed five weeks ago), and goals — 76 kg in about seven months, 3 workouts and 1,500 kcal a week —
set nine weeks ago."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import psycopg2
import requests

DAYS = 91
WORKOUTS = {0: ("running", 560), 2: ("strength", 380), 5: ("cycling", 650)}  # by weekday: kind, typical kcal
GOALS_SET_WEEKS_AGO = 9
# The goals' time is the database's clock when they are written: a goal set weeks ago is written now and dated back,
# in its event and its projection alike (before anything has read the summary, which would keep the fresh one).
DATE_GOALS_BACK = """
UPDATE goal_events SET occurred_at = %(set_at)s WHERE user_id = %(user)s;
UPDATE user_goals SET target_weight_set_at = %(set_at)s, updated_at = %(set_at)s WHERE user_id = %(user)s;
"""


def demo_logs(user: str, today: date) -> list[dict]:
    draw = random.Random(26)
    missed = today - timedelta(days=today.weekday() + 7 * 5 - 5)  # the Saturday five weeks ago
    logs = []
    for back in range(DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        log: dict = {"user_id": user, "date": day.isoformat()}
        if draw.random() < 0.85 or back == 0:
            log["weight_kg"] = round(84.2 - 0.045 * (DAYS - 1 - back) + draw.uniform(-0.35, 0.35), 1)
        if day.weekday() in WORKOUTS and day != missed:
            kind, calories = WORKOUTS[day.weekday()]
            log.update(workout_done=kind, calories_burned=calories + draw.randrange(-30, 60, 5))
        if len(log) > 2:
            logs.append(log)
    return logs


def seed_demo(base_url: str, token: str, database_url: str, user: str = "dev-user-1") -> dict:
    """Erases the user's data, then logs the demo's 13 weeks and sets its goals; returns the goals."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    erased = session.delete(f"{base_url}/api/progress/user/{user}/logs?erase=true", timeout=30)
    assert erased.status_code == 200, erased.text
    today = datetime.now(UTC).date()
    for log in demo_logs(user, today):
        created = session.post(f"{base_url}/api/progress/log", json=log, timeout=10)
        assert created.status_code == 201, created.text
    goals = {
        "target_weight_kg": 76,
        "target_date": (today + timedelta(days=210)).isoformat(),
        "weekly_workouts": 3,
        "weekly_calories_burned": 1500,
    }
    answer = session.put(f"{base_url}/api/progress/goals/{user}", json=goals, timeout=10)
    assert answer.status_code == 200, answer.text
    set_at = datetime.now(UTC) - timedelta(weeks=GOALS_SET_WEEKS_AGO)
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(DATE_GOALS_BACK, {"set_at": set_at, "user": user})
    connection.close()
    return goals
