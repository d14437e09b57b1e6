"""Which Host headers the local app answers: only those naming an address it listens on, against DNS rebinding.

A page on another site can have its name resolve to 127.0.0.1 after it has loaded (DNS rebinding); the browser then
lets it read this app's answers as its own, since the name, and so the origin, did not change. That name is still in
the Host header, so the app answers only a Host that names the address it listens on: an IP literal of a bound socket
(with a wildcard bind, any address of this machine), or `localhost` when it listens on loopback. No other name is
answered, since any name can be rebound. The port is not checked: rebinding turns on the name alone, and a port
forward (`ssh -L 8080:localhost:5000`) shows the browser another port for the same app.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from functools import lru_cache

from waitress.server import BaseWSGIServer, MultiSocketServer

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host = IP-literal / IPv4address / reg-name, then an optional port (RFC 9110 §7.2, RFC 3986 §3.2.2)
_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9a-fA-F:.]+)\]|(?P<name>[^:\[\]@/\s]+))(?::[0-9]{1,5})?")
LOOPBACK_NAME = "localhost"


class ListeningAddresses:
    """The addresses the app's sockets are bound to, and whether a Host header names one of them."""

    def __init__(self, bound: Iterable[str]) -> None:
        self.bound = frozenset(ipaddress.ip_address(address) for address in bound)

    def named_by(self, host: str | None) -> bool:
        match = _HOST.fullmatch(host or "")
        if match is None:
            return False
        if match["name"] is not None and match["name"].lower() == LOOPBACK_NAME:
            return any(address.is_loopback or address.is_unspecified for address in self.bound)
        try:
            named = ipaddress.ip_address(match["ipv6"] or match["name"])
        except ValueError:
            return False  # a name other than localhost: it may have been rebound
        if named.is_unspecified:
            return False  # "0.0.0.0" is no address to send a request to, whatever browsers make of it
        if named in self.bound:
            return True
        wildcard = any(address.is_unspecified and address.version == named.version for address in self.bound)
        return wildcard and _of_this_machine(named)


@lru_cache(maxsize=256)
def _of_this_machine(address: IPAddress) -> bool:
    """Whether a socket can be bound to the address, which the system allows for its own addresses only."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


def listening_addresses(server: BaseWSGIServer | MultiSocketServer) -> ListeningAddresses:
    """The addresses a waitress server listens on (one socket, or several: `localhost` may bind IPv4 and IPv6)."""
    if isinstance(server, MultiSocketServer):
        return ListeningAddresses(host for host, _port in server.effective_listen)
    return ListeningAddresses([server.effective_host])
