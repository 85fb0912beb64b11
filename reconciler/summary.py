"""What a person sees: a live progress bar on a terminal, and the run's summary at the end.

Not on a TTY (ECS, CI) the progress is a structlog line every 10 seconds instead of a bar.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from parity.mapping import key_text
from parity.reconciler.tally import KINDS
from parity.telemetry import get_logger

log = get_logger("reconcile")


class ProgressDisplay:
    """Items scanned, rate and ETA (from DescribeTable's ItemCount), refreshed from a thread."""

    def __init__(self, progress: Any, item_count: int, *, total_segments: int, interval: float | None = None) -> None:
        self.progress = progress
        self.item_count = item_count
        self.tty = sys.stderr.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 10.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._started = time.monotonic()

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        if self.tty:
            self._draw()
            sys.stderr.write("\n")
            sys.stderr.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.tty:
                self._draw()
            else:
                items, rate, eta = self._figures()
                log.info("reconcile progress", items=items, items_per_second=round(rate, 1), eta_seconds=eta)

    def _figures(self) -> tuple[int, float, int | None]:
        items = self.progress.items
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = items / elapsed
        eta = int((self.item_count - items) / rate) if rate > 0 and self.item_count > items else None
        return items, rate, eta

    def _draw(self) -> None:
        items, rate, eta = self._figures()
        total = self.item_count
        width = 30
        done = min(width, int(width * items / total)) if total else 0
        bar = "#" * done + "-" * (width - done)
        eta_text = "--" if eta is None else f"{eta // 60}m{eta % 60:02d}s"
        of = f"/{total:,}" if total else ""
        sys.stderr.write(f"\r[{bar}] {items:,}{of} items  {rate:,.0f}/s  ETA {eta_text}   ")
        sys.stderr.flush()


def summary_text(report: dict[str, Any], report_path: str | None = None) -> str:
    """The readable end-of-run summary (stdout when not --json)."""
    lines = []
    state = "" if report.get("complete", True) else "  (partial: waiting for other segments)"
    lines.append(f"Reconcile run {report['run_id']}{state}")
    lines.append(
        f"Parity {report['parity_percent']:.2f}%  compared {report['compared']:,}  matched {report['matched']:,}"
    )
    lines.append(
        "  missing in PostgreSQL {:,}  missing in DynamoDB {:,}  mismatched {:,}".format(*(report[k] for k in KINDS))
    )
    lines.append(
        f"  re-checked {report['rechecked']:,}  cleared {report['cleared']:,}  in flight {report['in_flight']:,}"
        f"  skipped {report['skipped']:,}"
        + (f"  dead letters {report['dead_letters']:,}" if report.get("dead_letters") else "")
        + f"  scanned {report['items_scanned']:,} items"
        f" at {report['items_per_second']:,.0f}/s"
    )
    for name, entity in report["entities"].items():
        columns = ", ".join(f"{c} {n}" for c, n in entity["columns"].items())
        lines.append(
            f"  {name}: {entity['parity_percent']:.2f}% of {entity['compared']:,}"
            f"  (+pg {entity['missing_in_postgres']}, +ddb {entity['missing_in_dynamodb']},"
            f" ~ {entity['mismatched']})" + (f"  columns: {columns}" if columns else "")
        )
    shown = report["discrepancies"][:20]
    for d in shown:
        cols = f" [{', '.join(d['columns'])}]" if d["columns"] else ""
        lines.append(f"  - {d['entity']} {key_text(d['key'])} {d['kind']}{cols}")
    more = len(report["discrepancies"]) - len(shown)
    if more > 0 or report.get("listed_truncated"):
        count = f"{more:,} more" if more > 0 else "more"
        where = f"{report_path} (the JSON report) and " if report_path else ""
        lines.append(f"  ... {count}: see {where}`parity discrepancies`")
    return "\n".join(lines) + "\n"
