"""Metrics are exported once: a forked worker (the reconciler's segment processes) must not re-send
the parent's counters. A real SDK MeterProvider and a real fork; the exporter records into a pipe."""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from parity.telemetry import own_process_reader


class _PipeExporter(MetricExporter):
    """Writes the exporting process's pid to a pipe for every export."""

    def __init__(self, fd: int) -> None:
        super().__init__(preferred_temporality={}, preferred_aggregation={})
        self.fd = fd

    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def test_only_the_configuring_process_exports() -> None:
    read_fd, write_fd = os.pipe()
    reader = own_process_reader(_PipeExporter(write_fd), export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("c").add(1)
    child = os.fork()
    if child == 0:  # the worker: a collection here must not export
        reader.collect()
        os._exit(0)
    os.waitpid(child, 0)
    reader.collect()  # the parent exports
    provider.shutdown()
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        pids = {int(line) for line in pipe.read().split()}
    assert pids == {os.getpid()}
