"""``parity serve``: the search HTTP API (:mod:`parity.search.api`) under uvicorn.

``--workers`` defaults to the CPUs the process may use (:func:`default_workers`: the affinity mask,
capped by a cgroup CPU quota, so a 0.5-vCPU ECS task runs one); each worker is a process with its own
boto3 client and document cache, and its own listening socket (:mod:`parity.search.listeners`), so
connections spread over the workers however few there are. The search is CPU-bound Python: one
process uses at most one core.
SIGTERM or SIGINT stops accepting connections and lets in-flight requests finish (up to
``--request-timeout`` plus a second) before the process exits 0: what ECS expects of a task it stops.
uvicorn's own access log is off: :class:`~parity.search.api.AccessLog` writes one structured line per
request through parity's logging instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
from pathlib import Path
from typing import Any

from parity.commands.common import config_from
from parity.config import ParityConfig, load_config
from parity.dynamo import client as dynamo_client
from parity.errors import ConfigError, InputError
from parity.search.engine import add_release_argument, with_release
from parity.search.listeners import SPREADS, run_spread

_CONFIG_ENV = "PARITY_SERVE_CONFIG"
_SETTINGS_ENV = "PARITY_SERVE_SETTINGS"


EXAMPLES = """\
examples:
  parity serve                              # http://127.0.0.1:8080/v1/campaigns/ID/search?q=QUERY
  parity serve --host 0.0.0.0 --port 8080 --workers 1  # one process (default: one per CPU)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"worker processes (default: the CPUs this process may use, here {default_workers()})",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="searches run at once per worker (default 16)")
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="seconds before a request answers 504 (default 10)"
    )
    add_release_argument(parser)
    parser.add_argument(
        "--max-connections", type=int, default=256, help="open connections per worker before 503 (default 256)"
    )


def default_workers() -> int:
    """The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (a container's
    share, e.g. 1 for an ECS task of 512 CPU units); at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, int(quota))
    return max(1, cpus)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs granted by the cgroup (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), None when unlimited or unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def _client_factory(config: ParityConfig, concurrency: int, timeout: float) -> Any:
    """The worker's boto3 client: a pool as large as the concurrency, timeouts inside the request's."""

    def make() -> Any:
        return dynamo_client(
            config.dynamodb,
            max_pool=concurrency,
            max_attempts=3,
            connect_timeout=min(2.0, timeout),
            read_timeout=max(1.0, timeout),
        )

    return make


def build_app(config: ParityConfig, concurrency: int = 16, request_timeout: float = 10.0) -> Any:
    """The ASGI app with access logs, as uvicorn serves it."""
    from parity.search.api import AccessLog, ServeSettings, create_app

    settings = ServeSettings(concurrency=concurrency, request_timeout=request_timeout)
    app = create_app(config, _client_factory(config, concurrency, request_timeout), settings)
    return AccessLog(app)


def app_from_environment() -> Any:
    """uvicorn's factory in each worker process of ``--workers N`` (config path and settings from the parent)."""
    from parity.telemetry import configure_logging, configure_metrics

    configure_logging()
    # the workers export metrics side by side: each is its own instance, or their series would collide
    attributes = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if "service.instance.id=" not in attributes:
        instance = f"service.instance.id={socket.gethostname()}-{os.getpid()}"
        os.environ["OTEL_RESOURCE_ATTRIBUTES"] = f"{attributes},{instance}" if attributes else instance
    configure_metrics()
    concurrency, timeout, release = os.environ[_SETTINGS_ENV].split(",")
    config = with_release(load_config(os.environ[_CONFIG_ENV]), release or None)
    return build_app(config, int(concurrency), float(timeout))


def run(args: argparse.Namespace) -> int:
    if args.workers is None:
        args.workers = default_workers()
    for name in ("workers", "concurrency", "max_connections"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if args.request_timeout <= 0:
        raise InputError("--request-timeout must be positive")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port} is not a TCP port")
    config = config_from(args)
    if config.search is None:
        raise ConfigError("the config has no [search] section; add one (see docs/search.md)")
    config = with_release(config, args.postgres_version)
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise ConfigError("parity serve needs the 'serve' extra", hint="pip install 'parity[serve]'") from exc

    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_config": None,  # parity's logging, not uvicorn's dictConfig
        "limit_concurrency": args.max_connections,
        "timeout_graceful_shutdown": int(args.request_timeout) + 1,
        "server_header": False,
        "lifespan": "on",
    }
    # uvicorn re-raises the SIGTERM it drained on after shutting down; by then the work is done, so it
    # should end the process with 0 (what ECS expects of a stopped task), not with the signal's default
    signal.signal(signal.SIGTERM, lambda *_: None)
    if args.workers > 1:
        os.environ[_CONFIG_ENV] = os.path.abspath(args.config)
        os.environ[_SETTINGS_ENV] = f"{args.concurrency},{args.request_timeout},{args.postgres_version or ''}"
        target = "parity.search.serve:app_from_environment"
        if not SPREADS:  # no SO_REUSEPORT: uvicorn's one socket shared by the workers
            uvicorn.run(target, factory=True, workers=args.workers, **common)
            return 0
        try:
            run_spread(uvicorn.Config(target, factory=True, workers=args.workers, **common), args.host, args.port)
        except OSError as exc:
            raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
        return 0
    app = build_app(config, args.concurrency, args.request_timeout)
    server = uvicorn.Server(uvicorn.Config(app, **common))
    try:
        server.run()
    except (OSError, SystemExit) as exc:  # uvicorn logs a failed bind and exits 1
        raise InputError(f"cannot listen on {args.host}:{args.port} (see the log above)") from exc
    if not server.started:
        raise InputError(f"cannot listen on {args.host}:{args.port} (see the log above)")
    return 0
