"""Kinesis payloads as DynamoDB writes them, and a line-by-line MultiLang protocol driver."""

from __future__ import annotations

import base64
import itertools
import json
import queue
import subprocess
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.local.example import Campaign, Session

_sequence = itertools.count(49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000)


def micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def kds_payload(event: str, value: Session | Campaign, *, created: datetime, table: str = "app") -> dict[str, Any]:
    """A change in the Kinesis Data Streams for DynamoDB JSON shape (microsecond creation time)."""
    item = value.item()
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": micros(created),
        "ApproximateCreationDateTimePrecision": "MICROSECOND",
        "Keys": {k: item[k] for k in ("pk", "sk")},
        "SizeBytes": 200,
    }
    if event == "REMOVE":
        body["OldImage"] = item
    else:
        body["NewImage"] = item
    return {
        "awsRegion": "us-east-1",
        "eventID": str(uuid.uuid4()),
        "eventName": event,
        "userIdentity": None,
        "recordFormat": "application/json",
        "tableName": table,
        "dynamodb": body,
        "eventSource": "aws:dynamodb",
    }


def kcl_record(payload: dict[str, Any] | bytes, *, partition_key: str = "pk") -> dict[str, Any]:
    """A record as the MultiLangDaemon sends it in processRecords (data base64)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "action": "record",
        "data": base64.b64encode(data).decode(),
        "partitionKey": partition_key,
        "sequenceNumber": str(next(_sequence)),
        "subSequenceNumber": 0,
        "approximateArrivalTimestamp": 1_764_000_000_000,
    }


class Daemon:
    """Plays the MultiLangDaemon: writes one action line, reads the processor's reply lines."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.raw_stdout: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.raw_stdout.append(line)
            if line.strip():
                self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float = 30.0) -> dict[str, Any] | None:
        """The next protocol message (None at EOF)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reply within {timeout}s; stderr:\n{''.join(self.stderr)}") from None
        return None if line is None else dict(json.loads(line))

    def close(self, timeout: float = 30.0) -> int:
        assert self.process.stdin is not None
        if not self.process.stdin.closed:
            self.process.stdin.close()
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def status(action: str) -> dict[str, Any]:
    return {"action": "status", "responseFor": action}


def checkpoint(sequence: str | None, sub: int | None = None) -> dict[str, Any]:
    return {"action": "checkpoint", "sequenceNumber": sequence, "subSequenceNumber": sub}


def checkpoint_reply(sequence: str | None, sub: int | None = None, error: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"action": "checkpoint", "sequenceNumber": sequence, "subSequenceNumber": sub}
    if error is not None:
        reply["error"] = error
    return reply


def initialize(shard: str = "shardId-000000000000") -> dict[str, Any]:
    return {"action": "initialize", "shardId": shard, "sequenceNumber": "TRIM_HORIZON", "subSequenceNumber": 0}


def process_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"action": "processRecords", "records": records, "millisBehindLatest": 0}


def now() -> datetime:
    return datetime.now(UTC)
