"""A TCP proxy on 127.0.0.1 that adds a one-way delay in front of a PostgreSQL server.

Benchmarks use it to put PostgreSQL "1 ms away" as in a real VPC, without root (no netem). The
upstream is either ``host:port`` (TCP) or a Unix socket path (the embedded PostgreSQL listens on one)::

    with LatencyProxy("/tmp/pgsock/.s.PGSQL.5432", delay_ms=1.0) as proxy:
        dsn = proxy.dsn("postgresql://parity@/parity")   # host/port replaced by the proxy's
        ...
    print(proxy.round_trips)   # client->server messages that followed a server->client reply

Each direction has its own pump: a reader thread timestamps every chunk as it arrives and a writer
thread sends it once ``delay`` has elapsed since its arrival, so pipelined traffic is delayed, not
serialised (a round trip costs 2 x delay, like a real network). ``round_trips`` counts request
bursts (a client chunk after server output), a fair stand-in for protocol round trips.

Run standalone: ``python bench/latency_proxy.py UPSTREAM --delay-ms 1 [--port 0]``.

:class:`ProxyProcess` runs the same proxy in its own process: a benchmark of a client whose own
CPU counts (many requests in flight) then pays none of the proxy's threads in its interpreter,
as it pays nothing for a real network, and :func:`cpu_seconds` tells each process's CPU apart::

    with ProxyProcess("127.0.0.1:5000", delay_ms=10) as proxy:
        ...                       # talk to 127.0.0.1:proxy.port
        proxy.stats()             # {"round_trips": ..., "connections": ...}
        cpu_seconds(proxy.pid)    # the proxy's own CPU so far
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

_CHUNK = 256 * 1024


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    round_trips: int = 0
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class LatencyProxy:
    """Listen on 127.0.0.1:``port`` (0 = any free port) and forward to ``upstream`` with a delay."""

    def __init__(self, upstream: str, *, delay_ms: float = 1.0, port: int = 0) -> None:
        self.upstream = upstream
        self.delay = delay_ms / 1000.0
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._counters = _Counters()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, name="latency-proxy", daemon=True)

    # --- public --------------------------------------------------------------------------------

    @property
    def round_trips(self) -> int:
        return self._counters.round_trips

    @property
    def connections(self) -> int:
        return self._counters.connections

    def reset_counters(self) -> None:
        with self._counters.lock:
            self._counters.round_trips = 0
            self._counters.bytes_up = 0
            self._counters.bytes_down = 0

    def dsn(self, base: str) -> str:
        """``base`` (any libpq DSN) pointed at the proxy: host 127.0.0.1, the proxy's port."""
        import psycopg

        return psycopg.conninfo.make_conninfo(base, host="127.0.0.1", port=str(self.port), hostaddr="")

    def start(self) -> LatencyProxy:
        self._accept_thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------

    def _connect_upstream(self) -> socket.socket:
        if self.upstream.startswith("/") or os.path.exists(self.upstream):
            path = self.upstream
            if os.path.isdir(path):
                path = os.path.join(path, ".s.PGSQL.5432")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock
        host, _, port = self.upstream.rpartition(":")
        sock = socket.create_connection((host or "127.0.0.1", int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()
                continue
            self._sockets += [client, server]
            with self._counters.lock:
                self._counters.connections += 1
            state = {"last_up": False}
            pair = _Pair(client, server, self._sockets)
            for src, dst, up in ((client, server, True), (server, client, False)):
                pending: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
                reader = threading.Thread(target=self._read, args=(src, pending, up, state), daemon=True)
                writer = threading.Thread(target=self._write, args=(dst, pending, pair), daemon=True)
                reader.start()
                writer.start()
                self._threads += [reader, writer]

    def _read(
        self, src: socket.socket, pending: queue.Queue[tuple[float, bytes] | None], up: bool, state: dict[str, bool]
    ) -> None:
        try:
            while True:
                data = src.recv(_CHUNK)
                if not data:
                    break
                with self._counters.lock:
                    if up:
                        self._counters.bytes_up += len(data)
                        if not state["last_up"]:
                            self._counters.round_trips += 1
                    else:
                        self._counters.bytes_down += len(data)
                    state["last_up"] = up
                pending.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        finally:
            pending.put(None)

    def _write(self, dst: socket.socket, pending: queue.Queue[tuple[float, bytes] | None], pair: _Pair) -> None:
        try:
            while True:
                entry = pending.get()
                if entry is None:
                    break
                due, data = entry
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            pair.one_direction_done()


class _Pair:
    """A proxied connection's two sockets, closed once both directions are done (without it every
    connection kept two file descriptors for ever: a client that opens a connection per request, as
    moto's server makes boto3 do, ran the process out of descriptors after ~10,000 requests)."""

    def __init__(self, client: socket.socket, server: socket.socket, registry: list[socket.socket]) -> None:
        self._sockets = (client, server)
        self._registry = registry
        self._open = 2
        self._lock = threading.Lock()

    def one_direction_done(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open:
                return
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
            with contextlib.suppress(ValueError):
                self._registry.remove(sock)


def cpu_seconds(pid: int | None = None) -> float:
    """User plus system CPU seconds used so far: by this process (``pid`` None or ours: all its
    threads, not its children), or by process ``pid`` and its direct children (a ``--workers``
    server's), from /proc (Linux). A child that already exited counts nothing."""
    if pid is None or pid == os.getpid():
        times = os.times()
        return times.user + times.system
    pids = [pid]
    with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as children:
        pids += [int(child) for child in children.read().split()]
    total = 0
    for one in pids:
        try:
            with open(f"/proc/{one}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class ProxyProcess:
    """A :class:`LatencyProxy` in a child process (``main --control``); its counters over a pipe."""

    def __init__(self, upstream: str, *, delay_ms: float = 1.0) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, upstream, "--delay-ms", str(delay_ms), "--control"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        self.port = int(self._stdout.readline())
        self.pid = self._process.pid

    def stats(self) -> dict[str, int]:
        """The proxy's counters: ``round_trips`` (request bursts) and ``connections``."""
        self._stdin.write("stats\n")
        self._stdin.flush()
        return dict(json.loads(self._stdout.readline()))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("upstream", help="host:port or a Unix socket path (or its directory)")
    parser.add_argument("--delay-ms", type=float, default=1.0, help="one-way delay (default 1 ms)")
    parser.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (default any)")
    parser.add_argument(
        "--control",
        action="store_true",
        help="print the port alone, answer 'stats' on stdin with the counters as JSON, stop at end of input",
    )
    args = parser.parse_args()
    with LatencyProxy(args.upstream, delay_ms=args.delay_ms, port=args.port) as proxy:
        if args.control:
            print(proxy.port, flush=True)
            for line in sys.stdin:
                if line.strip() == "stats":
                    print(json.dumps({"round_trips": proxy.round_trips, "connections": proxy.connections}), flush=True)
            return
        print(f"listening on 127.0.0.1:{proxy.port} -> {args.upstream} (+{args.delay_ms} ms each way)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
