"""Run the Progress Tracking Service on this machine, with no AWS account and no Docker.

    .venv/bin/python progress_tracking_app.py [--port 5000] [--host 127.0.0.1] [--user_svc_base_url URL] [--data-dir D]
    .venv/bin/python progress_tracking_app.py token [--user-id ID] [--sub SUB] [--scope "…"] [--client] [--ttl S]
    .venv/bin/python progress_tracking_app.py migrate | rebuild [--apply] | recompute | openapi
    .venv/bin/python progress_tracking_app.py user-deleted USER_ID

Every flag takes both spellings: --user_svc_base_url or --user-svc-base-url, --data-dir or --data_dir, and so on.
Serves the routes of template.yaml by invoking the same authorizer and handlers in-process with API Gateway-shaped
events. With no DATABASE_URL it starts an embedded Postgres under .local/; with no AUTH0_DOMAIN it is its own
development token issuer; with no User Profile service answering it serves a stand-in that accepts every user.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
LAYER_DIR = ROOT / "layers" / "progress_tracking"
DEFAULT_STATE_DIR = ROOT / ".local"
DEV_KEY_FILE = "dev-issuer-key.json"
# The layer is importable the way Lambda mounts it under /opt/python.
sys.path.insert(0, str(LAYER_DIR))

from localdev.dev_issuer import ALL_SCOPES, DEV_AUDIENCE, DEV_ISSUER, SigningKey  # noqa: E402

if TYPE_CHECKING:
    from progress_tracking.db import Database

# A development token's default scopes: all four, erasure's admin:progress included.
DEV_TOKEN_SCOPES = f"{ALL_SCOPES} admin:progress"
# waitress's defaults (100 connections; an idle one closed after 120 s, looked for every 30 s) let 100 idle clients
# keep everyone else waiting for minutes. A connection silent for IDLE_SECONDS (an idle keep-alive, a client stalled
# mid-request) is closed, looked for every second; one whose request is being answered never is.
CONNECTIONS = 500
IDLE_SECONDS = 10


def _both_spellings(name: str) -> list[str]:
    """A flag's names: as written, and with "_" and "-" swapped (the original service wrote --user_svc_base_url)."""
    other = name[:2] + (name[2:].replace("_", "-") if "_" in name else name[2:].replace("-", "_"))
    return [name] if other == name else [name, other]


class _Parser(argparse.ArgumentParser):
    """Accepts every flag in both spellings; help lists them both."""

    def add_argument(self, *names: str, **kwargs):  # type: ignore[no-untyped-def]
        if names and all(name.startswith("--") for name in names):
            spelled: list[str] = []
            for name in names:
                spelled += [n for n in _both_spellings(name) if n not in spelled]
            names = tuple(spelled)
        return super().add_argument(*names, **kwargs)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(description="Run the Progress Tracking Service locally.")
    parser.add_argument("--port", type=int, default=5000, help="port to serve on (default 5000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--user_svc_base_url", help="User Profile service base URL (default $USER_SVC_BASE_URL)")
    parser.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the embedded database and the development key live (default .local/)",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    token = commands.add_parser("token", help="mint a development access token")
    token.add_argument("--user-id", default="dev-user-1", help="the User Profile id the token speaks for")
    token.add_argument("--sub", help="subject (default: the user id, or dev-client@clients with --client)")
    token.add_argument(
        "--scope", default=DEV_TOKEN_SCOPES, help=f'space-separated scopes (default all four: "{DEV_TOKEN_SCOPES}")'
    )
    token.add_argument("--client", action="store_true", help="a machine-to-machine (client credentials) token")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    commands.add_parser("migrate", help="apply pending schema migrations to $DATABASE_URL (or the embedded database)")
    rebuild = commands.add_parser("rebuild", help="recompute the projections from the events and report differences")
    rebuild.add_argument("--apply", action="store_true", help="replace the projections with the rebuilt ones")
    commands.add_parser("recompute", help="bring the summary projection up to date now (what the schedule runs)")
    commands.add_parser("openapi", help="print the API's OpenAPI 3.1 description (also served at /openapi.json)")
    deleted = commands.add_parser(
        "user-deleted", help="deliver a UserDeleted event for USER_ID to the consumer, as EventBridge would"
    )
    deleted.add_argument("user_id", help="the User Profile id of the deleted user")
    return parser.parse_args(argv)


def mint_token(args: argparse.Namespace) -> int:
    if os.environ.get("AUTH0_DOMAIN"):
        sys.stderr.write("AUTH0_DOMAIN is set: get tokens from your Auth0 tenant instead.\n")
        return 2
    key = SigningKey.load_or_create(args.data_dir / DEV_KEY_FILE)
    sys.stdout.write(
        key.access_token(
            user_id=args.user_id,
            subject=args.sub,
            scope=args.scope,
            client=args.client,
            ttl_seconds=args.ttl,
            user_id_claim=user_id_claim(),
        )
        + "\n"
    )
    return 0


@contextmanager
def database_configured(args: argparse.Namespace) -> Iterator[str]:
    """$DATABASE_URL, or an embedded Postgres under the data folder for as long as the block runs."""
    if os.environ.get("DATABASE_URL"):
        yield "$DATABASE_URL"
        return
    from localdev.embedded_postgres import start_embedded_postgres

    server, url = start_embedded_postgres(args.data_dir / "pgdata")
    os.environ["DATABASE_URL"] = url
    try:
        yield f"embedded Postgres, data in {args.data_dir / 'pgdata'}"
    finally:
        from progress_tracking.db import get_database

        get_database().close()
        server.cleanup()


def operate(args: argparse.Namespace) -> int:
    """The operations commands: migrate, rebuild, recompute."""
    from progress_tracking import database_url
    from progress_tracking.db import OPERATIONS_STATEMENT_TIMEOUT_MS, Database, get_batch_database

    with database_configured(args) as where:
        # The recompute with the scheduled function's limits; the rebuild reads and writes whole tables.
        batch = get_batch_database()
        database = Database(database_url.resolve, statement_timeout_ms=OPERATIONS_STATEMENT_TIMEOUT_MS)
        try:
            return _operate(args, where, database, batch)
        finally:
            database.close()
            batch.close()


def _operate(args: argparse.Namespace, where: str, database: Database, batch: Database) -> int:
    from progress_tracking import summaries
    from progress_tracking.config import get_settings
    from progress_tracking.db import Cursor
    from progress_tracking.errors import DatabaseBusy
    from progress_tracking.migrations import migrate
    from progress_tracking.store import rebuild

    connections = get_settings().summary_recompute_connections
    if args.command == "migrate":
        applied = migrate(database)
        sys.stdout.write(f"{where}: applied {applied or 'nothing; the schema is current'}\n")
        return 0
    if args.command == "recompute":
        report = summaries.recompute(batch, lambda: 10**9, connections=connections)
        sys.stdout.write(f"{report.as_dict()}\n")
        return 0
    drift = database.run(rebuild.compare_projection)
    sys.stdout.write(
        f"missing: {drift.missing}\nunexpected: {drift.unexpected}\ndifferent: {drift.different}\n"
        f"states differ: {drift.states_differ}\nsummary facts differ (users): {drift.facts_differ}\n"
    )
    if drift.consistent:
        sys.stdout.write("The projection equals the events' fold.\n")
        return 0
    if args.apply:

        def replace(cursor: Cursor) -> int:
            # One transaction: summaries derived from the drifted projection go with it. The reset first: it
            # waits (a second at most) for a recompute run in progress, before the long part.
            summaries.reset(cursor)
            return rebuild.replace_projection(cursor)

        try:
            live = database.run(replace)
        except DatabaseBusy:
            sys.stdout.write(
                "A summary recompute or the writes in flight held the tables past the time limit; nothing was"
                " changed. Try again.\n"
            )
            return 1
        recomputed = summaries.recompute(batch, lambda: 10**9, connections=connections)
        sys.stdout.write(
            f"Projection rebuilt from the events: {live} live logs; {recomputed.users} summaries recomputed"
            + (" (another run is recomputing the rest).\n" if recomputed.busy else ".\n")
        )
        return 0
    sys.stdout.write("Run again with --apply to replace the projection.\n")
    return 1


def deliver_user_deleted(args: argparse.Namespace) -> int:
    """Invoke UserDeletedFunction's handler with the event its rule would deliver (the template's default source and
    detail-type, in EventBridge's envelope). A failure is what Lambda would retry and then put in the DLQ."""
    import uuid
    from datetime import UTC, datetime

    from localdev.gateway import ACCOUNT_ID, REGION
    from localdev.lambda_context import LocalLambdaContext
    from localdev.template import load_api, read_template

    parameters = read_template(ROOT / "template.yaml")["Parameters"]
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": parameters["UserDeletedDetailType"]["Default"],
        "source": parameters["UserDeletedSource"]["Default"],
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": {"user_id": args.user_id},
    }
    function = load_api(ROOT / "template.yaml").functions["UserDeletedFunction"]
    with database_configured(args):
        from progress_tracking.db import get_database
        from progress_tracking.migrations import migrate

        migrate(get_database())
        context = LocalLambdaContext(function.logical_id, function.memory_mb, function.timeout_seconds)
        try:
            result = function.load()(event, context)
        except Exception as exc:
            sys.stderr.write(f"The consumer failed ({type(exc).__name__}: {exc}); Lambda would retry, then DLQ it.\n")
            return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


def cannot_listen(host: str, port: int) -> str | None:
    """Why the app cannot listen on host:port, as one line that says what to do; None when it can. Asked before
    anything starts, so that a second `make run` says so at once rather than after starting a database."""
    from waitress.adjustments import Adjustments

    try:
        addresses = Adjustments(host=host, port=port).listen  # what waitress will bind, resolved as it resolves
    except ValueError:
        return f"Cannot listen on {host}:{port}: not an address of this machine; choose another with --host"
    for family, socktype, proto, address in addresses:
        with socket.socket(family, socktype, proto) as probe:
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress binds
            try:
                probe.bind(address)
            except OSError as error:
                return listen_failure(host, port, error)
    return None


def listen_failure(host: str, port: int, error: OSError) -> str:
    where = f"{reached_at(host)}:{port}"
    if error.errno == errno.EADDRINUSE:
        other = 8001 if port != 8001 else 8002  # not port + 1: 5001 is the User Profile service's default
        return (
            f"Port {port} is in use at {where} (another `make run`?): stop that one, or choose another port with "
            f'--port, e.g. --port {other} (make run ARGS="--port {other}")'
        )
    return f"Cannot listen on {where} ({error.strerror}): choose another address or port with --host or --port"


def serve(args: argparse.Namespace) -> int:
    problem = cannot_listen(args.host, args.port)
    if problem:
        sys.stderr.write(problem + "\n")
        return 1
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")
    with ExitStack() as stack:
        notes = [f"Database: {stack.enter_context(database_configured(args))}"]

        self_url = f"http://{reached_at(args.host)}:{args.port}"
        dev_key = None
        if not (os.environ.get("AUTH0_DOMAIN") or os.environ.get("AUTH0_ISSUER")):
            dev_key = SigningKey.load_or_create(args.data_dir / DEV_KEY_FILE)
            os.environ.update(
                AUTH0_ISSUER=DEV_ISSUER, AUTH0_AUDIENCE=DEV_AUDIENCE, AUTH0_JWKS_URL=f"{self_url}/.well-known/jwks.json"
            )
            from progress_tracking import tokens

            # The authorizer reads the key set in process: fetched from this app over HTTP, it would wait for a free
            # worker thread while every one may be in the authorizer (the first requests after a restart were 401s).
            issuer_key = dev_key
            tokens.fetch_key_set_with(lambda _url: issuer_key.jwks())
            notes.append(f"Auth: development issuer (JWKS at {self_url}/.well-known/jwks.json)")
        else:
            notes.append("Auth: Auth0 tenant from the environment")

        from localdev.stubs import UserProfileStub
        from progress_tracking.config import DEFAULT_USER_SVC_BASE_URL

        if args.user_svc_base_url:
            os.environ["USER_SVC_BASE_URL"] = args.user_svc_base_url
        user_service = os.environ.get("USER_SVC_BASE_URL")
        if user_service:
            notes.append(f"User Profile service: {user_service}")
        elif answers(DEFAULT_USER_SVC_BASE_URL):
            notes.append(f"User Profile service: {DEFAULT_USER_SVC_BASE_URL}")
        else:
            stand_in = stack.enter_context(UserProfileStub(known=None))
            os.environ["USER_SVC_BASE_URL"] = stand_in.base_url
            notes.append(
                f"User Profile service: NONE ANSWERS at {DEFAULT_USER_SVC_BASE_URL}, so an in-process "
                f"STAND-IN that accepts every user is serving at {stand_in.base_url}"
            )

        from waitress import create_server

        from localdev.gateway import LocalGateway
        from localdev.template import load_api
        from progress_tracking.db import get_database
        from progress_tracking.migrations import migrate

        migrate(get_database())
        from localdev.gateway import LocalRoute
        from localdev.home_page import DEV_USER, home_page

        local_routes: dict[str, LocalRoute] = {}
        if dev_key:
            signing_key = dev_key
            local_routes["/.well-known/jwks.json"] = lambda: (200, signing_key.jwks())
            # The home page reads with a token of its own only here: this app is the development issuer.
            local_routes["/"] = lambda: home_page(
                signing_key.access_token(user_id=DEV_USER, scope="read:progress", user_id_claim=user_id_claim()),
                user_id_claim(),
            )
        else:
            local_routes["/"] = lambda: home_page(None, user_id_claim())
        # The outbox relay follows the log in the background and publishes into a local sink (a line per event).
        from localdev.event_sink import LocalEventSink, run_relay_in_background

        sink = LocalEventSink()
        stop_relay = threading.Event()
        run_relay_in_background(sink, stop_relay)
        stack.callback(stop_relay.set)
        notes.append(
            f"Domain events: published to a local sink, printed here and listed at {self_url}/local/events"
            " (for a token with admin:progress)"
        )
        from localdev.hosts import listening_addresses

        gateway = LocalGateway(
            load_api(ROOT / "template.yaml"), local_routes=local_routes, admin_routes={"/local/events": sink.page}
        )
        try:
            server = create_server(
                gateway,
                host=args.host,
                port=args.port,
                threads=args.threads,
                connection_limit=connection_limit(),
                channel_timeout=IDLE_SECONDS,
                cleanup_interval=1,
            )
        except OSError as error:  # taken since cannot_listen asked
            sys.stderr.write(listen_failure(args.host, args.port, error) + "\n")
            return 1
        stack.callback(server.close)
        # Only a Host naming an address the server listens on is answered (DNS rebinding; localdev/hosts.py).
        gateway.addresses = listening_addresses(server)
        print_banner(self_url, notes, dev_key, args.data_dir)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop on SIGTERM as on Ctrl-C
        server.run()  # returns on Ctrl-C or SIGTERM, once waitress has stopped its workers
    sys.stdout.write("Stopped.\n")
    return 0


def reached_at(host: str) -> str:
    """The host part of a URL that reaches a server bound to `host` (loopback for a wildcard bind)."""
    loopback_of_wildcard = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}  # noqa: S104 - naming binds, not binding
    return loopback_of_wildcard.get(host) or (f"[{host}]" if ":" in host else host)


def connection_limit() -> int:
    """CONNECTIONS, or fewer where the process may not open that many files (each connection holds one)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to read
        return CONNECTIONS
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return CONNECTIONS if soft == resource.RLIM_INFINITY else max(50, min(CONNECTIONS, soft - 100))


def user_id_claim() -> str:
    return os.environ.get("USER_ID_CLAIM") or "sub"


def token_command(data_dir: Path) -> str:
    """The command that mints a token this app accepts (signed with the key in `data_dir`), typed in the project's
    root as the README's commands are: the venv's interpreter, which has the app's packages."""
    command = ".venv/bin/python progress_tracking_app.py"
    if data_dir.resolve() != DEFAULT_STATE_DIR.resolve():
        command += f" --data-dir {shlex.quote(str(data_dir))}"
    return f"{command} token"


def print_banner(url: str, notes: list[str], dev_key: SigningKey | None, data_dir: Path = DEFAULT_STATE_DIR) -> None:
    lines = [
        f"Progress Tracking Service on {url}",
        f"  Home page (your progress, goals and charts): {url}/",
        f"  API docs (Swagger UI, Authorize with a token, Try it out): {url}/docs   OpenAPI: {url}/openapi.json",
        *(f"  {note}" for note in notes),
    ]
    if dev_key:
        token = dev_key.access_token(user_id="dev-user-1", scope=DEV_TOKEN_SCOPES, user_id_claim=user_id_claim())
        mint = token_command(data_dir)
        # The token alone on its line, for the docs page's Authorize box; the shell gets a command that mints one,
        # so what it pastes is a command and not a 900-character line.
        lines += [
            "",
            "A development token for user dev-user-1 (all four scopes, valid 1 hour), for the docs page's "
            "Authorize box:",
            f"  {token}",
            f"In a shell, from the project's root (`{mint} --help` mints others):",
            f"  export TOKEN=$({mint})",
            f"  API={url}",
            "Try:",
            '  curl -si -X POST $API/api/progress/log -H "Authorization: Bearer $TOKEN" '
            "-H 'Content-Type: application/json' "
            '-d \'{"user_id": "dev-user-1", "date": "2026-11-01", "weight_kg": 80.5, '
            '"workout_done": "running", "calories_burned": 420}\'',
            '  curl -s $API/api/progress/dev-user-1 -H "Authorization: Bearer $TOKEN"',
        ]
    lines.append("Ctrl-C stops it.")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from localdev.template import fixed_environment

    # Configured as the template configures every function (service name, metrics namespace), unless set already.
    for name, value in fixed_environment(ROOT / "template.yaml").items():
        os.environ.setdefault(name, value)
    if args.command == "token":
        return mint_token(args)
    if args.command == "openapi":
        from localdev.openapi import build_openapi
        from localdev.openapi_docs import enrich
        from localdev.template import load_api

        sys.stdout.write(json.dumps(enrich(build_openapi(load_api(ROOT / "template.yaml"))), indent=2) + "\n")
        return 0
    if args.command in ("migrate", "rebuild", "recompute"):
        return operate(args)
    if args.command == "user-deleted":
        return deliver_user_deleted(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
