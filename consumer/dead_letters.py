"""``parity dead-letters``: the records no checker could check, and ``--retry`` to check them again.

A dead letter is a record that could not be checked (undecodable, an item of no entity, a key or
value PostgreSQL cannot take), kept in the store with its reason and its raw form. The list is the
documented (docs/reference.md §5) ``[{"source", "record_id", "reason", "created_at"}]``, oldest first.

``--retry`` rebuilds each record from its raw form and checks it again with the stream checker
(grace 0: the record is old, so a mismatch is a discrepancy at once, not a pending re-check). A
record that is checked this time (match, superseded or discrepancy) leaves the dead letters in the
same transaction as its verdict; one that fails again stays, with the new reason. Raw forms:

- a DynamoDB Streams record or a Kinesis Data Streams for DynamoDB payload (``{"dynamodb": ...}``);
- a Kinesis record as the KCL processor received it (``{"sequenceNumber", "data": base64}``);
- ``{"item": <typed item>}`` (a reconcile dead letter): the item is checked like a write of it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from parity.commands.common import config_from, print_json, store_connection
from parity.config import ParityConfig
from parity.consumer.checker import Checker, Undecodable
from parity.errors import DecodeError
from parity.pg import resolve_dsn
from parity.stream.records import ChangeRecord, EventName, Source, parse_kinesis_data, parse_record

EXAMPLES = """\
examples:
  parity dead-letters                # what could not be checked, and why
  parity dead-letters --json
  parity dead-letters --retry        # check them again; those checked now leave the list
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the JSON list (docs/reference.md §5)")
    parser.add_argument(
        "--retry", action="store_true", help="check every dead letter again; remove those that are checked now"
    )


@dataclass(frozen=True)
class RetryResult:
    retried: int
    removed: int
    remaining: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"retried": self.retried, "removed": self.removed, "dead_letters": self.remaining}


def rebuild(source: str, record_id: str, raw: Any, now: datetime) -> ChangeRecord | Undecodable:
    """The record a dead letter keeps, ready to check again, or why it still cannot be."""
    try:
        if isinstance(raw, Mapping) and "dynamodb" in raw:
            record = parse_record(raw, Source(source) if source in _STREAMS else Source.KINESIS, received_at=now)
        elif isinstance(raw, Mapping) and isinstance(raw.get("data"), str):
            try:
                data = base64.b64decode(raw["data"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise DecodeError(f"Kinesis record {record_id}: data is not base64 ({exc})") from exc
            record = parse_kinesis_data(data, kinesis_sequence=record_id)
        elif isinstance(raw, Mapping) and isinstance(raw.get("item"), Mapping):
            item = raw["item"]
            record = ChangeRecord(
                event_id=record_id,
                event_name=EventName.MODIFY,
                keys=item,
                new_image=item,
                old_image=None,
                approximate_created=now,
                sequence_number=None,
                user_identity=None,
                source=Source.KINESIS,
                raw=raw,
            )
        else:
            raise DecodeError("the stored raw form is not a record parity can rebuild")
    except DecodeError as exc:
        return Undecodable(record_id, exc.message, raw)
    return replace(record, event_id=record_id)  # a failure again updates this dead letter, not a new one


_STREAMS = {s.value for s in Source}


def retry(config: ParityConfig) -> RetryResult:
    """Check every dead letter again (see the module docstring); returns what happened."""
    dsn = resolve_dsn(config)
    with store_connection(config) as (conn, store):
        letters = store.list_dead_letters(conn, with_raw=True)
        conn.commit()
    now = datetime.now(UTC)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for letter in letters:
        by_source.setdefault(letter["source"], []).append(letter)
    for source, group in by_source.items():
        _retry_source(config, dsn, source, group, now)
    with store_connection(config, migrate=False) as (conn, store):
        remaining = store.list_dead_letters(conn)
    return RetryResult(len(letters), len(letters) - len(remaining), [_shown(r) for r in remaining])


def _retry_source(
    config: ParityConfig, dsn: str, source: str, letters: Sequence[dict[str, Any]], now: datetime
) -> None:
    checker = Checker(
        config,
        dsn,
        source=_AS_SOURCE.get(source, Source.KINESIS),
        grace_seconds=0,
        application_name="parity-dead-letters",
        dead_letter_source=source,
    )
    try:
        records: list[ChangeRecord] = []
        undecodable: list[Undecodable] = []
        for letter in letters:
            rebuilt = rebuild(source, letter["record_id"], letter["raw"], now)
            (records if isinstance(rebuilt, ChangeRecord) else undecodable).append(rebuilt)  # type: ignore[arg-type]
        checker.process(records, undecodable, retire=[letter["record_id"] for letter in letters], received_at=now)
    finally:
        checker.close()


_AS_SOURCE = {s.value: s for s in Source}


def _shown(letter: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "source": letter["source"],
        "record_id": letter["record_id"],
        "reason": letter["reason"],
        "created_at": letter["created_at"].isoformat(),
    }


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.retry:
        result = retry(config)
        if args.json:
            print_json(result.to_json())
            return 0
        print(
            f"retried {result.retried} dead letter(s): {result.removed} checked and removed,"
            f" {len(result.remaining)} still dead"
        )
        _print(result.remaining)
        return 0
    with store_connection(config) as (conn, store):
        letters = [_shown(r) for r in store.list_dead_letters(conn)]
    if args.json:
        print_json(letters)
        return 0
    if not letters:
        print("no dead letters")
        return 0
    _print(letters)
    print(f"{len(letters)} dead letter{'' if len(letters) == 1 else 's'}")
    return 0


def _print(letters: Sequence[Mapping[str, Any]]) -> None:
    for letter in letters:
        print(f"{letter['created_at']:<33} {letter['source']:<17} {letter['record_id']:<40} {letter['reason']}")
