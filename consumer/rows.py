"""Row decoding for the checker: cheaper loaders on its own connection, same canonical values.

- JSON: ``json.loads(text, parse_float=Decimal, parse_int=Decimal)`` builds a new ``JSONDecoder``
  on every call (about 9 us, as much as parsing a small document); the checker reads a json column
  of every row it checks, so it parses with one decoder made once. Numbers stay exact ``Decimal``
  values, as :mod:`parity.pg` promises for every connection.
- uuid: kept as PostgreSQL's text (lower-case, hyphenated: exactly ``str(UUID)``), which is the
  canonical form of a uuid column, instead of building a ``uuid.UUID`` per value and turning it
  back into text for every comparison. Only the checker's connection is configured; the store's
  tables have no uuid columns.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from psycopg.types.json import set_json_loads
from psycopg.types.string import TextLoader

from parity.canonical import WrongType
from parity.pg import Connection

_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal)


def decimal_json(data: str | bytes | bytearray | memoryview) -> Any:
    """JSON text (as psycopg hands jsonb/json values) to Python with Decimal numbers."""
    try:
        return _DECODER.decode(data if isinstance(data, str) else bytes(data).decode("utf-8"))
    except RecursionError:  # nested deeper than Python's parser goes: the column is mismatched, the batch goes on
        return WrongType("PostgreSQL JSON nested too deeply to compare")


def configure(conn: Connection) -> None:
    """Make ``conn`` decode json/jsonb with :func:`decimal_json` and uuid as text."""
    set_json_loads(decimal_json, conn)
    conn.adapters.register_loader("uuid", TextLoader)
