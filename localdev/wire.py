"""A TCP proxy in front of Postgres that counts round trips at the wire: each query message a client sends.

psycopg2 speaks the simple query protocol, so every statement batch it sends (BEGIN, a query, COMMIT) is one `Q`
message that the client then waits on; the extended protocol's `Sync` ends a round trip the same way. Counting those
messages counts what a database at a network distance would charge, whatever the code above does.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Self

from psycopg2.extensions import make_dsn, parse_dsn

_PROTOCOL_3 = 196608
_ROUND_TRIP_MESSAGES = {ord("Q"), ord("S")}  # simple query; Sync of the extended protocol


def _close_both(*sockets: socket.socket) -> None:
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _relay(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close_both(source, target)


class RoundTripCounter:
    """Listens on 127.0.0.1 and forwards each connection to the Postgres of `server_url`, counting round trips."""

    def __init__(self, server_url: str) -> None:
        parameters = parse_dsn(server_url)
        self._target = (parameters.get("host") or "127.0.0.1", int(parameters.get("port") or 5432))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self.round_trips = 0
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, database_url: str) -> str:
        """`database_url` (a URL or a key=value DSN) rewritten to reach its database through this proxy, in plain
        text so that the proxy can read the messages."""
        return make_dsn(database_url, host="127.0.0.1", port=str(self.port), sslmode="disable")

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Yields a one-element list that holds, once the block ends, the round trips made inside it."""
        start = self.round_trips
        box = [0]
        try:
            yield box
        finally:
            box[0] = self.round_trips - start

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=_relay, args=(server, client), daemon=True).start()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            # Untyped messages first: an optional SSLRequest/GSSENCRequest, then the StartupMessage.
            while True:
                header = reader.read(8)
                if len(header) < 8:
                    return
                length, code = struct.unpack("!ii", header)
                body = reader.read(length - 8)
                server.sendall(header + body)
                if code == _PROTOCOL_3:
                    break
                # SSL refused by the server ('N'): the client goes on in plain text with its StartupMessage.
            while True:
                kind = reader.read(1)
                if not kind:
                    return
                size = reader.read(4)
                (length,) = struct.unpack("!i", size)
                body = reader.read(length - 4)
                if kind[0] in _ROUND_TRIP_MESSAGES:
                    with self._lock:
                        self.round_trips += 1
                server.sendall(kind + size + body)
        except (OSError, struct.error):
            pass
        finally:
            _close_both(client, server)
