"""The service's round trips per request, recorded at the wire.

The local app runs as a real process (`progress_tracking_app.py`: the template's routes, the real authorizer and
handlers, one request thread), its database reached through a recording proxy (localdev/wire.py); a client token
with every scope calls it over HTTP. Only the HTTP API and the app's command line are used, so whatever the layer's
inside looks like, what it sends is what is recorded.

The app also follows the event log in the background (its local outbox relay, once a second, on a connection of its
own): the connections that talk while no request is in flight are set aside, and every request's round trips must
then come from one connection.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Self

import requests

from bench.in_process import AUDIENCE, ISSUER
from localdev.dev_issuer import SigningKey
from localdev.load import AppProcess, environment
from localdev.stubs import JwksStub, UserProfileStub
from localdev.wire import RecordedRoundTrip, RoundTripCounter

# Long enough for the app's background relay to poll (once a second) twice.
QUIET_SECONDS = 2.5


class AppRecorder:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.key = SigningKey.generate()
        self.session = requests.Session()
        self.session.headers["Authorization"] = (
            f"Bearer {self.key.access_token(issuer=ISSUER, audience=AUDIENCE, client=True)}"
        )
        self.background: set[int] = set()

    def __enter__(self) -> Self:
        self.jwks = JwksStub(self.key.jwks()).start()
        self.users = UserProfileStub(known=None).start()
        self.proxy = RoundTripCounter(self.database_url, record=True).start()
        self.app = AppProcess(
            environment(
                DATABASE_URL=self.proxy.url(self.database_url),
                AUTH0_ISSUER=ISSUER,
                AUTH0_AUDIENCE=AUDIENCE,
                AUTH0_JWKS_URL=self.jwks.jwks_url,
                USER_SVC_BASE_URL=self.users.base_url,
            ),
            self.data_dir,
            threads=1,
        )
        self.app.start()
        time.sleep(QUIET_SECONDS)
        self.background = {round_trip.connection for round_trip in self.proxy.recorded}
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.stop()
        self.proxy.stop()
        self.users.stop()
        self.jwks.stop()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, list[RecordedRoundTrip]]:
        """The answer's JSON and the round trips the request made; a failed request is an error."""
        with self.proxy.recording() as recorded:
            response = self.session.request(
                method, f"{self.app.url}{path}", json=body, params=params, headers=headers, timeout=30
            )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        trips = [round_trip for round_trip in recorded if round_trip.connection not in self.background]
        if len({round_trip.connection for round_trip in trips}) > 1:
            raise RuntimeError(f"{method} {path}: round trips on several connections: {trips}")
        return response.json(), trips
