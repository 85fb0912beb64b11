"""What the benchmarks in bench/ share: the local stack set up for a run, progress lines, the load
average, percentiles, and the small steps several of them take (a fresh database, a latency proxy in
front of PostgreSQL, a parity command run in-process for its JSON).

A bench runs as ``.venv/bin/python bench/NAME.py``: Python puts bench/ first on ``sys.path``, so
``from _common import ...`` finds this module, and importing it puts the repository's root there
too, so the bench uses this checkout's parity whatever else is installed. boto3, psycopg and parity
are imported by the functions that use them: a helper process a bench starts from its own file (the
DynamoDB stand-in of bench/serve.py) imports this module without paying for them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latency_proxy import LatencyProxy

    from parity.local.embedded import EmbeddedStack

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    """A progress line on stderr (the figures go to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: every figure is printed with the machine's load."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(samples: list[float], q: float) -> float:
    """The sample at the ``q``-th percentile (nearest rank on the sorted samples)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@contextlib.contextmanager
def local_stack(*, with_moto: bool = True, log_level: str | None = "error") -> Iterator[EmbeddedStack]:
    """The embedded stack for one run, stopped and its folder removed after. moto's fake credentials
    go into this process's environment (for the bench's own boto3 clients), parity's logging is set
    to ``log_level`` (the injected faults would log a warning per batch), the load average is logged
    before and after."""
    from parity.local.embedded import LOCAL_AWS_ENV, EmbeddedStack
    from parity.telemetry import configure_logging

    if log_level is not None:
        configure_logging(level=log_level)
    for name, value in LOCAL_AWS_ENV.items():
        os.environ.setdefault(name, value)
    log(f"load average before: {load_average()}")
    with EmbeddedStack(with_moto=with_moto) as stack:
        yield stack
    log(f"load average after: {load_average()}")


def dynamodb_client(endpoint: str, **config: Any) -> Any:
    """A boto3 DynamoDB client for ``endpoint`` (``config``: botocore settings, e.g. max_pool_connections)."""
    import boto3
    import botocore.config

    settings = botocore.config.Config(**config) if config else None
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=settings)


def pg_proxy(dsn: str, delay_ms: float) -> LatencyProxy:
    """A latency proxy ``delay_ms`` (one way) in front of the PostgreSQL ``dsn`` names by its host: the
    embedded server's socket directory. Use it as a context manager; ``proxy.dsn(dsn)`` goes through it."""
    import psycopg
    from latency_proxy import LatencyProxy

    return LatencyProxy(str(psycopg.conninfo.conninfo_to_dict(dsn)["host"]), delay_ms=delay_ms)


def fresh_database(admin_dsn: str, name: str) -> str:
    """Drop and create the database ``name`` on the server of ``admin_dsn``; its DSN."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)


def parity_json(*argv: str) -> dict[str, Any]:
    """``parity ARGV`` in this process (its ``--json`` output parsed); a nonzero exit ends the bench."""
    from parity.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    if code != 0:
        raise SystemExit(f"parity {argv[0]} exited {code}")
    return dict(json.loads(out.getvalue()))
