"""The one BatchGetItem (its retry of unprocessed keys) and the one identity of a table key."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from parity.dynamo_reads import ATTEMPTS, batch_get, projection, table_key_id
from parity.errors import DynamoDBError
from tests.repair.fault_proxy import FaultProxy


def test_table_key_id_is_one_identity_for_sent_and_returned_keys() -> None:
    sent = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    returned = {"sk": {"N": "1"}, "pk": {"S": "a"}}  # another attribute order
    assert table_key_id(sent) == table_key_id(returned) == '{"pk":"a","sk":"1"}'
    assert table_key_id({"pk": {"B": b"\x00\xff"}}) == '{"pk":"AP8="}'  # binary keys have an id too
    assert table_key_id({"pk": {"S": "1"}}) != table_key_id({"pk": {"S": "2"}})


def test_projection_aliases_every_attribute_once() -> None:
    assert projection(["pk", "name", "pk"]) == {
        "ProjectionExpression": "#a0, #a1",
        "ExpressionAttributeNames": {"#a0": "pk", "#a1": "name"},
    }


def _table(endpoint: str, name: str, items: int) -> Any:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "name": {"S": f"n{i}"}, "big": {"S": "x" * 50}})
    return client


def test_batch_get_asks_again_for_unprocessed_keys_and_projects(moto_endpoint: str) -> None:
    _table(moto_endpoint, "reads", 150)
    keys = [{"pk": {"S": f"k{i}"}} for i in range(150)] + [{"pk": {"S": "k0"}}, {"pk": {"S": "absent"}}]
    with FaultProxy(moto_endpoint) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, region_name="us-east-1")
        proxy.unprocess(times=3)
        spent: list[float] = []
        items = batch_get(client, "reads", keys, attributes=["pk", "name"], consumed=spent.append)
    assert sorted(table_key_id({"pk": i["pk"]}) for i in items) == sorted(f'{{"pk":"k{i}"}}' for i in range(150))
    assert all(set(i) == {"pk", "name"} for i in items)  # projected: no "big"
    assert proxy.injected["UnprocessedKeys"] == 3
    assert proxy.calls["BatchGetItem"] == 2 + 3 == len(spent)  # two requests of <= 100 keys, three asked again


def test_keys_left_unprocessed_too_long_are_an_error(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _table(moto_endpoint, "throttled", ATTEMPTS + 2)  # each held-back answer reads one key
    monkeypatch.setattr("parity.dynamo_reads.time.sleep", lambda seconds: None)  # the back-off, not its length
    with FaultProxy(moto_endpoint) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, region_name="us-east-1")
        proxy.unprocess(times=ATTEMPTS)
        with pytest.raises(DynamoDBError, match="stayed unprocessed"):
            batch_get(client, "throttled", [{"pk": {"S": f"k{i}"}} for i in range(ATTEMPTS + 2)])
