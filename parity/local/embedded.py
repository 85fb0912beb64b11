"""The embedded local stack: moto's DynamoDB server and an embedded PostgreSQL (pgserver).

Used by ``parity demo``, the tests and the benchmarks when no endpoint or DSN is configured. Both
are real servers spoken to over real connections: moto answers boto3 over HTTP on 127.0.0.1 (with
DynamoDB Streams and Kinesis), pgserver runs the PostgreSQL binaries it ships on a Unix socket in a
temporary directory. Nothing is left running after :meth:`EmbeddedStack.close`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from parity.errors import DependencyError

#: Credentials for the local stack; moto accepts any, boto3 insists on some.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# Served by hypercorn when HTTP/2 is wanted (KCL's Kinesis client speaks h2c; moto's own server does not).
_MOTO_ASGI = "moto.moto_server.werkzeug_app:DomainDispatcherApplication"


#: What ``pip install 'parity[local]'`` brings: the import names the embedded stack needs.
LOCAL_PACKAGES = ("moto", "pgserver")


def require_local_stack(what: str = "the embedded local stack") -> None:
    """Refuse in one line, naming the install command, when the ``local`` extra is not installed."""
    import importlib.util

    missing = [name for name in LOCAL_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise DependencyError(
            f"{what} needs the 'local' extra, which is not installed (missing: {', '.join(missing)})",
            hint="pip install 'parity[local]'; in a clone of the repository: pip install -e '.[local]'",
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """moto's server in a child process on 127.0.0.1."""

    endpoint_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_moto(*, http2: bool = False, port: int | None = None, log_dir: Path | None = None) -> MotoServer:
    """Start moto's server and wait until it answers; ``http2`` serves it with hypercorn (h2c + HTTP/1.1)."""
    port = port or free_port()
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="parity-moto-"))
    log_path = log_dir / "moto.log"
    if http2:
        app_module = log_dir / "parity_moto_app.py"
        app_module.write_text(
            "from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n"
            "app = DomainDispatcherApplication(create_backend_app)\n"
        )
        command = [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "parity_moto_app:app"]
        cwd: str | None = str(log_dir)
    else:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        cwd = None
    env = {**os.environ, **LOCAL_AWS_ENV}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    server = MotoServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DependencyError(f"moto server exited with code {process.returncode}; see {log_path}")
        try:
            urllib.request.urlopen(f"{server.endpoint_url}/moto-api/", timeout=1).close()
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    server.stop()
    raise DependencyError(f"moto server did not answer on {server.endpoint_url} within 30 s; see {log_path}")


@dataclass
class EmbeddedPostgres:
    """An embedded PostgreSQL server (pgserver) whose data lives in ``data_dir``."""

    data_dir: Path
    server: Any
    dsn: str

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.cleanup()

    def psql_command(self) -> str:
        """A shell command that opens psql (the one the embedded PostgreSQL ships) on this server."""
        import shlex

        from pgserver._commands import POSTGRES_BIN_PATH

        return shlex.join([str(POSTGRES_BIN_PATH / "psql"), self.dsn])

    def pg_ctl(self, action: str) -> None:
        """Stop or start the server in place (tests that take PostgreSQL away and bring it back)."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        if action == "stop":
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=self.data_dir, user=self.server.system_user, timeout=30)
        elif action == "start":
            self.server.ensure_postgres_running()
        else:
            raise ValueError(action)


def start_postgres(data_dir: Path | None = None) -> EmbeddedPostgres:
    """Start an embedded PostgreSQL in a temp dir; its DSN uses a Unix socket."""
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        import pgserver
    except ImportError as exc:
        raise DependencyError(
            "the embedded PostgreSQL needs the 'local' extra", hint="pip install 'parity[local]'"
        ) from exc
    base = data_dir or Path(tempfile.mkdtemp(prefix="parity-pg-"))
    pgdata = base / "pgdata"
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as exc:
        raise DependencyError(f"could not start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    return EmbeddedPostgres(pgdata, server, str(server.get_uri()))


@dataclass
class EmbeddedStack:
    """Both servers together (or PostgreSQL alone: ``with_moto=False``); a context manager that leaves
    nothing running."""

    http2: bool = False
    with_moto: bool = True
    moto: MotoServer | None = None
    postgres: EmbeddedPostgres | None = None
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="parity-stack-")))
    keep_files: bool = False

    def start(self) -> EmbeddedStack:
        require_local_stack()
        self.postgres = start_postgres(self.root)
        if self.with_moto:
            self.moto = start_moto(http2=self.http2, log_dir=self.root)
        return self

    @property
    def endpoint_url(self) -> str:
        assert self.moto is not None
        return self.moto.endpoint_url

    @property
    def dsn(self) -> str:
        assert self.postgres is not None
        return self.postgres.dsn

    def environment(self) -> dict[str, str]:
        """Environment variables that point parity (and boto3/libpq) at this stack."""
        return {**LOCAL_AWS_ENV, "AWS_ENDPOINT_URL": self.endpoint_url, "PARITY_POSTGRES_DSN": self.dsn}

    def close(self) -> None:
        if self.moto is not None:
            self.moto.stop()
        if self.postgres is not None:
            self.postgres.stop()
        if not self.keep_files:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object | type[BaseException] | TracebackType | None) -> None:
        self.close()
