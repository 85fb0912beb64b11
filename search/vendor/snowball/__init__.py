"""The Snowball 2.2 english stemmer, vendored from snowballstemmer 2.2.0.

BSD-3-Clause: see search/data/snowball-COPYING.

PostgreSQL 15 and 16 ship Snowball 2.2 stemmers; Snowball 3 changed English stems (``added``
became ``add`` instead of ``ad``), and the installed ``snowballstemmer`` may be 3.x or may
silently hand over to PyStemmer. Vendoring the exact generated code pins the algorithm.
PostgreSQL 18's variant (one step changed) is ours: ``parity.search.english_pg18``.
"""

from parity.search.vendor.snowball.english_stemmer import EnglishStemmer

__all__ = ["EnglishStemmer"]
