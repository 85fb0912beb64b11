"""Repair's images in the journal (:mod:`parity.store.journal`): typed DynamoDB JSON, with binary
values (bytes from boto3) kept as base64 text under ``{"B": ...}`` and given back as bytes, so that
a journalled image can be written to DynamoDB again."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any


def storable(image: Mapping[str, Any]) -> dict[str, Any]:
    """A typed image as JSON: bytes (B, BS) as base64 text."""
    return {name: _encode(value) for name, value in image.items()}


def restored(image: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`storable`."""
    return {name: _decode(value) for name, value in image.items()}


def _encode(value: Mapping[str, Any]) -> dict[str, Any]:
    (tag, inner), *_ = value.items()
    if tag == "B":
        return {tag: base64.b64encode(bytes(inner)).decode("ascii")}
    if tag == "BS":
        return {tag: [base64.b64encode(bytes(v)).decode("ascii") for v in inner]}
    if tag == "M":
        return {tag: {k: _encode(v) for k, v in inner.items()}}
    if tag == "L":
        return {tag: [_encode(v) for v in inner]}
    return {tag: inner}


def _decode(value: Mapping[str, Any]) -> dict[str, Any]:
    (tag, inner), *_ = value.items()
    if tag == "B":
        return {tag: base64.b64decode(inner)}
    if tag == "BS":
        return {tag: [base64.b64decode(v) for v in inner]}
    if tag == "M":
        return {tag: {k: _decode(v) for k, v in inner.items()}}
    if tag == "L":
        return {tag: [_decode(v) for v in inner]}
    return {tag: inner}
