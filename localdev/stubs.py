"""Real HTTP peers on loopback: the User Profile service stand-in, a JWKS endpoint and the Lambda secrets extension."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote

Responder = Callable[[str], tuple[int, Any]]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a queue of 5: ten callers at once (the local app's first requests) found it full
    # while the accept loop was starting their threads, and their connections were dropped.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests do) leaves a broken pipe behind: expected, not news.
        pass


class StubServer:
    """A threaded HTTP server on 127.0.0.1 that answers GET requests with JSON from `respond(path)`.

    HTTP/1.0 (one request per connection) unless `keep_alive`: then HTTP/1.1, and a connection stays open for the
    next request, except that `drop_idle` makes the server close it after each answer without saying so (as a
    server does with a connection that sat idle past its keep-alive timeout). `peers` records each request's
    client address, so a test can count connections.
    """

    def __init__(self, respond: Responder, port: int = 0, keep_alive: bool = False) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_GET(self) -> None:
                stub.requests.append(self.path)
                stub.peers.append(self.client_address)
                status, payload = stub.respond(self.path)
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if stub.drop_idle:
                    self.close_connection = True

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stub.uploads.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self.respond = respond
        self.requests: list[str] = []
        self.peers: list[tuple[str, int]] = []
        self.drop_idle = False
        self.uploads: list[tuple[str, bytes]] = []
        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class UserProfileStub(StubServer):
    """GET {url}/api/users/validate/{user_id} → {"valid": bool}. `known=None` accepts every user.

    `mode` makes it misbehave on purpose: "error" answers 500, "slow" answers after `delay` seconds,
    "garbage" answers 200 with a body that is not the contract's.
    """

    BASE_PATH = "/api/users"

    def __init__(self, known: Iterable[str] | None = None, port: int = 0, keep_alive: bool = False) -> None:
        self.known = None if known is None else set(known)
        self.mode = "ok"
        self.delay = 5.0
        super().__init__(self._answer, port, keep_alive)

    @property
    def base_url(self) -> str:
        return f"{self.url}{self.BASE_PATH}"

    def _answer(self, path: str) -> tuple[int, Any]:
        prefix = f"{self.BASE_PATH}/validate/"
        if not path.startswith(prefix):
            return 404, {"message": "not found"}
        if self.mode == "error":
            return 500, {"message": "boom"}
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "garbage":
            return 200, b"<html>not json</html>"
        user_id = unquote(path[len(prefix) :])
        return 200, {"valid": self.known is None or user_id in self.known}


class JwksStub(StubServer):
    """Serves a JWKS document at /.well-known/jwks.json; `document` can be swapped for key rotation, `up` toggled,
    and `delay` makes it answer that many seconds late (a slow tenant, to hold a fetch in flight)."""

    PATH = "/.well-known/jwks.json"

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.up = True
        self.delay = 0.0
        super().__init__(self._answer)

    @property
    def jwks_url(self) -> str:
        return f"{self.url}{self.PATH}"

    def _answer(self, path: str) -> tuple[int, Any]:
        time.sleep(self.delay)
        if not self.up:
            return 503, {"message": "down"}
        return (200, self.document) if path == self.PATH else (404, {"message": "not found"})


class SecretsExtensionStub:
    """Lambda's AWS Parameters and Secrets extension on loopback: `GET /secretsmanager/get?secretId=…` answers
    `{"ARN", "Name", "SecretString", …}` (Secrets Manager's GetSecretValue), and only to a caller that sends the
    function's session token in `X-Aws-Parameters-Secrets-Token` (401 otherwise, as the extension refuses)."""

    TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"

    def __init__(self, token: str, secrets: dict[str, str] | None = None) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                secret_id = parse_qs(query).get("secretId", [""])[0]
                if self.headers.get(stub.TOKEN_HEADER) != stub.token:
                    stub.refused.append(secret_id)
                    self._answer(401, {"message": "missing or wrong session token"})
                elif path != "/secretsmanager/get" or secret_id not in stub.secrets:
                    stub.served.append(secret_id)
                    self._answer(400, {"__type": "ResourceNotFoundException"})
                else:
                    stub.served.append(secret_id)
                    value = stub.secrets[secret_id]
                    self._answer(200, {"ARN": secret_id, "Name": secret_id, "SecretString": value, "VersionId": "v1"})

            def _answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self.token = token
        self.secrets = dict(secrets or {})
        self.served: list[str] = []  # secret ids asked for with the token
        self.refused: list[str] = []  # … and without it
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
