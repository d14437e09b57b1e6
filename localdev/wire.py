"""A TCP proxy in front of Postgres that counts round trips at the wire: each query message a client sends.

psycopg2 speaks the simple query protocol, so every statement batch it sends (BEGIN, a query, COMMIT) is one `Q`
message that the client then waits on; the extended protocol's `Sync` ends a round trip the same way. Counting those
messages counts what a database at a network distance would charge, whatever the code above does.

With `round_trip_delay` it also charges it: each of those messages, each message of a connection's set-up, and the
TCP connect wait that long before they go on (the whole round trip on the way out), which is how the bench puts the
database at Neon's distance.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Self

from psycopg2.extensions import make_dsn, parse_dsn

_PROTOCOL_3 = 196608
_ROUND_TRIP_MESSAGES = {ord("Q"), ord("S")}  # simple query; Sync of the extended protocol
_AUTHENTICATION_MESSAGE = ord("p")  # the password, SASL and GSS answers of a connection's set-up


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
    """Listens on 127.0.0.1 and forwards each connection to the Postgres of `server_url`, counting round trips (and
    delaying each by `round_trip_delay` seconds)."""

    def __init__(self, server_url: str, round_trip_delay: float = 0.0) -> None:
        self.round_trip_delay = round_trip_delay
        parameters = parse_dsn(server_url)
        self._target = (parameters.get("host") or "127.0.0.1", int(parameters.get("port") or 5432))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self.round_trips = 0
        self.waits = 0  # round trips charged `round_trip_delay`: the statements' and the connections' set-up
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
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._client_to_server, args=(client,), daemon=True).start()

    def _wait(self) -> None:
        with self._lock:
            self.waits += 1
        if self.round_trip_delay:
            time.sleep(self.round_trip_delay)

    def _client_to_server(self, client: socket.socket) -> None:
        self._wait()  # the TCP handshake
        try:
            server = socket.create_connection(self._target)
        except OSError:
            _close_both(client)
            return
        threading.Thread(target=_relay, args=(server, client), daemon=True).start()
        reader = client.makefile("rb")
        try:
            # Untyped messages first: an optional SSLRequest/GSSENCRequest, then the StartupMessage.
            while True:
                header = reader.read(8)
                if len(header) < 8:
                    return
                length, code = struct.unpack("!ii", header)
                body = reader.read(length - 8)
                self._wait()
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
                if kind[0] in _ROUND_TRIP_MESSAGES or kind[0] == _AUTHENTICATION_MESSAGE:
                    self._wait()
                server.sendall(kind + size + body)
        except (OSError, struct.error):
            pass
        finally:
            _close_both(client, server)
