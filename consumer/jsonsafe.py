"""Make boto3-shaped values storable as jsonb: bytes -> base64 text, datetimes -> ISO text.

boto3 hands ``B``/``BS`` values as ``bytes`` and ApproximateCreationDateTime as ``datetime``; the
store keeps typed DynamoDB JSON, where binary is base64 text (what stream JSON and
:func:`parity.dynamo_json.decode_binary` expect), so images stay decodable after a round trip.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
