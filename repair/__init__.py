"""``parity repair``: rewrite DynamoDB items from their PostgreSQL rows (PostgreSQL is the source of truth)."""

MIGRATIONS = __name__  # the package whose migrations folder holds this app's tables (repair runs, journal)
