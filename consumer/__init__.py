"""The stream checker: ``parity consume`` (DynamoDB Streams), ``parity kcl-processor`` (Kinesis through
the KCL) and ``parity health``. Every change record is checked against its PostgreSQL row; first
mismatches wait for a re-check before they become discrepancies.

Its own store tables (pending re-checks, heartbeats, Kinesis high-water marks) come from the
migrations in ``migrations/``.
"""

MIGRATIONS = __name__  # the package whose migrations folder holds this app's tables
