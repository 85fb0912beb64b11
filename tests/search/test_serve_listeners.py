"""``parity serve --workers N`` gives each worker its own SO_REUSEPORT listening socket, so connections
opened all at once spread over the workers instead of piling onto whichever one was in ``accept()``."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

import pytest

from parity.search.listeners import SPREADS, bind_reusable
from tests.conftest import ExampleEnv
from tests.search.test_serve import serve

pytestmark = pytest.mark.skipif(
    not SPREADS or not Path("/proc/net/tcp").exists(), reason="needs SO_REUSEPORT and Linux's /proc"
)


def test_two_sockets_bind_one_port_and_a_taken_port_is_refused() -> None:
    first = bind_reusable("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = bind_reusable("127.0.0.1", port)  # the same port: a worker's own socket
    plain = socket.socket()
    try:
        with pytest.raises(OSError):  # a socket without SO_REUSEPORT cannot join them
            plain.bind(("127.0.0.1", port))
        first.listen()
        second.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        for sock in (first, second, plain):
            sock.close()
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        with pytest.raises(OSError):  # taken by a socket that did not opt in
            bind_reusable("127.0.0.1", holder.getsockname()[1])
    finally:
        holder.close()


def _sockets(port: int, state: str) -> set[str]:
    """Inodes of the IPv4 TCP sockets on local ``port`` in ``state`` (01 established, 0A listening)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _established_per_process(pids: list[int], port: int) -> dict[int, int]:
    """Accepted connections on ``port`` (ESTABLISHED, local port) held by each of ``pids``."""
    inodes = _sockets(port, "01")
    held = {}
    for pid in pids:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                count += 1
        held[pid] = count
    return held


def test_connections_opened_at_once_spread_over_both_workers(example_env: ExampleEnv, tmp_path: Path) -> None:
    with serve(example_env.config_path, tmp_path / "serve.log", "--workers", "2") as served:
        port = int(served.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 60
        while len(_sockets(port, "0A")) < 2:  # the port answers once the first worker listens
            assert time.monotonic() < deadline, "the second worker never listened"
            time.sleep(0.1)
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(32)]
        try:
            for connection in connections:  # all open before the first request, as a pool opens them
                connection.connect()
            for connection in connections:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                assert response.status == 200
            parent = served.process.pid
            children = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
            held = _established_per_process(children, port)
            workers = {pid: count for pid, count in held.items() if count}
            # every connection is held by a worker, and each of the two holds a share: 32 connections
            # hashed over two sockets leave one with fewer than 4 about once in a million runs
            assert sum(workers.values()) == 32, held
            assert len(workers) == 2 and min(workers.values()) >= 4, held
        finally:
            for connection in connections:
                connection.close()


def test_a_taken_port_is_one_line_and_exit_2_with_several_workers(example_env: ExampleEnv) -> None:
    import subprocess
    import sys

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        command = [sys.executable, "-m", "parity.cli", "serve", "--config", str(example_env.config_path)]
        done = subprocess.run(
            [*command, "--port", str(port), "--workers", "2"], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"parity: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
