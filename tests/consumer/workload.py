"""A dual-writing workload with injected faults, for the end-to-end consumer tests.

The app writes DynamoDB and PostgreSQL for every change. Faults injected on purpose:
- ``failed``: the PostgreSQL write of a new session fails (DynamoDB only) -> missing_in_postgres;
- ``failed_update``: the PostgreSQL write of an update fails -> mismatched (name, updated_at);
- ``wrong``: PostgreSQL gets a wrong ``summary`` (same version) -> mismatched (summary);
- ``deleted``: a delete that reaches DynamoDB only -> missing_in_dynamodb;
- ``late``: PostgreSQL writes that land after the DynamoDB ones (within grace) -> nothing;
- ``hot``: keys updated many times in a row on both sides, PostgreSQL one step behind -> nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from parity.local.example import Session, generate, write_dynamodb, write_postgres
from parity.pg import connect


@dataclass
class Workload:
    dynamodb: Any
    table: str
    sessions: list[Session]
    late: list[Session] = field(default_factory=list)
    expected: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)
    stream_records: int = 0
    archived_events: int = 0

    def write_dynamodb(self, records: list[Session]) -> None:
        write_dynamodb(self.dynamodb, self.table, records)  # type: ignore[arg-type]
        self.stream_records += len(records)


def build(
    dynamodb: Any, table: str, conn: Any, dsn: str, *, clean: int = 40, hot: int = 5, hot_versions: int = 6
) -> Workload:
    """Write the workload's first phase; ``finish_late`` writes the late PostgreSQL halves."""
    sessions = generate(1, clean + hot + 6, seed=11)[0].sessions
    w = Workload(dynamodb, table, sessions)
    plain, hot_keys, faulty = sessions[:clean], sessions[clean : clean + hot], sessions[clean + hot :]
    failed, failed_update, wrong, deleted, late_a, late_b = faulty

    # consistent writes
    w.write_dynamodb([*plain, failed_update, wrong, deleted])
    write_postgres(conn, [*plain, failed_update, deleted])

    # concurrent updates of the same keys: each hot key is updated many times, writers run in parallel
    errors: list[BaseException] = []

    def writer(s: Session) -> None:
        try:
            with connect(dsn) as own:
                current = s
                for v in range(hot_versions):
                    current = current.touched(name=f"{s.name} v{v}")
                    write_dynamodb(dynamodb, table, [current])
                    write_postgres(own, [current])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in hot_keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    w.stream_records += hot * hot_versions

    # faults
    w.write_dynamodb([failed])  # PostgreSQL write failed
    w.expected.add((failed.id, "missing_in_postgres", ()))
    updated = failed_update.touched(name="renamed in dynamodb only")
    w.write_dynamodb([updated])
    w.expected.add((failed_update.id, "mismatched", ("name", "updated_at")))
    write_postgres(conn, [wrong.touched(updated_at=wrong.updated_at, summary="a wrong column")])
    w.expected.add((wrong.id, "mismatched", ("summary",)))
    dynamodb.delete_item(TableName=table, Key=deleted.key())
    w.stream_records += 1
    w.expected.add((deleted.id, "missing_in_dynamodb", ()))
    w.archived_events = 3  # failed, failed_update, deleted (the wrong column is PostgreSQL's own write)
    w.write_dynamodb([late_a, late_b])
    w.late = [late_a, late_b]
    return w


def finish_late(w: Workload, conn: Any) -> None:
    write_postgres(conn, w.late)  # type: ignore[arg-type]
