"""Which PostgreSQL release search must answer like, and what that release's text search does.

Full-text search results depend on the server's release: the Snowball stemmer it was built with
and, within a major, the websearch_to_tsquery fix of the 2024-08-08 minors. ``[search]
postgres_version`` (or ``--postgres-version``) names the production server's release; ``parity
check-config`` reads the live server's and says when the two disagree, e.g. after an upgrade.

Snowball in each major (``src/backend/snowball/libstemmer`` at each release branch):

- 15, 16, 17: Snowball 2.2.0 (PostgreSQL commit bba962f0c, 2022);
- 18: a 2025 Snowball snapshot (commit b464e51ab, generated files still say 2.2.0) whose English
  stemmer keeps a double consonant after a word-initial a/e/o (``added`` -> ``add``, 2.2.0 ``ad``);
- 19 (in development): Snowball after 3.0.1 (commit 7dc95cc, 2026-01-05), not ported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: major -> the Snowball English stemmer the port uses for it
SNOWBALL_BY_MAJOR = {15: "2.2.0", 16: "2.2.0", 17: "2.2.0", 18: "2025-snapshot"}
SUPPORTED_MAJORS = tuple(sorted(SNOWBALL_BY_MAJOR))
#: First minor of each branch with "Fix parsing of ignored operators in websearch_to_tsquery()" (2024-08-08)
_OR_FIX_MINOR = {12: 20, 13: 16, 14: 13, 15: 8, 16: 4}
#: what search follows when neither the config nor the command line names a release
DEFAULT = "16.4"


@dataclass(frozen=True)
class PostgresRelease:
    major: int
    minor: int | None = None  # None: "the current minor of the major"

    @classmethod
    def parse(cls, text: str) -> PostgresRelease:
        """``"18"``, ``"16.4"``; ValueError naming what is accepted otherwise."""
        match = re.fullmatch(r"\s*(\d+)(?:\.(\d+))?\s*", text)
        if match is None:
            raise ValueError(f'postgres_version {text!r} is not MAJOR or MAJOR.MINOR (e.g. "18" or "16.4")')
        release = cls(int(match[1]), None if match[2] is None else int(match[2]))
        if release.major not in SNOWBALL_BY_MAJOR:
            supported = ", ".join(map(str, SUPPORTED_MAJORS))
            raise ValueError(f"postgres_version {text!r}: search is ported for PostgreSQL {supported}")
        return release

    @classmethod
    def from_server_version_num(cls, number: int) -> PostgresRelease:
        major, minor = divmod(number, 10000)
        return cls(major, minor)

    @property
    def snowball(self) -> str:
        return SNOWBALL_BY_MAJOR.get(self.major, "unknown")

    @property
    def has_or_fix(self) -> bool:
        """Whether websearch skips ``! & | ( ) <`` after a word (so ``x) or y`` is OR): 2024-08-08 minors on."""
        if self.major >= 17 or self.minor is None:
            return True
        return self.minor >= _OR_FIX_MINOR.get(self.major, 10**6)

    @property
    def ascii_query_spaces(self) -> bool:
        """Whether websearch reads only ASCII white space as space (18.6, libc C.UTF-8: U+2003 is not one)."""
        return self.major >= 18

    def search_behaviour(self) -> tuple[str, bool, bool, bool]:
        """What decides search answers: (Snowball stemmer, websearch fix, ASCII-only query spaces,
        words split at format characters)."""
        return self.snowball, self.has_or_fix, self.ascii_query_spaces, self.major < 16

    def __str__(self) -> str:
        return str(self.major) if self.minor is None else f"{self.major}.{self.minor}"
