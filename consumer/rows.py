"""Row decoding for the checker: JSON columns parsed with one reusable decoder.

``json.loads(text, parse_float=Decimal, parse_int=Decimal)`` builds a new ``JSONDecoder`` on every
call (about 9 us, as much as parsing a small document); the checker reads a json column of every
row it checks, so it parses with one decoder made once. Numbers stay exact ``Decimal`` values, as
:mod:`parity.pg` promises for every connection.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from psycopg.types.json import set_json_loads

from parity.pg import Connection

_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal)


def decimal_json(data: str | bytes | bytearray | memoryview) -> Any:
    """JSON text (as psycopg hands jsonb/json values) to Python with Decimal numbers."""
    return _DECODER.decode(data if isinstance(data, str) else bytes(data).decode("utf-8"))


def use_fast_json(conn: Connection) -> None:
    """Make ``conn`` decode json/jsonb with :func:`decimal_json`."""
    set_json_loads(decimal_json, conn)
