"""Row decoding for the checker: uuid columns as PostgreSQL's text, the canonical form of a uuid.

uuid values are kept as PostgreSQL's text (lower-case, hyphenated: exactly ``str(UUID)``) instead
of building a ``uuid.UUID`` per value and turning it back into text for every comparison. Only the
checker's connection is configured; the store's tables have no uuid columns. JSON numbers are
exact ``Decimal`` values on every parity connection already (:func:`parity.pg.connect`).
"""

from __future__ import annotations

from psycopg.types.string import TextLoader

from parity.pg import Connection


def configure(conn: Connection) -> None:
    """Make ``conn`` decode uuid as text."""
    conn.adapters.register_loader("uuid", TextLoader)
