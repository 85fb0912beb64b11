from __future__ import annotations

import json
from decimal import Decimal

import pytest

from parity.jsontext import dumps_exact


def test_decimals_are_exact() -> None:
    digits = Decimal("1234567890123456789012345678901234567.8")
    text = dumps_exact({"a": digits, "b": [Decimal("1.50"), 2, True, None, 'x"y']})
    assert text == '{"a":1234567890123456789012345678901234567.8,"b":[1.50,2,true,null,"x\\"y"]}'
    assert json.loads(text, parse_float=Decimal)["a"] == digits


def test_exponents_written_plainly() -> None:
    assert dumps_exact(Decimal("1E+3")) == "1000"
    assert dumps_exact(Decimal("1E-7")) == "0.0000001"


def test_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        dumps_exact(Decimal("NaN"))
    with pytest.raises(TypeError):
        dumps_exact(object())


def test_print_json_writes_decimals_digit_for_digit(capsys: pytest.CaptureFixture[str]) -> None:
    """--json output keeps numbers exact (contract: numbers exact), as the stores hold them."""
    from datetime import UTC, datetime

    from parity.commands.common import print_json

    value = {
        "v": Decimal("12345678901234567890.123456789012345678"),
        "n": Decimal("1.50"),
        "t": datetime(2026, 11, 30, tzinfo=UTC),
        "s": "naïve",
        "l": [1, True, None],
    }
    print_json(value)
    out = capsys.readouterr().out
    assert out == (
        '{"v": 12345678901234567890.123456789012345678, "n": 1.50, "t": "2026-11-30T00:00:00+00:00",'
        ' "s": "naïve", "l": [1, true, null]}\n'
    )
    assert json.loads(out, parse_float=Decimal)["v"] == value["v"]
