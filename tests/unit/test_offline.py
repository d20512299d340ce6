"""The guard of tests/unit/conftest.py: unit tests cannot reach the network."""

import asyncio
import socket

import httpx
import pytest

from tests.unit.conftest import NetworkBlocked


def test_no_connection_not_even_to_this_machine(no_network):
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("api.telegram.org", 443)
    with pytest.raises(NetworkBlocked):
        httpx.get("https://api.weixin.qq.com/cgi-bin/token", timeout=1)
    assert len(no_network) == 3
    no_network.clear()  # seen: the test of the guard itself passes


async def test_asyncio_connections_are_refused_too(no_network):
    with pytest.raises(NetworkBlocked):
        await asyncio.open_connection("127.0.0.1", 9)
    async with httpx.AsyncClient() as client:
        with pytest.raises(BaseExceptionGroup) as raised:  # anyio's connect groups what is not an OSError
            await client.get("http://127.0.0.1:9/")
    assert raised.group_contains(NetworkBlocked)
    assert len(no_network) == 2
    no_network.clear()


def test_unix_sockets_stay_allowed(tmp_path):
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        server.bind(path)
        server.listen()
        client.connect(path)
