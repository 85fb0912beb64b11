"""Refuse a repair before it writes anything when the credentials cannot make its writes.

IAM cannot be asked cheaply what a role may do, so each write action is *tried* on a probe key
with a condition that can never hold (``attribute_exists(k) AND attribute_not_exists(k)``):
DynamoDB checks the permission first, so an allowed action answers
ConditionalCheckFailedException and writes nothing (no item, no stream record), and a missing one
answers AccessDeniedException. ``BatchWriteItem`` (``--batch-puts``) is probed with a delete of the
probe key, which does not exist: a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import botocore.exceptions

from parity.dynamo import dynamodb_errors
from parity.errors import DynamoDBError

PROBE = "__parity_repair_permission_probe__"
_DENIED = ("AccessDeniedException", "UnrecognizedClientException", "AccessDenied")


def probe_key(dynamodb: Any, table: str) -> dict[str, Any]:
    """A key of the table that no app item uses (typed by the table's key attribute definitions)."""
    with dynamodb_errors(f"describing table {table!r}"):
        described = dynamodb.describe_table(TableName=table)["Table"]
    types = {d["AttributeName"]: d["AttributeType"] for d in described["AttributeDefinitions"]}
    key: dict[str, Any] = {}
    for entry in described["KeySchema"]:
        kind = types[entry["AttributeName"]]
        key[entry["AttributeName"]] = (
            {"S": PROBE} if kind == "S" else {"N": "-1.7976931348623157"} if kind == "N" else {"B": PROBE.encode()}
        )
    return key


def check_write_permissions(dynamodb: Any, table: str, actions: Sequence[str]) -> None:
    """Raise DynamoDBError (exit 2) naming every write action of ``actions`` the credentials lack."""
    key = probe_key(dynamodb, table)
    first = next(iter(key))
    never = {
        "ConditionExpression": "attribute_exists(#k) AND attribute_not_exists(#k)",
        "ExpressionAttributeNames": {"#k": first},
    }
    calls = {
        "PutItem": lambda: dynamodb.put_item(TableName=table, Item=key, **never),
        "UpdateItem": lambda: dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="REMOVE #p",
            **{**never, "ExpressionAttributeNames": {"#k": first, "#p": "__parity_probe__"}},
        ),
        "DeleteItem": lambda: dynamodb.delete_item(TableName=table, Key=key, **never),
        "BatchWriteItem": lambda: dynamodb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": key}}]}),
    }
    missing = []
    for action in actions:
        try:
            calls[action]()
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _DENIED:
                missing.append(action)
            elif code != "ConditionalCheckFailedException":
                with dynamodb_errors(f"checking dynamodb:{action} on {table!r}"):
                    raise
        except botocore.exceptions.BotoCoreError:
            with dynamodb_errors(f"checking dynamodb:{action} on {table!r}"):
                raise
    if missing:
        raise DynamoDBError(
            f"the credentials may not call {', '.join('dynamodb:' + a for a in missing)} on table {table!r};"
            " nothing was written",
            hint="run repair with the repair task role (RepairTaskRole in deploy/cloudformation/parity.yaml)",
        )
