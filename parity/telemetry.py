"""Logging and metrics setup: structlog to stderr, OpenTelemetry metrics (OTLP when configured).

Logs always go to **stderr**: stdout belongs to command output (JSON reports) and, under the KCL
MultiLangDaemon, to the protocol. On a terminal logs are readable lines; otherwise JSON lines.
Metrics use the OpenTelemetry API; a meter provider with an OTLP/HTTP exporter is installed only
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._METRICS_ENDPOINT``) is set, so nothing is sent
anywhere by default.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog
from opentelemetry import metrics

_configured = False
_meter_provider: Any = None


def configure_logging(*, level: str | None = None, json_lines: bool | None = None) -> None:
    """Configure structlog once per process (idempotent)."""
    global _configured
    if _configured:
        return
    level_name = (level or os.environ.get("PARITY_LOG_LEVEL") or "info").upper()
    numeric = getattr(logging, level_name, logging.INFO)
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(stream=sys.stderr, level=max(numeric, logging.WARNING))
    _configured = True


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write, not at configuration time
    (a test harness or a redirect may swap it after logging was configured)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name."""
    return structlog.get_logger(component=name)


def configure_metrics(service_name: str = "parity") -> None:
    """Install an OTLP metrics exporter when the standard OTEL environment asks for one."""
    global _meter_provider
    if _meter_provider is not None:
        return
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")):
        return
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource

    reader = own_process_reader(OTLPMetricExporter(), export_interval_millis=15_000)
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    _meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    metrics.set_meter_provider(_meter_provider)


def own_process_reader(exporter: Any, *, export_interval_millis: float) -> Any:
    """A periodic metric reader that exports only from the process that created it.

    The SDK restarts its export thread in forked children (the reconciler's segment workers), which
    would re-send the parent's counters as they were at the fork under the same resource; the
    workers report their counts to the parent, which records them once.
    """
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    owner = os.getpid()

    class _OwnProcessReader(PeriodicExportingMetricReader):
        def _receive_metrics(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> None:
            if os.getpid() == owner:
                super()._receive_metrics(metrics_data, timeout_millis=timeout_millis, **kwargs)

    return _OwnProcessReader(exporter, export_interval_millis=export_interval_millis)


def shutdown_metrics() -> None:
    """Flush pending metrics (at exit of a batch command, at the end of a server's lifespan); once."""
    global _meter_provider
    if _meter_provider is not None:
        provider, _meter_provider = _meter_provider, None
        provider.shutdown()


def meter(name: str) -> metrics.Meter:
    """An OpenTelemetry meter under parity's namespace."""
    return metrics.get_meter(f"parity.{name}")
