"""The full compare, ``parity reconcile``: a parallel, resumable Scan of the table checked page by page
against PostgreSQL, then an anti-join for rows no item matched, and a report with the parity %.

Its own store tables (segments, scanned keys, findings, pending re-checks) come from the migrations
in ``migrations/``.
"""

MIGRATIONS = __name__  # the package whose migrations folder holds this app's tables
