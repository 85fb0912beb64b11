"""One listening socket per worker of ``parity serve --workers N``, so the kernel spreads connections.

uvicorn's own ``--workers`` binds one socket in the parent and hands it to every worker: whichever
worker is in ``accept()`` when connections arrive takes them. A client that opens its keep-alive
connections at once (a load balancer with a few long-lived connections, a benchmark's 32 clients)
then lands mostly on one worker, which does the work on one core while the others idle. Here each
worker gets its own socket bound to the same address with ``SO_REUSEPORT``, and the kernel
(Linux 3.9+) assigns each new connection to one of the listening sockets by a hash of its
addresses: the connections spread evenly, whatever the workers happen to be doing.

The sockets are bound in the parent (so a taken port fails there, once, and port 0 resolves to
one port for all) but not listened on: a worker's event loop listens when it starts, so only
sockets whose worker serves are in the kernel's group. The parent closes its copy of each socket
within half a second of starting the worker it was made for (the worker holds its own), so when a
worker dies its socket goes with it and the kernel hashes new connections over the others. Everything else (worker
restarts, signals, graceful shutdown) is uvicorn's supervisor, unchanged.
"""

from __future__ import annotations

import socket
from typing import Any

#: whether this platform can spread connections over one socket per worker
SPREADS = hasattr(socket, "SO_REUSEPORT")


def bind_reusable(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` with ``SO_REUSEPORT`` (and ``SO_REUSEADDR``, as
    uvicorn's own), not yet listening; OSError when the address cannot be bound."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def run_spread(config: Any, host: str, port: int) -> None:
    """Run uvicorn's supervisor over ``config.workers`` workers, each listening on its own
    ``SO_REUSEPORT`` socket for ``host``:``port`` (see the module docstring). OSError when the
    address cannot be bound."""
    from uvicorn.supervisors import Multiprocess

    first = bind_reusable(host, port)
    bound_port = int(first.getsockname()[1])  # port 0 resolved: every worker binds this one

    class Spread(Multiprocess):
        """uvicorn's supervisor, asked for a fresh socket each time it starts a worker: every
        place it makes one (start, restart of a dead worker, SIGHUP, SIGTTIN) reads ``sockets``
        right before starting it, so the previous socket's worker has started by then."""

        def __init__(self) -> None:
            self._made: list[socket.socket] = [first]
            self._first = True
            super().__init__(config, sockets=[])

        @property
        def sockets(self) -> list[socket.socket]:
            if self._first:  # the socket that resolved the port goes to the first worker
                self._first = False
                return [first]
            self.close_started()
            sock = bind_reusable(host, bound_port)
            self._made.append(sock)
            return [sock]

        @sockets.setter
        def sockets(self, _value: list[socket.socket]) -> None:
            pass  # the supervisor's list is never used: see the getter

        def keep_subprocess_alive(self) -> None:
            # every 0.5 s in the supervisor's loop: each socket made before was handed to a worker
            # that started within the same call that made it (start, restart, a signal's handler)
            self.close_started()
            super().keep_subprocess_alive()

        def close_started(self) -> None:
            """Close the parent's copies: each worker they were made for has started."""
            made, self._made = self._made, []
            for sock in made:
                sock.close()

    supervisor = Spread()
    try:
        supervisor.run()
    finally:
        supervisor.close_started()
