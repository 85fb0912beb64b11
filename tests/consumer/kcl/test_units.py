"""Pure parts: the high-water split, record decoding, and stdout kept for the protocol."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

from parity.consumer.checker import Undecodable
from parity.consumer.high_water import mark_key, newest, partition
from parity.consumer.kcl_processor import decode_record
from parity.local.example import generate
from parity.stream.records import ChangeRecord, parse_kinesis_data
from tests.consumer.kcl.kinesis import kds_payload, now


def change(session: object, created: object) -> ChangeRecord:
    return parse_kinesis_data(json.dumps(kds_payload("MODIFY", session, created=created)))  # type: ignore[arg-type]


def test_partition_stale_only_when_strictly_older_than_the_mark() -> None:
    a, b = generate(1, 2)[0].sessions[:2]
    t = now()
    older, same, newer, other = (
        change(a, t - timedelta(microseconds=1)),
        change(a, t),
        change(a, t + timedelta(microseconds=1)),
        change(b, t),
    )
    split = partition([older, same, newer, other], {mark_key(a_rec): t for a_rec in [same]})
    assert split.stale == (older,)
    assert split.fresh == (same, newer, other)


def test_newest_per_key_keeps_the_latest_event() -> None:
    (a,) = generate(1, 1)[0].sessions[:1]
    t = now()
    first, second = change(a, t + timedelta(microseconds=5)), change(a, t)
    assert newest([first, second]) == {mark_key(first): first}


def test_decode_kds_payload_and_garbage() -> None:
    (a,) = generate(1, 1)[0].sessions[:1]
    payload = kds_payload("INSERT", a, created=now())
    ok = SimpleNamespace(
        sequence_number="1",
        sub_sequence_number=0,
        partition_key="p",
        data=base64.b64encode(json.dumps(payload).encode()).decode(),
    )
    record = decode_record(ok)
    assert isinstance(record, ChangeRecord) and record.event_id == payload["eventID"]
    bad = SimpleNamespace(sequence_number="2", sub_sequence_number=0, partition_key="p", data="!!notbase64")
    dead = decode_record(bad)
    assert isinstance(dead, Undecodable) and dead.record_id == "2" and "base64" in dead.reason


def test_reserve_stdout_sends_stray_output_to_stderr() -> None:
    script = (
        "import os, sys, warnings\n"
        "from consumer.kcl_command import reserve_stdout\n"
        "protocol = reserve_stdout()\n"
        "print('stray print')\n"
        "os.write(1, b'stray fd write\\n')\n"
        "warnings.warn('stray warning')\n"
        "protocol.write('protocol line\\n')\n"
        "protocol.flush()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "protocol line\n"
    assert "stray print" in done.stderr and "stray fd write" in done.stderr and "stray warning" in done.stderr
