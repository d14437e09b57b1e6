"""GET / of the local app: the progress of a user drawn from the API (the summary, a 30-day summary and the series) —
their goals (the target weight on the weight chart with its projected date, the weekly goals as progress bars), the
numbers with their units and periods, and weight, workouts and calories as charts with labelled axes.

The page is home_page.html beside this file: plain HTML and a little JavaScript, no build step, nothing fetched from
elsewhere. Only when the app is its own development issuer does it carry a token (read-only, for dev-user-1, minted
per page load); with Auth0 configured it asks for one. A machine token, or one with admin:progress, may look at any
user: the page then offers a user picker.
"""

from __future__ import annotations

import json
from pathlib import Path

DEV_USER = "dev-user-1"
PAGE = (Path(__file__).with_name("home_page.html")).read_text()


def home_page(dev_token: str | None, user_id_claim: str = "sub") -> tuple[int, dict[str, str], bytes]:
    """The page, with a read-only token for dev-user-1 only when the app is the development issuer. The claim that
    holds the User Profile id is the authorizer's (USER_ID_CLAIM), so that the page reads a token as it does."""
    config = json.dumps({"user": DEV_USER, "token": dev_token, "user_id_claim": user_id_claim})
    # Inside <script>: "</" must not close the element.
    body = PAGE.replace("__CONFIG__", config.replace("</", "<\\/"))
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return 200, headers, body.encode()
