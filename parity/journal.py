"""Journalled runs: the life of a run of a command that writes to a store, and its undo.

``parity replay`` (into PostgreSQL) and ``parity repair`` (into DynamoDB) write in runs. A run is
started (``applying``, committed before the first write), journals every write it makes with what
was there before and what the write left (:mod:`parity.store.journal`), and ends ``applied`` with
its counts, ``interrupted`` (a signal or Ctrl-C: what was written stays journalled and rerunning the
same apply finishes the rest) or ``failed`` (an error, first line kept in the run's summary).

``--undo RUN_ID`` walks the run's journal newest write first, in batches of one store transaction
each, and puts back every write whose target still holds exactly what the run wrote; one the app
changed since is left alone and counted, because undoing over it would lose that later write.
Undoing twice restores nothing more. The discrepancies the run had resolved for the writes put
back are opened again in the same transaction: the stores differ there again, and a gate must not
go on counting them as fixed. How one write is put back, and the images' form, are the command's
own (:data:`Restore`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parity.errors import InputError, Interrupted
from parity.pg import Connection, postgres_errors
from parity.store import JournalEntry, Store
from parity.telemetry import get_logger

log = get_logger("journal")

Restore = Callable[[JournalEntry], "str | None"]
"""Put one journalled write back: None when done, else why it was left alone."""


@dataclass(frozen=True)
class RunKind:
    """A command whose runs are journalled: its name (the runs' kind, said in messages) and the
    letter its run ids start with."""

    name: str
    prefix: str

    def new_run_id(self, now: datetime | None = None) -> str:
        """A readable, unique run id: ``r20261125T110512Z-3fa9``."""
        moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        return f"{self.prefix}{moment}-{secrets.token_hex(2)}"


@contextmanager
def journalled_run(
    conn: Connection, store: Store, kind: RunKind, run_id: str, options: Mapping[str, Any]
) -> Iterator[None]:
    """Start the run (committed, ending the planning reads' transaction) for the writes of the
    block; when the block raises, mark the run ``interrupted`` (:class:`~parity.errors.Interrupted`,
    Ctrl-C) or ``failed`` and let the error go on. :func:`finish_run` ends a run that went well."""
    conn.commit()
    with postgres_errors(f"starting a {kind.name} run"):
        store.start_journal_run(conn, kind.name, run_id, options)
        conn.commit()
    try:
        yield
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, Interrupted | KeyboardInterrupt) else "failed"
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        try:
            conn.rollback()
            store.fail_journal_run(conn, run_id, status, error)
            conn.commit()
        except Exception:  # the connection may be what failed; the original error is what matters
            log.warning(f"could not mark the {kind.name} run {status}", run_id=run_id)
        raise


def finish_run(conn: Connection, store: Store, result: Applied) -> None:
    """The run is ``applied``, with the result's counts (committed)."""
    with postgres_errors("finishing a journalled run"):
        store.finish_journal_run(conn, result.run_id, result.summary())
        conn.commit()


@dataclass
class Applied:
    """What an apply did: the counts every journalled command keeps (a command's subclass adds its own)."""

    run_id: str
    updated: int = 0
    deleted: int = 0
    skipped_other: int = 0  # no longer to be written by write time, and not for being newer
    resolved: int = 0  # discrepancies resolved by the read-back after the writes
    unverified: list[dict[str, Any]] = field(default_factory=list)  # written keys that did not match when read back

    def summary(self) -> dict[str, Any]:
        """The counts kept with the run (``--runs``)."""
        return {
            "updated": self.updated,
            "deleted": self.deleted,
            "resolved": self.resolved,
            "unverified": len(self.unverified),
        }


@dataclass
class Undone:
    """What an undo did."""

    run_id: str
    restored: int = 0
    skipped_changed_since: int = 0
    already_undone: int = 0
    reopened: int = 0  # discrepancies the run had resolved, opened again for what was restored
    # every write left alone: {"entity", "key", "action" (what the run had done), "reason"}
    left_alone: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What ``--undo --json`` prints."""
        names = ("run_id", "restored", "skipped_changed_since", "already_undone", "reopened", "left_alone")
        return {name: getattr(self, name) for name in names}


def journal_of(conn: Connection, store: Store, kind: RunKind, run_id: str) -> list[JournalEntry]:
    """The journal of the ``kind`` run ``run_id``, newest write first; InputError (naming the recent
    runs) when there is no such run."""
    if store.journal_run_status(conn, kind.name, run_id) is None:
        recent = store.journal_runs(conn, kind.name)[-5:][::-1]
        known = ", ".join(f"{r['run_id']} ({r['status']})" for r in recent)
        hint = f"; recent runs: {known}" if known else f"; no {kind.name} run was applied yet"
        conn.commit()
        raise InputError(f"--undo {run_id!r}: no such {kind.name} run{hint}")
    entries = store.journal_entries(conn, run_id)
    conn.commit()
    return entries


def undo(
    conn: Connection,
    store: Store,
    kind: RunKind,
    run_id: str,
    entries: Sequence[JournalEntry],
    restore: Restore,
    *,
    batch_size: int = 500,
) -> Undone:
    """Put back the writes of ``entries`` (:func:`journal_of`) not undone yet, newest first (see
    the module docstring). Each batch's restored entries are marked undone and the discrepancies
    the run's kind had resolved for their keys opened again, in the batch's transaction; the run
    is marked ``undone`` at the end."""
    result = Undone(run_id)
    todo = [e for e in entries if e.undone_at is None]
    result.already_undone = len(entries) - len(todo)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        with postgres_errors(f"undoing {kind.name} run {run_id}"), conn.transaction():
            done: list[JournalEntry] = []
            for entry in batch:
                why = restore(entry)
                if why is None:
                    done.append(entry)
                    continue
                log.warning(f"a write changed since the {kind.name} is left alone", entity=entry.entity, key=entry.key)
                result.left_alone.append(
                    {"entity": entry.entity, "key": entry.key, "action": entry.action, "reason": why}
                )
            result.restored += len(done)
            result.skipped_changed_since += len(batch) - len(done)
            store.mark_journal_undone(conn, run_id, [e.seq for e in done])
            by_entity: dict[str, list[str]] = {}
            for entry in done:
                by_entity.setdefault(entry.entity, []).append(entry.key_id)
            result.reopened += store.reopen(conn, by_entity, kind.name)
        log.info("undo batch committed", run_id=run_id, entries=len(batch))
    with postgres_errors(f"marking the {kind.name} run undone"):
        store.mark_journal_run_undone(conn, run_id)
        conn.commit()
    return result
