"""Unit tests cannot reach the network, not even this machine's: no TCP/UDP connection, no name look-up.

Like python-telegram-bot's OfflineRequest: a connection is refused at once with NetworkBlocked, which is no
OSError, so no retry or fallback of the product mistakes it for a dead server and carries on quietly; and
in case something catches it all the same, the test fails at its end, naming the address. Unix sockets
(the embedded Redis) stay allowed: they are not the network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


class NetworkBlocked(RuntimeError):
    pass


_LITERAL_HOSTS = {None, "", "localhost"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """The attempts so far (a test of this guard may clear them)."""
    attempts: list[str] = []

    def refuse(what: str) -> NetworkBlocked:
        attempts.append(what)
        return NetworkBlocked(f"unit tests cannot reach the network: {what} (use an integration test)")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise refuse(f"connect to {address!r}")

    def connect_ex(self: socket.socket, address: object) -> int:
        if self.family == socket.AF_UNIX:
            return real_connect_ex(self, address)
        raise refuse(f"connect to {address!r}")

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if host in _LITERAL_HOSTS or _is_ip(host):
            return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]
        raise refuse(f"look up {host!r}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts:
        pytest.fail(f"{request.node.nodeid} tried to reach the network: {'; '.join(attempts)}", pytrace=False)


def _is_ip(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except OSError:
            pass
    return False
