"""Prints the stream checker's findings while ``parity consume`` runs, by polling the store.

The consumer commits verdicts, discrepancies and its heartbeat in the store; the watcher reads them
from its own connection (a thread of the demo) and narrates: how many writes were checked so far,
each discrepancy as it is recorded, and each one a later check cleared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from types import TracebackType
from typing import Any

from parity.consumer import heartbeat
from parity.errors import PostgresError
from parity.mapping import key_text
from parity.pg import connect
from parity.store import Store

POLL_SECONDS = 0.4
PROGRESS_SECONDS = 1.5


def render_key(key: dict[str, Any]) -> str:
    return key_text(key)


class Watcher:
    """Context manager: a polling thread that narrates the store's changes through ``say``."""

    def __init__(self, dsn: str, schema: str, *, say: Callable[[str], None]) -> None:
        self._dsn, self._store, self._say = dsn, Store(schema), say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="demo-watcher", daemon=True)
        self._seen: dict[tuple[str, str], str] = {}
        self._checked = 0
        self._last_progress = 0.0

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        try:
            conn = connect(self._dsn)
        except Exception:  # the demo goes on without narration
            return
        conn.autocommit = True
        try:
            while True:
                final = self._stop.is_set()
                with suppress(PostgresError):  # the consumer has not created its tables yet
                    self._poll(conn, final)
                if final:
                    return
                self._stop.wait(POLL_SECONDS)
        finally:
            conn.close()

    def _poll(self, conn: Any, final: bool) -> None:
        checked = heartbeat.records_checked(conn, self._store)
        now = time.monotonic()
        if checked != self._checked and (final or now - self._last_progress >= PROGRESS_SECONDS):
            self._say(f"  check  {checked:,} stream records checked so far")
            self._checked, self._last_progress = checked, now
        for r in self._store.touched_by(conn, "stream"):
            ident = (r["entity"], r["key_id"])
            before = self._seen.get(ident)
            if r["status"] == "open" and before != "open":
                columns = f" [{', '.join(r['columns'])}]" if r["columns"] else ""
                self._say(f"  found  {r['kind']:<20}{columns:<22} {r['entity']} {render_key(r['key'])}")
            elif r["status"] == "resolved" and before == "open":
                self._say(f"  clear  a later check matched       {r['entity']} {render_key(r['key'])}")
            self._seen[ident] = r["status"]
