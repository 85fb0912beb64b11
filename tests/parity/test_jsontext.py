from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

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
    """--json output keeps numbers exact (docs/reference.md: numbers exact), as the stores hold them."""
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


def test_same_text_as_json_where_json_can_write_it() -> None:
    """Without Decimals the C encoder writes; with one the exact writer does: the layout is the same."""
    value = {"a": [1, 2.5, None, True, "é"], "b": {}, "c": [], 1: "int key", None: "null key", "t": (1, 2)}
    for options in ({}, {"indent": 2, "separators": (",", ": ")}, {"ensure_ascii": False, "separators": (", ", ": ")}):
        plain = dumps_exact(value, **options)  # type: ignore[arg-type]
        assert plain == json.dumps(value, **{"separators": (",", ":"), **options})  # type: ignore[arg-type]
        # the same value with one Decimal goes through the exact writer, laid out alike
        exact = dumps_exact({**value, "d": Decimal("1.50")}, **options)  # type: ignore[arg-type]
        with_float = json.dumps({**value, "d": 1.25}, **{"separators": (",", ":"), **options})  # type: ignore[arg-type]
        assert exact == with_float.replace("1.25", "1.50")
    assert dumps_exact({"b": Decimal("2"), "a": 1}, sort_keys=True) == '{"a":1,"b":2}'
    assert dumps_exact({"n": [Decimal("1.0")]}, indent=2, separators=(",", ": ")) == '{\n  "n": [\n    1.0\n  ]\n}'


def test_datetimes_sets_and_default() -> None:
    from datetime import UTC, date, datetime

    assert dumps_exact([datetime(2026, 1, 2, tzinfo=UTC), date(2026, 1, 2)]) == (
        '["2026-01-02T00:00:00+00:00","2026-01-02"]'
    )
    assert dumps_exact({"s": {Decimal("3"), Decimal("1")}}) == '{"s":[1,3]}'
    assert dumps_exact({"b": b"\x00"}, default=lambda v: v.hex()) == '{"b":"00"}'


def test_report_file_numbers_are_exact(tmp_path: Path) -> None:
    """--report files hold what --json prints: Decimals digit for digit (they went through float)."""
    from parity.commands.common import write_report

    path = tmp_path / "r.json"
    write_report(path, {"consumed_rcu": Decimal("12.50"), "big": Decimal("12345678901234567890.12345678901234567")})
    text = path.read_text()
    assert text == '{\n  "consumed_rcu": 12.50,\n  "big": 12345678901234567890.12345678901234567\n}\n'
    assert not list(tmp_path.glob("*.tmp"))


def test_report_file_unwritable_is_input_error(tmp_path: Path) -> None:
    from parity.commands.common import write_report
    from parity.errors import InputError

    with pytest.raises(InputError, match="cannot write it"):
        write_report(tmp_path / "gone" / "r.json", {"a": 1})
