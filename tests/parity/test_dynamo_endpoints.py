"""Per-service endpoints: a private subnet reaches DynamoDB, DynamoDB Streams and Kinesis at different URLs."""

from __future__ import annotations

import pytest

from parity.config import DynamoDBConfig
from parity.dynamo import client, endpoint_for

STREAMS_VPCE = "https://vpce-0abc-streams.streams.dynamodb.eu-west-1.vpce.amazonaws.com"


@pytest.fixture(autouse=True)
def _no_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"):
        monkeypatch.delenv(name, raising=False)


def test_per_service_setting_wins_over_the_shared_one() -> None:
    config = DynamoDBConfig(
        table="app", endpoint_url="http://shared:4566", endpoint_urls={"dynamodbstreams": STREAMS_VPCE}
    )
    assert endpoint_for(config, "dynamodbstreams") == STREAMS_VPCE
    assert endpoint_for(config, "dynamodb") == "http://shared:4566"
    assert endpoint_for(config, "kinesis") == "http://shared:4566"


def test_service_variable_wins_over_the_global_variable_as_in_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://global:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", STREAMS_VPCE)
    config = DynamoDBConfig(table="app")
    assert endpoint_for(config, "dynamodbstreams") == STREAMS_VPCE
    assert endpoint_for(config, "dynamodb") == "http://global:4566"
    assert endpoint_for(DynamoDBConfig(table="app", endpoint_url="http://cfg:1"), "dynamodbstreams") == "http://cfg:1"


def test_no_setting_means_the_aws_default() -> None:
    assert endpoint_for(DynamoDBConfig(table="app"), "dynamodb") is None


def test_the_client_of_each_service_talks_to_its_own_endpoint() -> None:
    config = DynamoDBConfig(
        table="app", region="eu-west-1", endpoint_urls={"dynamodbstreams": STREAMS_VPCE, "kinesis": "http://k:1"}
    )
    assert client(config, "dynamodbstreams").meta.endpoint_url == STREAMS_VPCE
    assert client(config, "kinesis").meta.endpoint_url == "http://k:1"
    assert client(config, "dynamodb").meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"


def test_an_unknown_service_key_is_refused() -> None:
    with pytest.raises(ValueError, match="endpoint_urls"):
        DynamoDBConfig(table="app", endpoint_urls={"dynamodb_streams": STREAMS_VPCE})  # type: ignore[dict-item]
