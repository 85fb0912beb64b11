"""Refuse a repair before it writes anything when the credentials cannot make its writes.

IAM cannot be asked cheaply what a role may do, so each write action is *tried* on a probe key
with a condition that can never hold (``attribute_exists(k) AND attribute_not_exists(k)``):
DynamoDB checks the permission first, so an allowed action answers
ConditionalCheckFailedException and writes nothing (no item, no stream record), and a missing one
answers AccessDeniedException. ``BatchWriteItem`` (``--batch-puts``) is probed with a delete of the
probe key, which does not exist: a no-op. The probes go through the repair's writer, so a
throttled probe is retried like any write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from parity.dynamo import dynamodb_errors
from parity.errors import ConditionFailed, Denied, DynamoDBError
from parity.repair.writer import Writer

PROBE = "__parity_repair_permission_probe__"


def probe_key(dynamodb: Any, table: str) -> dict[str, Any]:
    """A key of the table that no app item uses (typed by the table's key attribute definitions)."""
    with dynamodb_errors(f"describing table {table!r}"):
        described = dynamodb.describe_table(TableName=table)["Table"]
    types = {d["AttributeName"]: d["AttributeType"] for d in described["AttributeDefinitions"]}
    samples = {"S": {"S": PROBE}, "N": {"N": "-1.7976931348623157"}, "B": {"B": PROBE.encode()}}
    return {entry["AttributeName"]: samples[types[entry["AttributeName"]]] for entry in described["KeySchema"]}


def check_write_permissions(writer: Writer, actions: Sequence[str]) -> None:
    """Raise DynamoDBError (exit 2) naming every write action of ``actions`` the credentials lack."""
    dynamodb, table = writer.dynamodb, writer.table
    key = probe_key(dynamodb, table)
    names = {"#k": next(iter(key))}
    never = "attribute_exists(#k) AND attribute_not_exists(#k)"
    calls: dict[str, Callable[[], Any]] = {
        "PutItem": lambda: dynamodb.put_item(
            TableName=table, Item=key, ConditionExpression=never, ExpressionAttributeNames=names
        ),
        "UpdateItem": lambda: dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="REMOVE #p",
            ConditionExpression=never,
            ExpressionAttributeNames={**names, "#p": "__parity_probe__"},
        ),
        "DeleteItem": lambda: dynamodb.delete_item(
            TableName=table, Key=key, ConditionExpression=never, ExpressionAttributeNames=names
        ),
        "BatchWriteItem": lambda: dynamodb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": key}}]}),
    }
    missing = []
    for action in actions:
        try:
            writer.call(action, 1, calls[action])
        except ConditionFailed:
            continue  # allowed: the condition that can never hold was evaluated
        except Denied:
            missing.append(action)
    if missing:
        raise DynamoDBError(
            f"the credentials may not call {', '.join('dynamodb:' + a for a in missing)} on table {table!r};"
            " nothing was written",
            hint="run repair with the repair task role (RepairTaskRole in deploy/cloudformation/parity.yaml)",
        )
