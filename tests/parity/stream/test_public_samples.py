"""Sample stream events from other projects' test suites, through every decoder path parity has.

The files and where they come from: tests/data/stream_records/README.md. Each record goes through
the DynamoDB Streams parser, ``parity consume``'s batch decoder, the KCL processor's decoder (as a
Kinesis record carrying the adapter JSON), the rebuild of ``parity dead-letters --retry``, the item
decoder (against boto3's ``TypeDeserializer``) and the canonical form of every column type. Valid
values decode exactly; malformed ones are decode errors or the wrong-type marker, never a guess and
never another exception.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

from parity.canonical import WrongType, canon_dynamo
from parity.config import ColumnSpec
from parity.consumer.dead_letters import rebuild
from parity.consumer.runner import decode_records as decode_batch
from parity.dynamo_json import deserialize_item
from parity.errors import DecodeError
from parity.stream.records import ChangeRecord, EventName, Source, parse_kinesis_data, parse_stream_record

DATA = Path(__file__).resolve().parents[2] / "data" / "stream_records"
TYPES = ["string", "integer", "decimal", "boolean", "json", "timestamp", "uuid", "string_set", "list", "binary"]


def records(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / name).read_text())["Records"])


@dataclass
class KclRecord:
    """What amazon_kclpy hands the processor."""

    sequence_number: str
    sub_sequence_number: int
    partition_key: str
    data: str


def every_path(raw: dict[str, Any]) -> list[ChangeRecord]:
    """The record decoded by each path; all must agree."""
    kcl = pytest.importorskip("parity.consumer.kcl_processor")
    now = datetime.now(UTC)
    decoded, bad = decode_batch([raw])
    assert bad == []
    data = json.dumps(raw).encode()
    via_kcl = kcl.decode_record(KclRecord("4960", 0, "pk", base64.b64encode(data).decode()))
    assert isinstance(via_kcl, ChangeRecord), via_kcl
    rebuilt = rebuild("dynamodb-streams", str(raw["eventID"]), raw, now)
    assert isinstance(rebuilt, ChangeRecord), rebuilt
    return [parse_stream_record(raw), decoded[0], parse_kinesis_data(data, kinesis_sequence="4960"), via_kcl, rebuilt]


def _plain(value: Any) -> Any:
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_powertools_event_decodes_on_every_path_like_boto3() -> None:
    insert, modify = records("powertools_python_dynamoStreamEvent.json")
    for raw, event in ((insert, EventName.INSERT), (modify, EventName.MODIFY)):
        decoded = every_path(raw)
        assert {(r.event_name, r.sequence_number, r.event_id) for r in decoded} == {
            (event, raw["dynamodb"]["SequenceNumber"], raw["eventID"])
        }
        for record in decoded:
            for image in (record.new_image, record.old_image):
                if image is not None:
                    assert deserialize_item(image) == _plain(TypeDeserializer().deserialize({"M": image}))
    assert every_path(insert)[0].approximate_created == datetime(2023, 9, 6, 10, 45, 55, tzinfo=UTC)
    before = datetime.now(UTC)
    assert all(r.approximate_created >= before for r in every_path(modify))  # no creation time: receipt time


def test_powertools_values_in_every_column_type_are_canonical_or_the_wrong_type_marker() -> None:
    insert, _ = records("powertools_python_dynamoStreamEvent.json")
    image = insert["dynamodb"]["NewImage"]
    assert canon_dynamo(ColumnSpec(attribute="Id", type="integer"), image["Id"]) == 101
    assert canon_dynamo(ColumnSpec(attribute="Message"), image["Message"]) == "New item!"
    for kind in TYPES:
        for value in image.values():
            canon_dynamo(ColumnSpec(attribute="a", type=kind), value)  # type: ignore[arg-type]


def test_go_sdk_shaped_values_are_refused_on_every_path_never_guessed() -> None:
    """Every value carries ten type tags (nine of them null): the record itself decodes (its body is
    well formed), its values do not, so the key cannot be read and the record is a dead letter."""
    for raw in records("aws_lambda_go_dynamodb-event.json"):
        for record in every_path(raw):
            assert record.new_image is not None
            with pytest.raises(DecodeError, match="not a DynamoDB attribute value"):
                deserialize_item(record.new_image)
            for kind in TYPES:
                for value in record.new_image.values():
                    assert isinstance(canon_dynamo(ColumnSpec(attribute="a", type=kind), value), WrongType)  # type: ignore[arg-type]
    ttl, plain = records("aws_lambda_go_dynamodb-event.json")
    assert parse_stream_record(ttl).user_identity == "dynamodb.amazonaws.com"
    assert parse_stream_record(plain).source is Source.DYNAMODB_STREAMS


def _strip(value: dict[str, Any]) -> dict[str, Any]:
    """One Go-shaped value as DynamoDB JSON: only its non-null tag, members stripped too."""
    [(tag, inner)] = [(t, v) for t, v in value.items() if v is not None]
    if tag == "L":
        return {tag: [_strip(v) for v in inner]}
    if tag == "M":
        return {tag: {k: _strip(v) for k, v in inner.items()}}
    return {tag: inner}


def test_go_sdk_values_with_their_null_tags_removed_decode() -> None:
    _, plain = records("aws_lambda_go_dynamodb-event.json")
    image = {k: _strip(value) for k, value in plain["dynamodb"]["NewImage"].items()}
    decoded = deserialize_item(image)
    assert decoded["b2"] == base64.b64decode("test")  # four base64 letters: valid, three bytes
    assert decoded["Map"] == {"Name": "Joe", "Age": 35}
    assert decoded["EmptyStringSet"] == frozenset()
    assert decoded["asdf2"] == frozenset({b"\x00\x01*A", b"A*\x01\x00"})
