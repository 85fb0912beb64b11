"""The one BatchGetItem (its retry of unprocessed keys) and the one identity of a table key."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from parity.dynamo_reads import ATTEMPTS, batch_get, projection, scan_for_keys, scan_pages, table_key_id
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


def test_scan_pages_follows_the_last_key_projected_and_by_segment(moto_endpoint: str) -> None:
    client = _table(moto_endpoint, "scanned", 25)
    waits: list[None] = []
    pages = list(scan_pages(client, "scanned", ["pk", "name"], limit=10, before_request=lambda: waits.append(None)))
    assert [len(p.items) for p in pages][:2] == [10, 10]
    assert pages[-1].last_evaluated_key is None and all(p.last_evaluated_key for p in pages[:-1])
    assert sorted(i["pk"]["S"] for p in pages for i in p.items) == sorted(f"k{i}" for i in range(25))
    assert all(set(i) == {"pk", "name"} for p in pages for i in p.items)  # projected: no "big"
    assert len(waits) == len(pages)
    # resuming from a page's LastEvaluatedKey reads the rest only
    rest = list(scan_pages(client, "scanned", ["pk"], limit=10, start=pages[0].last_evaluated_key))
    assert sum(len(p.items) for p in rest) == 15
    # the segments of a parallel scan together read every item once
    seen = [
        i["pk"]["S"] for s in range(3) for p in scan_pages(client, "scanned", ["pk"], segment=(s, 3)) for i in p.items
    ]
    assert sorted(seen) == sorted(f"k{i}" for i in range(25))


def test_scan_pages_is_lazy_and_errors_name_the_scan(moto_endpoint: str) -> None:
    client = _table(moto_endpoint, "lazy", 30)
    with FaultProxy(moto_endpoint) as proxy:
        counted = boto3.client("dynamodb", endpoint_url=proxy.url, region_name="us-east-1")
        first = next(iter(scan_pages(counted, "lazy", ["pk"], limit=5)))
        assert len(first.items) == 5 and proxy.calls["Scan"] == 1  # the other pages were never asked for
    with pytest.raises(DynamoDBError, match="scanning 'absent'"):
        list(scan_pages(client, "absent", ["pk"]))


def test_scan_for_keys_finds_items_by_entity_key(moto_endpoint: str) -> None:
    from parity.config import parse_config

    client = _table(moto_endpoint, "finding", 0)
    for i in range(12):
        client.put_item(TableName="finding", Item={"pk": {"S": f"k{i}"}, "e": {"S": "t"}, "ref": {"S": f"r{i}"}})
    client.put_item(TableName="finding", Item={"pk": {"S": "other"}, "e": {"S": "x"}, "ref": {"S": "r3"}})
    config = parse_config(
        {
            "dynamodb": {"table": "finding"},
            "entity": [{"name": "t", "table": "public.t", "match": {"e": "t"}, "key": {"ref": "ref"}}],
        }
    )
    entity = config.entity[0]
    wanted = {("t", ("r3",)), ("t", ("r7",))}
    found = scan_for_keys(client, "finding", ["pk"], [entity], wanted)
    assert found == {("t", ("r3",)): {"pk": {"S": "k3"}}, ("t", ("r7",)): {"pk": {"S": "k7"}}}
    assert scan_for_keys(client, "finding", ["pk"], [entity], set()) == {}
