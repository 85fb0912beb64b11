"""Make boto3-shaped values storable as jsonb: bytes -> base64 text, datetimes -> ISO text.

boto3 hands ``B``/``BS`` values as ``bytes`` and ApproximateCreationDateTime as ``datetime``; the
store keeps typed DynamoDB JSON, where binary is base64 text (what stream JSON and
:func:`parity.dynamo_json.decode_binary` expect), so images stay decodable after a round trip.
U+0000, which jsonb cannot hold, is written as the text ``\\u0000`` (see :func:`parity.jsontext.json_safe`).
"""

from __future__ import annotations

from parity.jsontext import json_safe

__all__ = ["json_safe"]
