"""``parity kcl-properties``: render the KCL MultiLangDaemon properties from the parity config.

The daemon (KCL 3 multilang; deploy/kcl-daemon.sh) reads a Java properties file. Everything in it
follows from the parity config and the task's environment:

- ``applicationName`` (also the lease table's name): ``--application-name``, else
  ``PARITY_KCL_APPLICATION_NAME``, else ``parity-<PARITY_ENVIRONMENT>`` (``parity-local`` with
  ``--local``, ``parity-default`` otherwise);
- ``streamName``: ``--stream-name`` or ``[consumer].stream_name``; ``regionName``: ``[dynamodb].region``
  or ``AWS_REGION`` / ``AWS_DEFAULT_REGION``;
- ``executableName``: this ``parity kcl-processor --config <absolute config path>`` (the daemon
  splits it on spaces, so no path may contain one);
- ``workerId``: ``--worker-id``, else ``PARITY_KCL_WORKER_ID``, else the ECS task id from the task
  metadata endpoint (``ECS_CONTAINER_METADATA_URI_V4``), else ``<hostname>-<pid>``;
- ``initialPositionInStream = TRIM_HORIZON``, ``retrievalMode = POLLING`` (``maxRecords`` =
  ``[consumer].batch_size``, ``idleTimeBetweenReadsInMillis`` = ``poll_interval_seconds``),
  ``callProcessRecordsEvenForEmptyRecordList = true`` (idle shards still decide due re-checks),
  ``shutdownGraceMillis`` 15 s below ``--stop-timeout`` (the ECS stopTimeout, default 120 s);
- ``--local``: ``kinesisEndpoint`` / ``dynamoDBEndpoint`` from ``[dynamodb].endpoint_url`` (or
  ``AWS_ENDPOINT_URL``), credentials from the environment, no CloudWatch metrics and short lease
  timers so a test takes its leases within seconds.

:func:`render` is pure (inputs in, text out); :func:`worker_id` and :func:`run` do the I/O.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from parity.commands.common import config_from
from parity.config import ParityConfig
from parity.errors import ConfigError, InputError

STOP_MARGIN_SECONDS = 15
"""shutdownGraceMillis stays this far below the ECS stop timeout (the JVM must exit before SIGKILL)."""


@dataclass(frozen=True)
class Settings:
    application_name: str
    stream_name: str
    region: str
    executable: str
    worker_id: str
    stop_timeout_seconds: int = 120
    local_endpoint: str | None = None  # set for --local


def render(settings: Settings, config: ParityConfig) -> str:
    """The properties file text (ordered, commented)."""
    grace_ms = (settings.stop_timeout_seconds - STOP_MARGIN_SECONDS) * 1000
    if grace_ms < 5000:
        raise InputError(
            f"--stop-timeout {settings.stop_timeout_seconds} leaves no shutdown grace; use at least"
            f" {STOP_MARGIN_SECONDS + 5} seconds"
        )
    props: list[tuple[str, str, str]] = [
        ("executableName", settings.executable, "the record processor, started once per leased shard"),
        ("processingLanguage", "python/3.11", ""),
        ("applicationName", settings.application_name, "also the name of KCL's lease table"),
        ("streamName", settings.stream_name, "the Kinesis data stream the table streams to"),
        ("regionName", settings.region, ""),
        ("workerId", settings.worker_id, "this task"),
        ("initialPositionInStream", "TRIM_HORIZON", "a new lease starts at the oldest retained record"),
        ("retrievalMode", "POLLING", "GetRecords polling (no enhanced fan-out consumer to register)"),
        ("maxRecords", str(config.consumer.batch_size), "records per GetRecords / processRecords call"),
        (
            "idleTimeBetweenReadsInMillis",
            str(max(200, int(config.consumer.poll_interval_seconds * 1000))),
            "",
        ),
        (
            "callProcessRecordsEvenForEmptyRecordList",
            "true",
            "idle shards still decide pending re-checks whose grace expired",
        ),
        ("shutdownGraceMillis", str(grace_ms), f"{STOP_MARGIN_SECONDS} s below the ECS stopTimeout"),
        ("cleanupLeasesUponShardCompletion", "true", ""),
        ("validateSequenceNumberBeforeCheckpointing", "true", ""),
    ]
    if settings.local_endpoint is None:
        props += [
            ("AWSCredentialsProvider", "DefaultCredentialsProvider", "the ECS task role"),
            ("metricsLevel", "SUMMARY", ""),
        ]
    else:
        props += [
            ("kinesisEndpoint", settings.local_endpoint, "local stack"),
            ("dynamoDBEndpoint", settings.local_endpoint, "local stack"),
            ("AWSCredentialsProvider", "EnvironmentVariableCredentialsProvider", "AWS_ACCESS_KEY_ID etc."),
            ("metricsLevel", "NONE", "no CloudWatch locally"),
            ("failoverTimeMillis", "3000", "short lease timers: leases are taken within seconds"),
            ("shardSyncIntervalMillis", "5000", ""),
        ]
    lines = ["# KCL MultiLangDaemon properties rendered by `parity kcl-properties`; do not edit by hand."]
    for name, value, comment in props:
        if comment:
            lines.append(f"# {comment}")
        lines.append(f"{name} = {_escape(value)}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """Java properties value escaping (backslashes, line breaks)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def executable_command(config_path: Path) -> str:
    """``<parity> kcl-processor --config <path>``; raises when a space would break the daemon's split."""
    parity = _parity_executable()
    command = [parity, "kcl-processor", "--config", str(config_path)]
    for part in command:
        if any(c.isspace() for c in part):
            raise InputError(
                f"executableName part {part!r} contains a space; the MultiLangDaemon splits the command on"
                " spaces - move the config (or parity) to a path without spaces"
            )
    return " ".join(command)


def _parity_executable() -> str:
    here = Path(sys.argv[0])
    if here.name == "parity" and here.exists():
        return str(here.resolve())
    found = shutil.which("parity")
    if found:
        return str(Path(found).resolve())
    raise ConfigError("cannot find the `parity` executable for executableName; install parity on PATH")


def worker_id(environ: Mapping[str, str], *, timeout: float = 2.0) -> str:
    """PARITY_KCL_WORKER_ID, else the ECS task id (task metadata v4), else ``<hostname>-<pid>``."""
    explicit = environ.get("PARITY_KCL_WORKER_ID")
    if explicit:
        return explicit
    uri = environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if uri:
        try:
            with urllib.request.urlopen(uri + "/task", timeout=timeout) as response:
                arn = json.load(response)["TaskARN"]
            return str(arn).rsplit("/", 1)[-1]
        except (OSError, ValueError, KeyError):
            pass
    return f"{socket.gethostname()}-{os.getpid()}"


def settings_from(args: argparse.Namespace, config: ParityConfig, environ: Mapping[str, str]) -> Settings:
    stream = args.stream_name or config.consumer.stream_name
    if not stream:
        raise ConfigError("no Kinesis stream: set [consumer].stream_name in the config (or pass --stream-name)")
    region = config.dynamodb.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("no AWS region: set [dynamodb].region in the config (or AWS_REGION)")
    app = args.application_name or environ.get("PARITY_KCL_APPLICATION_NAME")
    if not app:
        app = f"parity-{environ.get('PARITY_ENVIRONMENT') or ('local' if args.local else 'default')}"
    endpoint = None
    if args.local:
        endpoint = config.dynamodb.endpoint_url or environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise ConfigError("--local needs [dynamodb].endpoint_url in the config (or AWS_ENDPOINT_URL)")
    return Settings(
        application_name=app,
        stream_name=stream,
        region=region,
        executable=executable_command(Path(args.config).resolve()),
        worker_id=args.worker_id or worker_id(environ),
        stop_timeout_seconds=args.stop_timeout,
        local_endpoint=endpoint,
    )


EXAMPLES = """\
examples:
  parity kcl-properties --output app.properties
  parity kcl-properties --local --application-name parity-dev   # against the local stack
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", metavar="FILE", help="write the properties here (default: stdout)")
    parser.add_argument(
        "--application-name",
        metavar="NAME",
        help="KCL applicationName, the lease table name"
        " (default: PARITY_KCL_APPLICATION_NAME, else parity-$PARITY_ENVIRONMENT)",
    )
    parser.add_argument("--stream-name", metavar="NAME", help="Kinesis stream (default [consumer].stream_name)")
    parser.add_argument("--worker-id", metavar="ID", help="KCL workerId (default: the ECS task id)")
    parser.add_argument(
        "--stop-timeout",
        type=int,
        default=120,
        metavar="SECONDS",
        help="the ECS task's stopTimeout; shutdownGraceMillis stays 15 s below it (default 120)",
    )
    parser.add_argument(
        "--local", action="store_true", help="local stack: endpoints from the config, env credentials, fast leases"
    )


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    text = render(settings_from(args, config, os.environ), config)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    if not target.parent.is_dir():
        raise InputError(f"--output {args.output}: directory {target.parent} does not exist")
    with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    Path(handle.name).replace(target)
    return 0
