"""A TCP proxy in front of Postgres that counts round trips at the wire: each query message a client sends.

psycopg2 speaks the simple query protocol, so every statement batch it sends (BEGIN, a query, COMMIT) is one `Q`
message that the client then waits on; the extended protocol's `Sync` ends a round trip the same way. Counting those
messages counts what a database at a network distance would charge, whatever the code above does.

With `round_trip_delay` it also charges it: each of those messages, each message of a connection's set-up, and the
TCP connect wait that long before they go on (the whole round trip on the way out), which is how the bench puts the
database at Neon's distance.

With `record` it also keeps what each round trip said and what came back: the text sent (psycopg2 interpolates the
values client-side, so the text is the whole statement) and each result's columns and rows as the server wrote them
(text format). The capacity bench turns those into pgbench scripts (bench/scripts.py).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Self

from psycopg2.extensions import make_dsn, parse_dsn

_PROTOCOL_3 = 196608
_ROUND_TRIP_MESSAGES = {ord("Q"), ord("S")}  # simple query; Sync of the extended protocol
_AUTHENTICATION_MESSAGE = ord("p")  # the password, SASL and GSS answers of a connection's set-up
# Requests before the StartupMessage that the server answers with one untyped byte ('N' to go on in plain text).
_ENCRYPTION_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest


@dataclass
class Answer:
    """One result of a statement as the server sent it: column names with their type OIDs, rows as text (None for
    NULL), and the command tag."""

    columns: list[tuple[str, int]] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    tag: str = ""


@dataclass
class RecordedRoundTrip:
    """What a client sent in one round trip and what the server answered, in order (one Answer per statement that
    returned rows or a tag); `error` is the server's message if the round trip failed. `extended`: sent with the
    extended protocol, whose parameters travel apart from the text (psycopg2 never does)."""

    connection: int
    text: str
    answers: list[Answer] = field(default_factory=list)
    error: str | None = None
    extended: bool = False


class _Peer:
    """A proxied connection's state, shared by its two relay threads when recording."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.pending: deque[RecordedRoundTrip] = deque()  # sent, not yet answered in full (ReadyForQuery)
        self.parsed: list[str] = []  # extended protocol: the texts parsed since the last Sync
        self.single_byte_answers = 0  # encryption requests the server has still to answer with one byte
        self.lock = threading.Lock()


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(0, at)
    return body[at:end].decode(), end + 1


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
    delaying each by `round_trip_delay` seconds; recording each in `recorded` with `record`)."""

    def __init__(self, server_url: str, round_trip_delay: float = 0.0, *, record: bool = False) -> None:
        self.round_trip_delay = round_trip_delay
        self.record = record
        self.recorded: list[RecordedRoundTrip] = []
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

    @contextmanager
    def recording(self) -> Iterator[list[RecordedRoundTrip]]:
        """Yields a list that holds, once the block ends, the round trips recorded inside it (needs `record`)."""
        if not self.record:
            raise RuntimeError("this counter was made without record=True")
        with self._lock:
            start = len(self.recorded)
        box: list[RecordedRoundTrip] = []
        try:
            yield box
        finally:
            with self._lock:
                box.extend(self.recorded[start:])

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
                peer = _Peer(self.connections)
            threading.Thread(target=self._client_to_server, args=(client, peer), daemon=True).start()

    def _wait(self) -> None:
        with self._lock:
            self.waits += 1
        if self.round_trip_delay:
            time.sleep(self.round_trip_delay)

    def _client_to_server(self, client: socket.socket, peer: _Peer) -> None:
        self._wait()  # the TCP handshake
        try:
            server = socket.create_connection(self._target)
        except OSError:
            _close_both(client)
            return
        if self.record:
            threading.Thread(target=self._record_answers, args=(server, client, peer), daemon=True).start()
        else:
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
                if code in _ENCRYPTION_REQUESTS:
                    with peer.lock:
                        peer.single_byte_answers += 1
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
                if self.record:
                    self._note_request(peer, kind[0], body)
                if kind[0] in _ROUND_TRIP_MESSAGES or kind[0] == _AUTHENTICATION_MESSAGE:
                    self._wait()
                server.sendall(kind + size + body)
        except (OSError, struct.error):
            pass
        finally:
            _close_both(client, server)

    def _note_request(self, peer: _Peer, kind: int, body: bytes) -> None:
        """Record a simple query, or the texts a Sync of the extended protocol ends, as a round trip awaiting its
        answer."""
        if kind == ord("P"):  # Parse: statement name, then its text
            _, at = _cstring(body, 0)
            text, _ = _cstring(body, at)
            peer.parsed.append(text)
            return
        if kind == ord("Q"):
            round_trip = RecordedRoundTrip(peer.number, _cstring(body, 0)[0])
        elif kind == ord("S"):
            round_trip = RecordedRoundTrip(peer.number, "; ".join(peer.parsed), extended=True)
            peer.parsed = []
        else:
            return
        with peer.lock:
            peer.pending.append(round_trip)
        with self._lock:
            self.recorded.append(round_trip)

    def _record_answers(self, server: socket.socket, client: socket.socket, peer: _Peer) -> None:
        """The server-to-client relay when recording: each message read whole, noted on the round trip it answers,
        then passed on."""
        reader = server.makefile("rb")
        try:
            while kind := reader.read(1):
                with peer.lock:
                    untyped = peer.single_byte_answers > 0
                    if untyped:
                        peer.single_byte_answers -= 1
                if untyped:  # 'N': go on in plain text; anything else encrypts the rest, which cannot be read
                    client.sendall(kind)
                    if kind != b"N":
                        _relay(server, client)
                        return
                    continue
                size = reader.read(4)
                (length,) = struct.unpack("!i", size)
                body = reader.read(length - 4)
                self._note_answer(peer, kind[0], body)
                client.sendall(kind + size + body)
        except (OSError, struct.error):
            pass
        finally:
            _close_both(server, client)

    @staticmethod
    def _note_answer(peer: _Peer, kind: int, body: bytes) -> None:
        with peer.lock:
            if not peer.pending:  # the set-up's messages, or a notice between statements
                return
            round_trip = peer.pending[0]
            if kind == ord("Z"):  # ReadyForQuery: the round trip is over
                peer.pending.popleft()
            elif kind == ord("T"):  # RowDescription
                (count,) = struct.unpack_from("!h", body, 0)
                at, columns = 2, []
                for _ in range(count):
                    name, at = _cstring(body, at)
                    (type_oid,) = struct.unpack_from("!i", body, at + 6)
                    columns.append((name, type_oid))
                    at += 18
                round_trip.answers.append(Answer(columns))
            elif kind == ord("D"):  # DataRow
                (count,) = struct.unpack_from("!h", body, 0)
                at, values = 2, []
                for _ in range(count):
                    (size,) = struct.unpack_from("!i", body, at)
                    at += 4
                    values.append(None if size < 0 else body[at : at + size].decode())
                    at += max(size, 0)
                round_trip.answers[-1].rows.append(tuple(values))
            elif kind == ord("C"):  # CommandComplete: closes a result with rows, or stands alone
                tag = _cstring(body, 0)[0]
                if round_trip.answers and not round_trip.answers[-1].tag and round_trip.answers[-1].columns:
                    round_trip.answers[-1].tag = tag
                else:
                    round_trip.answers.append(Answer(tag=tag))
            elif kind == ord("E"):  # ErrorResponse: fields of (code, text); M is the message
                at = 0
                while body[at]:
                    code, (text, at) = body[at], _cstring(body, at + 1)
                    if code == ord("M"):
                        round_trip.error = text
