"""DynamoDB adapter: boto3 clients built from the config, and botocore errors mapped to ours.

Clients are low-level (typed attribute values, no float conversion). Each service's endpoint is, in
order: ``[dynamodb].endpoint_urls.<service>``, ``[dynamodb].endpoint_url``, then boto3's own
``AWS_ENDPOINT_URL_<SERVICE>`` and ``AWS_ENDPOINT_URL`` (the service-specific variable first, as boto3
does). Against a local endpoint
without credentials, dummy ones are used so moto/LocalStack work with no AWS setup.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

from parity.config import DynamoDBConfig
from parity.errors import ConfigError, DynamoDBError

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "localstack", "host.docker.internal"}


#: boto3's service-specific endpoint variables (the service id in upper snake case).
SERVICE_ENDPOINT_VARIABLES = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "dynamodbstreams": "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    "kinesis": "AWS_ENDPOINT_URL_KINESIS",
}


def endpoint_for(config: DynamoDBConfig, service: str = "dynamodb") -> str | None:
    """The endpoint URL of one service, or None for the AWS default."""
    variable = SERVICE_ENDPOINT_VARIABLES.get(service)
    return (
        config.endpoint_urls.get(service)  # type: ignore[call-overload]
        or config.endpoint_url
        or (os.environ.get(variable) if variable else None)
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


def _is_local(endpoint: str | None) -> bool:
    return endpoint is not None and (urlsplit(endpoint).hostname or "") in _LOCAL_HOSTS


def client(
    config: DynamoDBConfig,
    service: str = "dynamodb",
    *,
    max_pool: int = 32,
    max_attempts: int = 10,
    connect_timeout: float = 60.0,
    read_timeout: float = 60.0,
) -> Any:
    """A boto3 client for ``dynamodb``, ``dynamodbstreams`` or ``kinesis`` as the config says.

    ``max_attempts`` bounds botocore's retries: long-running checkers keep the default, one-shot
    commands such as check-config fail fast on an unreachable endpoint. The timeouts default to
    botocore's (60 s); ``parity serve`` keeps them inside a request's timeout.
    """
    endpoint = endpoint_for(config, service)
    region = config.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region is None and _is_local(endpoint):
        region = "us-east-1"
    kwargs: dict[str, Any] = {
        "region_name": region,
        "config": botocore.config.Config(
            retries={"max_attempts": max_attempts, "mode": "adaptive"},
            max_pool_connections=max_pool,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        ),
    }
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    session = boto3.session.Session()
    if _is_local(endpoint) and session.get_credentials() is None:
        kwargs["aws_access_key_id"] = "testing"
        kwargs["aws_secret_access_key"] = "testing"
    try:
        return session.client(service, **kwargs)  # type: ignore[call-overload]
    except botocore.exceptions.NoRegionError:
        raise ConfigError("no AWS region for DynamoDB", hint="set [dynamodb].region or AWS_REGION") from None
    except ValueError as exc:
        raise ConfigError(f"invalid DynamoDB endpoint {endpoint!r}: {exc}") from None


def where(config: DynamoDBConfig) -> str:
    """Which DynamoDB a message talks about: the endpoint, or the region."""
    endpoint = endpoint_for(config)
    return endpoint or f"AWS region {config.region or os.environ.get('AWS_REGION', '(default)')}"


@contextmanager
def dynamodb_errors(what: str, config: DynamoDBConfig | None = None) -> Iterator[None]:
    """Map botocore errors raised inside the block to DynamoDBError with a one-line message."""
    place = f" at {where(config)}" if config is not None else ""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        message = error.get("Message", "")
        raise DynamoDBError(f"{what}{place}: {code}: {message}".rstrip(": ")) from exc
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError) as exc:
        raise DynamoDBError(f"{what}: cannot reach DynamoDB{place}") from exc
    except botocore.exceptions.NoCredentialsError as exc:
        raise DynamoDBError(
            f"{what}: no AWS credentials found", hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise DynamoDBError(f"{what}{place}: {exc}") from exc


def error_code(exc: BaseException) -> str | None:
    """The AWS error code behind a DynamoDBError or ClientError, if any."""
    cause = exc.__cause__ if isinstance(exc, DynamoDBError) else exc
    if isinstance(cause, botocore.exceptions.ClientError):
        return str(cause.response.get("Error", {}).get("Code"))
    return None
